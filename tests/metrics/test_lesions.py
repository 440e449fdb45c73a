from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
import torch

from monai_imbalance.metrics import CaseRecords, equivalent_diameter, item_lesion_records, lesion_records
from monai_imbalance.metrics import lesions as lesions_module
from tests._reference_metrics import ref_lesion_records


def _blobs(shape, n, rng, max_r=4):
    vol = np.zeros(shape, dtype=np.float32)
    grids = np.indices(shape)
    for _ in range(n):
        c = [rng.integers(0, s) for s in shape]
        r = rng.uniform(1, max_r)
        d2 = sum((g - ci) ** 2 for g, ci in zip(grids, c, strict=False))
        vol[d2 <= r * r] = 1
    return vol


def _random_case(seed, shape=(24, 24, 16)):
    rng = np.random.default_rng(seed)
    label = _blobs(shape, 6, rng)
    noisy = np.clip(label * rng.uniform(0.3, 1.0, shape) + _blobs(shape, 4, rng) * rng.uniform(0, 1, shape), 0, 1)
    return label, noisy.astype(np.float32)


def _assert_matches_reference(rec, ref):
    np.testing.assert_allclose(rec.lesion_confidence, ref["lesion_confidence"])
    np.testing.assert_allclose(rec.lesion_dice, ref["lesion_dice"])
    np.testing.assert_allclose(rec.lesion_volume, ref["lesion_volume"])
    np.testing.assert_allclose(np.sort(rec.fp_confidence), np.sort(ref["fp_confidence"]))
    np.testing.assert_allclose(np.sort(rec.fp_volume), np.sort(ref["fp_volume"]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("hit_rule", ["overlap", "dice", "iou"])
def test_random_volumes_match_reference(seed, hit_rule):
    label, prob = _random_case(seed)
    rec = lesion_records(label, prob, hit_rule=hit_rule, hit_threshold=0.3)
    _assert_matches_reference(rec, ref_lesion_records(label, prob, hit_rule=hit_rule, hit_threshold=0.3))


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_connectivity_and_spacing_match_reference(connectivity):
    label, prob = _random_case(10)
    logits = np.log(prob + 1e-3) - np.log1p(1e-3 - prob)
    rec = lesion_records(label, prob, confidence=logits, spacing=(0.5, 0.5, 2.0), connectivity=connectivity)
    ref = ref_lesion_records(label, prob, logits, (0.5, 0.5, 2.0), connectivity=connectivity)
    _assert_matches_reference(rec, ref)
    np.testing.assert_allclose(rec.lesion_diameter, equivalent_diameter(ref["lesion_volume"]))


def test_every_lesion_found_at_one_confidence():
    label = np.zeros((10, 10))
    label[1:3, 1:3] = 1
    label[6:9, 6:9] = 1
    prob = label * 0.8
    rec = lesion_records(label, prob)
    assert rec.lesion_confidence.tolist() == pytest.approx([0.8, 0.8])
    assert rec.lesion_dice.tolist() == [1.0, 1.0]
    assert rec.fp_confidence.size == 0
    assert rec.n_predictions == 2


def test_missed_lesions_and_fps_at_known_confidences():
    label = np.zeros(20)
    label[[1, 2, 10]] = 1
    prob = np.zeros(20)
    prob[[1, 2]] = [0.6, 0.9]  # lesion 1 found at 0.9 (max), lesion 2 missed
    prob[[5, 15, 16]] = [0.55, 0.7, 0.95]  # two FPs: 0.55 and 0.95
    rec = lesion_records(label, prob)
    assert rec.lesion_confidence.tolist() == [0.9, -math.inf]
    assert rec.lesion_dice.tolist() == [1.0, 0.0]
    assert sorted(rec.fp_confidence.tolist()) == [0.55, 0.95]
    assert sorted(rec.fp_volume.tolist()) == [1.0, 2.0]


def test_touching_lesions_full_vs_face_connectivity():
    label = np.zeros((6, 6))
    label[1:3, 1:3] = 1
    label[3:5, 3:5] = 1  # touches the first at a corner
    assert lesion_records(label, label * 0.9).n_lesions == 1
    assert lesion_records(label, label * 0.9, connectivity=1).n_lesions == 2


def test_best_dice_match_and_neither_prediction():
    label = np.zeros(20)
    label[2:10] = 1
    prob = np.zeros(20)
    prob[2:8] = 0.6  # Dice 12/14 with the lesion
    prob[9] = 0.99  # overlaps the lesion, lower Dice: neither a hit match nor a false positive
    rec = lesion_records(label, prob, connectivity=1)
    assert rec.lesion_confidence.tolist() == [0.6]
    assert rec.lesion_dice.tolist() == pytest.approx([12 / 14])
    assert rec.fp_confidence.size == 0
    assert rec.n_predictions == 2


def test_empty_prediction():
    label = np.zeros((8, 8))
    label[2:4, 2:4] = 1
    rec = lesion_records(label, np.zeros((8, 8)))
    assert rec.lesion_confidence.tolist() == [-math.inf]
    assert rec.fp_confidence.size == 0
    assert rec.n_predictions == 0


def test_empty_ground_truth():
    prob = np.zeros((8, 8))
    prob[2:4, 2:4] = 0.7
    rec = lesion_records(np.zeros((8, 8)), prob)
    assert rec.n_lesions == 0
    assert rec.fp_confidence.tolist() == pytest.approx([0.7])


def test_all_positive_prediction():
    label = np.zeros((8, 8))
    label[1, 1] = 1
    label[5:7, 5:7] = 1
    prob = np.full((8, 8), 0.9)
    rec = lesion_records(label, prob)
    assert rec.lesion_confidence.tolist() == pytest.approx([0.9, 0.9])
    assert rec.lesion_dice.tolist() == pytest.approx([2 / 65, 8 / 68])
    assert rec.fp_confidence.size == 0


def test_torch_input_equals_numpy():
    label, prob = _random_case(3)
    a = lesion_records(label, prob)
    b = lesion_records(torch.from_numpy(label), torch.from_numpy(prob))
    np.testing.assert_array_equal(a.lesion_confidence, b.lesion_confidence)
    np.testing.assert_array_equal(a.fp_confidence, b.fp_confidence)


def test_nan_probability_raises():
    prob = np.zeros((4, 4))
    prob[1, 1] = np.nan
    with pytest.raises(ValueError, match="`prob` must hold finite values"):
        lesion_records(np.zeros((4, 4)), prob)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="`label` and `prob` must have the same shape"):
        lesion_records(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="`confidence` must have the shape of `prob`"):
        lesion_records(np.zeros((4, 4)), np.zeros((4, 4)), confidence=np.zeros(3))


def test_bad_spacing_raises():
    with pytest.raises(ValueError, match="`spacing` must have one value per spatial dimension"):
        lesion_records(np.zeros((4, 4)), np.zeros((4, 4)), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="`spacing` must hold finite positive values"):
        lesion_records(np.zeros((4, 4)), np.zeros((4, 4)), spacing=(1, -1))


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="`label` must be a numpy array or a torch tensor"):
        lesion_records([[0, 1]], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="`hit_rule`"):
        lesion_records(np.zeros(3), np.zeros(3), hit_rule="centre")


