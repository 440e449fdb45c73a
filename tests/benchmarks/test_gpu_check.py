"""benchmarks/gpu_check.py: the dry run on CPU tensors (what CI exercises), failure isolation, output folder rules."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = ROOT / "benchmarks" / "gpu_check.py"

STEP_ROWS = [
    "gpu tests",
    "async weight check",
    "inverse weights",
    "RRW (3 classes)",
    "loss BCE",
    "loss Focal",
    "loss Dice",
    "loss ASL",
    "loss InverseWeighted(Dice)",
    "train step, inverse weights on the device",
    "train step, inverse weights in the data pipeline",
    "lesion_inverse_weighting training",
    "multiclass_region_wise training",
]
HEADER = ["check", "ran", "status", "measured", "goal", "met?"]


@pytest.fixture(scope="module")
def gpu_check(load_benchmark):
    return load_benchmark("gpu_check")


def _table(text: str) -> list[list[str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def _rows(out: Path) -> dict[str, list[str]]:
    table = _table((out / "gpu_check.md").read_text())
    assert table[0] == HEADER
    return {r[0]: r for r in table[2:]}


def _dry(gpu_check, out: Path, *extra: str) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CUDA_VISIBLE_DEVICES", "")  # main sets it for --dry-run; restored here
        return gpu_check.main(["--output_dir", str(out), "--dry-run", *extra])


@pytest.fixture(scope="module")
def dry_run(gpu_check, tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check") / "report"
    start = time.perf_counter()
    code = _dry(gpu_check, out)
    return out, code, time.perf_counter() - start


def test_dry_run_passes_every_step_and_says_so(dry_run, gpu_check):
    out, code, seconds = dry_run
    assert code == 0
    text = (out / "gpu_check.md").read_text()
    assert "**Dry run** (CUDA not available)" in text
    rows = _rows(out)
    assert list(rows) == STEP_ROWS
    assert {r[2] for r in rows.values()} == {"pass"}
    # speed goals are for a GPU: shown, not judged; correctness checks are judged in the dry run too
    for name in ("inverse weights", "RRW (3 classes)", "loss Dice", "train step, inverse weights on the device"):
        assert rows[name][5] == "not judged (dry run)"
        assert rows[name][4].startswith("<=")
    for name in ("gpu tests", "async weight check", "lesion_inverse_weighting training"):
        assert rows[name][5] == "yes"
    assert rows["gpu tests"][3].endswith("skipped")
    assert "0 failed" in rows["gpu tests"][3]
    assert seconds < 120  # well under a minute on 2 quiet cores; generous for a shared machine


def test_dry_run_writes_one_log_per_step_and_the_bundle_outputs_in_its_folder(dry_run, gpu_check):
    out = dry_run[0]
    assert sorted(p.stem for p in (out / "logs").iterdir()) == sorted(gpu_check.STEPS)
    assert "needs CUDA" in (out / "logs" / "tests.log").read_text()  # pytest's skip reasons, in the raw log
    for bundle in ("lesion_inverse_weighting", "multiclass_region_wise"):
        art = out / "artefacts" / bundle
        assert (art / "models" / "model.pt").is_file()
        assert (art / "data" / "dataset.json").is_file()


def test_a_failing_step_is_reported_and_the_next_still_runs(gpu_check, tmp_path, monkeypatch):
    def broken(ctx):
        raise RuntimeError("deliberate failure")

    monkeypatch.setitem(gpu_check.STEPS, "maps", broken)
    out = tmp_path / "report"
    assert _dry(gpu_check, out, "--only", "maps,async_check") == 1  # a dry-run failure is a bug: non-zero
    rows = _rows(out)
    assert list(rows) == ["maps", "async weight check"]
    assert rows["maps"][2] == "**fail**"
    assert rows["maps"][3] == "RuntimeError: deliberate failure (logs/maps.log)"
    assert rows["async weight check"][2] == "pass"
    log = (out / "logs" / "maps.log").read_text()
    assert "Traceback" in log
    assert "deliberate failure" in log


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="SIGALRM: main thread only")
def test_time_budget_interrupts_a_step_and_skips_the_rest(gpu_check, tmp_path, monkeypatch):
    def slow(ctx):
        time.sleep(30)
        return []

    monkeypatch.setitem(gpu_check.STEPS, "maps", slow)
    monkeypatch.setattr(gpu_check, "MIN_STEP_S", 0.1)
    out = tmp_path / "report"
    start = time.perf_counter()
    assert _dry(gpu_check, out, "--only", "maps,async_check", "--budget", "0.5") == 1
    assert time.perf_counter() - start < 10
    rows = _rows(out)
    assert rows["maps"][2] == "**fail**"
    assert rows["maps"][3].startswith("time budget spent after")
    assert rows["async_check"][2:4] == ["**skipped**", "time budget spent"]


def test_refuses_a_previous_runs_folder_unless_overwrite(gpu_check, tmp_path, capsys):
    (tmp_path / "gpu_check.md").write_text("previous report")
    (tmp_path / "notes.txt").write_text("not ours")
    assert _dry(gpu_check, tmp_path, "--only", "async_check") == 2
    assert "is not empty" in capsys.readouterr().err
    assert (tmp_path / "gpu_check.md").read_text() == "previous report"
    assert _dry(gpu_check, tmp_path, "--only", "async_check", "--overwrite") == 0
    assert list(_rows(tmp_path)) == ["async weight check"]
    assert (tmp_path / "notes.txt").read_text() == "not ours"  # --overwrite removes only the check's own entries


def test_unknown_step_is_a_usage_error(gpu_check, tmp_path, capsys):
    assert _dry(gpu_check, tmp_path / "report", "--only", "maps,nope") == 2
    assert "unknown steps ['nope']" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    ("rows", "dry", "expected"),
    [
        ([("pass", True, True)], False, 0),
        ([("pass", False, True)], False, 3),  # a GPU speed goal missed
        ([("pass", False, True)], True, 0),  # not judged in a dry run
        ([("pass", False, False)], False, 0),  # a correctness row's goal is its status
        ([("fail", None, False), ("pass", False, True)], False, 1),
        ([("skipped", None, False)], True, 1),  # a step that did not run
    ],
    ids=["all-met", "goal-missed", "dry-goal-missed", "no-speed-goal", "failed", "skipped"],
)
def test_exit_code(gpu_check, rows, dry, expected):
    made = [gpu_check.Row("c", "ran", status, "x", "goal", met, speed=speed) for status, met, speed in rows]
    assert gpu_check.exit_code(made, dry) == expected
