"""Speed and memory of the weight maps against the straightforward scipy recipe of the papers' code.

Recipes (re-derived from the papers' formulas, the way their code computes them):

- inverse weights (Shirokikh et al. 2020): ``scipy.ndimage.label`` with full connectivity, then one pass over
  the volume per component (``w[labels == j] = N / ((K + 1) |L_j|)``), float64;
- RRW (Valverde & Tohka): ``scipy.ndimage.distance_transform_edt`` per class (3 classes), ``-d / max d``
  inside the class and 1 outside, float64.

Ours: :func:`monai_imbalance.maps.inverse_weight_map` and :func:`monai_imbalance.maps.region_wise.rrw_map`
on numpy input (the CPU path of the transforms), and on a CUDA tensor when CUDA is available.

Time: the best of ``--repeat`` runs (``time.perf_counter``; CUDA: ``torch.cuda.Event``, after a warm-up).
Peak memory: ``tracemalloc``'s peak during one call, i.e. every numpy allocation (temporaries and output,
including the arrays cc3d / edt return) but not the C++ scratch buffers of cc3d / edt, divided by the
float32 size of the volume (4 bytes per voxel); the input label is allocated before and not counted.
CUDA: ``torch.cuda.max_memory_allocated`` during one call, over the same size.

Torch (CUDA) algorithms on CPU tensors: the pure-torch code the transforms run on a GPU, timed here on the CPU
and counted by a ``TorchDispatchMode`` (operators dispatched, bytes of the tensors they return): a proxy of the
GPU cost (kernel launches, memory traffic) that any machine can measure. The connected components of the
inverse weights run on the edge list of the foreground voxels (the default for lesion masks) and, for
comparison, on the dense propagation over the whole volume (the algorithm before, still used for masks with
more edges than voxels).

Usage::

    python benchmarks/bench_maps.py                 # 128^3, 256^3, 512x512x300
    python benchmarks/bench_maps.py --quick         # 128^3 only
    python benchmarks/bench_maps.py --sizes 96,160x160x80 --repeat 5
"""

from __future__ import annotations

import argparse
import math
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from monai_imbalance.maps import inverse_weight_map

try:
    from monai_imbalance.maps.region_wise import rrw_map
except ImportError:  # pragma: no cover - while the region-wise maps are missing
    rrw_map = None

TARGET_SPEEDUP = {"inverse weights": 5.0, "RRW (3 classes)": 15.0}
TARGET_MEMORY = 3.0  # x float32 volume
TARGET_GPU_MS = {"inverse weights": 2.0, "RRW (3 classes)": 10.0}  # per 128^3 patch, H100-class GPU


# ---------------------------------------------------------------- data


