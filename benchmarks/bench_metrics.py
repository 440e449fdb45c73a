"""Speed of the lesion-wise evaluation against the straightforward recipe, and of a full 300-case evaluation.

Recipe (re-derived from the definitions of paper 1, section 4.3, the way a per-object loop computes them):
``scipy.ndimage.label`` with full connectivity of the label and of ``prob > 0.5``, once each; then one
Python pass over the volume per predicted component (``labels == j``: its size and max confidence) and one
per lesion (``labels == i``: the predicted ids it overlaps and their intersections by ``np.unique``, the
Dice of each, the best match); predictions overlapping no lesion are false positives.

Ours: :func:`monai_imbalance.metrics.lesion_records` (cc3d labelling, one vectorised pass over the
predicted voxels). Before timing, the records of both are checked equal (lesions and false positives
sorted, as the two labellings number components differently), so the comparison is of the same result.

Volumes: random ellipsoidal lesions with radii from 1 voxel to 6% of the smallest side (log-uniform),
80% of them predicted (graded confidence 0.55-0.99 at the centre, shifted and resized), the others below
the threshold, a false-positive blob per two lesions, and Gaussian noise (sd 0.1) over the whole map.

Full evaluation: ``--cases`` cases of 128^3 (0 to 8 lesions each), generated outside the timing; the
records of every case (timed and summed), then the FROC, average recall and bootstrap with
``--draws`` draws (core functions), and the whole :func:`monai_imbalance.reporting.lesion_report`
(adds object Dice and the three size groups, each with its own bootstrap) timed separately.

Evaluator: the lesion bundle's validation readers on one MONAI ``SupervisedEvaluator`` (identity network over
``--eval-cases`` cases of 192^3 in batches of two): the FROC metric alone, then FROC + object Dice +
``LesionReportHandler`` reading one ``LesionRecordsHandler`` (every case extracted once, matched under both
views), then the same three each with records of its own (each extracts every case itself).

Usage::

    python benchmarks/bench_metrics.py                 # 128^3, 256^3, 512x512x300; 300 cases, 100 draws
    python benchmarks/bench_metrics.py --quick         # small volumes, 12 cases, 10 draws
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from monai_imbalance.metrics import average_recall, bootstrap, froc_curve, lesion_records
from monai_imbalance.reporting import lesion_report

TARGET_SPEEDUP = 5.0
TARGET_EVAL_S = 60.0
THRESHOLD = 0.5

# ---------------------------------------------------------------- data


def _ellipsoid(shape: tuple[int, ...], centre: np.ndarray, radii: np.ndarray) -> tuple[tuple[slice, ...], np.ndarray]:
    """Bounding box and the normalised squared radius ``rho2`` inside it (``rho2 <= 1`` is the ellipsoid)."""
    box = tuple(slice(max(0, int(c - r)), min(s, int(c + r) + 2)) for c, r, s in zip(centre, radii, shape, strict=True))
    grids = np.ogrid[box]
    rho2 = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True))
    return box, np.asarray(rho2)


def make_pair(shape: tuple[int, ...], num_lesions: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A multi-lesion label (uint8) and a noisy probability map (float32) of the same shape."""
    rng = np.random.default_rng(seed)
    if num_lesions is None:
        num_lesions = max(8, round(25 * (math.prod(shape) / 128**3) ** (1 / 3)))
    label = np.zeros(shape, dtype=np.uint8)
    prob = np.zeros(shape, dtype=np.float32)
    r_max = max(2.0, 0.06 * min(shape))
    dims = np.asarray(shape, dtype=np.float64)

    def paint(centre: np.ndarray, radii: np.ndarray, conf: float) -> None:
        box, rho2 = _ellipsoid(shape, centre, radii)
        value = (conf * (1 - 0.4 * rho2)).astype(np.float32)
        np.maximum(prob[box], np.where(rho2 <= 1, value, 0), out=prob[box])

    for _ in range(num_lesions):
        radii = math.exp(rng.uniform(0, math.log(r_max))) * rng.uniform(0.7, 1.3, size=len(shape))
        centre = rng.uniform(0, dims)
        box, rho2 = _ellipsoid(shape, centre, radii)
        label[box][rho2 <= 1] = 1
        detected = rng.random() < 0.8
        conf = rng.uniform(0.55, 0.99) if detected else rng.uniform(0.1, 0.45)
        paint(centre + rng.normal(0, 0.2, len(shape)) * radii, radii * rng.uniform(0.7, 1.3, len(shape)), conf)
    for _ in range(max(1, num_lesions // 2)):  # false-positive blobs
        radii = math.exp(rng.uniform(0, math.log(r_max / 2 + 1))) * rng.uniform(0.7, 1.3, size=len(shape))
        paint(rng.uniform(0, dims), radii, rng.uniform(0.5, 0.95))
    prob += rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1)
    np.clip(prob, 0, 1, out=prob)
    return label, prob


def parse_size(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.lower().split("x")]
    return tuple(parts * 3) if len(parts) == 1 else tuple(parts)


# ---------------------------------------------------------------- recipe


def recipe_records(label: np.ndarray, prob: np.ndarray, threshold: float = THRESHOLD) -> dict[str, np.ndarray]:
    """The straightforward per-object loop (module docstring)."""
    structure = np.ones((3,) * label.ndim, dtype=bool)
    gt, n_gt = ndimage.label(label > 0.5, structure=structure)
    pr, n_pr = ndimage.label(prob > threshold, structure=structure)
    pr_size, pr_conf = np.zeros(n_pr + 1), np.full(n_pr + 1, -np.inf)
    for j in range(1, n_pr + 1):
        comp = pr == j
        pr_size[j] = comp.sum()
        pr_conf[j] = prob[comp].max()
    matched = np.zeros(n_pr + 1, dtype=bool)
    les_conf, les_dice, les_vol = [], [], []
    for i in range(1, n_gt + 1):
        lesion = gt == i
        size = float(lesion.sum())
        ids, inter = np.unique(pr[lesion], return_counts=True)
        ids, inter = ids[ids > 0], inter[ids > 0]
        matched[ids] = True
        if ids.size:
            dice = 2 * inter / (size + pr_size[ids])
            best = int(np.argmax(dice))  # ids are sorted: the lowest id wins a tie
            les_conf.append(pr_conf[ids[best]])
            les_dice.append(dice[best])
        else:
            les_conf.append(-np.inf)
            les_dice.append(0.0)
        les_vol.append(size)
    fp = [j for j in range(1, n_pr + 1) if not matched[j]]
    return {
        "lesion_confidence": np.asarray(les_conf, dtype=np.float64),
        "lesion_dice": np.asarray(les_dice, dtype=np.float64),
        "lesion_volume": np.asarray(les_vol, dtype=np.float64),
        "fp_confidence": pr_conf[fp],
        "fp_volume": pr_size[fp],
    }


def check_same(ours: Any, ref: dict[str, np.ndarray]) -> None:
    """Raise ``AssertionError`` unless the two records agree (up to the order of the components)."""

    def rows(*cols: np.ndarray) -> np.ndarray:
        table = np.stack(cols, axis=1) if cols[0].size else np.zeros((0, len(cols)))
        return table[np.lexsort(table.T[::-1])] if table.size else table

    mine = rows(ours.lesion_volume, ours.lesion_confidence, ours.lesion_dice)
    theirs = rows(ref["lesion_volume"], ref["lesion_confidence"], ref["lesion_dice"])
    if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=1e-12, atol=0):
        raise AssertionError(f"lesion records differ: ours {mine.shape[0]} lesions, recipe {theirs.shape[0]}")
    mine = rows(ours.fp_volume, ours.fp_confidence)
    theirs = rows(ref["fp_volume"], ref["fp_confidence"])
    if mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=1e-12, atol=0):
        raise AssertionError(f"false positives differ: ours {mine.shape[0]}, recipe {theirs.shape[0]}")


