from __future__ import annotations

import os
import pickle
import tempfile

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from monai.data import MetaTensor

from monai_imbalance.metrics import (
    FROCMetric,
    LesionDiceMetric,
    LesionMatching,
    LesionRecordsMetric,
    OverSegmentationMetric,
    average_recall,
    lesion_records,
    object_dice,
)
from tests.metrics._volumes import blob_batch, lesion_batch

STRICT, PAPER = LesionMatching.strict(), LesionMatching.paper()


def _functional(p, y, spacing=None, matching=PAPER):
    return [lesion_records(y[b, 0], p[b, 0], spacing=spacing, matching=matching) for b in range(p.shape[0])]


@pytest.mark.parametrize("protocol", ["luna16", "shirokikh2020"])
@pytest.mark.parametrize("view", ["paper", "strict"])
def test_cumulative_over_batches_equals_functional(protocol, view):
    p, y = lesion_batch(0)
    metric, dice = FROCMetric(protocol=protocol, matching=view), LesionDiceMetric(protocol=protocol, matching=view)
    for s in (slice(0, 2), slice(2, 3), slice(3, 6)):
        metric(p[s], y[s])
        dice(p[s], y[s])
    cases = _functional(p, y, matching=LesionMatching.coerce(view))
    assert metric.aggregate().item() == pytest.approx(average_recall(cases, protocol))
    assert dice.aggregate().item() == pytest.approx(object_dice(cases, protocol)[0])
    metric.reset()
    assert np.isnan(metric.aggregate().item())


def test_one_owner_matches_each_case_once_for_every_view(monkeypatch):
    import monai_imbalance.metrics.lesions as lesions_module

    calls = []
    original = lesions_module._extract
    monkeypatch.setattr(lesions_module, "_extract", lambda *a, **k: calls.append(1) or original(*a, **k))
    p, y = lesion_batch(2)
    owner = LesionRecordsMetric()
    views = [FROCMetric(matching=v, records=owner) for v in ("paper", "strict")]
    views.append(LesionDiceMetric(matching="strict", records=owner))
    views.append(OverSegmentationMetric("volume_ratio", records=owner))
    owner(p, y)
    for v in views:
        v.aggregate()
    assert len(calls) == p.shape[0]  # one extraction per case, whatever the number of views
    assert views[0].aggregate().item() == pytest.approx(average_recall(_functional(p, y, matching=PAPER)))
    assert views[1].aggregate().item() == pytest.approx(average_recall(_functional(p, y, matching=STRICT)))


def test_blob_per_volume_has_strict_recall_zero_and_paper_recall_one():
    p, y = blob_batch()
    owner = LesionRecordsMetric()
    owner(p, y)
    strict = FROCMetric(matching="strict", records=owner).aggregate().item()
    paper = FROCMetric(matching="paper", records=owner).aggregate().item()
    ratio = OverSegmentationMetric("volume_ratio", records=owner).aggregate().item()
    merged = OverSegmentationMetric("merged_lesions", records=owner).aggregate().item()
    assert paper == 1.0
    assert strict == pytest.approx(0.0, abs=0.05)
    assert ratio > 10
    assert merged == sum(c.n_lesions for c in owner.records("paper"))


