"""The maps and the lesion-wise evaluation against the floor (the one pass that cannot be avoided) and the peers.

One run measures every row of the table of issue #14, floor, ours and the tools a user would run instead:

- inverse weights (Shirokikh et al. 2020): floor ``cc3d.connected_components`` of the same ``(1, *spatial)``
  uint8 label (26-connectivity, cc3d's own output dtype); recipe: ``scipy.ndimage.label`` and one pass per
  component (``bench_maps.recipe_inverse``);
- both maps also time ``output``: a fresh float32 array of the map's shape written once, what producing the
  result costs beyond the floor whatever the algorithm (page faults of new memory included);
- RRW map, 3 classes (Valverde & Tohka): floor ``edt.edt`` of the same class-index label (multi-label mode, 0
  read as background by edt, the same thread count as ours); ``edt``, every class a region: ``edt.edt`` of
  ``label + 1``, the distances the map needs (the background class's inside distances included, which the
  floor does not compute); recipe: scipy's EDT per class (``bench_maps.recipe_rrw``);
- evaluation of one case under both views (``case_lesion_records``: paper and strict): floor the cc3d
  labelling of the label and of ``prob > 0.5`` (the threshold included); peers: picai_eval's
  ``evaluate_case`` (one-to-one IoU >= 0.1) on a detection map prepared outside its timing (the components of
  ``prob > 0.5`` painted with their maximum, as it requires), panoptica's ``Panoptica_Evaluator``
  (``MaxBipartiteMatching`` IoU >= 0.1, connected-component instances) on the two binary masks prepared
  outside its timing, and the per-object recipe (``bench_metrics.recipe_records``).

Clock: CPU time of this process (``time.process_time``, user + system, page faults included), best of
``--repeat`` runs with every contender of a row timed in turn within each repeat: on a machine shared with
other jobs the wall clock counts the time the scheduler gives to them, while the CPU time of single-threaded
code does not (run with ``OMP_NUM_THREADS=1``; then ``edt`` runs one thread too). ``--clock wall`` for
``time.perf_counter``. Ratios compare numbers of the same run.

Working memory: ``tracemalloc``'s peak of the numpy allocations during one call (cc3d's and edt's returned
arrays included, their C++ scratch not), minus the output's own bytes, over the output's bytes (the target:
at most 1x). The label is allocated before and not counted.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_floor.py                # the issue's rows, best of 5
    OMP_NUM_THREADS=1 python benchmarks/bench_floor.py --quick        # small volumes (a smoke test)
    OMP_NUM_THREADS=1 python benchmarks/bench_floor.py --only inverse --repeat 9
    OMP_NUM_THREADS=1 python benchmarks/bench_floor.py --only inverse --steps   # + where the time goes
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cc3d
import edt
import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_maps import lesion_classes, peak_numpy_bytes, recipe_inverse, recipe_rrw
from bench_metrics import make_pair, recipe_records

from monai_imbalance.maps import inverse as inverse_module
from monai_imbalance.maps import inverse_weight_map, rrw_map
from monai_imbalance.maps.components import label_image
from monai_imbalance.maps.inverse import _FRESH_BYTES, _foreground_box, _row_pieces, _run_starts
from monai_imbalance.metrics import case_lesion_records

TARGET = {"inverse weights": 1.5, "RRW, 3 classes": 1.5, "evaluate one case": 2.0}
TARGET_MEMORY = 1.0  # working memory beyond the output, x the output
# (volume, lesions) of issue #14, and the lesion counts 1 and 500 at 192^3
INVERSE_ROWS = [((128,) * 3, 10), ((192,) * 3, 1), ((192,) * 3, 15), ((192,) * 3, 300), ((192,) * 3, 500)]
INVERSE_ROWS += [((512, 512, 300), 20)]
RRW_ROWS = [(128,) * 3, (256,) * 3]
EVAL_ROWS = [((128,) * 3, 12), ((256, 256, 160), 25)]
QUICK = {
    "inverse": [((48,) * 3, 4), ((64, 56, 40), 30)],
    "rrw": [(40, 36, 32)],
    "evaluate": [((48,) * 3, 5)],
}
FULL = {"inverse": INVERSE_ROWS, "rrw": RRW_ROWS, "evaluate": EVAL_ROWS}


# ---------------------------------------------------------------- measurement


def best_times(fns: dict[str, Callable[[], Any]], repeat: int, clock: Callable[[], float]) -> dict[str, float]:
    """Best time (ms) of each function, the functions timed in turn within every repeat (interleaved)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: 1e3 * min(t) for name, t in times.items()}