def test_case_records_validation():
    with pytest.raises(ValueError, match="`lesion_dice` must have one value per lesion"):
        CaseRecords([0.5, 0.6], [0.1], [1, 1], [1, 1], [])
    with pytest.raises(ValueError, match="must not hold NaN"):
        CaseRecords([np.nan], [0.1], [1], [1], [])
    with pytest.raises(ValueError, match="`fp_volume` must have one value per false positive"):
        CaseRecords([], [], [], [], [0.5], [1.0], [1.0, 2.0])


# ---- item_lesion_records: one matching per item for every reader


def _counting(monkeypatch):
    calls = []
    original = lesions_module.lesion_records

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(lesions_module, "lesion_records", counted)
    lesions_module._ITEM_MEMO.clear()
    return calls


def _item(seed=0, shape=(12, 10, 8)):
    g = torch.Generator().manual_seed(seed)
    label = (torch.rand((1, *shape), generator=g) > 0.93).float()
    pred = (0.6 * label + 0.5 * torch.rand((1, *shape), generator=g)).clamp(0, 1)
    return pred, label


def _same(a, b):
    for name in ("lesion_confidence", "lesion_dice", "lesion_volume", "fp_confidence", "fp_volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.n_predictions == b.n_predictions


def test_item_records_equal_lesion_records_and_are_computed_once(monkeypatch):
    calls = _counting(monkeypatch)
    pred, label = _item()
    expected = lesion_records(label[0].numpy(), pred[0].numpy(), spacing=(1.0, 1.0, 2.0))
    first = item_lesion_records(pred, label, spacing=(1.0, 1.0, 2.0), case_id="a")
    second = item_lesion_records(pred, label, spacing=(1.0, 1.0, 2.0), case_id="b")
    _same(first, expected)
    _same(second, expected)
    assert (first.case_id, second.case_id) == ("a", "b")
    assert len(calls) == 1  # one matching for both item calls (the reference above is not counted)
    # another setting, another matching
    _same(
        item_lesion_records(pred, label, spacing=(1.0, 1.0, 2.0), hit_rule="dice"),
        lesion_records(label[0], pred[0], spacing=(1.0, 1.0, 2.0), hit_rule="dice"),
    )
    assert len(calls) == 2


def test_item_records_see_in_place_changes_and_new_tensors(monkeypatch):
    calls = _counting(monkeypatch)
    pred, label = _item(1)
    before = item_lesion_records(pred, label)
    pred.mul_(0.0)  # in place: the version counter moves, the memo must not answer
    after = item_lesion_records(pred, label)
    assert after.n_predictions == 0
    assert before.n_predictions > 0
    assert len(calls) == 2
    item_lesion_records(pred.clone(), label)  # equal values, another tensor: computed again
    assert len(calls) == 3


def test_item_records_memo_holds_no_volume_and_skips_arrays(monkeypatch):
    calls = _counting(monkeypatch)
    pred, label = _item(2)
    ref = weakref.ref(pred)
    item_lesion_records(pred, label)
    del pred
    gc.collect()
    assert ref() is None  # the memo kept no reference to the volume
    p2, l2 = _item(3)
    item_lesion_records(p2, l2)  # inserting prunes the dead entry
    assert len(lesions_module._ITEM_MEMO._entries) == 1
    arr_p, arr_l = p2.numpy(), l2.numpy()
    item_lesion_records(arr_p, arr_l)
    item_lesion_records(arr_p, arr_l)
    assert len(calls) == 4  # numpy items are never memoised
    with torch.inference_mode():
        inf_p, inf_l = p2.clone(), l2.clone()
    _same(item_lesion_records(inf_p, inf_l), item_lesion_records(p2, l2))
    item_lesion_records(inf_p, inf_l)
    assert len(calls) == 6  # inference tensors have no version counter: never memoised


def test_item_records_two_channel_items_and_errors():
    pred, label = _item(4)
    two_pred, two_label = torch.cat([1 - pred, pred]), torch.cat([1 - label, label])
    _same(item_lesion_records(two_pred, two_label), lesion_records(label[0], pred[0]))
    with pytest.raises(ValueError, match="`pred` items must be channel-first"):
        item_lesion_records(torch.zeros(3, 4, 4), torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="`label` items must be channel-first"):
        item_lesion_records(torch.zeros(1, 4, 4), torch.zeros(4, 4))
