"""Euclidean distance transforms with voxel spacing: ``edt`` / scipy on the CPU, pure torch on any device (CUDA).

Two transforms, both exact and anisotropic:

- :func:`distance_transform` (binary): for every voxel of a mask, the distance to the nearest voxel *outside*
  the mask, ``0`` outside (as ``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)``);
- :func:`label_distance_transform` (multi-label): for every voxel, the distance to the nearest voxel with a
  *different* label. One pass gives every class's inside distances at once (what the RRW maps need).

Conventions shared by both:

- The image border is not a boundary: voxels outside the image do not count as "outside the mask" (as scipy
  and ``edt`` without ``black_border``), so a class touching the border measures its distances to the other
  classes only.
- With no voxel to reach (a mask without a ``False`` voxel, an image with a single label), the distance is
  ``inf`` everywhere it is defined.
- Distances are in the units of ``spacing`` (one value per spatial axis, e.g. mm); ``None`` means 1 per axis.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch
from monai.utils import convert_to_tensor
from scipy import ndimage

from monai_imbalance.utils.validation import check_finite, check_spacing

try:  # the fast CPU path (multi-threaded, multi-label, anisotropic); scipy is the fallback
    import edt as _edt

    _HAS_EDT = True
except ImportError:  # pragma: no cover - edt is an install requirement
    _HAS_EDT = False

__all__ = [
    "distance_transform",
    "distance_transform_torch",
    "label_distance_transform",
    "label_distance_transform_torch",
]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# elements of the (lines, n, n) block the pure-torch min-plus pass materialises at once (128 MiB in float32)
_CHUNK_ELEMENTS = 1 << 25


def _check_spatial(x: object, name: str) -> None:
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f"`{name}` must be a numpy array or a torch tensor, got {type(x).__name__}.")
    if x.ndim < 1:
        raise ValueError(f"`{name}` must have at least one spatial dimension, got shape {tuple(x.shape)}.")
    check_finite(x, name)


def _check_labels(labels: np.ndarray | torch.Tensor) -> None:
    _check_spatial(labels, "labels")
    is_float = labels.is_floating_point() if isinstance(labels, torch.Tensor) else labels.dtype.kind in "fc"
    if is_float or (isinstance(labels, torch.Tensor) and labels.is_complex()):
        raise TypeError(f"`labels` must hold integer or boolean labels, got dtype {labels.dtype}.")


def _threads() -> int:
    # follows torch's intra-op setting (2 on a 2-core machine, 1 inside DataLoader workers)
    return max(1, torch.get_num_threads())


# ----------------------------------------------------------------------------------------------- numpy (CPU)
def _nonzero_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel to ``1..K`` in the smallest unsigned dtype: ``edt`` treats label 0 as the background."""
    if labels.dtype == np.bool_:
        return labels.view(np.uint8) + np.uint8(1)
    lo, hi = int(labels.min()), int(labels.max())
    if labels.dtype.kind == "u" and lo >= 1:
        return labels  # already free of zeros
    if labels.dtype.kind == "u" and hi < np.iinfo(labels.dtype).max:
        return labels + labels.dtype.type(1)
    span = hi - lo + 2
    dtype = next(d for d in (np.uint8, np.uint16, np.uint32, np.uint64) if span <= np.iinfo(d).max)
    out = np.empty(labels.shape, dtype)
    np.subtract(labels, lo - 1, out=out, dtype=np.int64, casting="unsafe")
    return out


def _edt_args(spacing: tuple[float, ...]) -> dict:
    return {"anisotropy": spacing[0] if len(spacing) == 1 else spacing, "black_border": False, "parallel": _threads()}


