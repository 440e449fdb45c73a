"""The GPU check: every CUDA path of the package verified and timed in one command, with one Markdown report.

Steps (each isolated: a step that raises is reported as failed and the next one still runs):

- ``tests``: ``pytest -m gpu`` on the test files that hold ``gpu`` tests (run in this process);
- ``async_check``: the asynchronous weight check of the losses: a good weight map passes with no host sync
  (``torch.cuda.set_sync_debug_mode("error")``), a NaN one does not raise at the call but fails the next
  synchronisation (in a child process: a device-side assertion leaves the CUDA context unusable);
- ``maps``: the GPU rows of ``bench_maps.py`` (inverse weights, RRW of a 128^3 patch);
- ``losses``: ``bench_losses.py`` on CUDA (voxel-weighted losses against MONAI's twins, 2 x {1, 4} x 128^3);
- ``train``: ``bench_train.py`` on CUDA with 128^3 patches (plain Dice, inverse weights computed in the loss on the
  device, inverse weights from the data pipeline);
- ``lesion_bundle``, ``multiclass_bundle``: 2 epochs of AMP training of each bundle (the lesion bundle with the
  paper's inverse-weighted Dice, ``configs/losses/iw_dice.yaml``; the multiclass bundle with its default RW loss
  and RRW maps), then one validation; every output of the bundles goes to ``<output_dir>/artefacts/``.

Dry run (the default where ``torch.cuda.is_available()`` is false, or ``--dry-run``): the same steps on CPU tensors
and tiny sizes, so that CI exercises the code paths in well under a minute. The ``gpu`` tests are collected and
skipped, the maps step calls the pure-torch functions the GPU runs (a CPU tensor would take the numpy path), the
asynchronous check forces its device-side branch on CPU (where the assertion fails at once), and the bundles
train in float32. Measured values are then CPU times of tiny runs and the goals are not judged. ``--dry-run`` on
a CUDA machine hides the GPU (``CUDA_VISIBLE_DEVICES=""``) before CUDA is initialised.

Output folder: ``gpu_check.md`` (the table), ``logs/<step>.log`` (each step's output and traceback),
``artefacts/<bundle>/{data,models,eval}``. A folder that is not empty is refused unless ``--overwrite`` (which
removes those three entries of a previous run and nothing else).

Exit status: 0 every step passed (and, on a GPU, met its goal); 1 a step failed or did not run in the time
budget; 2 a usage error or a refused output folder; 3 (GPU only) every step passed but a speed goal was missed.

Usage::

    python benchmarks/gpu_check.py --output_dir gpu_check_out              # CUDA: the real check; else a dry run
    python benchmarks/gpu_check.py --output_dir out --dry-run               # force the dry run
    python benchmarks/gpu_check.py --output_dir out --only maps,losses      # some steps only
    python benchmarks/gpu_check.py --output_dir out --budget 300 --overwrite
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import logging
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if sys.path[:1] != [str(ROOT)]:  # check the checkout this script belongs to, whatever else is installed
    sys.path.insert(0, str(ROOT))

BUDGET_S = 480.0  # the whole check, on a GPU machine (issue 15: within 8 minutes)
MIN_STEP_S = 5.0  # a step is not started with less time left than this
LOSS_FRAGMENT = ROOT / "bundles" / "lesion_inverse_weighting" / "configs" / "losses" / "iw_dice.yaml"
OWN_ENTRIES = ("gpu_check.md", "logs", "artefacts")

# sizes of the real check (CUDA) and of the dry run (CPU, tiny)
REAL = {
    "maps": {"shape": (128, 128, 128), "lesions": 30, "repeat": 5},
    "losses": {"size": 128, "repeats": 7},
    "train": {"patch": (128, 128, 128), "iterations": 12, "epochs": 3},
    "bundle": {"lesion_inverse_weighting": {}, "multiclass_region_wise": {}},
}
DRY = {
    "maps": {"shape": (32, 32, 32), "lesions": 6, "repeat": 1},
    "losses": {"size": 16, "repeats": 1},
    "train": {"patch": (16, 16, 16), "iterations": 2, "epochs": 1},
    "bundle": {
        "lesion_inverse_weighting": {
            "num_training_cases": 2,
            "num_validation_cases": 1,
            "data_shape": [24, 24, 16],
            "patch_size": [16, 16, 16],
            "num_samples": 2,
            "val_sw_batch_size": 4,
        },
        "multiclass_region_wise": {
            "num_training_cases": 2,
            "num_validation_cases": 1,
            "data_shape": [32, 32, 12],
            "patch_size": [32, 32],
            "num_samples": 2,
            "val_sw_batch_size": 4,
        },
    },
}
BUNDLE_EPOCHS = 2


@dataclass
class Row:
    """One line of the report: ``status`` says whether the check ran correctly, ``met`` whether it met its goal."""

    check: str
    ran: str
    status: str  # "pass", "fail" or "skipped"
    measured: str = ""
    goal: str = ""
    met: bool | None = None  # None: no goal (or nothing measured)
    speed: bool = False  # a GPU speed goal: not judged in a dry run


@dataclass
class Context:
    """What a step needs: the mode, the device, where to write."""

    dry: bool
    device: Any  # torch.device
    output_dir: Path

    @property
    def sizes(self) -> dict[str, Any]:
        return DRY if self.dry else REAL


Step = Callable[[Context], list[Row]]


# ---------------------------------------------------------------- helpers


def _bench(name: str) -> ModuleType:
    """A benchmark script of this folder as a module (loaded once)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HERE / f'{name}.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _fmt_ratio(x: float) -> str:
    return f"{x:.2f}x"


