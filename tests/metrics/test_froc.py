from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from monai.metrics import compute_froc_curve_data, compute_froc_score

from monai_imbalance.metrics import (
    LUNA16_FP_RATES,
    CaseRecords,
    average_recall,
    bootstrap,
    froc_curve,
    object_dice,
    size_groups,
)
from tests._reference_metrics import ref_luna16_average_recall, ref_shirokikh2020_average_recall


def _case(les, fps=(), dice=None, n_pred=None, case_id=None, les_d=None, fp_d=None):
    les = np.asarray(les, dtype=float)
    dice = np.where(les > -np.inf, 0.5, 0.0) if dice is None else dice
    d = np.full(les.size, 5.0) if les_d is None else np.asarray(les_d, float)
    fd = np.full(len(fps), 5.0) if fp_d is None else np.asarray(fp_d, float)
    return CaseRecords(les, dice, d, np.pi * d**3 / 6, fps, fd, np.pi * fd**3 / 6, n_pred, case_id)


def _random_cases(seed, n=7, logits=False):
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        k, f = rng.integers(0, 5), rng.integers(0, 6)
        les = np.round(rng.uniform(0, 12 if logits else 1, k), 3)
        les[rng.uniform(size=k) < 0.3] = -np.inf
        cases.append(
            _case(les, np.round(rng.uniform(-0.5 if logits else 0, 12 if logits else 1, f), 3), case_id=str(i))
        )
    if sum(c.n_lesions for c in cases) == 0:
        cases.append(_case([0.5], []))
    return cases


# ---------- hand-built cases ----------
def test_all_hits_score_one():
    cases = [_case([0.8, 0.8], []), _case([0.8], [])]
    assert average_recall(cases) == 1.0


def test_monai_drops_lowest_threshold_and_scores_half():
    """MONAI never uses the lowest probability as a threshold: all lesions found, no FP, scores 0.5 (two
    distinct confidences) or 0 (one confidence); ours scores 1 (MONAI 1.6.1)."""
    no_fp = np.array([], dtype=float)
    fps, sens = compute_froc_curve_data(no_fp, np.array([0.9, 0.8]), num_targets=2, num_images=2)
    assert compute_froc_score(fps, sens, LUNA16_FP_RATES) == pytest.approx(0.5)
    assert average_recall([_case([0.9]), _case([0.8])]) == 1.0
    fps, sens = compute_froc_curve_data(no_fp, np.array([0.8, 0.8, 0.8]), num_targets=3, num_images=2)
    assert compute_froc_score(fps, sens, LUNA16_FP_RATES) == pytest.approx(0.0)
    assert average_recall([_case([0.8, 0.8]), _case([0.8])]) == 1.0


@pytest.mark.parametrize("seed", range(8))
def test_agrees_with_monai_after_the_documented_fix(seed):
    """Fix: append one sentinel FP below every confidence; MONAI drops it as its lowest threshold."""
    cases = _random_cases(seed)
    tp = np.concatenate([c.lesion_confidence[c.lesion_confidence > -np.inf] for c in cases])
    fp = np.concatenate([c.fp_confidence for c in cases])
    sentinel = min(np.min(tp, initial=0), np.min(fp, initial=0)) - 1
    n_targets = sum(c.n_lesions for c in cases)
    fps, sens = compute_froc_curve_data(np.r_[fp, sentinel], tp, num_targets=n_targets, num_images=len(cases))
    ours = average_recall(cases)
    assert ours == pytest.approx(compute_froc_score(fps, sens, LUNA16_FP_RATES))
    _, f, r = froc_curve(cases)
    np.testing.assert_allclose(f, fps[:-1])
    np.testing.assert_allclose(r, sens[:-1])


def test_missed_lesions_cap_recall():
    cases = [_case([0.9, -np.inf], []), _case([-np.inf, 0.7], [])]
    assert average_recall(cases) == 0.5