# ---------------------------------------------------------------- measurement


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def volume_row(shape: tuple[int, ...], repeat: int) -> dict[str, Any]:
    label, prob = make_pair(shape, seed=0)
    ours = lesion_records(label, prob, threshold=THRESHOLD)
    check_same(ours, recipe_records(label, prob))  # same records before any timing
    t_ref = best_time(lambda: recipe_records(label, prob), repeat)
    t_ours = best_time(lambda: lesion_records(label, prob, threshold=THRESHOLD), repeat)
    return {
        "volume": "x".join(map(str, shape)),
        "lesions": ours.n_lesions,
        "predictions": int(ours.n_predictions or 0),
        "recipe_s": t_ref,
        "ours_s": t_ours,
        "speedup": t_ref / t_ours,
    }


def evaluation_rows(n_cases: int, draws: int, shape: tuple[int, ...]) -> list[tuple[str, float]]:
    rng = np.random.default_rng(1)
    cases, t_records = [], 0.0
    for i in range(n_cases):
        label, prob = make_pair(shape, num_lesions=int(rng.integers(0, 9)), seed=1000 + i)
        start = time.perf_counter()
        cases.append(lesion_records(label, prob, threshold=THRESHOLD, case_id=str(i)))
        t_records += time.perf_counter() - start
    start = time.perf_counter()
    froc_curve(cases)
    average_recall(cases)
    bootstrap(cases, n_draws=draws, seed=0)
    t_core = time.perf_counter() - start
    start = time.perf_counter()
    lesion_report(cases, n_draws=draws, seed=0)
    t_report = time.perf_counter() - start
    return [
        (f"records of {n_cases} cases ({sum(c.n_lesions for c in cases)} lesions)", t_records),
        (f"FROC + average recall + bootstrap ({draws} draws)", t_core),
        (f"lesion_report (+ object Dice, 3 size groups, {4 * draws} draws in all)", t_report),
        ("total: records + lesion_report", t_records + t_report),
    ]