def gpu_test_files() -> list[Path]:
    """The test modules that hold ``gpu``-marked tests (collecting only these keeps the check fast)."""
    return sorted(p for p in (ROOT / "tests").rglob("test_*.py") if "mark.gpu" in p.read_text(encoding="utf-8"))


class _Outcomes:
    """A pytest plugin counting test outcomes (skips at setup, failures and errors at any phase)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.failed and report.when != "call":
            self.counts["error"] += 1
        elif report.when == "call" or (report.when == "setup" and report.skipped):
            self.counts[report.outcome] += 1


# ---------------------------------------------------------------- steps


def step_tests(ctx: Context) -> list[Row]:
    import pytest

    files = gpu_test_files()
    if not files:
        raise RuntimeError("no test module under tests/ has a `gpu` mark")
    outcomes = _Outcomes()
    args = ["-m", "gpu", "-p", "no:cacheprovider", "-rfEs", f"--rootdir={ROOT}", *map(str, files)]
    print("pytest", " ".join(args), flush=True)
    code = int(pytest.main(args, plugins=[outcomes]))
    c = outcomes.counts
    total = c["passed"] + c["failed"] + c["skipped"] + c["error"]
    measured = f"{c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} skipped"
    if code == pytest.ExitCode.INTERRUPTED:
        measured += " (interrupted)"
    ran = f"`pytest -m gpu` on {len(files)} test modules ({total} tests), exit code {code}"
    if ctx.dry:  # no CUDA: the gpu tests are collected and skip themselves
        ok = code == 0 and total > 0 and c["failed"] == c["error"] == 0
        goal = "collected, none failed (they skip without CUDA)"
        return [Row("gpu tests", ran, "pass" if ok else "fail", measured, goal, ok)]
    ok = code == 0 and c["passed"] > 0 and c["failed"] == c["error"] == 0
    return [
        Row("gpu tests", ran, "pass" if ok else "fail", measured, "all pass, none skipped", ok and not c["skipped"])
    ]


_ASYNC_CHILD = """
import sys, torch
from monai_imbalance.losses._common import check_weight
x = torch.zeros(2, 1, 8, 8, device="cuda")
good, bad = torch.ones_like(x), torch.ones_like(x)
bad[0, 0, 3, 3] = -1.0
torch.cuda.synchronize()
torch.cuda.set_sync_debug_mode("error")  # a host sync inside the check raises
check_weight(good, x)
check_weight(bad, x)  # asynchronous: no error here
torch.cuda.set_sync_debug_mode("default")
print("check_weight returned without a host sync, for the good and the negative map", flush=True)
try:
    torch.cuda.synchronize()
except RuntimeError as e:
    print("the next synchronisation raised:", str(e).strip().splitlines()[0], flush=True)
    sys.exit(0)
