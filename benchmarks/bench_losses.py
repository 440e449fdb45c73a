"""Forward + backward time of the voxel-weighted losses relative to MONAI's unweighted twins (same tensors).

Usage::

    python benchmarks/bench_losses.py            # full: (2, 1, 128^3) and (2, 4, 128^3), CPU and CUDA if present
    python benchmarks/bench_losses.py --quick    # (2, 1, 48^3) and (2, 4, 48^3), fewer repeats

Prints a Markdown table: best-of-N seconds per forward+backward of ours (with a random weight map) and of the
twin, and the ratio (the minimum is the robust statistic on a machine shared with other jobs).

On Linux the process first asks glibc to keep freed memory (``mallopt``), as PyTorch's caching allocator does
on a GPU: by default every buffer of these sizes is ``mmap``-ed and returned to the kernel, so each step pays
page faults for all its temporaries (measured here: system time as large as user time, steps 2-3x slower and
ratios moving by +-15% between runs). ``--system-malloc`` keeps glibc's defaults.
Targets (issue 3): <= 1.25x on CPU, <= 1.1x on GPU; InverseWeightedLoss (weights computed from the target
inside the step) <= 1.1x a plain Dice step on GPU.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from monai.losses import DiceLoss, FocalLoss, TverskyLoss

from monai_imbalance.losses import (
    InverseWeightedLoss,
    VoxelWeightedASLoss,
    VoxelWeightedBCELoss,
    VoxelWeightedDiceLoss,
    VoxelWeightedFocalLoss,
)


def _once(fn: Callable[[], torch.Tensor], x: torch.Tensor, device: torch.device) -> float:
    x.grad = None
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn().backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def _time_pair(
    ours: Callable[[], torch.Tensor],
    twin: Callable[[], torch.Tensor],
    x: torch.Tensor,
    repeats: int,
    device: torch.device,
) -> tuple[float, float]:
    """Best-of-``repeats`` times of both, interleaved so that a load change on the machine hits both alike."""
    _once(ours, x, device), _once(twin, x, device)  # warm-up
    t_ours, t_twin = [], []
    for _ in range(repeats):
        t_ours.append(_once(ours, x, device))
        t_twin.append(_once(twin, x, device))
    return min(t_ours), min(t_twin)


def _keep_freed_memory() -> bool:
    """Ask glibc to serve large buffers from the heap and not to trim it; False where that is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    big = 2**31 - 1
    settings = ((m_mmap_threshold, big), (m_trim_threshold, big), (m_top_pad, 1 << 28))
    return all(libc.mallopt(opt, val) == 1 for opt, val in settings)


def _pairs(c: int) -> dict[str, tuple[Callable, Callable, bool]]:
    """name -> (ours(x, y, w), twin(x, y), uses the weight map)."""
    act = {"softmax": True} if c > 1 else {"sigmoid": True}
    b2 = 1.5**2
    tversky = TverskyLoss(
        **act, alpha=1 / (1 + b2), beta=b2 / (1 + b2), smooth_nr=1e-5 / (1 + b2), smooth_dr=1e-5 / (1 + b2)
    )
    dice_ours = VoxelWeightedDiceLoss(**act, squared_pred=True)
    return {
        "BCE": (VoxelWeightedBCELoss(), torch.nn.BCEWithLogitsLoss(), True),
        "Focal": (VoxelWeightedFocalLoss(gamma=2.0, alpha=0.75), FocalLoss(gamma=2.0, alpha=0.75), True),
        "Dice": (dice_ours, DiceLoss(**act, squared_pred=True), True),
        "ASL": (VoxelWeightedASLoss(**act, beta=1.5), tversky, True),
        "InverseWeighted(Dice)": (InverseWeightedLoss(dice_ours), DiceLoss(**act, squared_pred=True), False),
    }


TARGET_RATIO = {"cpu": 1.25, "cuda": 1.1}  # ours / twin, per device type (issue 3)


def measure(shapes: list[tuple[int, ...]], devices: list[torch.device], repeats: int) -> list[dict[str, Any]]:
    """One ``{"device", "shape", "loss", "ours", "twin", "ratio"}`` per device, shape and loss (seconds)."""
    out: list[dict[str, Any]] = []
    for device in devices:
        for shape in shapes:
            g = torch.Generator().manual_seed(0)
            x = torch.randn(shape, generator=g).to(device).requires_grad_(True)
            b, c, *spatial = shape
            if c == 1:
                y = (torch.rand(shape, generator=g) > 0.97).float().to(device)
            else:
                idx = torch.randint(0, c, (b, *spatial), generator=g)
                y = torch.nn.functional.one_hot(idx, c).movedim(-1, 1).float().to(device)
            w = (torch.rand(b, 1, *spatial, generator=g) * 3).to(device)
            for name, (ours, twin, weighted) in _pairs(c).items():
                # InverseWeighted(Dice) computes its weights from y (one-hot: components per foreground class)
                extra = (w,) if weighted else ()
                t_ours, t_twin = _time_pair(
                    lambda ours=ours, x=x, y=y, extra=extra: ours(x, y, *extra),
                    lambda twin=twin, x=x, y=y: twin(x, y),
                    x,
                    repeats,
                    device,
                )
                row = {"device": device.type, "shape": tuple(shape), "loss": name, "ours": t_ours, "twin": t_twin}
                out.append({**row, "ratio": t_ours / t_twin})
    return out


def run(shapes: list[tuple[int, ...]], devices: list[torch.device], repeats: int) -> list[str]:
    rows = [
        "| device | shape | loss | ours (s) | twin (s) | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in measure(shapes, devices, repeats):
        rows.append(
            f"| {r['device']} | {r['shape']} | {r['loss']} | {r['ours']:.4f} | {r['twin']:.4f} | {r['ratio']:.2f}x |"
        )
    return rows


def main() -> None:
    """Parse the command line and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="48^3 volumes and 3 repeats")
    parser.add_argument("--size", type=int, default=None, help="edge of the cubic volume (default 128, quick 48)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 7, quick 3)")
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--system-malloc", action="store_true", help="keep glibc's default mmap/trim behaviour")
    args = parser.parse_args()
    cached = False if args.system_malloc else _keep_freed_memory()
    size = args.size or (48 if args.quick else 128)
    repeats = args.repeats or (3 if args.quick else 7)
    devices = []
    if args.device in ("cpu", "all"):
        devices.append(torch.device("cpu"))
    if args.device in ("cuda", "all") and torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    shapes = [(2, 1, size, size, size), (2, 4, size, size, size)]
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, repeats {repeats}, "
        f"freed memory kept by glibc: {'yes' if cached else 'no'}\n"
    )
    print("\n".join(run(shapes, devices, repeats)))


if __name__ == "__main__":
    main()