def evaluator_rows(n_cases: int, shape: tuple[int, ...], repeat: int) -> list[tuple[str, float]]:
    import tempfile

    import torch
    from monai.engines import SupervisedEvaluator

    from monai_imbalance.handlers import FROCHandler, LesionDiceHandler, LesionRecordsHandler, LesionReportHandler

    pairs = [make_pair(shape, seed=2000 + i) for i in range(n_cases)]
    loader = [
        {
            "image": torch.stack([torch.from_numpy(p[None]) for _, p in pairs[i : i + 2]]),
            "label": torch.stack([torch.from_numpy(lab[None].astype(np.float32)) for lab, _ in pairs[i : i + 2]]),
        }
        for i in range(0, n_cases, 2)
    ]

    def run(readers: int, shared: bool) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            owner = LesionRecordsHandler() if shared else None
            extra = {"object_dice": LesionDiceHandler(records=owner)} if readers > 1 else None
            handlers = [LesionReportHandler(tmp, records=owner, n_draws=10)] if readers > 2 else None
            SupervisedEvaluator(
                device=torch.device("cpu"),
                val_data_loader=loader,
                network=torch.nn.Identity(),
                key_val_metric={"avg_recall": FROCHandler(records=owner)},
                additional_metrics=extra,
                val_handlers=handlers,
            ).run()

    return [
        ("FROC metric alone", best_time(lambda: run(1, False), repeat)),
        ("FROC + object Dice + report, one records owner", best_time(lambda: run(3, True), repeat)),
        ("FROC + object Dice + report, each reader its own records", best_time(lambda: run(3, False), repeat)),
    ]


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", default="128,256,512x512x300", help="comma-separated sizes: 128 or 512x512x300")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (the best is reported)")
    parser.add_argument("--cases", type=int, default=300, help="cases of the full evaluation")
    parser.add_argument("--draws", type=int, default=100, help="bootstrap draws of the full evaluation")
    parser.add_argument("--eval-cases", type=int, default=8, help="cases of the evaluator comparison")
    parser.add_argument("--quick", action="store_true", help="small volumes, 12 cases of 48^3, 10 draws")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, n_cases, draws, case_shape = [(48, 48, 48), (64, 56, 40)], 12, 10, (48, 48, 48)
        eval_cases, eval_shape = 4, (48, 48, 48)
    else:
        sizes = [parse_size(s) for s in args.sizes.split(",")]
        n_cases, draws, case_shape = args.cases, args.draws, (128, 128, 128)
        eval_cases, eval_shape = args.eval_cases, (192, 192, 192)
    repeat = max(1, args.repeat)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    print(f"CPU: {cores} cores available, load average {load:.1f}, best of {repeat} run(s)\n")
    print("| volume | lesions | predictions | recipe (s) | ours (s) | speed-up (target) |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for shape in sizes:
        row = volume_row(shape, repeat)
        rows.append(row)
        flag = "ok" if row["speedup"] >= TARGET_SPEEDUP else "MISSED"
        print(
            f"| {row['volume']} | {row['lesions']} | {row['predictions']} | {row['recipe_s']:.3f} | "
            f"{row['ours_s']:.3f} | {row['speedup']:.1f}x (>= {TARGET_SPEEDUP:g}x: {flag}) |"
        )
    print("\nRecords of ours and of the recipe checked equal on every volume before timing.\n")

    shape_text = "x".join(map(str, case_shape))
    print(f"| full evaluation, {n_cases} cases of {shape_text} | time (s) |")
    print("|---|---:|")
    for name, seconds in evaluation_rows(n_cases, draws, case_shape):
        rows.append({"step": name, "seconds": seconds})
        target = f" (< {TARGET_EVAL_S:g}: {'ok' if seconds < TARGET_EVAL_S else 'MISSED'})" if "total" in name else ""
        print(f"| {name} | {seconds:.2f}{target} |")

    print(f"\n| SupervisedEvaluator, {eval_cases} cases of {'x'.join(map(str, eval_shape))} | time (s) |")
    print("|---|---:|")
    for name, seconds in evaluator_rows(eval_cases, eval_shape, repeat):
        rows.append({"step": name, "seconds": seconds})
        print(f"| {name} | {seconds:.2f} |")
    return rows


if __name__ == "__main__":
    main()