def test_fps_at_known_confidences():
    # 2 cases, lesions at 0.9 and 0.6; FPs at 0.95 and 0.7
    cases = [_case([0.9], [0.95]), _case([0.6], [0.7])]
    t, f, r = froc_curve(cases)
    assert t.tolist() == [0.6, 0.7, 0.9, 0.95]
    assert f.tolist() == [1.0, 1.0, 0.5, 0.5]
    assert r.tolist() == [1.0, 0.5, 0.5, 0.0]
    # curve (0,0) (0.5,0) (0.5,0.5) (1,1): recall 0 below 0.5 FP, 0.5 at 0.5, 1 from 1 FP on
    expected = np.mean([0, 0, 0.5, 1, 1, 1, 1])
    assert average_recall(cases) == pytest.approx(expected)


def test_shirokikh2020_strict_fp_and_nonempty_cases():
    cases = [_case([5.0], [5.0]), _case([], [], n_pred=0), _case([], [3.0])]
    _, f, r = froc_curve(cases, "shirokikh2020")
    t = froc_curve(cases, "shirokikh2020")[0]
    k = np.searchsorted(t, 5.0)  # no threshold is exactly 5: FP at 5.0 counts below it
    assert f[0] == pytest.approx(2 / 2)  # empty case excluded from the divisor
    assert r[k - 1] == 1.0
    assert f[k - 1] == pytest.approx(0.5)


def test_empty_ground_truth_gives_nan_recall():
    assert math.isnan(average_recall([_case([], [0.7])]))


def test_empty_everything():
    assert average_recall([_case([-np.inf], [])]) == 0.0  # one missed lesion: recall 0
    assert math.isnan(average_recall([_case([], []), _case([], [])]))  # no lesion, no prediction: undefined


# ---------- references ----------
@pytest.mark.parametrize("seed", range(10))
def test_luna16_matches_reference(seed):
    cases = _random_cases(seed)
    ref = ref_luna16_average_recall([(c.lesion_confidence.tolist(), c.fp_confidence.tolist()) for c in cases])
    assert average_recall(cases) == pytest.approx(ref)


@pytest.mark.parametrize("seed", range(10))
def test_shirokikh2020_matches_reference(seed):
    cases = _random_cases(seed, logits=True)
    ref = ref_shirokikh2020_average_recall(
        [(c.lesion_confidence.tolist(), c.fp_confidence.tolist(), c.n_predictions) for c in cases]
    )
    assert average_recall(cases, "shirokikh2020") == pytest.approx(ref)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["luna16", "shirokikh2020"]))
def test_recall_non_decreasing_in_fp(seed, protocol):
    cases = _random_cases(seed, logits=protocol == "shirokikh2020")
    _, f, r = froc_curve(cases, protocol)
    assert np.all(np.diff(f) <= 0)
    assert np.all(np.diff(r) <= 1e-12)
    rates = np.linspace(0, 8, 33)
    from monai_imbalance.metrics.froc import recall_at_fp

    assert np.all(np.diff(recall_at_fp(f, r, rates, protocol)) >= -1e-12)  # recall non-decreasing in FP
    assert 0 <= average_recall(cases, protocol) <= 1


# ---------- object Dice ----------
def test_object_dice_excludes_missed():
    cases = [_case([0.9, -np.inf], dice=[0.6, 0.0]), _case([0.7], dice=[0.8])]
    mean, std = object_dice(cases)
    assert mean == pytest.approx(0.7)
    assert std == pytest.approx(0.1)


def test_object_dice_shirokikh2020_lowest_threshold():
    cases = [_case([-0.2, 3.0], dice=[0.2, 0.6])]  # a detected lesion below -0.1 is not counted
    assert object_dice(cases, "shirokikh2020") == pytest.approx((0.6, 0.0))
    assert object_dice(cases)[0] == pytest.approx(0.4)


def test_object_dice_none_detected():
    assert all(math.isnan(v) for v in object_dice([_case([-np.inf], [])]))


# ---------- bootstrap ----------
def test_bootstrap_all_cases_fraction_one_equals_curve():
    cases = _random_cases(3)
    res = bootstrap(cases, n_draws=3, fraction=1.0, seed=0)
    np.testing.assert_allclose(res.values, average_recall(cases))
    assert res.std == pytest.approx(0.0)