def beyond_output(fn: Callable[[], Any], output_bytes: int) -> float:
    """Peak numpy allocation during one call, minus the output's bytes, over the output's bytes."""
    return (peak_numpy_bytes(fn) - output_bytes) / output_bytes


def _threads() -> int:
    return max(1, torch.get_num_threads())  # what the maps pass to edt


def _size(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if len(set(shape)) > 1 else f"{shape[0]}^3"


# ---------------------------------------------------------------- the three works


def _timed_once(fn: Callable[[], Any], clock: Callable[[], float]) -> tuple[Any, float]:
    start = clock()
    out = fn()
    return out, 1e3 * (clock() - start)


def inverse_row(
    shape: tuple[int, ...], lesions: int, repeat: int, clock: Callable[[], float], steps: bool = False
) -> dict[str, Any]:
    label = (lesion_classes(shape, lesions) > 0)[None].astype(np.uint8)
    k = int(cc3d.connected_components(label[0], connectivity=26, return_N=True)[1])
    reference, t_recipe = _timed_once(lambda: recipe_inverse(label[0]), clock)
    np.testing.assert_allclose(inverse_weight_map(label)[0], reference, rtol=1e-6)  # the same weights
    del reference
    fns = {
        "floor": lambda: cc3d.connected_components(label[0], connectivity=26, return_N=True),
        "output": lambda: np.empty(label.shape, np.float32).fill(1.0),  # a fresh float32 map written once
        "ours": lambda: inverse_weight_map(label),
    }
    if steps:  # ours in steps: the label's runs (a pass over its words), the labelling of what it labels
        flat, (labelling, labelled) = label.reshape(-1), _labelling(label[0])
        fns["runs"] = lambda: _run_starts(flat, flat.size)
        fns["labelling"] = labelling
    fast_recipe = math.prod(shape) <= 256**3 and lesions <= 100  # else one pass per component: timed once
    if fast_recipe:
        fns["recipe"] = lambda: recipe_inverse(label[0])
    t = {"recipe": t_recipe, **best_times(fns, repeat, clock)}
    memory = beyond_output(lambda: inverse_weight_map(label), 4 * label.size)
    row = {"work": "inverse weights", "volume": _size(shape), "lesions": k, **t, "memory": memory}
    if steps:
        row["labelled"] = labelled
    return row


def _labelling(image: np.ndarray) -> tuple[Callable[[], Any], float]:
    """What ``inverse_weight_map`` labels of a uint8 mask, as a call, and the share of the voxels it labels.

    The lesions' own boxes (``_box_labels``: the plan, the copies into stacks and their labelling), else the
    foreground's box or the whole image (cc3d, in the dtype ours asks for).
    """
    flat = image.reshape(-1)
    starts = _run_starts(flat, flat.size)
    lengths = np.diff(starts, append=flat.size)
    fg = slice(0 if flat[0] else 1, None, 2)
    cut, first, piece_starts, piece_lengths = _row_pieces(starts[fg], lengths[fg], image.shape[-1], flat.size)
    box = _foreground_box(image.shape, starts[fg], lengths[fg], cut.size > 0)
    labelled = flat.size if box is None else math.prod(b.stop - b.start for b in box)
    fg_lengths = lengths[fg].copy()
    fg_lengths[cut] = first
    all_starts, all_lengths = (starts[fg], piece_starts), (fg_lengths, piece_lengths)
    sizes: list[int] = []

    def counted(img: np.ndarray, *args: Any) -> Any:
        sizes.append(img.size)
        return label_image(img, *args)

    inverse_module.label_image = counted  # count the voxels the stacks (and the cells) hold, once
    try:
        boxes = inverse_module._box_labels(image, 3, all_starts, all_lengths, labelled)
    finally:
        inverse_module.label_image = label_image
    if boxes is not None:
        return lambda: inverse_module._box_labels(image, 3, all_starts, all_lengths, labelled), sum(sizes) / flat.size
    out_dtype = np.uint32 if box is None and 4 * flat.size > _FRESH_BYTES else None
    return lambda: label_image(image if box is None else image[box], 3, out_dtype), labelled / flat.size


def rrw_row(shape: tuple[int, ...], repeat: int, clock: Callable[[], float]) -> dict[str, Any]:
    classes = lesion_classes(shape, max(10, round(30 * (math.prod(shape) / 128**3) ** (1 / 3))))
    label, plus_one, threads = classes[None], classes + 1, _threads()
    np.testing.assert_allclose(rrw_map(label, num_classes=3), recipe_rrw(classes), atol=1e-6)  # the same map
    fns = {
        "floor": lambda: edt.edt(classes, black_border=False, parallel=threads),
        "all regions": lambda: edt.edt(plus_one, black_border=False, parallel=threads),
        "output": lambda: np.empty((3, *shape), np.float32).fill(1.0),
        "ours": lambda: rrw_map(label, num_classes=3),
    }
    t = best_times(fns, repeat, clock)
    t.update(best_times({"recipe": lambda: recipe_rrw(classes)}, 1 if math.prod(shape) > 128**3 else repeat, clock))
    memory = beyond_output(lambda: rrw_map(label, num_classes=3), 3 * 4 * classes.size)
    lesions = int(cc3d.connected_components(classes, connectivity=26, return_N=True)[1])
    return {"work": "RRW, 3 classes", "volume": _size(shape), "lesions": lesions, **t, "memory": memory}


def detection_map(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """picai_eval's input: the components of ``prob > threshold``, each painted with its maximum."""
    comp, n = ndimage.label(prob > threshold, structure=np.ones((3,) * prob.ndim, bool))
    peak = np.zeros(n + 1, dtype=np.float32)
    if n:
        peak[1:] = ndimage.maximum(prob, comp, index=np.arange(1, n + 1))
    return peak[comp]


def _picai() -> Callable[[np.ndarray, np.ndarray], Any] | None:
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # picai_eval greets on import
            from picai_eval.eval import evaluate_case
    except ImportError:
        return None
    return lambda det, y: evaluate_case(det, y, min_overlap=0.1, overlap_func="IoU")


def _panoptica() -> Callable[[np.ndarray, np.ndarray], Any] | None:
    try:
        import panoptica as pan
        from panoptica.utils.citation_reminder import disable_citation_reminder
    except ImportError:
        return None
    disable_citation_reminder()
    evaluator = pan.Panoptica_Evaluator(
        expected_input=pan.InputType.SEMANTIC,
        instance_approximator=pan.ConnectedComponentsInstanceApproximator(),
        instance_matcher=pan.MaxBipartiteMatching(matching_metric=pan.Metric.IOU, matching_threshold=0.1),
        instance_metrics=[pan.Metric.IOU, pan.Metric.DSC],
        global_metrics=[pan.Metric.DSC],
        decision_metric=pan.Metric.IOU,
        decision_threshold=0.1,
    )

    def run(pred: np.ndarray, ref: np.ndarray) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):  # panoptica prints a table per case
            return evaluator.evaluate(pred, ref, verbose=False)

    return run


def evaluate_row(shape: tuple[int, ...], lesions: int, repeat: int, clock: Callable[[], float]) -> dict[str, Any]:
    label, prob = make_pair(shape, lesions, seed=0)
    views = case_lesion_records(prob, label)
    fns: dict[str, Callable[[], Any]] = {
        "floor": lambda: (
            cc3d.connected_components(label, connectivity=26, return_N=True),
            # as uint8: cc3d 4.1.1's binary mode (a bool input) mislabels some images
            cc3d.connected_components((prob > 0.5).view(np.uint8), connectivity=26, return_N=True),
        ),
        "ours": lambda: case_lesion_records(prob, label),
    }
    picai, panoptica = _picai(), _panoptica()
    if panoptica is not None:
        pred_mask, ref_mask = (prob > 0.5).astype(np.uint8), label.astype(np.uint8)  # outside the timing
        fns["panoptica"] = lambda: panoptica(pred_mask, ref_mask)
    t = best_times(fns, repeat, clock)
    slow = {"recipe": lambda: recipe_records(label, prob)}  # tens of times slower: best of two
    if picai is not None:
        det, y_true = detection_map(prob), label.astype(np.int32)  # prepared outside the timing
        slow["picai_eval"] = lambda: picai(det, y_true)
    t.update(best_times(slow, min(2, repeat), clock))
    return {"work": "evaluate one case", "volume": _size(shape), "lesions": views["strict"].n_lesions, **t}


# ---------------------------------------------------------------- table


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table of issue #14: floor, ours, ours / floor (target), the output's own cost, peers / ours, memory."""
    lines = [
        "| work | volume | lesions | floor (ms) | ours (ms) | ours / floor (target) | ours / (floor + output) "
        "| peers / ours | memory beyond output |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        ratio = r["ours"] / r["floor"]
        target = TARGET[r["work"]]
        peers = [f"{name} {r[name] / r['ours']:.1f}x" for name in ("recipe", "picai_eval", "panoptica") if name in r]
        if "all regions" in r:
            ratio_all = r["ours"] / (r["all regions"] + r["output"])
            peers.insert(0, f"edt all regions {_ms(r['all regions'])} ms (ours / (it + output) {ratio_all:.2f}x)")
        with_output = f"{r['ours'] / (r['floor'] + r['output']):.2f}x ({_ms(r['output'])} ms)" if "output" in r else "—"
        memory = f"{r['memory']:.2f}x" if "memory" in r else "—"
        lines.append(
            f"| {r['work']} | {r['volume']} | {r['lesions']} | {_ms(r['floor'])} | {_ms(r['ours'])} | "
            f"{ratio:.2f}x ({'met' if ratio <= target else 'missed'}, <= {target:g}x) | {with_output} | "
            f"{', '.join(peers)} | {memory} |"
        )
    return "\n".join(lines)


def steps_markdown(rows: list[dict[str, Any]]) -> str:
    """Where the time of the inverse weights goes: the labelling of what ours labels, the output, the runs, the rest."""
    lines = [
        "| volume | lesions | floor (ms) | labelled | labelling (ms) | output (ms) | runs (ms) | rest (ms) | ours (ms) "
        "| (floor + output) / floor | ours / floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "runs" not in r:
            continue
        rest = r["ours"] - r["labelling"] - r["output"] - r["runs"]
        lines.append(
            f"| {r['volume']} | {r['lesions']} | {_ms(r['floor'])} | {100 * r['labelled']:.0f}% | "
            f"{_ms(r['labelling'])} | {_ms(r['output'])} | {_ms(r['runs'])} | {_ms(rest)} | {_ms(r['ours'])} | "
            f"{(r['floor'] + r['output']) / r['floor']:.2f}x | {r['ours'] / r['floor']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contender (the best is reported)")
    parser.add_argument("--quick", action="store_true", help="small volumes: a smoke test, not the issue's rows")
    parser.add_argument("--only", default="inverse,rrw,evaluate", help="comma-separated: inverse, rrw, evaluate")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="process CPU time or wall clock")
    parser.add_argument(
        "--steps", action="store_true", help="inverse weights: also time the label's runs and print where the time goes"
    )
    args = parser.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    sizes = QUICK if args.quick else FULL
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(only) - set(FULL))
    if unknown:
        parser.error(f"--only: unknown {unknown}; choose from {sorted(FULL)}")
    repeat = max(1, args.repeat)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"CPU: {cores} cores, {torch.get_num_threads()} torch / edt thread(s), OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; clock: {args.clock}, best of {repeat}\n"
    )
    rows: list[dict[str, Any]] = []
    for work in only:
        for spec in sizes[work]:
            if work == "inverse":
                rows.append(inverse_row(*spec, repeat, clock, args.steps))
            elif work == "rrw":
                rows.append(rrw_row(spec, repeat, clock))
            else:
                rows.append(evaluate_row(*spec, repeat, clock))
            print(f"  {rows[-1]['work']} {rows[-1]['volume']}: measured", file=sys.stderr, flush=True)
    print(markdown(rows))
    print(
        "\nOutput: a fresh float32 array of the map's shape written once (np.empty + fill), the cost of the"
        " result itself, which the floor does not pay. Peers / ours: how many times slower the recipe or peer is"
        " than ours (the slow recipes of large volumes timed once, picai_eval and the per-object recipe best of"
        " two). Memory: tracemalloc peak minus the output, over the output (target <= 1x)."
    )
    if args.steps and any("runs" in r for r in rows):
        print(
            "\nInverse weights, where the time goes: labelled, the share of the voxels ours labels (the lesions' own"
            " boxes, stacked, and the cells that find them; else the foreground's box or all); labelling, the time"
            " of that (for the boxes their plan and copies too); runs, the label's runs; rest: ours - labelling -"
            " output - runs.\n"
        )
        print(steps_markdown(rows))
    return rows


if __name__ == "__main__":
    main()
