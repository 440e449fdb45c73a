from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from monai_imbalance.metrics import (
    CaseRecords,
    LesionMatching,
    case_lesion_records,
    equivalent_diameter,
    item_lesion_records,
    lesion_records,
)
from tests._reference_metrics import ref_lesion_records, ref_one_to_one_records


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


# ---- one-to-one matching, diagnostics, locations


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("hit_rule", "hit_threshold"), [("iou", 0.1), ("iou", 0.4), ("dice", 0.3), ("overlap", None)])
def test_one_to_one_matches_the_exhaustive_reference(seed, hit_rule, hit_threshold):
    label, prob = _random_case(seed, shape=(20, 20, 12))
    matching = LesionMatching("one_to_one", hit_rule, hit_threshold)
    rec = lesion_records(label, prob, matching=matching)
    ref = ref_one_to_one_records(label, prob, hit_rule=hit_rule, hit_threshold=hit_threshold)
    _assert_matches_reference(rec, ref)
    assert rec.n_merging_predictions == ref["n_merging"]
    assert rec.matching == matching.describe()


def test_one_to_one_counts_a_blob_once_and_its_surplus_lesions_as_missed():
    label = np.zeros((10, 30))
    for x in range(2, 30, 6):
        label[4:6, x : x + 2] = 1  # five lesions of 4 voxels
    prob = np.zeros((10, 30))
    prob[3:7, 1:30] = 0.8  # one component over all five
    prob[4:6, 2:4] = 0.95
    views = case_lesion_records(
        prob, label, {"paper": "paper", "strict": "strict", "loose": LesionMatching.strict(hit_threshold=0.01)}
    )
    assert views["paper"].n_detected == 5
    assert views["strict"].n_detected == 0  # IoU 4 / 116 < 0.1
    assert views["loose"].n_detected == 1  # one blob, one lesion
    assert views["strict"].fp_confidence.tolist() == [0.95]
    assert views["loose"].fp_confidence.size == 0
    assert (views["strict"].n_merging_predictions, views["strict"].n_merged_lesions) == (1, 5)
    assert views["strict"].predicted_volume == 116.0


def test_split_prediction_leaves_the_second_part_a_false_positive_under_one_to_one():
    label = np.zeros((8, 12))
    label[2:6, 2:10] = 1
    prob = np.zeros((8, 12))
    prob[2:6, 2:5] = 0.9
    prob[2:6, 7:10] = 0.7
    views = case_lesion_records(prob, label)
    assert views["paper"].fp_confidence.size == 0  # the paper's rule: the second part hits, it is no FP
    assert views["strict"].fp_confidence.tolist() == [0.7]
    assert views["strict"].lesion_confidence.tolist() == [0.9]


def test_centroids_and_boxes_equal_scipy():
    from scipy import ndimage

    label, prob = _random_case(3)
    rec = lesion_records(label, prob, affine=np.diag([0.5, 0.5, 2.0, 1.0]))
    gl, n = ndimage.label(label > 0.5, structure=np.ones((3, 3, 3)))
    ours = {tuple(np.round(c, 6)) for c in rec.lesion_centroid}
    theirs = {tuple(np.round(c, 6)) for c in ndimage.center_of_mass(np.ones_like(gl), gl, range(1, n + 1))}
    assert ours == theirs
    boxes = {tuple(int(v) for v in b) for b in rec.lesion_bbox}
    ref = {tuple([s.start for s in sl] + [s.stop for s in sl]) for sl in ndimage.find_objects(gl)}
    assert boxes == ref
    np.testing.assert_array_equal(rec.affine, np.diag([0.5, 0.5, 2.0, 1.0]))


def _item(seed=0, shape=(12, 10, 8)):
    g = torch.Generator().manual_seed(seed)
    label = (torch.rand((1, *shape), generator=g) > 0.93).float()
    pred = (0.6 * label + 0.5 * torch.rand((1, *shape), generator=g)).clamp(0, 1)
    return pred, label


