"""choose_thresholds: each run's probability threshold chosen on its validation list by the strict lesion F1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monai_imbalance.apps.experiments import (
    CHOSEN_THRESHOLD,
    choose_thresholds,
    lesion_f1,
    run_experiment,
    summarize_experiment,
)
from monai_imbalance.apps.experiments.__main__ import main
from monai_imbalance.reporting import lesion_report
from tests.apps.experiments.test_recipe_tools import ROOT, _cfg, _fake_evaluate, _fake_runner, _pooled, _views

#: the threshold each loss's fake validation scores peak at
PEAK = {"bce": 0.3, "capped": 0.7}


def _f1(tp: int, fp: int, fn: int) -> float:
    """Lesion F1 written out: harmonic mean of precision tp / (tp + fp) and recall tp / (tp + fn)."""
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2 * precision * recall / (precision + recall)


def _validation_counts(loss: str, t: float) -> dict[str, int]:
    """Strict counts of a fake validation evaluation: 10 lesions, the most found nearest PEAK, FPs below it."""
    found = max(0, 8 - round(20 * abs(t - PEAK[loss])))
    return {"n_lesions": 10, "n_detected": found, "n_false_positives": round(10 * max(0.0, PEAK[loss] - t))}


def _evaluate(calls: list):
    def fn(cfg, spec, overrides):
        calls.append((spec.run_id, overrides.get("eval_list", "test"), overrides["lesion_threshold"]))
        if overrides.get("eval_list") == "validation":
            out = Path(overrides["output_dir"])
            out.mkdir(parents=True)
            report = {"views": {"strict": _validation_counts(spec.loss, overrides["lesion_threshold"])}}
            (out / cfg.evaluation["report"]).write_text(json.dumps(report))
        else:
            _fake_evaluate(cfg, spec, overrides)

    return fn


@pytest.mark.parametrize(("tp", "fp", "fn"), [(6, 2, 4), (1, 0, 0), (0, 5, 3), (10, 90, 0), (3, 3, 3), (0, 0, 7)])
def test_lesion_f1_against_precision_recall(tp, fp, fn):
    report = {"views": {"strict": {"n_lesions": tp + fn, "n_detected": tp, "n_false_positives": fp}}}
    assert lesion_f1(report) == pytest.approx(_f1(tp, fp, fn))


def test_lesion_f1_nothing_to_find_and_missing_view():
    assert lesion_f1({"views": {"strict": {"n_lesions": 0, "n_detected": 0, "n_false_positives": 0}}}) == 0.0
    with pytest.raises(KeyError, match=r"no view 'strict'.*paper"):
        lesion_f1({"views": {"paper": {}}})


def test_threshold_chosen_on_validation_then_test_evaluated_there(tmp_path):
    cfg = _cfg()
    run_experiment(cfg, tmp_path, progress=False, run_fn=_fake_runner())
    calls: list = []
    candidates = [0.1, 0.3, 0.5, 0.7, 0.9]
    done = choose_thresholds(cfg, tmp_path, candidates, evaluate_fn=_evaluate(calls))
    assert [d["threshold"] for d in done] == [PEAK[d["run_id"].split("-")[1]] for d in done]
    assert {d["status"] for d in done} == {"done"}
    for d in done:
        expected = {f"{t:g}": lesion_f1({"views": {"strict": _validation_counts(d["run_id"].split("-")[1], t)}})
                    for t in candidates}  # fmt: skip
        assert d["scores"] == pytest.approx(expected)
        run_dir = tmp_path / "tiny_views" / "runs" / d["run_id"]
        assert json.loads((run_dir / CHOSEN_THRESHOLD).read_text())["threshold"] == d["threshold"]
    # every candidate on the validation list, then the test list once, at the chosen threshold
    assert sum(c[1] == "validation" for c in calls) == 4 * len(candidates)
    assert sorted(c[2] for c in calls if c[1] == "test") == [0.3, 0.3, 0.7, 0.7]
    # a second call reuses everything
    again: list = []
    assert {d["status"] for d in choose_thresholds(cfg, tmp_path, candidates, evaluate_fn=_evaluate(again))} == {
        "skipped"
    }
    assert again == []
    table = summarize_experiment(tmp_path / "tiny_views")["lesion"]["views_table"]
    row = table["bce @ val"]
    assert row["chosen_thresholds"] == [0.3, 0.3]
    assert row["threshold"] is None
    expected_report = lesion_report(_pooled("bce", "metastases", 0.3), size_thresholds=[5.0, 10.0], n_draws=1)
    assert row["strict_detected"] == expected_report["views"]["strict"]["n_detected"]
    # per seed: the strict matches of each seed's own records; the spread: the bootstrap of the pooled cases
    per_seed = [
        sum(int(np.isfinite(c.lesion_confidence).sum()) for c in _views("bce", seed, "metastases", 0.3)["strict"])
        for seed in (0, 1)
    ]
    assert row["strict_detected_per_seed"] == per_seed
    assert sum(per_seed) == row["strict_detected"]
    boot = lesion_report(_pooled("bce", "metastases", 0.3), size_thresholds=[5.0, 10.0], n_draws=5, seed=0)
    assert row["strict_average_recall_std"] == pytest.approx(boot["views"]["strict"]["bootstrap"]["std"])
    assert row["strict_average_recall_std"] > 0
    assert "| bce @ val (0.3, 0.3) |" in (tmp_path / "tiny_views" / "summary.md").read_text()


def test_ties_go_to_the_threshold_nearest_half(tmp_path):
    cfg = _cfg()
    run_experiment(cfg, tmp_path, progress=False, run_fn=_fake_runner())

    def flat(c, spec, overrides):
        if overrides.get("eval_list") == "validation":
            out = Path(overrides["output_dir"])
            out.mkdir(parents=True)
            strict = {"n_lesions": 4, "n_detected": 2, "n_false_positives": 1}
            (out / c.evaluation["report"]).write_text(json.dumps({"views": {"strict": strict}}))
        else:
            _fake_evaluate(c, spec, overrides)

    done = choose_thresholds(cfg, tmp_path, [0.2, 0.4, 0.9], evaluate_fn=flat)
    assert {d["threshold"] for d in done} == {0.4}


@pytest.mark.parametrize("bad", [[], [0.0], [0.5, 1.0], [float("nan")]])
def test_bad_thresholds(tmp_path, bad):
    with pytest.raises(ValueError, match="thresholds"):
        choose_thresholds(_cfg(), tmp_path, bad)


def test_needs_a_lesion_evaluation(tmp_path):
    cfg = _cfg(evaluation={"kind": "multiclass"})
    with pytest.raises(ValueError, match="lesion evaluation"):
        choose_thresholds(cfg, tmp_path, [0.5])


def test_command_line_checks_the_thresholds(tmp_path, capsys):
    config = tmp_path / "x.yaml"
    config.write_text(f"name: x\nroot: {ROOT}\nbundle: bundles/lesion_inverse_weighting\nevaluation: {{kind: lesion}}\n"
                      "grid: {loss: [bce], seed: [0], preset: [metastases]}\n")  # fmt: skip
    with pytest.raises(SystemExit):
        main(["choose-thresholds", str(config), "--thresholds", "0.3,abc", "--results_dir", str(tmp_path)])
    assert "--thresholds expects comma-separated probabilities" in capsys.readouterr().err