def _label_edt_numpy(labels: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    if labels.size == 0:
        return np.zeros(labels.shape, np.float32)
    if _HAS_EDT and labels.ndim <= 3:
        d = _edt.edt(np.ascontiguousarray(_nonzero_labels(labels)), **_edt_args(spacing))
        return np.asarray(d, dtype=np.float32)
    out = np.full(labels.shape, np.inf, np.float32)  # scipy fallback: one pass per label
    values = np.unique(labels)
    if len(values) > 1:
        for v in values:
            m = labels == v
            out[m] = ndimage.distance_transform_edt(m, sampling=spacing)[m]
    return out


def _binary_edt_numpy(mask: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    if mask.size and mask.all():
        return np.full(mask.shape, np.inf, np.float32)
    if _HAS_EDT and mask.ndim <= 3:
        return np.asarray(_edt.edt(np.ascontiguousarray(mask), **_edt_args(spacing)), dtype=np.float32)
    return ndimage.distance_transform_edt(mask, sampling=spacing).astype(np.float32)


# ------------------------------------------------------------------------------------------ pure torch (GPU)
def _run_distance_sq(lab: torch.Tensor, step: float) -> torch.Tensor:
    """``lab (L, n)`` -> squared distance along each line to the nearest voxel with another label (inf if none)."""
    num, n = lab.shape
    inf = torch.full((num, 1), float("inf"), device=lab.device)
    if n == 1:
        return inf
    idx = torch.arange(n, device=lab.device, dtype=torch.float32)
    change = lab[:, 1:] != lab[:, :-1]  # between voxels k and k + 1
    # nearest different voxel on the left of voxel i is the last k < i with a change after k
    left = torch.cummax(torch.where(change, idx[:-1], -inf), dim=-1).values
    dist_left = torch.cat([inf, idx[1:] - left], dim=-1)
    # on the right: the first k >= i with a change after k, the different voxel being k + 1
    right = torch.where(change, idx[1:], inf).flip(-1).cummin(dim=-1).values.flip(-1)
    dist_right = torch.cat([right - idx[:-1], inf], dim=-1)
    h = torch.minimum(dist_left, dist_right) * step
    return h * h


def _min_plus(g: torch.Tensor, step: float) -> torch.Tensor:
    """``g (L, n)`` -> ``min_j g[:, j] + ((i - j) step)^2`` (exact lower envelope, chunked over lines)."""
    num, n = g.shape
    if n == 1:
        return g.clone()
    idx = torch.arange(n, device=g.device, dtype=torch.float32)
    d2 = ((idx[:, None] - idx[None, :]) * step) ** 2
    out = torch.empty_like(g)
    rows = max(1, _CHUNK_ELEMENTS // (n * n))
    for a in range(0, num, rows):
        out[a : a + rows] = (g[a : a + rows, None, :] + d2).amin(dim=-1)
    return out


def _label_edt_sq_torch(labels: torch.Tensor, spacing: tuple[float, ...]) -> torch.Tensor:
    """Squared multi-label EDT, one axis at a time (separable, exact).

    After the passes over some axes, ``g(x)`` is the squared distance from ``x`` to the nearest voxel with
    another label within the slab that shares ``x``'s coordinates on the remaining axes. The next pass is
    ``min( min_j g(x_k = j) + ((x_k - j) s_k)^2 , h_k(x)^2 )``: voxels of another label contribute 0 to the
    first term (their own ``g`` is ≥ 0, so using it instead can only add candidates ≥ ``h_k^2``), which the
    1-D distance ``h_k`` to the nearest other label along the axis accounts for exactly.
    """
    if labels.numel() == 0:
        return torch.zeros(labels.shape, dtype=torch.float32, device=labels.device)
    g = _run_distance_sq(labels.reshape(-1, labels.shape[-1]), spacing[-1]).reshape(labels.shape)
    for axis in range(labels.ndim - 1):  # the last axis first (contiguous lines), then the others
        lab = labels.movedim(axis, -1)
        shape = lab.shape
        new = _run_distance_sq(lab.reshape(-1, shape[-1]), spacing[axis])
        new = torch.minimum(new, _min_plus(g.movedim(axis, -1).reshape(-1, shape[-1]), spacing[axis]))
        g = new.reshape(shape).movedim(-1, axis)
    return g.contiguous()


def label_distance_transform_torch(labels: torch.Tensor, spacing: object = None) -> torch.Tensor:
    r"""Multi-label Euclidean distance transform in pure torch, on the labels' device (the CUDA path).

    .. math:: d(x) = \min_{y:\ \ell(y) \neq \ell(x)} \lVert (x - y) \odot s \rVert_2

    Separable and exact: a 1-D pass (distance to the nearest other label along the last axis, by cumulative
    max/min of change positions), then per further axis the lower envelope
    :math:`\min_j g(j) + ((i - j) s)^2`, computed as a chunked min over all ``j`` (``O(n)`` per voxel: no
    sequential scan, so it runs on the GPU as a few large tensor ops; nothing leaves the device).

    Args:
        labels: integer or boolean labels ``(*spatial)`` (no channel), any number of dims, on any device.
        spacing: ``None``, one positive number or one per spatial axis.

    Returns:
        ``float32`` distances of the labels' shape and device; ``inf`` everywhere when there is one label.

    Raises:
        TypeError: when ``labels`` is not a tensor or holds floats; ``spacing`` is not numeric.
        ValueError: when ``labels`` has no dimension or ``spacing`` is invalid.

    Example:
        >>> label_distance_transform_torch(torch.tensor([0, 0, 0, 2, 2]), spacing=2).tolist()
        [6.0, 4.0, 2.0, 2.0, 4.0]
    """
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"`labels` must be a torch tensor, got {type(labels).__name__}.")
    _check_labels(labels)
    sp = check_spacing(spacing, labels.ndim) or (1.0,) * labels.ndim
    return _label_edt_sq_torch(convert_to_tensor(labels, track_meta=False), sp).sqrt()


def distance_transform_torch(mask: torch.Tensor, spacing: object = None) -> torch.Tensor:
    """Binary Euclidean distance transform in pure torch (see :func:`distance_transform`), on any device.

    Args:
        mask: ``(*spatial)`` tensor, non-zero = inside, on any device.
        spacing: ``None``, one positive number or one per spatial axis.

    Returns:
        ``float32`` distances on the mask's device: to the nearest voxel outside the mask, ``0`` outside,
        ``inf`` everywhere when the mask has no outside voxel.

    Raises:
        TypeError: when ``mask`` is not a tensor; ``spacing`` is not numeric.
        ValueError: when ``mask`` has no dimension, holds NaN, or ``spacing`` is invalid.

    Example:
        >>> distance_transform_torch(torch.tensor([[1, 1, 1, 0]]), spacing=(1, 0.5)).tolist()
        [[1.5, 1.0, 0.5, 0.0]]
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"`mask` must be a torch tensor, got {type(mask).__name__}.")
    _check_spatial(mask, "mask")
    sp = check_spacing(spacing, mask.ndim) or (1.0,) * mask.ndim
    m = convert_to_tensor(mask, track_meta=False) != 0
    return torch.where(m, _label_edt_sq_torch(m, sp).sqrt(), 0.0)


# ---------------------------------------------------------------------------------------------- dispatchers
def distance_transform(mask: ArrayT, spacing: object = None) -> ArrayT:
    r"""Euclidean distance from every voxel of a mask to the nearest voxel outside it, with voxel spacing.

    .. math:: d(x) = \min_{y \notin M} \lVert (x - y) \odot s \rVert_2 \ \text{for } x \in M, \qquad
              d(x) = 0 \ \text{for } x \notin M

    Same values as ``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)`` (an inner border voxel is
    one voxel step away, the spacing along its nearest axis). The image border is not a boundary. A mask
    with no outside voxel has no finite distance: the result is ``inf`` everywhere (scipy returns arbitrary
    values there).

    numpy arrays and CPU tensors (zero-copy) use ``edt`` (multi-threaded with ``torch.get_num_threads()``
    threads; scipy for more than 3 dims); CUDA tensors use :func:`distance_transform_torch` on the device.

    Args:
        mask: ``(*spatial)`` array or tensor (no channel), non-zero = inside.
        spacing: ``None`` (1 per axis), one positive number or one per spatial axis, e.g. mm.

    Returns:
        ``float32`` distances of the mask's shape, same type (and device) as ``mask``.

    Raises:
        TypeError: when ``mask`` is neither a numpy array nor a tensor, or ``spacing`` is not numeric.
        ValueError: when ``mask`` has no dimension or holds NaN, or ``spacing`` has the wrong length or a
            value that is not finite and positive.

    Example:
        >>> d = distance_transform(np.array([[1, 1, 1, 0, 1]]), spacing=(1.0, 2.0))
        >>> d.dtype, d.tolist()
        (dtype('float32'), [[6.0, 4.0, 2.0, 0.0, 2.0]])
    """
    _check_spatial(mask, "mask")
    sp = check_spacing(spacing, mask.ndim) or (1.0,) * mask.ndim
    if isinstance(mask, torch.Tensor):
        if mask.device.type != "cpu":
            return distance_transform_torch(mask, sp)
        return torch.from_numpy(_binary_edt_numpy(convert_to_tensor(mask, track_meta=False).detach().numpy() != 0, sp))
    return _binary_edt_numpy(mask != 0, sp)


def label_distance_transform(labels: ArrayT, spacing: object = None) -> ArrayT:
    r"""Distance from every voxel to the nearest voxel with a different label (all labels in one pass).

    .. math:: d(x) = \min_{y:\ \ell(y) \neq \ell(x)} \lVert (x - y) \odot s \rVert_2

    For a voxel of class ``c`` this is the inside distance of class ``c``'s mask
    (``distance_transform(labels == c)``), so one call gives every class's inside distances; every label,
    0 included, is a region. The image border is not a boundary; with a single label the result is ``inf``.

    numpy arrays and CPU tensors use ``edt``'s multi-label mode (scipy per label for more than 3 dims);
    CUDA tensors use :func:`label_distance_transform_torch`.

    Args:
        labels: integer or boolean ``(*spatial)`` labels (no channel).
        spacing: ``None`` (1 per axis), one positive number or one per spatial axis.

    Returns:
        ``float32`` distances of the labels' shape, same type (and device) as ``labels``.

    Raises:
        TypeError: when ``labels`` is neither a numpy array nor a tensor, holds floats, or ``spacing`` is not
            numeric.
        ValueError: when ``labels`` has no dimension or ``spacing`` is invalid.

    Example:
        >>> label_distance_transform(np.array([[0, 0, 1, 1, 1, 2]])).tolist()
        [[2.0, 1.0, 1.0, 2.0, 1.0, 1.0]]
    """
    _check_labels(labels)
    sp = check_spacing(spacing, labels.ndim) or (1.0,) * labels.ndim
    if isinstance(labels, torch.Tensor):
        if labels.device.type != "cpu":
            return label_distance_transform_torch(labels, sp)
        return torch.from_numpy(_label_edt_numpy(convert_to_tensor(labels, track_meta=False).detach().numpy(), sp))
    return _label_edt_numpy(labels, sp)