def _same(a, b):
    for name in ("lesion_confidence", "lesion_dice", "lesion_volume", "fp_confidence", "fp_volume"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.n_predictions == b.n_predictions


def test_item_records_equal_lesion_records_under_each_view():
    pred, label = _item()
    views = item_lesion_records(pred, label, spacing=(1.0, 1.0, 2.0), case_id="a")
    for name, m in (("paper", LesionMatching.paper()), ("strict", LesionMatching.strict())):
        _same(views[name], lesion_records(label[0].numpy(), pred[0].numpy(), spacing=(1.0, 1.0, 2.0), matching=m))
        assert views[name].case_id == "a"


def test_item_records_read_spacing_and_affine_from_a_metatensor_and_see_in_place_changes():
    from monai.data import MetaTensor

    pred, label = _item(1)
    affine = torch.diag(torch.tensor([0.8, 0.8, 2.5, 1.0]))
    views = item_lesion_records(pred, MetaTensor(label, affine=affine))
    np.testing.assert_allclose(views["strict"].affine, affine.numpy())
    expected = lesion_records(label[0], pred[0], spacing=(0.8, 0.8, 2.5), matching="strict")
    np.testing.assert_allclose(views["strict"].lesion_volume, expected.lesion_volume)
    pred.mul_(0.0)  # nothing is memoised: a changed prediction gives new records
    assert item_lesion_records(pred, label)["strict"].n_predictions == 0


def test_item_records_two_channel_items_and_errors():
    pred, label = _item(4)
    two_pred, two_label = torch.cat([1 - pred, pred]), torch.cat([1 - label, label])
    _same(item_lesion_records(two_pred, two_label)["paper"], lesion_records(label[0], pred[0]))
    with pytest.raises(ValueError, match="`pred` items must be channel-first"):
        item_lesion_records(torch.zeros(3, 4, 4), torch.zeros(1, 4, 4))
    with pytest.raises(ValueError, match="`label` items must be channel-first"):
        item_lesion_records(torch.zeros(1, 4, 4), torch.zeros(4, 4))


# ---- invalid input: a clear error naming the argument, one test per case


_Y = np.zeros((6, 6))
_Y[1:3, 1:3] = 1


@pytest.mark.parametrize(
    ("label", "prob", "kwargs", "error", "match"),
    [
        (_Y, _Y * 4 - 2, {}, ValueError, r"`prob` must hold probabilities in \[0, 1\], got values in \[-2, 2\]"),
        (_Y * 2 + (np.arange(36).reshape(6, 6) == 35), _Y, {}, ValueError, "`label` must be binary"),
        (_Y * 255, _Y, {}, ValueError, r"must be binary .* got values in \[0, 255\]"),
        (_Y - 1, _Y, {}, ValueError, "`label` must be non-negative"),
        (np.where(_Y > 0, np.nan, 0), _Y, {}, ValueError, "`label` must not hold NaN"),
        (_Y, np.where(_Y > 0, np.nan, 0), {}, ValueError, r"probabilities in \[0, 1\], got values in \[nan"),
        (_Y[None, None].repeat(2, 0), _Y[None, None].repeat(2, 0), {}, ValueError, r"one case's spatial volume"),
        (_Y, _Y, {"threshold": float("nan")}, ValueError, r"`threshold` must be in \[0, 1\)"),
        (_Y, _Y, {"threshold": "0.5"}, TypeError, "`threshold` must be a number"),
        (_Y, _Y, {"hit_rule": "dice", "hit_threshold": float("nan")}, ValueError, r"`hit_threshold` must be in"),
        (_Y, _Y, {"matching": "strict", "hit_rule": "dice"}, ValueError, "either `matching` or `hit_rule`"),
        (_Y, _Y, {"matching": {"assignment": "one_to_many"}}, ValueError, "`assignment`"),
        (_Y, _Y, {"matching": {"rule": "iou"}}, ValueError, "unknown keys"),
        (_Y, _Y, {"affine": np.eye(3) * np.nan}, ValueError, "`affine` must be a finite"),
        (_Y, _Y, {"lesion_labels": [0]}, ValueError, "`lesion_labels` must be positive"),
        (_Y > 0, _Y, {"lesion_labels": [1]}, ValueError, "`label` is boolean"),
    ],
    ids=[
        "logits-without-sigmoid",
        "label-1-and-2",
        "label-0-255",
        "negative-label",
        "nan-label",
        "nan-prob",
        "batch-B1",
        "nan-threshold",
        "string-threshold",
        "nan-hit-threshold",
        "matching-and-hit-rule",
        "unknown-assignment",
        "unknown-matching-key",
        "nan-affine",
        "zero-lesion-label",
        "bool-label-with-lesion-labels",
    ],
)
def test_invalid_input_is_a_clear_error(label, prob, kwargs, error, match):
    with pytest.raises(error, match=match):
        lesion_records(label, prob, **kwargs)


def test_half_precision_tensors_are_read_as_float32():
    pred, label = _item(5)
    pred = (pred * 64).round() / 64
    ref = lesion_records(label[0], pred[0])
    for dtype in (torch.float16, torch.bfloat16):
        _same(lesion_records(label[0].to(dtype), pred[0].to(dtype)), ref)


def test_bool_and_uint8_labels_and_lesion_labels():
    pred, label = _item(6)
    ref = lesion_records(label[0], pred[0])
    _same(lesion_records(label[0].bool(), pred[0]), ref)
    _same(lesion_records(label[0].to(torch.uint8), pred[0]), ref)
    _same(lesion_records(label[0] * 2 + (label[0] == 0) * (torch.arange(8) % 2), pred[0], lesion_labels=[2]), ref)
