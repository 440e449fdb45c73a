"""Bad-input matrix of the evaluation: lesion metrics, their handlers, reports and records files.

As ``tests/test_bad_inputs.py`` (the maps, transforms and losses): every case is one call of a public entry point
with one bad or edge-case input; an error case asserts the exact type and words of the message, a value case
compares the result with a hand-computed number or the same call on a clean input. Ids read
``<entry point>-<case>``. Settings read only at the end of a run (the report's) are refused at construction.
"""

from __future__ import annotations

import copy
import json
import math
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ignite.engine import Engine
from monai.data import MetaTensor

from monai_imbalance.handlers import (
    FROCHandler,
    GradientSignHandler,
    LesionDiceHandler,
    LesionRecordsHandler,
    LesionReportHandler,
    MulticlassReportHandler,
    OverSegmentationHandler,
    PredLabel,
)
from monai_imbalance.metrics import (
    CaseRecords,
    FROCMetric,
    LesionDiceMetric,
    LesionMatching,
    LesionRecordsMetric,
    OverSegmentationMetric,
    average_recall,
    bootstrap,
    case_lesion_records,
    object_dice,
    over_segmentation,
    segmentation_scores,
    size_groups,
)
from monai_imbalance.reporting import lesion_report, load_record_views, load_records, save_records, write_lesion_report
from tests._matrix import Matrix, check_raises, check_value

MATRIX = Matrix()
err, val = MATRIX.err, MATRIX.val
NAN, INF = float("nan"), float("inf")


# ---- data: two 2x2 lesions per case in 8x8 (B = 2), one 2x2x2 lesion in 6x6x4; predictions found at 0.9
Y = torch.zeros(2, 1, 8, 8)
Y[:, :, 1:3, 1:3] = 1
Y[:, :, 5:7, 5:7] = 1
P = Y * 0.9
Y3 = torch.zeros(1, 1, 6, 6, 4)
Y3[..., 1:3, 1:3, 1:3] = 1
# half the first lesion of each case predicted, the second missed, one false positive voxel: hand-computed below
P_HALF = torch.zeros(2, 1, 8, 8)
P_HALF[:, :, 1:3, 1] = 0.8
P_HALF[:, :, 7, 0] = 0.7
_TWO_CHANNEL_Y = torch.cat([1 - Y, Y], 1)
_DECOLLATED = [{"pred": p, "label": y} for p, y in zip(P_HALF, Y, strict=True)]  # MONAI's decollated output


def _agg(metric: Any, *batches: tuple[Any, Any]) -> float:
    for p, y in batches:
        metric(p, y)
    return float(metric.aggregate())


def _is_nan(x: Any) -> bool:
    return math.isnan(float(x))


def _autocast_call(make: Callable[[], Any]) -> float:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return _agg(make(), (P.bfloat16(), Y))