def lesion_classes(shape: tuple[int, ...], num_lesions: int, seed: int = 0) -> np.ndarray:
    """Class-index volume (uint8: 0 background, lesions of classes 1 and 2) of random ellipsoids.

    Radii from 1 to ~8% of the smallest side (a few big lesions, many small ones: log-uniform), painted
    in their bounding boxes only; lesions may touch or merge, as real ones do.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(shape, dtype=np.uint8)
    r_max = max(2.0, 0.08 * min(shape))
    for _ in range(num_lesions):
        radii = np.exp(rng.uniform(0, math.log(r_max))) * rng.uniform(0.6, 1.4, size=len(shape))
        centre = [rng.uniform(0, s) for s in shape]
        box = tuple(
            slice(max(0, int(c - r)), min(s, int(c + r) + 1)) for c, r, s in zip(centre, radii, shape, strict=True)
        )
        grids = np.ogrid[box]
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True)) <= 1
        out[box][inside] = rng.integers(1, 3)
    return out


def parse_size(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.lower().split("x")]
    return tuple(parts * 3) if len(parts) == 1 else tuple(parts)


# ---------------------------------------------------------------- recipes


def recipe_inverse(mask: np.ndarray) -> np.ndarray:
    labels, k = ndimage.label(mask, structure=np.ones((3,) * mask.ndim, dtype=bool))
    n = mask.size
    weights = np.zeros(mask.shape)
    parts = k + int((labels == 0).any())
    for j in range(k + 1):
        comp = labels == j
        size = comp.sum()
        if size:
            weights[comp] = n / (parts * size)
    return weights


def recipe_rrw(classes: np.ndarray, num_classes: int = 3) -> np.ndarray:
    out = np.ones((num_classes, *classes.shape))
    for c in range(num_classes):
        mask = classes == c
        if mask.any():
            d = ndimage.distance_transform_edt(mask)
            out[c] = np.where(mask, -d / d.max(), 1.0)
    return out


# ---------------------------------------------------------------- measurement


def best_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_numpy_bytes(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del out
    return peak


def cuda_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, int]:
    fn()  # warm-up (kernels, allocator)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times = []
    for _ in range(max(repeat, 3)):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return min(times), torch.cuda.max_memory_allocated() - base


def cpu_rows(shape: tuple[int, ...], repeat: int) -> list[str]:
    """Markdown rows (inverse weights, RRW) for one volume size."""
    n = math.prod(shape)
    num_lesions = max(10, round(30 * (n / 128**3) ** (1 / 3)))
    classes = lesion_classes(shape, num_lesions)
    mask = classes > 0
    label = mask[None].astype(np.uint8)
    vol = 4 * n
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], int]] = [
        ("inverse weights", lambda: recipe_inverse(mask), lambda: inverse_weight_map(label), 1)
    ]
    if rrw_map is not None:
        cls = classes[None]
        cases.append(("RRW (3 classes)", lambda: recipe_rrw(classes), lambda: rrw_map(cls, num_classes=3), 3))
    k = ndimage.label(mask, structure=np.ones((3,) * mask.ndim, dtype=bool))[1]
    rows = []
    for name, recipe, ours, channels in cases:
        t_recipe, t_ours = best_time(recipe, repeat), best_time(ours, repeat)
        m_recipe, m_ours = peak_numpy_bytes(recipe), peak_numpy_bytes(ours)
        flag = "ok" if t_recipe / t_ours >= TARGET_SPEEDUP[name] else "MISSED"
        mem_flag = "" if m_ours / vol <= TARGET_MEMORY else " (over 3x)"
        rows.append(
            f"| {'x'.join(map(str, shape))} | {name} | {k} | {t_recipe:.3f} | {t_ours:.3f} | "
            f"{t_recipe / t_ours:.1f}x (>= {TARGET_SPEEDUP[name]:g}x: {flag}) | "
            f"{m_recipe / vol:.2f}x | {m_ours / vol:.2f}x{mem_flag} | {channels:.2f}x |"
        )
    return rows


class _OpCounter:
    """Count dispatched operators and the bytes of the tensors they return (a ``TorchDispatchMode``)."""

    def __init__(self) -> None:
        from torch.utils._python_dispatch import TorchDispatchMode

        counter = self

        class _Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
                out = func(*args, **(kwargs or {}))
                counter.ops += 1
                for t in out if isinstance(out, (tuple, list)) else (out,):
                    if isinstance(t, torch.Tensor):
                        counter.bytes += t.numel() * t.element_size()
                return out

        self.ops, self.bytes, self.mode = 0, 0, _Mode()


def torch_path_rows(repeat: int, shape: tuple[int, ...] = (128, 128, 128), lesions: int = 30) -> list[str]:
    """The pure-torch (CUDA) algorithms on CPU tensors of a patch: operators, bytes written, time."""
    from monai_imbalance.maps import components
    from monai_imbalance.maps.inverse import _inverse_weight_map_torch
    from monai_imbalance.maps.region_wise import _rrw_torch

    classes = lesion_classes(shape, lesions)
    label = torch.from_numpy((classes > 0)[None].astype(np.float32))
    index = torch.from_numpy(classes.astype(np.int64))
    cases: list[tuple[str, float, Callable[[], Any]]] = [
        (
            "inverse weights, edge list (default)",
            components._EDGE_BUDGET,
            lambda: _inverse_weight_map_torch(label, 3, 0.5, None, None),
        ),
        ("inverse weights, dense propagation", 0, lambda: _inverse_weight_map_torch(label, 3, 0.5, None, None)),
        ("RRW (3 classes)", components._EDGE_BUDGET, lambda: _rrw_torch(index, 3, (1.0, 1.0, 1.0))),
    ]
    rows = []
    saved = components._EDGE_BUDGET
    try:
        for name, budget, fn in cases:
            components._EDGE_BUDGET = budget
            counter = _OpCounter()
            with counter.mode:
                fn()
            seconds = best_time(fn, repeat)
            rows.append(f"| {name} | {counter.ops} | {counter.bytes / 1e6:.0f} | {seconds:.3f} |")
    finally:
        components._EDGE_BUDGET = saved
    return rows


def device_times(
    device: torch.device | str = "cuda", repeat: int = 3, shape: tuple[int, ...] = (128, 128, 128), lesions: int = 30
) -> list[dict[str, Any]]:
    """Our maps on tensors of ``device`` (the GPU rows): ``[{"map", "ms", "peak", "target_ms"}]``, one per map.

    CUDA: the public functions, best of ``max(repeat, 3)`` after a warm-up (``torch.cuda.Event``); peak:
    ``max_memory_allocated`` over the float32 volume size. Any other device (the dry run of ``gpu_check.py``):
    the pure-torch functions the public ones dispatch to on a GPU (a CPU tensor would take the numpy path), best
    of ``repeat`` wall-clock runs after a warm-up; peak not measured (nan).
    """
    dev = torch.device(device)
    classes = lesion_classes(shape, lesions)
    label = torch.from_numpy((classes > 0)[None].astype(np.float32)).to(dev)
    cls = torch.from_numpy(classes[None].astype(np.int64)).to(dev)
    cases: list[tuple[str, Callable[[], Any]]]
    if dev.type == "cuda":
        cases = [("inverse weights", lambda: inverse_weight_map(label))]
        if rrw_map is not None:
            cases.append(("RRW (3 classes)", lambda: rrw_map(cls, num_classes=3)))
    else:
        from monai_imbalance.maps.inverse import _inverse_weight_map_torch
        from monai_imbalance.maps.region_wise import _rrw_torch

        ndim = len(shape)
        cases = [
            ("inverse weights", lambda: _inverse_weight_map_torch(label, ndim, 0.5, None, None)),
            ("RRW (3 classes)", lambda: _rrw_torch(cls[0], 3, (1.0,) * ndim)),
        ]
    out = []
    for name, fn in cases:
        if dev.type == "cuda":
            ms, peak = cuda_ms(fn, repeat)
            peak_x = peak / (4 * math.prod(shape))
        else:
            fn()  # warm-up, as on CUDA
            ms, peak_x = 1e3 * best_time(fn, repeat), math.nan
        out.append({"map": name, "ms": ms, "peak": peak_x, "target_ms": TARGET_GPU_MS[name]})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="128,256,512x512x300", help="comma-separated sizes: 128 or 512x512x300")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement (the best is reported)")
    parser.add_argument("--quick", action="store_true", help="128^3 only (overrides --sizes)")
    args = parser.parse_args(argv)
    sizes = [(128, 128, 128)] if args.quick else [parse_size(s) for s in args.sizes.split(",")]
    repeat = max(1, args.repeat)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    print(f"CPU: {cores} cores available, torch {torch.__version__}, best of {repeat} run(s)\n")
    print("| volume | map | lesions | recipe (s) | ours (s) | speed-up (target) | peak recipe | peak ours | output |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for shape in sizes:
        for row in cpu_rows(shape, repeat):
            print(row)
    print(
        "\nPeak: tracemalloc peak of numpy allocations during one call (output included, C++ scratch of cc3d/edt"
        " not seen) / float32 volume size (4 B/voxel); output: the float32 map's own size on that scale."
    )

    print(
        f"\nTorch (CUDA) algorithms on CPU tensors, 128^3 patch, {torch.get_num_threads()} threads, best of {repeat}\n"
    )
    print("| map | operators | MB written | CPU time (s) |")
    print("|---|---:|---:|---:|")
    for row in torch_path_rows(repeat):
        print(row)

    if torch.cuda.is_available():
        print(f"\nGPU: {torch.cuda.get_device_name()}, 128^3 patch, best of {max(repeat, 3)} (torch.cuda.Event)\n")
        print("| map | ms (target) | peak GPU memory |")
        print("|---|---:|---:|")
        for r in device_times("cuda", repeat):
            flag = "ok" if r["ms"] <= r["target_ms"] else "MISSED"
            print(f"| {r['map']} | {r['ms']:.2f} (<= {r['target_ms']:g}: {flag}) | {r['peak']:.2f}x |")
    else:
        print("\nGPU: CUDA not available, no GPU rows.")


if __name__ == "__main__":
    main()
