from __future__ import annotations

import numpy as np
import pytest

from monai_imbalance.metrics import lesion_records


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_metrics")


def _tables(text):
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_quick_bench_prints_parsable_tables(bench, capsys):
    rows = bench.main(["--quick"])
    volumes, evaluation, evaluator = _tables(capsys.readouterr().out)
    assert volumes[0] == ["volume", "lesions", "predictions", "recipe (s)", "ours (s)", "speed-up (target)"]
    assert [r[0] for r in volumes[2:]] == ["48x48x48", "64x56x40"]
    for r, row in zip(volumes[2:], rows, strict=False):
        recipe, ours = float(r[3]), float(r[4])
        assert recipe > 0
        assert ours > 0
        assert float(r[5].split("x")[0]) == pytest.approx(row["speedup"], abs=0.051)
        assert int(r[1]) > 0
    assert evaluation[0][0].startswith("full evaluation, 12 cases")
    assert len(evaluation) == 6
    assert all(float(r[1].split()[0]) >= 0 for r in evaluation[2:])
    assert evaluator[0][0] == "SupervisedEvaluator, 4 cases of 48x48x48"
    both = "FROC + object Dice + report"
    assert [r[0].split(",")[0] for r in evaluator[2:]] == ["FROC metric alone", both, both]
    assert all(float(r[1]) > 0 for r in evaluator[2:])


def test_recipe_agrees_with_ours_and_check_catches_a_difference(bench):
    label, prob = bench.make_pair((40, 36, 32), seed=3)
    ref = bench.recipe_records(label, prob)
    ours = lesion_records(label, prob)
    bench.check_same(ours, ref)
    assert ours.n_lesions > 1
    ref["lesion_dice"] = np.roll(ref["lesion_dice"], 1) + 1e-3
    with pytest.raises(AssertionError, match="lesion records differ"):
        bench.check_same(ours, ref)