# name -> (factory, value on (P, Y), value on (P_HALF, Y))
# P_HALF: per case 2 lesions, 1 found (Dice 2*2/(4+2) = 2/3) and 1 FP; 2 cases: FP rate 1 per image at 0.7, recall
# 1/2 from 0.8 down. Average recall over 1/8..8 FP/image: 0.5 at every rate (the 0.7 FP enters at 1 FP/image when
# the recall is already 1/2, and no lower threshold adds a lesion). Volume ratio (2 + 1) / 8 per case.
METRICS: dict[str, tuple[Callable[[], Any], float, float]] = {
    "FROCMetric": (FROCMetric, 1.0, 0.5),
    "LesionDiceMetric": (LesionDiceMetric, 1.0, 2 / 3),
    "OverSegmentationMetric": (OverSegmentationMetric, 1.0, 3 / 8),
}
for _n, (_make, _perfect, _half) in METRICS.items():
    val(_n, "2d", lambda m=_make: _agg(m(), (P, Y)), lambda v=_perfect: v)
    val(_n, "2d_hand_computed", lambda m=_make: _agg(m(), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "two_batches_equal_one", lambda m=_make: _agg(m(), (P_HALF[:1], Y[:1]), (P_HALF[1:], Y[1:])),
        lambda v=_half: v)  # fmt: skip
    val(_n, "3d", lambda m=_make: _agg(m(), (Y3 * 0.9, Y3)), lambda v=_perfect: v)
    val(_n, "numpy", lambda m=_make: _agg(m(), (P_HALF.numpy(), Y.numpy())), lambda v=_half: v)
    val(_n, "metatensor", lambda m=_make: _agg(m(), (MetaTensor(P_HALF), MetaTensor(Y))), lambda v=_half: v)
    val(_n, "list_of_items", lambda m=_make: _agg(m(), (list(P_HALF), list(Y))), lambda v=_half: v)
    val(_n, "two_channel_items", lambda m=_make: _agg(m(), (torch.cat([1 - P_HALF, P_HALF], 1), _TWO_CHANNEL_Y)),
        lambda v=_half: v)  # fmt: skip
    val(_n, "label_bool", lambda m=_make: _agg(m(), (P_HALF, Y.bool())), lambda v=_half: v)
    val(_n, "label_uint8", lambda m=_make: _agg(m(), (P_HALF, Y.to(torch.uint8))), lambda v=_half: v)
    val(_n, "pred_float16", lambda m=_make: _agg(m(), (P_HALF.half(), Y)), lambda v=_half: v)
    val(_n, "pred_bfloat16", lambda m=_make: _agg(m(), (P_HALF.bfloat16(), Y)), lambda v=_half: v)
    val(_n, "cpu_autocast", lambda m=_make: _autocast_call(m), lambda v=_perfect: v)
    val(_n, "logits_sigmoid", lambda m=_make: _agg(m(sigmoid=True), (P_HALF * 20 - 10, Y)), lambda v=_half: v)
    val(_n, "all_foreground", lambda m=_make: _agg(m(), (Y * 0 + 0.9, Y * 0 + 1)), lambda: 1.0)
    val(_n, "pickle", lambda m=_make: _agg(pickle.loads(pickle.dumps(m())), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "deepcopy", lambda m=_make: _agg(copy.deepcopy(m()), (P_HALF, Y)), lambda v=_half: v)
    # documented NaN: no case, an empty batch; FROC / object Dice without lesions
    val(_n, "no_case_nan", lambda m=_make: _is_nan(m().aggregate()), lambda: True)
    val(_n, "batch0_nan", lambda m=_make: _is_nan(_agg(m(), (P[:0], Y[:0]))), lambda: True)
    for _case, _p, _y, _words in (
        ("label_0_255", P, Y * 255, ("`label` must be binary (0/1) unless `lesion_labels`", "[0, 255]")),
        ("label_soft", P, Y * 0.5, ("`label` must be binary (0/1)", "[0, 0.5]")),
        ("label_negative", P, -Y, ("`label` must be non-negative", "-1")),
        ("label_nan", P, Y * NAN, ("`label` must not hold NaN values",)),
        ("pred_nan", P * NAN, Y, ("`prob` must hold probabilities in [0, 1]", "nan")),
        ("pred_inf", P + INF, Y, ("`prob` must hold probabilities in [0, 1]", "inf")),
        ("pred_logits_without_sigmoid", P * 10 - 5, Y, ("`prob` must hold probabilities in [0, 1]", "sigmoid=True")),
    ):
        err(_n, _case, lambda m=_make, p=_p, y=_y: _agg(m(), (p, y)), ValueError, *_words)
    err(_n, "sigmoid_logits_nan", lambda m=_make: _agg(m(sigmoid=True), (P * NAN, Y)), ValueError,
        "`prob` (logits, sigmoid=True) must hold finite values")  # fmt: skip
    err(_n, "list_of_lists", lambda m=_make: _agg(m(), (P.tolist(), Y.tolist())), TypeError,
        "`y_pred` must be a list of tensors / arrays", "'list'")  # fmt: skip
    err(_n, "str", lambda m=_make: _agg(m(), ("pred", Y)), TypeError, "`y_pred` must be a tensor, an array or a list")
    err(_n, "missing_channel", lambda m=_make: _agg(m(), (P[:, 0], Y[:, 0])), ValueError,
        "`pred` items must be channel-first with 1 channel (or 2", "got shape (8, 8)")  # fmt: skip
    err(_n, "three_channels", lambda m=_make: _agg(m(), (P.repeat(1, 3, 1, 1), Y.repeat(1, 3, 1, 1))), ValueError,
        "`pred` items must be channel-first", "(3, 8, 8)")  # fmt: skip
    err(_n, "shape_mismatch", lambda m=_make: _agg(m(), (P[..., :7], Y)), ValueError,
        "`y_pred` and `y` items must have the same shape", "(1, 8, 7) and (1, 8, 8)")  # fmt: skip
    err(_n, "batch_mismatch", lambda m=_make: _agg(m(), (P[:1], Y)), ValueError,
        "`y_pred` and `y` must hold the same number of cases, got 1 and 2")  # fmt: skip
    err(_n, "y_missing", lambda m=_make: m()(P), ValueError, "`y` (the ground truth) is required")
    err(_n, "threshold_nan", lambda m=_make: m(threshold=NAN), ValueError, "`threshold` must be in [0, 1), got nan")
    err(_n, "threshold_one", lambda m=_make: m(threshold=1.0), ValueError, "`threshold` must be in [0, 1), got 1.0")
    err(_n, "connectivity_str", lambda m=_make: m(connectivity="full"), TypeError, "`connectivity` must be")
    err(_n, "connectivity_above_ndim", lambda m=_make: _agg(m(connectivity=5), (P, Y)), ValueError,
        "`connectivity` must be None (full) or an int in [1, 2]", "got 5")  # fmt: skip
    err(_n, "spacing_negative_at_call", lambda m=_make: m()(P, Y, spacing=-1), ValueError,
        "`spacing` must hold finite positive values, got (-1.0, -1.0)")  # fmt: skip
    err(_n, "spacing_wrong_length", lambda m=_make: _agg(m(spacing=(1, 1, 1)), (P, Y)), ValueError,
        "`spacing` must have one value per spatial dimension (2), got 3 values")  # fmt: skip
    err(_n, "lesion_labels_empty", lambda m=_make: m(lesion_labels=[]), ValueError,
        "`lesion_labels` must be positive integer label values, got []")  # fmt: skip
    err(_n, "lesion_labels_fraction", lambda m=_make: m(lesion_labels=[2.5]), ValueError,
        "`lesion_labels` must be positive integer label values, got [2.5]")  # fmt: skip
    err(_n, "shared_records_refuse_cases", lambda m=_make: m(records=LesionRecordsMetric())(P, Y), RuntimeError,
        "this metric reads shared `records`")  # fmt: skip
    # settings checked at construction, before any case is given
    err(_n, "connectivity_zero_at_construction", lambda m=_make: m(connectivity=0), ValueError,
        "`connectivity` must be None (full) or a positive int (orthogonal hops), got 0")  # fmt: skip
    err(_n, "spacing_negative_at_construction", lambda m=_make: m(spacing=-1), ValueError,
        "`spacing` must hold finite positive values, got (-1.0,)")  # fmt: skip
    err(_n, "lesion_labels_str", lambda m=_make: m(lesion_labels="23"), TypeError,
        "`lesion_labels` must be None or positive integer label values (e.g. [2]), got '23' (str)")  # fmt: skip
    err(_n, "records_not_an_owner", lambda m=_make: m(records=3), TypeError,
        "`records` must be a LesionRecordsMetric, got int")  # fmt: skip
val("FROCMetric", "empty_label_nan", lambda: _is_nan(_agg(FROCMetric(), (P, Y * 0))), lambda: True)
val("LesionDiceMetric", "empty_label_nan", lambda: _is_nan(_agg(LesionDiceMetric(), (P, Y * 0))), lambda: True)
# documented: predictions without lesions are an infinite volume ratio
val("OverSegmentationMetric", "empty_label_inf", lambda: _agg(OverSegmentationMetric(), (P, Y * 0)) == INF,
    lambda: True)  # fmt: skip
for _q, _v in (("merging_predictions", 2.0), ("merged_lesions", 4.0)):  # one blob over both lesions of each case
    val("OverSegmentationMetric", _q, lambda q=_q: _agg(OverSegmentationMetric(q), (Y * 0 + 0.9, Y)), lambda v=_v: v)
err("FROCMetric", "protocol_typo", lambda: FROCMetric("luna"), ValueError, "`protocol`", "did you mean 'luna16'")
err("FROCMetric", "fp_rates_negative", lambda: FROCMetric(fp_rates=[-1]), ValueError,
    "`fp_rates` must be non-empty, finite and non-negative, got [-1]")  # fmt: skip
err(
    "FROCMetric",
    "fp_rates_str",
    lambda: FROCMetric(fp_rates="a"),
    TypeError,
    "`fp_rates` must be a sequence of numbers",
)
err("FROCMetric", "matching_typo", lambda: FROCMetric(matching="strictt"), ValueError,
    "`matching` must be 'paper', 'strict', a LesionMatching or a mapping, got 'strictt'")  # fmt: skip
err("OverSegmentationMetric", "quantity_typo", lambda: OverSegmentationMetric("volume"), ValueError, "`quantity`",
    "volume_ratio")  # fmt: skip
err("LesionDiceMetric", "unknown_keyword", lambda: LesionDiceMetric(treshold=0.5), TypeError, "LesionDiceMetric",
    "treshold")  # fmt: skip
L_ = "LesionRecordsMetric"
err(L_, "matchings_list", lambda: LesionRecordsMetric(["paper"]), TypeError,
    "`matchings` must be a non-empty mapping of view names to matchings")  # fmt: skip
err(L_, "unknown_view", lambda: LesionRecordsMetric().records("foo"), KeyError,
    "`view` 'foo' is not one of this evaluation's matchings ['paper', 'strict']")  # fmt: skip
err(L_, "case_ids_length", lambda: LesionRecordsMetric()(P, Y, case_ids=["a"]), ValueError,
    "`case_ids` must hold one id per case (2), got 1")  # fmt: skip
err(L_, "confidence_shape", lambda: LesionRecordsMetric()(P, Y, confidence=P[..., :7]), ValueError,
    "`confidence` must have the shape of `prob` (8, 8), got (8, 7)")  # fmt: skip
err(L_, "confidence_nan", lambda: LesionRecordsMetric()(P, Y, confidence=P * NAN), ValueError,
    "`confidence` must not hold NaN values")  # fmt: skip
val(L_, "pickle_with_cases", lambda: len(pickle.loads(pickle.dumps(_fed())).records("strict")), lambda: 2)
val(L_, "deepcopy_with_cases", lambda: len(copy.deepcopy(_fed()).records("paper")), lambda: 2)
err(L_, "spacing_per_case_too_few", lambda: LesionRecordsMetric()(P, Y, spacing=[[1, 1]]), ValueError,
    "`spacing` given per case must hold one per case (2), got 1")  # fmt: skip
err(L_, "spacing_per_case_too_many", lambda: LesionRecordsMetric()(P, Y, spacing=[[1, 1]] * 3), ValueError,
    "`spacing` given per case must hold one per case (2), got 3")  # fmt: skip
for _case, _sp in (("spacing_per_case", [[1, 1], [2, 2]]), ("spacing_per_case_tensor", torch.tensor([[1, 1], [2, 2]]))):
    val(L_, _case, lambda sp=_sp: _volumes(LesionRecordsMetric(), spacing=sp), lambda: [[4.0, 4.0], [16.0, 16.0]])
val(L_, "spacing_one_for_all", lambda: _volumes(LesionRecordsMetric(), spacing=[2, 2]), lambda: [[16.0, 16.0]] * 2)


def _fed() -> LesionRecordsMetric:
    owner = LesionRecordsMetric()
    owner(P_HALF, Y)
    return owner


def _volumes(owner: LesionRecordsMetric, **kwargs: Any) -> list[list[float]]:
    owner(P, Y, **kwargs)
    return [c.lesion_volume.tolist() for c in owner.records("strict")]


# ---- functional: case_lesion_records (one case, spatial only), bootstrap, size_groups, CaseRecords
C_ = "case_lesion_records"
y0, p0 = Y[0, 0].numpy(), P_HALF[0, 0].numpy()


def _strict(p: Any, y: Any, **kwargs: Any) -> tuple[int, int, int]:
    r = case_lesion_records(p, y, **kwargs)["strict"]
    return r.n_lesions, r.n_detected, int(r.fp_confidence.size)


for _case, _p, _y in (
    ("numpy", p0, y0),
    ("torch", torch.from_numpy(p0), torch.from_numpy(y0)),
    ("metatensor", MetaTensor(torch.from_numpy(p0)), MetaTensor(torch.from_numpy(y0))),
    ("float16", torch.from_numpy(p0).half(), torch.from_numpy(y0)),
    ("bfloat16", torch.from_numpy(p0).bfloat16(), torch.from_numpy(y0)),
    ("label_bool", p0, y0.astype(bool)),
    ("label_uint8", p0, y0.astype(np.uint8)),
):
    val(C_, _case, lambda p=_p, y=_y: _strict(p, y), lambda: (2, 1, 1))
val(C_, "3d", lambda: _strict(Y3[0, 0] * 0.9, Y3[0, 0]), lambda: (1, 1, 0))
val(C_, "empty_label", lambda: _strict(p0, y0 * 0), lambda: (0, 0, 2))
val(C_, "empty_prediction", lambda: _strict(p0 * 0, y0), lambda: (2, 0, 0))
val(C_, "lesion_labels", lambda: _strict(p0, y0 * 2 + (y0 == 0), lesion_labels=[2]), lambda: (2, 1, 1))
val(C_, "pickle", lambda: pickle.loads(pickle.dumps(case_lesion_records(p0, y0)))["strict"].n_detected, lambda: 1)
val(C_, "deepcopy", lambda: copy.deepcopy(case_lesion_records(p0, y0))["paper"].n_detected, lambda: 1)
for _case, _call, _exc, _words in (
    ("list", lambda: case_lesion_records(p0.tolist(), y0.tolist()), TypeError,
     ("`label` must be a numpy array or a torch tensor, got list",)),
    ("batch_dims", lambda: case_lesion_records(P.numpy()[None], Y.numpy()[None]), ValueError,
     ("must be one case's spatial volume (*spatial) with 1 to 3 dimensions", "(1, 2, 1, 8, 8)")),
    ("shape_mismatch", lambda: case_lesion_records(p0[:, :7], y0), ValueError,
     ("`label` and `prob` must have the same shape", "(8, 8) and (8, 7)")),
    ("prob_complex", lambda: case_lesion_records(p0.astype(complex), y0), TypeError,
     ("`prob` must hold numbers, got dtype complex128",)),
    ("threshold_str", lambda: case_lesion_records(p0, y0, threshold="0.5"), TypeError,
     ("`threshold` must be a number, got str",)),
    ("threshold_negative", lambda: case_lesion_records(p0, y0, threshold=-0.1), ValueError,
     ("`threshold` must be in [0, 1), got -0.1",)),
    ("spacing_zero", lambda: case_lesion_records(p0, y0, spacing=0), ValueError,
     ("`spacing` must hold finite positive values, got (0.0, 0.0)",)),
    ("spacing_nan", lambda: case_lesion_records(p0, y0, spacing=(1, NAN)), ValueError,
     ("`spacing` must hold finite positive values, got (1.0, nan)",)),
    ("spacing_str", lambda: case_lesion_records(p0, y0, spacing="1"), TypeError,
     ("`spacing` must be a number or a sequence of numbers, got str",)),
    ("connectivity_zero", lambda: case_lesion_records(p0, y0, connectivity=0), ValueError,
     ("`connectivity` must be None (full) or an int in [1, 2]", "got 0")),
    ("connectivity_float", lambda: case_lesion_records(p0, y0, connectivity=1.0), TypeError,
     ("`connectivity` must be None or", "1.0")),
    ("affine_shape", lambda: case_lesion_records(p0, y0, affine=np.eye(4)), ValueError,
     ("`affine` must be a finite (3, 3) matrix, got shape (4, 4)",)),
    ("matching_typo", lambda: case_lesion_records(p0, y0, matchings={"a": "foo"}), ValueError,
     ("`matchings['a']` must be 'paper', 'strict', a LesionMatching or a mapping, got 'foo'",)),
    ("lesion_labels_negative", lambda: case_lesion_records(p0, y0, lesion_labels=[-1]), ValueError,
     ("`lesion_labels` must be positive integer label values, got [-1]",)),
    ("lesion_labels_on_bool_label", lambda: case_lesion_records(p0, y0.astype(bool), lesion_labels=[1]), ValueError,
     ("`lesion_labels` selects label values, but `label` is boolean",)),
    ("label_str", lambda: case_lesion_records(p0, y0.astype(str)), TypeError,
     ("`label` must hold numbers (0/1, or label values), got dtype <U32",)),
    ("label_complex", lambda: case_lesion_records(p0, y0.astype(complex)), TypeError,
     ("`label` must hold numbers (0/1, or label values), got dtype complex128",)),
    ("lesion_labels_str", lambda: case_lesion_records(p0, y0, lesion_labels="1"), TypeError,
     ("`lesion_labels` must be None or positive integer label values (e.g. [2]), got '1' (str)",)),
    ("lesion_labels_bool", lambda: case_lesion_records(p0, y0, lesion_labels=[True]), TypeError,
     ("`lesion_labels` must be None or positive integer label values", "got [True] (list)")),
    ("lesion_labels_fraction", lambda: case_lesion_records(p0, y0 * 2, lesion_labels=[2.5]), ValueError,
     ("`lesion_labels` must be positive integer label values, got [2.5]",)),
    ("affine_str", lambda: case_lesion_records(p0, y0, affine="eye"), TypeError,
     ("`affine` must be a (3, 3) matrix of real numbers, got 'eye' (str)",)),
    ("affine_complex", lambda: case_lesion_records(p0, y0, affine=np.eye(3) * 1j), TypeError,
     ("`affine` must be a (3, 3) matrix of real numbers", "(ndarray)")),
    ("affine_nan_named_as_nan", lambda: case_lesion_records(p0, y0, affine=np.eye(3) * NAN), ValueError,
     ("`affine` must be a finite (3, 3) matrix, got 9 NaN or infinite values",)),
):  # fmt: skip
    err(C_, _case, _call, _exc, *_words)
val(C_, "lesion_labels_one_value", lambda: _strict(p0, y0 * 2 + (y0 == 0), lesion_labels=2), lambda: (2, 1, 1))
val(C_, "lesion_labels_array", lambda: _strict(p0, y0 * 2, lesion_labels=np.array([2])), lambda: (2, 1, 1))

CASES = [case_lesion_records(p0, y0, case_id=f"c{i}")["strict"] for i in range(3)]
B_ = "bootstrap"
val(B_, "seeded_twice_equal", lambda: bootstrap(CASES, n_draws=4, seed=1).values.tolist(),
    lambda: bootstrap(CASES, n_draws=4, seed=1).values.tolist())  # fmt: skip
val(B_, "all_draws_recall_half", lambda: bootstrap(CASES, n_draws=3, seed=0).mean, lambda: 0.5)
for _case, _call, _exc, _words in (
    ("empty", lambda: bootstrap([], n_draws=3), ValueError, ("`cases` must hold at least one case",)),
    ("not_records", lambda: bootstrap([1, 2]), TypeError, ("`cases` must be a sequence of CaseRecords",)),
    ("mapping", lambda: bootstrap({"a": CASES}), TypeError, ("`cases` must be a sequence of CaseRecords, got dict",)),
    ("n_draws_zero", lambda: bootstrap(CASES, n_draws=0), ValueError, ("`n_draws` must be at least 1, got 0",)),
    ("fraction_zero", lambda: bootstrap(CASES, fraction=0), ValueError, ("`fraction` must be in (0, 1], got 0",)),
    ("fraction_nan", lambda: bootstrap(CASES, fraction=NAN), ValueError, ("`fraction` must be in (0, 1], got nan",)),
    ("fp_grid_nan", lambda: bootstrap(CASES, fp_grid=[NAN]), ValueError, ("`fp_grid` must be non-empty, finite",)),
    ("protocol_typo", lambda: bootstrap(CASES, protocol="x"), ValueError, ("`protocol`", "luna16")),
    ("n_draws_float", lambda: bootstrap(CASES, n_draws=2.5), TypeError, ("`n_draws` must be an int, got 2.5 (float)",)),
    ("n_draws_str", lambda: bootstrap(CASES, n_draws="3"), TypeError, ("`n_draws` must be an int, got '3' (str)",)),
    ("fraction_str", lambda: bootstrap(CASES, fraction="0.5"), TypeError, ("`fraction` must be a number, got str",)),
    ("seed_str", lambda: bootstrap(CASES, seed="a"), TypeError, ("`seed` must be an int, got 'a' (str)",)),
    ("seed_negative", lambda: bootstrap(CASES, seed=-1), ValueError, ("`seed` must be an int >= 0, got -1",)),
):  # fmt: skip
    err(B_, _case, _call, _exc, *_words)

G_ = "size_groups"
val(G_, "one_threshold", lambda: [len(g[0].lesion_diameter) for g in size_groups(CASES, [1.0]).values()],
    lambda: [0, 2])  # fmt: skip
val(G_, "no_lesions", lambda: sorted(size_groups([case_lesion_records(p0, y0 * 0)["strict"]])),
    lambda: ["large", "medium", "small"])  # fmt: skip
for _case, _call, _exc, _words in (
    ("empty", lambda: size_groups([]), ValueError, ("`cases` must be a non-empty sequence of CaseRecords, got []",)),
    ("single_records", lambda: size_groups(CASES[0]), ValueError, ("`cases` must be a non-empty sequence",)),
    ("not_records", lambda: size_groups([1]), TypeError, ("`cases` must hold CaseRecords only",)),
    ("by_typo", lambda: size_groups(CASES, by="area"), ValueError, ("`by` must be 'diameter' or 'volume'", "'area'")),
    ("thresholds_nan", lambda: size_groups(CASES, [NAN]), ValueError,
     ("`thresholds` must be finite and strictly increasing, got [nan]",)),
    ("thresholds_decreasing", lambda: size_groups(CASES, [5, 2]), ValueError,
     ("`thresholds` must be finite and strictly increasing, got [5, 2]",)),
    ("thresholds_str", lambda: size_groups(CASES, "5"), TypeError,
     ("`thresholds` must be a number or a sequence of numbers, got '5'",)),
    ("thresholds_str_items", lambda: size_groups(CASES, ["a"]), TypeError,
     ("`thresholds` must be a number or a sequence of numbers, got ['a']",)),
):  # fmt: skip
    err(G_, _case, _call, _exc, *_words)
err("average_recall", "empty", lambda: average_recall([]), ValueError, "`cases` must hold at least one case")
val("average_recall", "no_lesion_nan", lambda: _is_nan(average_recall([case_lesion_records(p0, y0 * 0)["strict"]])),
    lambda: True)  # fmt: skip
err("object_dice", "none", lambda: object_dice(None), TypeError, "`cases` must be a sequence of CaseRecords, got None")
err("over_segmentation", "max_volume_ratio_nan", lambda: over_segmentation(CASES, max_volume_ratio=NAN), ValueError,
    "`max_volume_ratio` must be a positive finite number, got nan")  # fmt: skip
err("over_segmentation", "max_volume_ratio_str", lambda: over_segmentation(CASES, max_volume_ratio="2"), TypeError,
    "`max_volume_ratio` must be a real number, got '2' (str)")  # fmt: skip
err("CaseRecords", "length_mismatch", lambda: CaseRecords([0.5], [0.5, 0.2], [1], [1], []), ValueError,
    "`lesion_dice` must have one value per lesion (1), got 2")  # fmt: skip
for _case, _call, _exc, _words in (
    ("str_values", lambda: CaseRecords("a", [0.5], [1], [1], []), TypeError,
     ("`lesion_confidence` must be a sequence of numbers, got 'a' (str)",)),
    ("none_values", lambda: CaseRecords([0.5], [0.5], [1], [1], [None]), TypeError,
     ("`fp_confidence` must be a sequence of numbers, got [None] (list)",)),
    ("dice_above_one", lambda: CaseRecords([0.5], [1.5], [1], [1], []), ValueError,
     ("`lesion_dice` must hold Dice values in [0, 1] (0 for a missed lesion), got [1.5]",)),
    ("dice_nan", lambda: CaseRecords([0.5], [NAN], [1], [1], []), ValueError,
     ("`lesion_dice` must hold Dice values in [0, 1]", "got [nan]")),
    ("n_predictions_negative", lambda: CaseRecords([0.5], [0.5], [1], [1], [], n_predictions=-1), ValueError,
     ("`n_predictions` must be an int >= 0, got -1",)),
    ("n_predictions_float", lambda: CaseRecords([0.5], [0.5], [1], [1], [], n_predictions=1.5), TypeError,
     ("`n_predictions` must be an int, got 1.5 (float)",)),
    ("n_merged_lesions_negative", lambda: CaseRecords([0.5], [0.5], [1], [1], [], n_merged_lesions=-2), ValueError,
     ("`n_merged_lesions` must be an int >= 0, got -2",)),
):  # fmt: skip
    err("CaseRecords", _case, _call, _exc, *_words)

S_ = "segmentation_scores"
_onehot = torch.cat([1 - Y, Y], 1)
val(S_, "perfect", lambda: segmentation_scores(_onehot, _onehot)["dice"], lambda: torch.ones(2, 1))
val(S_, "bool", lambda: segmentation_scores(_onehot.bool(), _onehot.bool())["hd"], lambda: torch.zeros(2, 1))
err(S_, "soft_prediction", lambda: segmentation_scores(torch.cat([1 - P, P], 1), _onehot), ValueError,
    "`y_pred` must be binarised one-hot (values 0 and 1), got values in [0, 1]", "AsDiscrete")  # fmt: skip
err(S_, "label_nan", lambda: segmentation_scores(_onehot, _onehot * NAN), ValueError,
    "`y` must be binarised one-hot", "nan")  # fmt: skip
err(S_, "shape_mismatch", lambda: segmentation_scores(_onehot, _onehot[..., :7]), ValueError,
    "`y_pred` and `y` must have the same shape")  # fmt: skip


# ---- handlers: run in an ignite Engine over one iteration
def _run(handler: Any, output: Any, name: str = "m") -> float:
    engine = Engine(lambda e, b: output)
    handler.attach(engine, name)
    return engine.run([0], max_epochs=1).metrics[name]


HANDLERS: dict[str, tuple[Callable[..., Any], float]] = {
    "FROCHandler": (FROCHandler, 0.5),
    "LesionDiceHandler": (LesionDiceHandler, 2 / 3),
    "OverSegmentationHandler": (OverSegmentationHandler, 3 / 8),
}
for _n, (_make, _half) in HANDLERS.items():
    val(_n, "pair", lambda m=_make: _run(m(), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "decollated_dicts", lambda m=_make: _run(m(), _DECOLLATED), lambda v=_half: v)
    val(_n, "dict_of_batches", lambda m=_make: _run(m(), {"pred": P_HALF, "label": Y}), lambda v=_half: v)
    val(_n, "numpy", lambda m=_make: _run(m(), (P_HALF.numpy(), Y.numpy())), lambda v=_half: v)
    val(_n, "metatensor", lambda m=_make: _run(m(), (MetaTensor(P_HALF), MetaTensor(Y))), lambda v=_half: v)
    val(_n, "3d", lambda m=_make: _run(m(), (Y3 * 0.9, Y3)), lambda: 1.0)
    val(_n, "shared_owner", lambda m=_make: _run(m(records=LesionRecordsHandler()), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "pickle", lambda m=_make: _run(pickle.loads(pickle.dumps(m())), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "deepcopy", lambda m=_make: _run(copy.deepcopy(m()), (P_HALF, Y)), lambda v=_half: v)
    val(_n, "pickle_shared_owner", lambda m=_make: _run(pickle.loads(pickle.dumps(m(records=LesionRecordsHandler()))),
        (P_HALF, Y)), lambda v=_half: v)  # fmt: skip
    for _case, _out, _exc, _words in (
        ("output_none", None, TypeError, ("the evaluator output must be per-case dictionaries", "got NoneType")),
        ("output_tensor", P, TypeError, ("the evaluator output must be per-case dictionaries", "got Tensor")),
        ("output_triple", (P, Y, Y), TypeError, ("or a (y_pred, y) pair, got tuple",)),
        ("missing_pred_key", [{"prediction": P[0], "label": Y[0]}], KeyError,
         ("the evaluator output item 0 has no 'pred' (keys: ['label', 'prediction'])", "output_transform")),
        ("pred_nan", (P * NAN, Y), ValueError, ("`prob` must hold probabilities in [0, 1]",)),
        ("label_0_255", (P, Y * 255), ValueError, ("`label` must be binary (0/1)", "[0, 255]")),
        ("missing_channel", (P[:, 0], Y[:, 0]), ValueError, ("`pred` items must be channel-first",)),
    ):  # fmt: skip
        err(_n, _case, lambda m=_make, o=_out: _run(m(), o), _exc, *_words)
    err(_n, "records_not_an_owner", lambda m=_make: m(records=3), TypeError,
        "`records` must be a LesionRecordsHandler (or None), got int")  # fmt: skip
    err(_n, "threshold_beside_shared_owner", lambda m=_make: m(records=LesionRecordsHandler(), threshold=0.3),
        ValueError, "['threshold'] belong to the shared `records`")  # fmt: skip
    err(_n, "spacing_beside_shared_owner", lambda m=_make: m(records=LesionRecordsHandler(), spacing=2), ValueError,
        "['spacing'] belong to the shared `records`")  # fmt: skip
    err(_n, "output_transform_beside_shared_owner",
        lambda m=_make: m(records=LesionRecordsHandler(), output_transform=PredLabel()), ValueError,
        "`output_transform` belongs to the shared `records`")  # fmt: skip
    err(_n, "threshold_nan", lambda m=_make: m(threshold=NAN), ValueError, "`threshold` must be in [0, 1), got nan")
    err(_n, "output_transform_not_callable", lambda m=_make: m(output_transform=3), TypeError,
        "`output_transform` must be None or callable, got int")  # fmt: skip
    err(_n, "connectivity_zero", lambda m=_make: m(connectivity=0), ValueError,
        "`connectivity` must be None (full) or a positive int (orthogonal hops), got 0")  # fmt: skip
err("FROCHandler", "protocol_typo", lambda: FROCHandler("x"), ValueError, "`protocol`", "luna16")
err("FROCHandler", "fp_rates_negative", lambda: FROCHandler(fp_rates=[-1]), ValueError, "`fp_rates` must be non-empty")
err("OverSegmentationHandler", "max_volume_ratio_nan", lambda: OverSegmentationHandler(max_volume_ratio=NAN),
    ValueError, "`max_volume_ratio` must be a positive finite number, got nan")  # fmt: skip
err("PredLabel", "key_not_str", lambda: PredLabel(pred_key=3), TypeError, "`pred_key` must be a string", "got 3")
err("PredLabel", "dict_missing_label", lambda: PredLabel()({"pred": 1}), KeyError,
    "the evaluator output has no 'label' (keys: ['pred'])")  # fmt: skip
RH_ = "LesionReportHandler"


def _report_run(handler: LesionReportHandler) -> int:
    engine = Engine(lambda e, b: _DECOLLATED)
    handler.attach(engine)
    engine.run([0], max_epochs=1)
    return handler.report["n_cases"]


val(RH_, "two_cases", lambda: _report_run(LesionReportHandler(_TMP / "rh", n_draws=2)), lambda: 2)
val(RH_, "pickle", lambda: _report_run(pickle.loads(pickle.dumps(LesionReportHandler(_TMP / "rh_p", n_draws=2)))),
    lambda: 2)  # fmt: skip
val(RH_, "deepcopy", lambda: _report_run(copy.deepcopy(LesionReportHandler(_TMP / "rh_c", n_draws=2))), lambda: 2)
err(RH_, "key_view_unknown", lambda: LesionReportHandler(_TMP, key_view="foo"), ValueError,
    "`key_view` 'foo' is not one of the views ['paper', 'strict']")  # fmt: skip
err(RH_, "records_not_an_owner", lambda: LesionReportHandler(_TMP, records=3), TypeError,
    "`records` must be a LesionRecordsHandler or None, got int")  # fmt: skip
err(RH_, "protocol_typo", lambda: LesionReportHandler(_TMP, protocol="x"), ValueError, "`protocol`", "luna16")
err(RH_, "n_draws_zero", lambda: LesionReportHandler(_TMP, n_draws=0), ValueError, "`n_draws` must be at least 1")
# settings the report reads only when the run completes: checked at construction, before the evaluation is spent
for _case, _kwargs, _exc, _words in (
    ("size_thresholds_decreasing", {"size_thresholds": [5, 2]}, ValueError,
     ("`size_thresholds` must be finite and strictly increasing, got [5, 2]",)),
    ("size_thresholds_str", {"size_thresholds": "5"}, TypeError,
     ("`size_thresholds` must be a number or a sequence of numbers, got '5'",)),
    ("max_volume_ratio_negative", {"max_volume_ratio": -1}, ValueError,
     ("`max_volume_ratio` must be a positive finite number, got -1",)),
    ("max_volume_ratio_str", {"max_volume_ratio": "2"}, TypeError,
     ("`max_volume_ratio` must be a real number, got '2' (str)",)),
    ("seed_str", {"seed": "a"}, TypeError, ("`seed` must be an int, got 'a' (str)",)),
    ("seed_negative", {"seed": -1}, ValueError, ("`seed` must be an int >= 0, got -1",)),
    ("n_draws_str", {"n_draws": "3"}, TypeError, ("`n_draws` must be an int, got '3' (str)",)),
    ("n_draws_float", {"n_draws": 2.5}, TypeError, ("`n_draws` must be an int, got 2.5 (float)",)),
):  # fmt: skip
    err(RH_, _case, lambda kw=_kwargs: LesionReportHandler(_TMP, **kw), _exc, *_words)
err(RH_, "output_dir_none", lambda: LesionReportHandler(None), TypeError,
    "`output_dir` must be a path (str or os.PathLike), got NoneType")  # fmt: skip
val("GradientSignHandler", "pickle", lambda: pickle.loads(pickle.dumps(GradientSignHandler(interval=3))).interval,
    lambda: 3)  # fmt: skip
val("GradientSignHandler", "deepcopy", lambda: copy.deepcopy(GradientSignHandler(tol=0.5)).tol, lambda: 0.5)
err("GradientSignHandler", "interval_zero", lambda: GradientSignHandler(interval=0), ValueError,
    "`interval` must be a positive integer, got 0")  # fmt: skip
val("PredLabel", "pickle", lambda: pickle.loads(pickle.dumps(PredLabel("p", "y")))({"p": 1, "y": 2}), lambda: (1, 2))
val("LesionRecordsHandler", "pickle", lambda: sorted(pickle.loads(pickle.dumps(LesionRecordsHandler())).matchings),
    lambda: ["paper", "strict"])  # fmt: skip
val("MulticlassReportHandler", "pickle", lambda: pickle.loads(pickle.dumps(MulticlassReportHandler(_TMP, ["bg", "a"])))
    .class_names, lambda: ["bg", "a"])  # fmt: skip
val("MulticlassReportHandler", "deepcopy", lambda: copy.deepcopy(MulticlassReportHandler(_TMP, ["bg", "a"])).prefix,
    lambda: "evaluation")  # fmt: skip
err("MulticlassReportHandler", "one_class", lambda: MulticlassReportHandler(_TMP, ["bg"]), ValueError,
    "`class_names` must name the background and at least one class")  # fmt: skip
val("LesionMatching", "pickle", lambda: pickle.loads(pickle.dumps(LesionMatching.coerce("strict"))) ==
    LesionMatching.coerce("strict"), lambda: True)  # fmt: skip
val("LesionMatching", "deepcopy", lambda: copy.deepcopy(LesionMatching.coerce("paper")) == LesionMatching.coerce(
    "paper"), lambda: True)  # fmt: skip
val("LesionRecordsHandler", "deepcopy", lambda: sorted(copy.deepcopy(LesionRecordsHandler()).matchings),
    lambda: ["paper", "strict"])  # fmt: skip


# ---- reports and records files
R_ = "lesion_report"
val(R_, "hand_computed", lambda: [lesion_report(CASES, n_draws=2)[k] for k in ("n_lesions", "n_detected", "n_cases")],
    lambda: [6, 3, 3])  # fmt: skip
val(R_, "average_recall", lambda: lesion_report(CASES, n_draws=2)["average_recall"], lambda: 0.5)
val(R_, "no_lesion_json_safe", lambda: json.loads(json.dumps(lesion_report([case_lesion_records(p0, y0 * 0)["strict"]],
    n_draws=2), allow_nan=False))["average_recall"], lambda: None)  # fmt: skip
for _case, _call, _exc, _words in (
    ("empty", lambda: lesion_report([], n_draws=2), ValueError, ("`cases` must hold at least one case",)),
    ("none", lambda: lesion_report(None), TypeError, ("`cases` must be a sequence of CaseRecords, got NoneType",)),
    ("empty_mapping", lambda: lesion_report({}), ValueError, ("`cases` must hold at least one view",)),
    ("views_differ", lambda: lesion_report({"a": CASES, "b": CASES[:1]}, n_draws=2), ValueError,
     ("every view must hold the same cases, got [3, 1] cases",)),
    ("key_view_unknown", lambda: lesion_report({"a": CASES}, key_view="b", n_draws=2), ValueError,
     ("`key_view` 'b' is not one of the views ['a']",)),
    ("size_thresholds_decreasing", lambda: lesion_report(CASES, size_thresholds=[5, 2]), ValueError,
     ("`size_thresholds` must be finite and strictly increasing, got [5, 2]",)),
    ("size_thresholds_str", lambda: lesion_report(CASES, size_thresholds="a"), TypeError,
     ("`size_thresholds` must be a number or a sequence of numbers, got 'a'",)),
    ("max_volume_ratio_nan", lambda: lesion_report(CASES, max_volume_ratio=NAN, n_draws=2), ValueError,
     ("`max_volume_ratio` must be a positive finite number",)),
    ("n_draws_zero", lambda: lesion_report(CASES, n_draws=0), ValueError, ("`n_draws` must be at least 1, got 0",)),
):  # fmt: skip
    err(R_, _case, _call, _exc, *_words)

_TMP = Path(tempfile.mkdtemp(prefix="bad_inputs_reports_"))  # removed by the module fixture below


def _records_file(name: str, edit: Callable[[dict], Any] | None = None, text: str | bytes | None = None) -> Path:
    """A records file under ``_TMP``: the saved CASES, edited, or replaced by ``text``."""
    path = _TMP / name
    save_records(CASES, path)
    if edit is not None:
        doc = json.loads(path.read_text())
        edit(doc["views"]["records"]["cases"][0])
        path.write_text(json.dumps(doc))
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    return path


def _truncated(name: str) -> Path:
    path = _records_file(name)
    data = path.read_text()
    path.write_text(data[: len(data) // 2])
    return path


W_ = "write_lesion_report"
val(W_, "files", lambda: sorted(p.name for p in _written(_TMP / "report").iterdir()),
    lambda: ["lesion_report.json", "lesion_report.md", "lesion_report_froc.png", "lesion_report_recall_by_size.png",
             "lesion_report_records.json"])  # fmt: skip
val(W_, "records_round_trip", lambda: [c.lesion_dice.tolist() for c in load_records(_written(_TMP / "rt") /
    "lesion_report_records.json")], lambda: [c.lesion_dice.tolist() for c in CASES])  # fmt: skip
err(W_, "output_dir_is_a_file", lambda: write_lesion_report(CASES, _records_file("a_file.json"), n_draws=2),
    FileExistsError, "a_file.json")  # fmt: skip
err(W_, "unknown_keyword", lambda: write_lesion_report(CASES, _TMP / "kw", treshold=2), TypeError, "treshold")


def _written(out: Path) -> Path:
    write_lesion_report(CASES, out, n_draws=2)
    return out


LR_ = "load_records"
for _case, _call, _exc, _words in (
    ("missing", lambda: load_records(_TMP / "nope.json"), FileNotFoundError, ("`path`: no records file", "nope.json")),
    ("folder", lambda: load_records(_TMP), FileNotFoundError, ("`path`: no records file at",)),
    ("truncated", lambda: load_records(_truncated("trunc.json")), ValueError,
     ("trunc.json is not valid JSON (truncated or not a records file)",)),
    ("empty_file", lambda: load_records(_records_file("empty.json", text="")), ValueError,
     ("empty.json is not valid JSON",)),
    ("binary", lambda: load_records(_records_file("bin.json", text=b"\x1f\x8b\x08\x00\xff")), ValueError,
     ("bin.json is not a UTF-8 JSON text",)),
    ("not_a_records_file", lambda: load_records(_records_file("list.json", text="[]")), ValueError,
     ("`path` must be a lesion-records file", "list.json")),
    ("unknown_view", lambda: load_records(_records_file("v.json"), "foo"), KeyError,
     ("`view` 'foo' is not in", "v.json", "['records']")),
    ("field_missing", lambda: load_records(_records_file("f0.json", lambda c: c.pop("lesion_dice"))), ValueError,
     ("f0.json view 'records': case 'c0' lacks the fields ['lesion_dice']",)),
    ("field_str", lambda: load_records(_records_file("f1.json", lambda c: c.update(lesion_dice="x"))), ValueError,
     ("f1.json view 'records': case 'c0': `lesion_dice` must be a list of numbers, got str",)),
    ("n_predictions_str", lambda: load_records(_records_file("f2.json", lambda c: c.update(n_predictions="x"))),
     ValueError, ("f2.json view 'records': case 'c0': `n_predictions` must be a non-negative int, got 'x'",)),
    ("centroid_str", lambda: load_records(_records_file("f3.json", lambda c: c.update(lesion_centroid="x"))),
     ValueError, ("f3.json view 'records': case 'c0': `lesion_centroid` must be rows of numbers",)),
    ("length_mismatch", lambda: load_records(_records_file("f4.json", lambda c: c.update(lesion_dice=[0.5] * 7))),
     ValueError, ("f4.json view 'records': case 'c0': `lesion_dice` must have one value per lesion (2), got 7",)),
    ("affine_shape", lambda: load_records(_records_file("f5.json", lambda c: c.update(affine=[[1]]))), ValueError,
     ("f5.json view 'records': case 'c0': `affine` must be a square (D + 1, D + 1) matrix, got shape (1, 1)",)),
):  # fmt: skip
    err(LR_, _case, _call, _exc, *_words)
val(LR_, "round_trip", lambda: [c.fp_confidence.tolist() for c in load_records(_records_file("ok.json"))],
    lambda: [c.fp_confidence.tolist() for c in CASES])  # fmt: skip
val("load_record_views", "one_view", lambda: sorted(load_record_views(_records_file("ok2.json"))), lambda: ["records"])
err("save_records", "not_records", lambda: save_records([1], _TMP / "s.json"), TypeError,
    "`cases` view 'records' must hold CaseRecords only")  # fmt: skip
err("save_records", "missing_folder", lambda: save_records(CASES, _TMP / "no" / "s.json"), FileNotFoundError,
    "s.json")  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _remove_tmp():
    yield
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.mark.parametrize(("call", "exc", "pattern"), MATRIX.raises)
def test_bad_input_raises_named_error(call, exc, pattern):
    check_raises(call, exc, pattern)


@pytest.mark.parametrize(("call", "reference", "rtol"), MATRIX.values)
def test_edge_input_value_matches_reference(call, reference, rtol):
    check_value(call, reference, rtol)


def test_matrix_size():
    """Every entry point keeps its cases: guard against cases silently dropping out."""
    assert len(MATRIX.raises) >= 240
    assert len(MATRIX.values) >= 135
