from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_floor")


def test_quick_run_prints_the_issue_table(bench, capsys):
    rows = bench.main(["--quick", "--repeat", "1"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[:7] == [
        "work",
        "volume",
        "lesions",
        "floor (ms)",
        "ours (ms)",
        "ours / floor (target)",
        "ours / (floor + output)",
    ]
    assert [r["work"] for r in rows] == ["inverse weights"] * 2 + ["RRW, 3 classes", "evaluate one case"]
    assert len(lines) == 2 + len(rows)
    for r in rows:
        assert r["floor"] > 0
        assert r["ours"] > 0
        assert r["recipe"] > 0
    # working memory beyond the output: at most the output's size (the target of issue #14)
    assert all(r["memory"] <= 1.0 for r in rows if "memory" in r)
    assert "all regions" in rows[2]


def test_interleaved_best_times_and_memory_helpers(bench):
    calls = []
    times = bench.best_times(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3, bench.time.perf_counter
    )
    assert calls == ["a", "b"] * 3
    assert set(times) == {"a", "b"}
    np = bench.np
    assert bench.beyond_output(lambda: np.ones(1 << 20, np.float32), 4 << 20) == pytest.approx(0.0, abs=0.01)
    assert bench.beyond_output(lambda: np.ones(1 << 20, np.float32) + 1, 4 << 20) == pytest.approx(1.0, abs=0.01)