def test_bootstrap_seeded_reproducible_and_band_shape():
    cases = _random_cases(4, n=20)
    a, b = bootstrap(cases, seed=1), bootstrap(cases, seed=1)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.shape == (100,)
    assert a.recall_mean.shape == a.fp_grid.shape == a.recall_std.shape
    assert bootstrap(cases, "shirokikh2020").values.shape == (50,)


def test_bootstrap_luna16_divides_by_draw_count():
    # every case: one lesion at 0.5 and one FP at 0.9 -> 1 FP per image in any draw
    cases = [_case([0.5], [0.9]) for _ in range(10)]
    res = bootstrap(cases, n_draws=4, seed=0, fp_rates=[1.0])
    np.testing.assert_allclose(res.values, 1.0)
    res = bootstrap(cases, "shirokikh2020", n_draws=4, fp_rates=[0.8])  # divides by all 10 cases
    np.testing.assert_allclose(res.values, 1.0)


def test_bootstrap_skips_draws_without_lesions():
    # one case with a lesion among five: a draw of two cases holds it with probability 2/5
    cases = [_case([0.9], [])] + [_case([], [0.3]) for _ in range(4)]
    res = bootstrap(cases, n_draws=40, fraction=0.4, seed=3)
    has_lesion = ~np.isnan(res.values)
    assert 0 < has_lesion.sum() < 40  # both kinds of draws occur
    np.testing.assert_allclose(res.values[has_lesion], 1.0)  # the lesion is found before any FP
    assert res.mean == pytest.approx(1.0)
    assert res.std == pytest.approx(0.0)
    assert np.all(np.isfinite(res.recall_mean))
    none = bootstrap([_case([], [0.3]), _case([], [])], n_draws=3, seed=0)
    assert math.isnan(none.mean)
    assert math.isnan(none.std)
    assert np.all(np.isnan(none.recall_mean))


def test_bootstrap_errors():
    cases = _random_cases(0)
    with pytest.raises(ValueError, match="`n_draws` must be at least 1"):
        bootstrap(cases, n_draws=0)
    with pytest.raises(ValueError, match="`fraction` must be in"):
        bootstrap(cases, fraction=1.5)


def test_argument_errors():
    with pytest.raises(ValueError, match="`protocol`"):
        froc_curve([_case([0.5], [])], "camelyon")
    with pytest.raises(TypeError, match="`cases` must be a sequence of CaseRecords"):
        average_recall([1, 2])
    with pytest.raises(ValueError, match="`cases` must hold at least one case"):
        average_recall([])
    with pytest.raises(ValueError, match="`fp_rates` must be non-empty"):
        average_recall([_case([0.5], [])], fp_rates=[-1])


# ---------- size groups ----------
def test_size_groups_keep_lesions_matches_and_fps_of_that_size():
    case = _case([0.9, 0.8, -np.inf], [0.7, 0.6, 0.65], les_d=[4, 12, 6], fp_d=[3, 20, 9.99])
    groups = size_groups([case], thresholds=[10.0])
    small, large = groups["small"][0], groups["large"][0]
    assert small.lesion_confidence.tolist() == [0.9, -np.inf]
    assert sorted(small.fp_confidence.tolist()) == [0.65, 0.7]
    assert large.lesion_confidence.tolist() == [0.8]
    assert large.fp_confidence.tolist() == [0.6]


def test_size_groups_tertiles():
    cases = [_case([0.9] * 3, [], les_d=[2, 4, 8]), _case([0.5] * 3, [], les_d=[3, 5, 9])]
    groups = size_groups(cases)
    assert list(groups) == ["small", "medium", "large"]
    assert [sum(c.n_lesions for c in g) for g in groups.values()] == [2, 2, 2]
    assert average_recall(groups["large"]) == 1.0


def test_size_groups_errors():
    with pytest.raises(ValueError, match="`thresholds` must be finite and strictly increasing"):
        size_groups([_case([0.5], [])], thresholds=[5, 3])
    with pytest.raises(ValueError, match="`by` must be"):
        size_groups([_case([0.5], [])], by="radius")