def test_views_of_shared_records_refuse_their_own_settings_and_cases():
    owner = LesionRecordsMetric()
    view = FROCMetric(records=owner)
    with pytest.raises(RuntimeError, match="shared `records`"):
        view(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\['threshold'\] belong to the shared `records`"):
        FROCMetric(records=owner, threshold=0.3)
    with pytest.raises(ValueError, match="not a view of the shared `records`"):
        FROCMetric(records=owner, matching={"assignment": "one_to_one", "hit_rule": "dice", "hit_threshold": 0.5})
    with pytest.raises(TypeError, match="`records` must be a LesionRecordsMetric"):
        FROCMetric(records="strict")
    with pytest.raises(KeyError, match="not one of this evaluation's matchings"):
        owner.records("lenient")


def test_list_input_and_spacing_sources():
    p, y = lesion_batch(1, n=3)
    sp = (0.7, 0.7, 2.5)
    ref = _functional(p, y, spacing=sp, matching=STRICT)
    m1 = FROCMetric(spacing=sp)
    m1(list(p), list(y))
    affine = torch.diag(torch.tensor([*sp, 1.0]))
    m2 = FROCMetric()
    m2(list(p), [MetaTensor(y[b], affine=affine) for b in range(3)])
    m3 = FROCMetric()
    m3(p, y, spacing=[sp] * 3)
    for m in (m1, m2, m3):
        recs = m.cases()
        assert len(recs) == 3
        for a, b in zip(recs, ref, strict=True):
            np.testing.assert_allclose(a.lesion_volume, b.lesion_volume)
            np.testing.assert_allclose(a.lesion_confidence, b.lesion_confidence)


def test_variable_length_records_hold_a_lits_sized_case_and_an_over_segmenting_model():
    # no fixed slots: 200 lesions and 1000 false positives in one case are kept exactly
    y = torch.zeros(1, 1, 40, 40, 40)
    p = torch.zeros(1, 1, 40, 40, 40)
    y[0, 0, 1:40:4, 1:40:4, 1:40:20] = 1  # 10 x 10 x 2 = 200 one-voxel lesions
    p[0, 0, 1:40:4, 1:40:4, 1:40:20] = 0.9
    p[0, 0, 3:40:4, 3:40:4, 3:40:4] = torch.linspace(0.55, 0.95, 1000).reshape(10, 10, 10)  # 1000 FPs
    metric = FROCMetric()
    metric(p, y)
    (rec,) = metric.cases()
    assert rec.n_lesions == 200
    assert rec.fp_confidence.size == 1000
    expected = average_recall([lesion_records(y[0, 0], p[0, 0], matching=STRICT)])
    assert metric.aggregate().item() == pytest.approx(expected)


def test_half_precision_predictions_equal_float32():
    p, y = lesion_batch(3, n=2)
    p = (p * 64).round() / 64  # exactly representable in bfloat16 and float16
    ref = FROCMetric()
    ref(p, y)
    for dtype in (torch.float16, torch.bfloat16):
        m = FROCMetric()
        m(p.to(dtype), y)
        assert m.aggregate().item() == ref.aggregate().item()


def test_empty_batch_and_no_case():
    m = FROCMetric()
    m(torch.zeros(0, 1, 4, 4), torch.zeros(0, 1, 4, 4))
    assert m.cases() == []
    assert np.isnan(m.aggregate().item())  # documented: no case, no recall
    m([], [])
    assert np.isnan(LesionDiceMetric().aggregate().item())


@pytest.mark.parametrize(
    ("kwargs", "call", "error", "match"),
    [
        ({"protocol": "camelyon"}, None, ValueError, "`protocol`"),
        ({"threshold": float("nan")}, None, ValueError, r"`threshold` must be in \[0, 1\)"),
        ({"threshold": 1.0}, None, ValueError, r"`threshold` must be in \[0, 1\)"),
        (
            {"matching": {"assignment": "one_to_one", "hit_rule": "iou", "hit_threshold": float("nan")}},
            None,
            ValueError,
            r"`hit_threshold` must be in \(0, 1\]",
        ),
        ({"matching": "lenient"}, None, ValueError, "`matching` must be 'paper', 'strict'"),
        ({"fp_rates": [-1.0]}, None, ValueError, "`fp_rates`"),
        ({}, "logits", ValueError, r"probabilities in \[0, 1\].*sigmoid=True"),
        ({}, "multilabel", ValueError, "must be binary .* `lesion_labels`"),
        ({}, "negative", ValueError, "must be non-negative"),
        ({}, "channels", ValueError, "channel-first with 1 channel"),
        ({}, "shapes", ValueError, "same shape"),
        ({}, "numbers", TypeError, "must be a tensor, an array or a list"),
        ({}, "lengths", ValueError, "same number of cases"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_metric_errors_name_the_argument(kwargs, call, error, match):
    y = torch.zeros(1, 1, 6, 6)
    y[..., 1:3, 1:3] = 1
    inputs = {
        "logits": (torch.randn(1, 1, 6, 6) * 3, y),
        "multilabel": (
            y * 0.9,
            torch.where(y > 0, 1.0, 0.0).index_put_(
                (torch.tensor(0), torch.tensor(0), torch.tensor(5), torch.tensor(5)), torch.tensor(2.0)
            ),
        ),
        "negative": (y * 0.9, y - 1),
        "channels": (torch.zeros(1, 3, 6, 6), torch.zeros(1, 3, 6, 6)),
        "shapes": (torch.zeros(1, 1, 6, 6), torch.zeros(1, 1, 6, 5)),
        "numbers": (0.5, 1),
        "lengths": ([y[0]], [y[0], y[0]]),
    }
    if call is None:
        with pytest.raises(error, match=match):
            FROCMetric(**kwargs)
        return
    metric = FROCMetric(**kwargs)
    with pytest.raises(error, match=match):
        metric(*inputs[call])


def test_sigmoid_option_reads_logits():
    p, y = lesion_batch(4, n=2)
    logits = torch.logit(p.clamp(1e-4, 1 - 1e-4))
    a, b = FROCMetric(), FROCMetric(sigmoid=True)
    a(p.clamp(1e-4, 1 - 1e-4), y)
    b(logits, y)
    assert b.aggregate().item() == pytest.approx(a.aggregate().item())


def test_lesion_labels_select_the_lesion_values():
    p, y = lesion_batch(5, n=2)
    organ = torch.zeros_like(y)
    organ[..., :10, :, :] = 1
    label = torch.where(y > 0, torch.full_like(y, 2.0), organ)  # 0 background, 1 organ, 2 tumour
    a, b = FROCMetric(), FROCMetric(lesion_labels=[2])
    a(p, y)
    b(p, label)
    assert b.aggregate().item() == a.aggregate().item()


def test_metrics_pickle_and_keep_working():
    p, y = lesion_batch(6, n=2)
    m = pickle.loads(pickle.dumps(FROCMetric(matching="paper")))
    m(p, y)
    assert m.aggregate().item() == pytest.approx(average_recall(_functional(p, y)))


def _ddp_worker(rank, world, init_file, out_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        p, y = lesion_batch(5)
        owner = LesionRecordsMetric()
        metric, dice = FROCMetric(records=owner), LesionDiceMetric(records=owner, matching="paper")
        shard = slice(rank * 3, rank * 3 + 3)
        owner(p[shard], y[shard])
        result = [metric.aggregate().item(), dice.aggregate().item(), len(owner.records("strict")), len(owner)]
        if rank == 0:
            torch.save(result, out_file)
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_gloo():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "result.pt")
        mp.spawn(_ddp_worker, args=(2, os.path.join(d, "init"), out), nprocs=2, join=True)
        ar, od, n, local = torch.load(out)
    p, y = lesion_batch(5)
    assert (n, local) == (6, 3)
    assert ar == pytest.approx(average_recall(_functional(p, y, matching=STRICT)))
    assert od == pytest.approx(object_dice(_functional(p, y, matching=PAPER))[0])


def test_bootstrap_and_size_groups_name_their_arguments():
    from monai_imbalance.metrics import CaseRecords, bootstrap, size_groups

    cases = [CaseRecords([0.9], [0.8], [3], [14], [])]
    with pytest.raises(ValueError, match="`fp_grid` must be non-empty"):
        bootstrap(cases, fp_grid=[-1.0])
    with pytest.raises(TypeError, match="`fp_rates` must be a sequence of numbers"):
        bootstrap(cases, fp_rates=["a"])
    with pytest.raises(ValueError, match="`cases` must be a non-empty sequence"):
        size_groups([])
    with pytest.raises(TypeError, match="`cases` must hold CaseRecords only"):
        size_groups([1])


def test_confidence_map_ranks_like_the_functional_core():
    """Logits as the per-voxel confidence (the authors' protocol) give the records of lesion_records(confidence=)."""
    p, y = lesion_batch(7, n=3)
    logits = torch.logit(p.clamp(1e-4, 1 - 1e-4))
    metric = FROCMetric(protocol="shirokikh2020", matching="paper")
    metric(p, y, confidence=logits)
    ref = [lesion_records(y[b, 0], p[b, 0], confidence=logits[b, 0]) for b in range(3)]
    for a, b in zip(metric.cases(), ref, strict=True):
        np.testing.assert_array_equal(a.lesion_confidence, b.lesion_confidence)
        np.testing.assert_array_equal(a.fp_confidence, b.fp_confidence)
    assert metric.aggregate().item() == pytest.approx(average_recall(ref, "shirokikh2020"))


# ---------------------------------------------------------------- every documented keyword of the views works

VIEWS = {"froc": FROCMetric, "dice": LesionDiceMetric, "over": OverSegmentationMetric}


def _docstring_args(cls):
    doc = cls.__doc__.split("Args:")[1].split("Raises:")[0]
    return [
        line.split(":")[0].strip()
        for line in doc.splitlines()
        if line.startswith(" " * 8) and line[8] != " " and ":" in line
    ]


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_signature_lists_every_documented_argument(name):
    import inspect

    cls = VIEWS[name]
    params = list(inspect.signature(cls.__init__).parameters)[1:]
    assert _docstring_args(cls) == [p for p in params if p in _docstring_args(cls)]
    assert set(_docstring_args(cls)) == set(params)
    assert not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())


def _diagonal_case(value=1.0):
    """Two voxels touching by a corner (one lesion with full connectivity, two with faces only), predicted 0.8."""
    y = torch.zeros(1, 1, 6, 6)
    y[0, 0, 1, 1] = y[0, 0, 2, 2] = value
    return (y != 0).float() * 0.8, y


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.parametrize(
    ("keyword", "value", "check"),
    [
        pytest.param("threshold", 0.9, lambda r: r.n_detected == 0, id="threshold"),
        pytest.param("connectivity", 1, lambda r: r.n_lesions == 2, id="connectivity"),
        pytest.param("spacing", (2.0, 3.0), lambda r: r.true_volume == 12.0, id="spacing"),
        pytest.param("lesion_labels", [2], lambda r: r.n_lesions == 1, id="lesion_labels"),
        pytest.param("sigmoid", True, lambda r: r.n_detected == 1, id="sigmoid"),
    ],
)
def test_each_own_records_keyword_works(name, keyword, value, check):
    p, y = _diagonal_case(2.0 if keyword == "lesion_labels" else 1.0)
    if keyword == "sigmoid":
        p = (p > 0).float() * 10 - 5  # logits
    metric = VIEWS[name](**{keyword: value})
    metric(p, y)
    (case,) = metric.cases()
    assert check(case)
    assert metric.aggregate().shape == ()  # NaN where the number is undefined (object Dice with no detection)
    if keyword in ("lesion_labels", "sigmoid"):  # without the keyword the same inputs are refused
        with pytest.raises(ValueError, match="lesion_labels" if keyword == "lesion_labels" else "sigmoid=True"):
            VIEWS[name]()(p, y)


def test_view_keywords_keep_their_positions():
    records = LesionRecordsMetric()
    froc = FROCMetric("shirokikh2020", [0.5, 1.0], "paper", records)
    assert (froc.protocol, froc.fp_rates, froc.view, froc.shared) == ("shirokikh2020", [0.5, 1.0], "paper", True)
    dice = LesionDiceMetric("shirokikh2020", "paper", records)
    assert (dice.protocol, dice.view, dice.shared) == ("shirokikh2020", "paper", True)
    over = OverSegmentationMetric("merged_lesions", records)
    assert (over.quantity, over.shared) == ("merged_lesions", True)
    own = FROCMetric("luna16", None, "strict", None, 0.6, 1, (1.0, 2.0), True, [2])
    settings = own.records_metric
    assert (settings.threshold, settings.connectivity, settings.sigmoid, settings.lesion_labels) == (0.6, 1, True, [2])
