from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from monai_imbalance.metrics import CaseRecords, equivalent_diameter, lesion_records
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