print("the negative weight was never reported", flush=True)
sys.exit(1)
"""


def step_async_check(ctx: Context) -> list[Row]:
    from monai_imbalance.losses._common import check_weight

    ran = "check_weight on a valid weight map and one with a negative voxel"
    if ctx.dry:  # CPU tensors take the eager branch: the same validator, a ValueError at the call
        import torch

        x = torch.zeros(2, 1, 8, 8)
        check_weight(torch.ones_like(x), x)
        bad = torch.ones_like(x)
        bad[0, 0, 3, 3] = -1.0
        try:
            check_weight(bad, x)
        except ValueError as e:
            print("CPU (eager) check raised:", e, flush=True)
            goal = "the negative voxel is refused (CUDA: asynchronously, no host sync)"
            return [Row("async weight check", ran + " (CPU: eager branch)", "pass", f"ValueError: {e}", goal, True)]
        return [Row("async weight check", ran, "fail", "the negative weight was accepted on CPU", "refused", False)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-c", _ASYNC_CHILD], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    print(proc.stdout, proc.stderr, sep="\n", flush=True)
    ok = proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    measured = lines[-1] if lines else f"exit code {proc.returncode}"
    goal = "no host sync at the call; the negative voxel fails the next synchronisation"
    ran += " (CUDA, in a child process: a device-side assertion leaves the CUDA context unusable)"
    return [Row("async weight check", ran, "pass" if ok else "fail", measured, goal, ok)]


def step_maps(ctx: Context) -> list[Row]:
    bench = _bench("bench_maps")
    s = ctx.sizes["maps"]
    side = "x".join(map(str, s["shape"]))
    rows = []
    for r in bench.device_times(ctx.device, s["repeat"], s["shape"], s["lesions"]):
        print(r, flush=True)
        peak = "" if math.isnan(r["peak"]) else f", peak {r['peak']:.2f}x the float32 volume"
        ran = f"bench_maps.device_times: {r['map']}, {side} patch on {ctx.device.type}, best of {s['repeat']}"
        goal, met = f"<= {r['target_ms']:g} ms", r["ms"] <= r["target_ms"]
        rows.append(Row(r["map"], ran, "pass", f"{r['ms']:.2f} ms{peak}", goal, met, speed=True))
    return rows


def step_losses(ctx: Context) -> list[Row]:
    bench = _bench("bench_losses")
    s = ctx.sizes["losses"]
    shapes = [(2, c, s["size"], s["size"], s["size"]) for c in (1, 4)]
    results = bench.measure(shapes, [ctx.device], s["repeats"])
    print("\n".join(str(r) for r in results), flush=True)
    target = bench.TARGET_RATIO["cuda"]
    twins = {"InverseWeighted(Dice)": "plain DiceLoss"}
    rows = []
    for loss in dict.fromkeys(r["loss"] for r in results):
        mine = [r for r in results if r["loss"] == loss]
        worst = max(r["ratio"] for r in mine)
        ok = all(math.isfinite(r["ours"]) and r["ours"] > 0 for r in mine)
        measured = " / ".join(f"C={r['shape'][1]}: {_fmt_ratio(r['ratio'])}" for r in mine)
        ran = (
            f"bench_losses.measure: {loss} vs {twins.get(loss, 'its MONAI twin')}, forward+backward, "
            f"2 x {{1, 4}} x {s['size']}^3 on {ctx.device.type}, best of {s['repeats']}"
        )
        status = "pass" if ok else "fail"
        rows.append(Row(f"loss {loss}", ran, status, measured, f"<= {target:g}x", worst <= target, speed=True))
    return rows


def step_train(ctx: Context) -> list[Row]:
    bench = _bench("bench_train")
    s = ctx.sizes["train"]
    results = bench.run(device=ctx.device.type, epochs=s["epochs"], patch=s["patch"], iterations=s["iterations"])
    print(bench.markdown(results, f"bench_train on {ctx.device.type}"), flush=True)
    side = "x".join(map(str, s["patch"]))
    ran = (
        f"bench_train.run: SupervisedTrainer{' (AMP)' if ctx.device.type == 'cuda' else ''}, 2 x {side} patches, "
        f"{s['iterations']} it/epoch, median of {s['epochs']} epochs"
    )
    by = {r["variant"]: r for r in results}
    dev, tf = by["iw_dice (device)"], by["iw_dice (transform)"]
    return [
        Row(
            "train step, inverse weights on the device",
            ran + ": iw_dice (device) / dice",
            "pass",
            f"{_fmt_ratio(dev['ratio'])} ({dev['s_per_it'] * 1e3:.1f} ms/it vs {by['dice']['s_per_it'] * 1e3:.1f})",
            f"<= {bench.TARGET_GPU_RATIO:g}x the plain Dice step",
            dev["ratio"] <= bench.TARGET_GPU_RATIO,
            speed=True,
        ),
        Row(
            "train step, inverse weights in the data pipeline",
            ran + ": iw_dice (transform) / dice",
            "pass",
            f"{_fmt_ratio(tf['ratio'])} ({tf['s_per_it'] * 1e3:.1f} ms/it)",
        ),
    ]


def _bundle_step(bundle: str, fragment: Path | None) -> Step:
    def step(ctx: Context) -> list[Row]:
        from monai.bundle import ConfigWorkflow

        configs = ROOT / "bundles" / bundle / "configs"
        out = ctx.output_dir / "artefacts" / bundle
        before = _listing(ROOT / "bundles" / bundle)
        files = [str(configs / "train.yaml")] + ([str(fragment)] if fragment else [])
        override = {
            "bundle_root": str(ROOT / "bundles" / bundle),
            "run_dir": str(out),  # models/, eval/, logs/ of this check, never a run folder of the bundle
            "ckpt_dir": str(out / "models"),
            "output_dir": str(out / "eval"),
            "dataset_dir": str(out / "data"),
            "device": f"$torch.device('{'cpu' if ctx.dry else 'cuda:0'}')",
            "amp": not ctx.dry,
            "num_epochs": BUNDLE_EPOCHS,
            "val_interval": BUNDLE_EPOCHS,
            **ctx.sizes["bundle"][bundle],
        }
        print("overrides:", override, flush=True)
        start = time.perf_counter()
        wf = ConfigWorkflow(
            config_file=files if fragment else files[0],
            meta_file=str(configs / "metadata.json"),
            logging_file=False,
            workflow_type="train",
            **override,
        )
        wf.initialize()
        trainer = wf.parser.get_parsed_content("train#trainer")
        dtypes: set[str] = set()  # of the network's outputs: float16 under AMP

        def _dtype(module: Any, inputs: Any, output: Any) -> None:
            dtypes.add(str(output.dtype).replace("torch.", ""))

        hook = wf.parser.get_parsed_content("network").register_forward_hook(_dtype)
        try:
            wf.run()
        finally:
            hook.remove()
        wf.finalize()
        seconds = time.perf_counter() - start
        evaluator = wf.parser.get_parsed_content("validate#evaluator")
        loss = float(trainer.state.output[0]["loss"])
        key = evaluator.state.key_metric_name or "key metric"
        metric = evaluator.state.metrics.get(key, math.nan)
        model = Path(override["ckpt_dir"]) / "model.pt"
        touched = [str(p) for p in _changed(before, _listing(ROOT / "bundles" / bundle))]
        problems = []
        if trainer.state.epoch != BUNDLE_EPOCHS:
            problems.append(f"stopped at epoch {trainer.state.epoch}")
        if not math.isfinite(loss):
            problems.append(f"loss {loss}")
        if not model.is_file():
            problems.append("no models/model.pt")
        if touched:
            problems.append(f"wrote into the bundle's own folders: {touched[:3]}")
        if not ctx.dry and "float16" not in dtypes:
            problems.append(f"AMP not active (network outputs {sorted(dtypes)})")
        amp = "AMP" if not ctx.dry else "float32 (no CUDA)"
        what = f"{bundle}{' + ' + fragment.name if fragment else ''}"
        ran = f"ConfigWorkflow train.yaml of {what}: {BUNDLE_EPOCHS} epochs, {amp}, {ctx.device.type}"
        measured = (
            f"{trainer.state.epoch} epochs in {seconds:.1f} s, last loss {loss:.3g}, {key} {float(metric):.3g}, "
            f"outputs {'/'.join(sorted(dtypes))}"
        )
        if problems:
            measured += "; " + "; ".join(problems)
        goal = f"all epochs, finite loss, model.pt,{'' if ctx.dry else ' float16 outputs,'} bundle folder untouched"
        return [Row(f"{bundle} training", ran, "fail" if problems else "pass", measured, goal, not problems)]

    return step


def _listing(bundle_folder: Path) -> dict[str, tuple[int, int]]:
    """Files (size, mtime) under the bundle's default output folders: nothing may appear or change there."""
    out = {}
    for sub in ("models", "eval", "data", "runs"):
        for p in (bundle_folder / sub).rglob("*"):
            if p.is_file():
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def _changed(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


STEPS: dict[str, Step] = {
    "tests": step_tests,
    "async_check": step_async_check,
    "maps": step_maps,
    "losses": step_losses,
    "train": step_train,
    "lesion_bundle": _bundle_step("lesion_inverse_weighting", LOSS_FRAGMENT),
    "multiclass_bundle": _bundle_step("multiclass_region_wise", None),
}


# ---------------------------------------------------------------- running


class _Deadline:
    """Interrupt the step in progress (``KeyboardInterrupt``) when the time budget runs out (main thread, POSIX)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._armed = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()

    def left(self) -> float:
        return self.end - time.monotonic()

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        if not self._armed:
            yield
            return

        def _fire(signum: int, frame: Any) -> None:
            self.expired = True
            raise KeyboardInterrupt("gpu_check: time budget spent")

        previous = signal.signal(signal.SIGALRM, _fire)
        signal.setitimer(signal.ITIMER_REAL, max(self.left(), 0.01))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _redirected(log: TextIO) -> Iterator[None]:
    """Send the step's output (Python streams and file descriptors 1 and 2) to ``log``; undo everything after."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), warnings.catch_warnings():
            # warnings go to the log, they do not stop the step (under pytest -W error); targeted ignores stay
            warnings.filters[:] = [("default" if f[0] == "error" else f[0], *f[1:]) for f in warnings.filters]  # type: ignore[index]
            yield
    finally:
        log.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
        # logging handlers made during the step (MONAI's loggers, the bundles' StatsHandler) may hold the log or a
        # stream pytest has closed: point them at the process's stderr (the next step's log, once redirected)
        for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
            for h in list(getattr(logger, "handlers", [])):
                stream = getattr(h, "stream", None)
                if isinstance(h, logging.StreamHandler) and (stream is log or getattr(stream, "closed", False)):
                    h.stream = sys.__stderr__  # not setStream: it flushes the closed stream first


def run_step(name: str, step: Step, ctx: Context, deadline: _Deadline) -> list[Row]:
    """Run one step with its output in ``logs/<name>.log``; an exception becomes a failed row."""
    if deadline.left() < MIN_STEP_S:
        return [Row(name, "not started", "skipped", "time budget spent")]
    log_path = ctx.output_dir / "logs" / f"{name}.log"
    start = time.perf_counter()
    with open(log_path, "w", buffering=1, encoding="utf-8") as log:
        try:
            with _redirected(log), deadline.armed():
                rows = step(ctx)
        except KeyboardInterrupt:
            if not deadline.expired:
                raise
            traceback.print_exc(file=log)
            rows = [Row(name, "interrupted", "fail", f"time budget spent after {time.perf_counter() - start:.0f} s")]
        except Exception as e:
            traceback.print_exc(file=log)
            first = (str(e).splitlines() or [""])[0][:160]
            rows = [Row(name, "raised", "fail", f"{type(e).__name__}: {first} (logs/{name}.log)")]
        log.write(f"\n[gpu_check] step {name}: {time.perf_counter() - start:.1f} s\n")
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row], ctx: Context, header: list[str]) -> str:
    """The report: a mode line, the machine, one table."""
    lines = ["# GPU check", ""]
    if ctx.dry:
        lines += [
            "**Dry run** (CUDA not available): every step ran its code path on CPU tensors at tiny sizes; the measured "
            "values are CPU times of those runs, not GPU timings, and the goals (for a GPU) are not judged.",
            "",
        ]
    else:
        lines += ["**GPU run**: goals per 128^3 patch on an H100 / H200.", ""]
    lines += [*header, ""]
    lines += ["| check | ran | status | measured | goal | met? |", "|---|---|---|---|---|---|"]
    for r in rows:
        if not r.goal:
            met = "—"
        elif ctx.dry and r.speed:
            met = "not judged (dry run)"
        else:
            met = {True: "yes", False: "**no**", None: "—"}[r.met]
        status = r.status if r.status == "pass" else f"**{r.status}**"
        lines.append(f"| {' | '.join(_cell(c) for c in (r.check, r.ran, status, r.measured, r.goal, met))} |")
    lines += ["", "Logs: `logs/<step>.log`, one per step; bundle outputs: `artefacts/<bundle>/`."]
    return "\n".join(lines) + "\n"


