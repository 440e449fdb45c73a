from __future__ import annotations

import logging
import pickle

import pytest
import torch
from monai.engines import SupervisedEvaluator

from monai_imbalance.handlers import (
    FROCHandler,
    LesionDiceHandler,
    LesionRecordsHandler,
    OverSegmentationHandler,
    PredLabel,
)
from monai_imbalance.metrics import LesionMatching, average_recall, lesion_records, object_dice, over_segmentation
from tests.metrics._volumes import blob_batch


def _data(n=4):
    g = torch.Generator().manual_seed(0)
    y = (torch.rand((n, 1, 16, 16, 8), generator=g) > 0.98).float()
    y = torch.nn.functional.max_pool3d(y, 3, 1, 1)
    p = (0.7 * y + 0.5 * torch.rand((n, 1, 16, 16, 8), generator=g)).clamp(0, 1)
    return [{"image": p[i : i + 2], "label": y[i : i + 2]} for i in range(0, n, 2)], p, y


def _cases(p, y, matching):
    return [lesion_records(y[b, 0], p[b, 0], matching=matching) for b in range(p.shape[0])]


def _evaluator(loader, key, extra=None, handlers=None):
    return SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=loader,
        network=torch.nn.Identity(),
        key_val_metric=key,
        additional_metrics=extra,
        val_handlers=handlers,
    )


def test_froc_is_key_metric_of_supervised_evaluator():
    loader, p, y = _data()
    evaluator = _evaluator(
        loader,
        {"avg_recall": FROCHandler(output_transform=PredLabel())},
        {"object_dice": LesionDiceHandler(output_transform=PredLabel(), matching="paper")},
    )
    evaluator.run()
    strict, paper = _cases(p, y, LesionMatching.strict()), _cases(p, y, LesionMatching.paper())
    assert evaluator.state.metrics["avg_recall"] == pytest.approx(average_recall(strict))
    assert evaluator.state.metrics["object_dice"] == pytest.approx(object_dice(paper)[0])
    assert evaluator.state.best_metric == evaluator.state.metrics["avg_recall"]


def test_views_of_one_owner_match_every_case_once_and_agree_with_the_report(tmp_path, monkeypatch):
    import monai_imbalance.metrics.lesions as lesions_module
    from monai_imbalance.handlers import LesionReportHandler

    calls = []
    original = lesions_module._extract
    monkeypatch.setattr(lesions_module, "_extract", lambda *a, **k: calls.append(1) or original(*a, **k))
    loader, p, y = _data()
    records = LesionRecordsHandler()
    report = LesionReportHandler(tmp_path, records=records, n_draws=3)
    evaluator = _evaluator(
        loader,
        {"avg_recall": FROCHandler(records=records)},
        {
            "paper_recall": FROCHandler(records=records, matching="paper"),
            "object_dice": LesionDiceHandler(records=records),
            "volume_ratio": OverSegmentationHandler(records=records),
        },
        [report],
    )
    evaluator.run()
    assert len(calls) == 4  # four cases, one extraction each for all four metrics and the report
    strict, paper = _cases(p, y, LesionMatching.strict()), _cases(p, y, LesionMatching.paper())
    metrics = evaluator.state.metrics
    assert metrics["avg_recall"] == pytest.approx(average_recall(strict))
    assert metrics["paper_recall"] == pytest.approx(average_recall(paper))
    assert metrics["object_dice"] == pytest.approx(object_dice(strict)[0])
    assert metrics["volume_ratio"] == pytest.approx(over_segmentation(strict)["volume_ratio"])
    # the report and the key metric use the same rule and the same number
    assert report.report["key_view"] == "strict"
    assert report.report["average_recall"] == pytest.approx(metrics["avg_recall"])
    assert report.report["views"]["paper"]["average_recall"] == pytest.approx(metrics["paper_recall"])
    before = len(calls)
    evaluator.run()  # a second run starts afresh
    assert len(calls) == before + 4
    assert len(records.records("strict")) == 4


