"""Wall time of ``evaluate_folder`` on a folder of cases with 1 and N worker processes (each start method).

    python benchmarks/bench_evaluate.py --cases 16 --size 128 --workers 2

Writes ``--cases`` synthetic cases (``size``³ voxels, a few spherical lesions, float32 probabilities with
noise, one false positive each) as ``.nii.gz`` into a temporary folder, then times the whole
``evaluate_folder`` call (reading, scoring, report with ``n_draws`` bootstrap draws; wall clock: the point of
workers) serially and with ``--workers`` processes under each start method (``auto``, the default, is
``fork`` on Linux), and checks that every run gives the serial report.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np


def make_cases(root: Path, n: int, size: int, seed: int = 0) -> tuple[Path, Path]:
    """``n`` cases of ``size``³ voxels: labels with 3-6 spheres, probabilities over most of them and one FP."""
    pred, label = root / "pred", root / "label"
    pred.mkdir()
    label.mkdir()
    rng = np.random.default_rng(seed)
    grid = np.ogrid[:size, :size, :size]
    affine = np.diag([0.8, 0.8, 2.0, 1.0])
    for i in range(n):
        y = np.zeros((size,) * 3, np.uint8)
        p = (rng.random((size,) * 3, dtype=np.float32) * 0.2).astype(np.float32)
        for k in range(int(rng.integers(3, 7))):
            c = rng.integers(10, size - 10, 3)
            r = float(rng.uniform(2, 8))
            ball = sum((g - cc) ** 2 for g, cc in zip(grid, c, strict=True)) <= r * r
            y[ball] = 1
            if k % 3:
                p[ball] = rng.uniform(0.6, 0.99)
        c = rng.integers(10, size - 10, 3)
        p[sum((g - cc) ** 2 for g, cc in zip(grid, c, strict=True)) <= 9] = 0.7
        nib.save(nib.Nifti1Image(y, affine), label / f"case_{i:03d}.nii.gz")
        nib.save(nib.Nifti1Image(p, affine), pred / f"case_{i:03d}_prob.nii.gz")
    return pred, label


def _spin(n: int) -> None:
    x = 0
    for i in range(n):
        x += i


def parallel_capacity(workers: int, n: int = 5_000_000) -> float:
    """How many times one process's CPU-bound work ``workers`` forked processes get done in the same wall time.

    ``workers`` on as many free cores; about 1 on a machine whose other jobs leave this user one core's share.
    """
    start = time.perf_counter()
    _spin(n)
    one = time.perf_counter() - start
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        start = time.perf_counter()
        pool.map(_spin, [n] * workers)
        many = time.perf_counter() - start
    return workers * one / many


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the worker processes)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    """Print one timing row per run and whether its report equals the serial one."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=16)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n_draws", type=int, default=20)
    ap.add_argument(
        "--contexts",
        default="auto,forkserver",
        help="start methods to time, comma-separated: auto, fork, forkserver, spawn",
    )
    args = ap.parse_args()

    t0 = time.perf_counter()
    from monai_imbalance.evaluate import evaluate_folder
    from monai_imbalance.evaluate.folder import start_method

    print(f"import: {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        t0 = time.perf_counter()
        pred, label = make_cases(root, args.cases, args.size)
        print(f"wrote {args.cases} cases of {args.size}^3: {time.perf_counter() - t0:.1f} s")
        runs = [(1, "serial"), *((args.workers, c) for c in args.contexts.split(",") if c)]
        reference = None
        capacity = parallel_capacity(args.workers)
        print(
            f"parallel capacity: {args.workers} spinning processes did {capacity:.2f}x the work of one in the same "
            f"wall time ({args.workers} on free cores)"
        )
        print("| workers | start method | wall (s) | speed-up | CPU, this process + workers (s) | same report |")
        print("|---:|---|---:|---:|---:|---|")
        serial_wall = None
        for i, (workers, context) in enumerate(runs):
            t0, cpu0 = time.perf_counter(), _cpu()
            report = evaluate_folder(
                pred,
                label,
                root / f"out{i}",
                workers=workers,
                mp_context="forkserver" if context == "serial" else context,
                n_draws=args.n_draws,
                progress=False,
            )
            wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
            text = json.dumps({k: v for k, v in report.items() if k != "inputs"}, sort_keys=True)
            reference = text if reference is None else reference
            serial_wall = wall if serial_wall is None else serial_wall
            method = f"auto ({start_method()})" if context == "auto" else context
            print(
                f"| {workers} | {method} | {wall:.1f} | {serial_wall / wall:.2f}x | {cpu:.1f} | {text == reference} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