def exit_code(rows: list[Row], dry: bool) -> int:
    """0 all passed (GPU: and met their goals), 1 a step failed or did not run, 3 a GPU goal was missed."""
    if any(r.status != "pass" for r in rows):
        return 1
    if not dry and any(r.speed and r.met is False for r in rows):
        return 3
    return 0


def _prepare_output(path: Path, overwrite: bool) -> str | None:
    """Create the output folder; the reason to refuse it, if any."""
    if path.exists() and not path.is_dir():
        return f"--output_dir {path} exists and is not a folder"
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            return f"--output_dir {path} is not empty (a previous run?): choose another folder or pass --overwrite"
        for name in OWN_ENTRIES:
            p = path / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    (path / "logs").mkdir(parents=True, exist_ok=True)
    return None


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", required=True, type=Path, help="folder for gpu_check.md, logs/, artefacts/")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", dest="dry", action="store_true", default=None, help="CPU tensors, tiny sizes")
    mode.add_argument("--gpu", dest="dry", action="store_false", help="the real check (fails without CUDA)")
    parser.set_defaults(dry=None)  # neither flag: dry exactly when CUDA is not available
    parser.add_argument("--budget", type=float, default=BUDGET_S, help=f"seconds for all steps (default {BUDGET_S:g})")
    parser.add_argument("--only", default=None, help=f"comma-separated steps of: {','.join(STEPS)}")
    parser.add_argument("--overwrite", action="store_true", help="replace a previous run's report in --output_dir")
    args = parser.parse_args(argv)
    names = list(STEPS) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in STEPS]
    if unknown or not names:
        parser.print_usage(sys.stderr)
        print(f"gpu_check: unknown steps {unknown}; choose from {list(STEPS)}", file=sys.stderr)
        return 2
    refused = _prepare_output(args.output_dir, args.overwrite)
    if refused:
        print(f"gpu_check: {refused}", file=sys.stderr)
        return 2
    if args.dry:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA is initialised: no GPU for the dry run

    import torch

    dry = (not torch.cuda.is_available()) if args.dry is None else bool(args.dry)
    if not dry and not torch.cuda.is_available():
        print("gpu_check: --gpu given but CUDA is not available", file=sys.stderr)
        return 2
    ctx = Context(dry=dry, device=torch.device("cpu" if dry else "cuda"), output_dir=args.output_dir.resolve())
    deadline = _Deadline(args.budget)
    started = datetime.datetime.now().astimezone()
    rows: list[Row] = []
    times = []
    for name in names:
        t0 = time.perf_counter()
        rows += run_step(name, STEPS[name], ctx, deadline)
        times.append(f"{name} {time.perf_counter() - t0:.1f} s")
        print(f"gpu_check: {name} done ({times[-1]})", file=sys.stderr, flush=True)
    code = exit_code(rows, dry)
    try:
        import monai

        monai_version = monai.__version__
    except ImportError:
        monai_version = "not installed"
    device = torch.cuda.get_device_name() if not dry else f"CPU, torch threads: {torch.get_num_threads()}"
    header = [
        f"- machine: {device}; torch {torch.__version__} (CUDA {torch.version.cuda or 'none'}), monai "
        f"{monai_version}, Python {platform.python_version()}",
        f"- started {started:%Y-%m-%d %H:%M %Z}; steps: {', '.join(times)}; budget {args.budget:g} s",
        f"- exit status {code} (0 all passed{'' if dry else ' and met their goals'}, 1 a step failed, 3 a goal missed)",
        f"- command: `python benchmarks/gpu_check.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
    ]
    report = render(rows, ctx, header)
    (ctx.output_dir / "gpu_check.md").write_text(report, encoding="utf-8")
    print(report)
    return code


if __name__ == "__main__":
    sys.exit(main())