def test_blob_model_is_not_selected_and_warns(caplog):
    """A model predicting one blob per volume scores near 0 under the default key metric, with a warning."""
    p_blob, y = blob_batch()
    p_good = y * 0.9
    records = LesionRecordsHandler()
    loader_blob = [{"image": p_blob, "label": y}]
    loader_good = [{"image": p_good, "label": y}]
    results = {}
    for name, loader in (("blob", loader_blob), ("good", loader_good)):
        records = LesionRecordsHandler()
        ev = _evaluator(
            loader,
            {"recall": FROCHandler(records=records)},
            {
                "paper": FROCHandler(records=records, matching="paper"),
                "ratio": OverSegmentationHandler(records=records),
            },
        )
        with caplog.at_level(logging.WARNING, logger="monai_imbalance.handlers.lesion"):
            caplog.clear()
            ev.run()
        results[name] = (ev.state.metrics, [r.message for r in caplog.records])
    blob, blob_log = results["blob"]
    good, good_log = results["good"]
    assert blob["paper"] == 1.0  # the paper's rule is fooled
    assert blob["recall"] == pytest.approx(0.0, abs=0.05)
    assert good["recall"] == 1.0
    assert blob["ratio"] > 10
    assert any("over-segmentation" in m for m in blob_log)
    assert not any("over-segmentation" in m for m in good_log)


def test_handler_errors_and_pickle():
    records = LesionRecordsHandler()
    with pytest.raises(ValueError, match="`output_transform` belongs to the shared `records`"):
        FROCHandler(records=records, output_transform=PredLabel())
    with pytest.raises(TypeError, match="`records` must be a LesionRecordsHandler"):
        FROCHandler(records="strict")
    with pytest.raises(ValueError, match="`quantity`"):
        OverSegmentationHandler("blobs")
    with pytest.raises(ValueError, match="`max_volume_ratio`"):
        OverSegmentationHandler(max_volume_ratio=float("nan"))
    with pytest.raises(TypeError, match="per-case dictionaries"):
        PredLabel()(3)
    for h in (FROCHandler(), LesionDiceHandler(matching="paper"), OverSegmentationHandler(), records):
        pickle.loads(pickle.dumps(h))


# ---------------------------------------------------------------- every documented keyword of the view handlers

HANDLERS = {"froc": FROCHandler, "dice": LesionDiceHandler, "over": OverSegmentationHandler}


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_handler_signature_lists_every_documented_argument(name):
    import inspect

    cls = HANDLERS[name]
    doc = cls.__doc__.split("Args:")[1].split("Raises:")[0]
    documented = [
        line.split(":")[0].strip()
        for line in doc.splitlines()
        if line.startswith(" " * 8) and line[8] != " " and ":" in line
    ]
    params = inspect.signature(cls.__init__).parameters
    assert documented == [p for p in params if p != "self"]
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())


def _engine_records(handler, p, y):
    from ignite.engine import Engine

    engine = Engine(lambda e, b: b)
    handler.attach(engine, "value")
    engine.run([(p, y)], max_epochs=1)
    return handler.owner.records("view")


@pytest.mark.parametrize("name", sorted(HANDLERS))
@pytest.mark.parametrize(
    ("keyword", "value", "check"),
    [
        pytest.param("threshold", 0.9, lambda r: r.n_detected == 0, id="threshold"),
        pytest.param("connectivity", 1, lambda r: r.n_lesions == 2, id="connectivity"),
        pytest.param("spacing", (2.0, 3.0), lambda r: r.true_volume == 12.0, id="spacing"),
        pytest.param("lesion_labels", [2], lambda r: r.n_lesions == 1, id="lesion_labels"),
        pytest.param("sigmoid", True, lambda r: r.n_detected == 1, id="sigmoid"),
        pytest.param("output_transform", lambda out: (out[1] * 0.8, out[1]), lambda r: r.n_detected == 1, id="ot"),
    ],
)
def test_each_own_owner_keyword_works(name, keyword, value, check):
    y = torch.zeros(1, 1, 6, 6)
    y[0, 0, 1, 1] = y[0, 0, 2, 2] = 2.0 if keyword == "lesion_labels" else 1.0
    p = (y != 0).float() * 0.8
    if keyword == "sigmoid":
        p = (p > 0).float() * 10 - 5  # logits
    if keyword == "output_transform":
        p = torch.zeros_like(y)  # replaced by the transform
    (case,) = _engine_records(HANDLERS[name](**{keyword: value}), p, y)
    assert check(case)


@pytest.mark.parametrize("name", sorted(HANDLERS))
@pytest.mark.parametrize("keyword", ["threshold", "connectivity", "spacing", "sigmoid", "lesion_labels"])
def test_own_owner_keywords_are_refused_with_shared_records(name, keyword):
    value = {"threshold": 0.6, "connectivity": 1, "spacing": 1.0, "sigmoid": True, "lesion_labels": [2]}[keyword]
    with pytest.raises(ValueError, match=rf"\['{keyword}'\] belong to the shared `records`"):
        HANDLERS[name](records=LesionRecordsHandler(), **{keyword: value})
