from __future__ import annotations

import torch
from monai.engines import SupervisedEvaluator
from monai.handlers import from_engine

from monai_imbalance.handlers import FROCHandler, LesionDiceHandler
from monai_imbalance.metrics import average_recall, lesion_records, object_dice


def _data(n=4):
    g = torch.Generator().manual_seed(0)
    y = (torch.rand((n, 1, 16, 16, 8), generator=g) > 0.98).float()
    y = torch.nn.functional.max_pool3d(y, 3, 1, 1)
    p = (0.7 * y + 0.5 * torch.rand((n, 1, 16, 16, 8), generator=g)).clamp(0, 1)
    return [{"image": p[i : i + 2], "label": y[i : i + 2]} for i in range(0, n, 2)], p, y


def test_froc_is_key_metric_of_supervised_evaluator():
    loader, p, y = _data()
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=loader,
        network=torch.nn.Identity(),
        key_val_metric={"avg_recall": FROCHandler(output_transform=from_engine(["pred", "label"]))},
        additional_metrics={"object_dice": LesionDiceHandler(output_transform=from_engine(["pred", "label"]))},
    )
    evaluator.run()
    cases = [lesion_records(y[b, 0], p[b, 0]) for b in range(p.shape[0])]
    assert evaluator.state.metrics["avg_recall"] == torch.tensor(average_recall(cases)).item()
    assert abs(evaluator.state.metrics["object_dice"] - object_dice(cases)[0]) < 1e-6
    assert evaluator.state.best_metric == evaluator.state.metrics["avg_recall"]
    assert evaluator.state.metric_details["avg_recall"].shape[0] == 4


def test_metrics_and_report_handler_match_every_case_once(tmp_path, monkeypatch):
    from monai_imbalance.metrics import lesions as lesions_module
    from monai_imbalance.reporting import LesionReportHandler

    calls = []
    original = lesions_module.lesion_records

    def counted(*args, **kwargs):
        calls.append(kwargs.get("hit_rule"))
        return original(*args, **kwargs)

    monkeypatch.setattr(lesions_module, "lesion_records", counted)
    loader, p, y = _data()
    out = from_engine(["pred", "label"])
    report = LesionReportHandler(tmp_path, n_draws=3)
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"),
        val_data_loader=loader,
        network=torch.nn.Identity(),
        key_val_metric={"avg_recall": FROCHandler(output_transform=out)},
        additional_metrics={
            "object_dice": LesionDiceHandler(output_transform=out),
            "strict_recall": FROCHandler(output_transform=out, hit_rule="dice", hit_threshold=0.5),
        },
        val_handlers=[report],
    )
    evaluator.run()
    # 4 cases: one overlap-rule matching shared by three readers, one dice-rule matching of the strict metric
    assert sorted(calls) == ["dice"] * 4 + ["overlap"] * 4
    cases = [lesion_records(y[b, 0], p[b, 0]) for b in range(p.shape[0])]
    strict = [lesion_records(y[b, 0], p[b, 0], hit_rule="dice") for b in range(p.shape[0])]
    assert evaluator.state.metrics["avg_recall"] == torch.tensor(average_recall(cases)).item()
    assert evaluator.state.metrics["strict_recall"] == torch.tensor(average_recall(strict)).item()
    assert abs(evaluator.state.metrics["object_dice"] - object_dice(cases)[0]) < 1e-6
    assert report.report["average_recall"] == average_recall(cases)
    # a second run (new output tensors) matches again
    evaluator.run()
    assert len(calls) == 16
