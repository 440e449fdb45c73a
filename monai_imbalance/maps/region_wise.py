"""Region-wise maps of Valverde & Tohka ("Region-wise loss for biomedical image segmentation").

A region-wise (RW) map ``Z`` has one value per class and voxel; the RW loss is ``mean(softmax(logits) * Z)``.
Maps take a channel-first label, either class indices ``(1, *spatial)`` or one-hot ``(C, *spatial)``, and
return ``(C, *spatial)`` ``float32`` maps of the same type (numpy -> numpy, torch -> torch on the same
device; CUDA tensors never leave the device). A single-channel label is always read as class indices.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch
from monai.utils import convert_to_tensor

from monai_imbalance.maps.distance import _label_edt_numpy, _label_edt_sq_torch
from monai_imbalance.utils.conversion import to_numpy
from monai_imbalance.utils.validation import check_channel_first, check_finite, check_num_classes, check_spacing

__all__ = ["active_contour_map", "boundary_distance_map", "rrw_map"]

Array = np.ndarray | torch.Tensor

_BLOCK = 1 << 18  # voxels per block of the numpy RRW passes (keeps temporaries small)


def _cpu_numpy(label: object) -> np.ndarray | None:
    """A CPU tensor as a zero-copy numpy view (``None`` for anything else): CPU tensors take the numpy path."""
    if isinstance(label, torch.Tensor) and label.device.type == "cpu":
        t = convert_to_tensor(label, track_meta=False).detach()
        return (t.float() if t.dtype in (torch.float16, torch.bfloat16) else t).numpy()
    return None


# the losses' constructor still imports the old private name (their owner switches to check_num_classes)
_check_num_classes = check_num_classes


def _check_class_weights(class_weights: object, nc: int) -> list[tuple[int, float]]:
    """``(class, factor)`` pairs for the factors that differ from 1."""
    if class_weights is None:
        return []
    try:
        values = [float(w) for w in np.asarray(to_numpy(class_weights), dtype=float).reshape(-1)]
    except (TypeError, ValueError) as e:
        raise TypeError(f"`class_weights` must be a sequence of numbers, got {class_weights!r}.") from e
    if len(values) != nc:
        raise ValueError(f"`class_weights` must hold one factor per class ({nc}), got {len(values)}: {values}.")
    if not all(np.isfinite(w) and w > 0 for w in values):
        raise ValueError(f"`class_weights` must hold finite positive factors, got {values}.")
    return [(c, w) for c, w in enumerate(values) if w != 1.0]


def _class_index(label: np.ndarray | torch.Tensor, num_classes: object) -> tuple[np.ndarray | torch.Tensor, int]:
    """Validate a channel-first label and return its spatial class-index map and the number of classes.

    An index label's range comes from its minimum and maximum (which reveal NaN and infinities too), and a
    ``uint8`` one is returned as it is (no copy); only a float label is checked for non-integer values.
    """
    check_channel_first(label, "label")
    nc = check_num_classes(num_classes)
    is_torch = isinstance(label, torch.Tensor)
    x = convert_to_tensor(label, track_meta=False) if isinstance(label, torch.Tensor) else label
    is_float = x.is_floating_point() if isinstance(x, torch.Tensor) else x.dtype.kind == "f"
    if x.shape[0] == 1:  # class indices
        idx = x[0]
        if idx.numel() if is_torch else idx.size:
            if isinstance(idx, torch.Tensor) and idx.dtype != torch.bool:
                lo_t, hi_t = torch.aminmax(idx)
                lo_f, hi_f = float(lo_t), float(hi_t)
            else:
                lo_f, hi_f = float(idx.min()), float(idx.max())
            if not (np.isfinite(lo_f) and np.isfinite(hi_f)):
                check_finite(idx, "label")  # raises, with the count
        else:
            lo_f, hi_f = 0.0, -1.0
        if is_float and bool((idx != idx.round()).any()):
            value = float(idx[idx != idx.round()].reshape(-1)[0])
            raise ValueError(f"`label` with one channel must hold integer class indices, got non-integer {value}.")
        lo, hi = int(lo_f), int(hi_f)
        if lo < 0:
            raise ValueError(f"`label` class indices must be >= 0, got minimum {lo}.")
        inferred = nc is None
        if nc is None:
            nc = max(hi + 1, 1)
        elif hi >= nc:
            raise ValueError(f"`label` class indices must be < num_classes={nc}, got maximum {hi}.")
        if isinstance(idx, torch.Tensor):
            index: np.ndarray | torch.Tensor = idx.long()
        elif nc <= 256:
            index = idx.view(np.uint8) if idx.dtype in (np.uint8, np.bool_) else idx.astype(np.uint8)
        else:
            index = idx.astype(np.int32)
        if inferred and nc > 2:
            _check_all_present(index, nc)
        return index, nc
    # one-hot
    check_finite(x, "label")
    if nc is not None and nc != x.shape[0]:
        raise ValueError(f"`label` one-hot has {x.shape[0]} channels but num_classes={nc}.")
    other = (x != 0) & (x != 1)
    if bool(other.any()):
        value = float(x[other].reshape(-1)[0])
        raise ValueError(f"`label` with several channels must be one-hot (values 0 and 1), got value {value}.")
    bad = int((x.sum(0) != 1).sum()) if is_torch else int(np.count_nonzero(x.sum(0) != 1))
    if bad:
        raise ValueError(
            f"`label` must be one-hot with exactly one class per voxel, got {bad} voxel(s) whose channels "
            "do not sum to 1."
        )
    if isinstance(x, torch.Tensor):
        return (x if x.is_floating_point() else x.to(torch.uint8)).argmax(0), x.shape[0]
    return x.argmax(0).astype(np.uint8 if x.shape[0] <= 256 else np.int32), x.shape[0]


def _check_all_present(index: np.ndarray | torch.Tensor, nc: int) -> None:
    """Inferred classes ``0..nc-1`` must all occur: a 0/255 mask would otherwise become a 256-class map."""
    if isinstance(index, torch.Tensor):
        counts = to_numpy(torch.bincount(index.reshape(-1), minlength=nc))
    else:
        flat = index.reshape(-1)
        counts = np.zeros(nc, np.int64)
        for start in range(0, flat.size, _BLOCK):  # bincount copies its input to intp: blocks keep that small
            counts += np.bincount(flat[start : start + _BLOCK], minlength=nc)
    absent = np.flatnonzero(counts == 0)
    if absent.size:
        raise ValueError(
            f"`label` class indices were inferred as 0..{nc - 1} (num_classes=None), but {absent.size} of these "
            f"classes are absent (e.g. {absent[:5].tolist()}): pass `num_classes`, or binarise a mask stored as "
            "0/255 (e.g. `label > 0`)."
        )


def _rrw_numpy(index: np.ndarray, nc: int, spacing: tuple[float, ...]) -> np.ndarray:
    """The numpy RRW map: one multi-label distance pass, then per class its maximum and its channel, by blocks."""
    out = np.empty((nc, *index.shape), np.float32)
    if index.size == 0:
        return out
    dist = _label_edt_numpy(index, spacing).reshape(-1)  # own-class inside distance, all classes at once
    flat_i, flat_o = index.reshape(-1), out.reshape(nc, -1)
    if not np.isfinite(dist[0]):  # inf iff one class fills the image: no boundary, every voxel maximally inside
        out.fill(1.0)
        out[int(flat_i[0])] = -1.0
        return out
    blocks = [slice(a, a + _BLOCK) for a in range(0, dist.size, _BLOCK)]
    buf = np.empty(min(_BLOCK, dist.size), np.float32)
    cmax = np.zeros(nc, np.float32)  # 0 iff the class is absent (distances are >= the smallest spacing)
    for b in blocks:  # masked max as multiply + max: numpy's `max(where=)` is ~15x slower
        ib, db, tmp = flat_i[b], dist[b], buf[: dist[b].size]
        for c in range(nc):
            cmax[c] = max(cmax[c], np.multiply(db, ib == c, out=tmp).max())
    out.fill(1.0)
    for k in np.flatnonzero(cmax).tolist():  # z = d / (-max) inside the class, 1 elsewhere (already there)
        for b in blocks:
            np.divide(dist[b], -cmax[k], out=flat_o[k, b], where=flat_i[b] == k)
    return out


def _rrw_torch(index: torch.Tensor, nc: int, spacing: tuple[float, ...]) -> torch.Tensor:
    dist = _label_edt_sq_torch(index, spacing).sqrt()  # inf everywhere iff one class fills the image
    flat_i = index.reshape(-1)
    cmax = torch.zeros(nc, device=index.device).scatter_reduce(0, flat_i, dist.reshape(-1), "amax")
    vals = torch.where(torch.isinf(dist), -1.0, -dist / cmax[index])
    out = torch.ones((nc, *index.shape), dtype=torch.float32, device=index.device)
    return out.scatter_(0, index[None], vals[None])


def _boundary_torch(index: torch.Tensor, nc: int, spacing: tuple[float, ...]) -> torch.Tensor:
    out = torch.zeros((nc, *index.shape), dtype=torch.float32, device=index.device)
    for c in range(nc):
        m = index == c
        d = _label_edt_sq_torch(m, spacing).sqrt()  # both sides at once; inf iff the class has no boundary
        out[c] = torch.where(torch.isinf(d), 0.0, torch.where(m, 1.0 - d, d))
    return out


@overload
def rrw_map(
    label: np.ndarray, spacing: object = ..., num_classes: int | None = ..., *, class_weights: object = ...
) -> np.ndarray: ...


@overload
def rrw_map(
    label: torch.Tensor, spacing: object = ..., num_classes: int | None = ..., *, class_weights: object = ...
) -> torch.Tensor: ...


def rrw_map(
    label: Array, spacing: object = None, num_classes: int | None = None, *, class_weights: object = None
) -> Array:
    r"""Rectified region-wise (RRW) map: normalised negative inside distances, 1 off the class.

    .. math::
        z_{ic} = \begin{cases} -\dfrac{d_c(i)}{\max_j d_c(j)} & i \in \Omega_c \\ 1 & i \notin \Omega_c
        \end{cases}

    ``d_c(i)`` is the Euclidean distance (in ``spacing`` units) from voxel ``i`` to the nearest voxel not in
    class ``c``, so inner border voxels are one voxel step away; the max runs over the whole image
    (Valverde & Tohka, eq. 4). Every voxel's off-class values are equal (the rectification principle), so
    the RW gradient :math:`s_{ic}(z_{ic} - \sum_j s_{ij} z_{ij})` is negative at the true class only.

    Conventions: an absent class gives all 1; the image border is not a boundary (a class touching it
    measures its distance to the other classes only); a class filling the whole image has no boundary and
    gets ``-1`` everywhere. Values lie in ``[-1, 1]``, the deepest voxel of each present class at ``-1``.
    numpy and CPU tensors use ``edt``'s multi-label mode (all classes' distances in one pass); CUDA
    tensors stay on the device (pure torch).

    Args:
        label: class indices ``(1, *spatial)`` (integers, or floats with integer values) or one-hot
            ``(C, *spatial)``, 1 to 3 spatial dims, numpy array or torch tensor.
        spacing: ``None`` (1 per axis, as the authors' code), one positive number or one per spatial axis (mm).
        num_classes: number of classes ``C``; for index labels it defaults to ``max(label) + 1``, which
            drops classes absent from this image: pass it so every image gets the same channels. An inferred
            count above 2 requires every class ``0..max(label)`` to occur (a 0/255 mask would otherwise give a
            256-class map). For one-hot labels it must equal the channel count when given.
        class_weights: optional class emphasis (section 3.3 of the paper): ``C`` positive factors ``w_c``
            multiplying the inside values, ``z_ic = -w_c d_c(i) / max_j d_c(j)``; off-class values stay 1, so
            the map stays rectified, its range becomes ``[-max w_c, 1]``. ``None``: all 1.

    Returns:
        ``(C, *spatial)`` ``float32`` map, numpy or torch like ``label`` (a plain tensor on its device).

    Raises:
        TypeError: when ``label`` is not an array/tensor, ``num_classes`` is not an int or ``spacing`` is not
            numeric.
        ValueError: on a wrong number of dims, NaN, non-integer, negative or ``>= num_classes`` indices, an
            inferred class count with absent classes, a multi-channel label that is not one-hot, a channel
            count other than ``num_classes``, or a spacing of the wrong length or with values that are not
            finite and positive.

    Example:
        >>> z = rrw_map(np.array([[0, 0, 1, 1, 1, 1]]), num_classes=3)
        >>> z.dtype, z.shape
        (dtype('float32'), (3, 6))
        >>> z.tolist()
        [[-1.0, -0.5, 1.0, 1.0, 1.0, 1.0], [1.0, 1.0, -0.25, -0.5, -0.75, -1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    """
    arr = _cpu_numpy(label)
    if arr is not None:
        return torch.from_numpy(rrw_map(arr, spacing, num_classes, class_weights=class_weights))
    index, nc = _class_index(label, num_classes)
    sp = check_spacing(spacing, index.ndim) or (1.0,) * index.ndim
    weights = _check_class_weights(class_weights, nc)
    if isinstance(index, torch.Tensor):
        out_t = _rrw_torch(index, nc, sp)
        for c, w in weights:
            out_t[c] = torch.where(out_t[c] < 1, out_t[c] * w, out_t[c])
        return out_t
    out = _rrw_numpy(index, nc, sp)
    for c, w in weights:
        np.multiply(out[c], np.float32(w), out=out[c], where=out[c] < 1)
    return out


@overload
def boundary_distance_map(label: np.ndarray, spacing: object = ..., num_classes: int | None = ...) -> np.ndarray: ...


@overload
def boundary_distance_map(
    label: torch.Tensor, spacing: object = ..., num_classes: int | None = ...
) -> torch.Tensor: ...


def boundary_distance_map(label: Array, spacing: object = None, num_classes: int | None = None) -> Array:
    r"""Signed boundary distance map of Kervadec et al. (RW-Boundary maps in Valverde & Tohka, eq. 3).

    .. math::
        \phi_c = \mathrm{edt}(\lnot m_c) \cdot \lnot m_c - (\mathrm{edt}(m_c) - 1) \cdot m_c

    per class with mask ``m_c``: the distance to the class outside it, and ``1 - d`` inside, so the inner
    border is ``0`` at unit spacing. The ``- 1`` is taken literally in ``spacing`` units: with a spacing
    ``s`` an inner border voxel gets ``1 - s_min`` (``s_min`` the spacing of its nearest axis), the authors
    having used unit spacing. A class that is empty or fills the whole image has no boundary: zeros.
    The image border is not a boundary. Not rectified: off-class values differ per class, so the RW gradient
    can have several negative components (the paper's Figure 2).

    Args:
        label: class indices ``(1, *spatial)`` or one-hot ``(C, *spatial)``, see :func:`rrw_map`.
        spacing: ``None`` (1 per axis), one positive number or one per spatial axis (mm).
        num_classes: number of classes; see :func:`rrw_map`.

    Returns:
        ``(C, *spatial)`` ``float32`` map, numpy or torch like ``label``.

    Raises:
        TypeError: see :func:`rrw_map`.
        ValueError: see :func:`rrw_map`.

    Example:
        >>> boundary_distance_map(np.array([[0, 0, 0, 1, 1]])).tolist()
        [[-2.0, -1.0, 0.0, 1.0, 2.0], [3.0, 2.0, 1.0, 0.0, -1.0]]
    """
    arr = _cpu_numpy(label)
    if arr is not None:
        return torch.from_numpy(boundary_distance_map(arr, spacing, num_classes))
    index, nc = _class_index(label, num_classes)
    sp = check_spacing(spacing, index.ndim) or (1.0,) * index.ndim
    if isinstance(index, torch.Tensor):
        return _boundary_torch(index, nc, sp)
    out = np.zeros((nc, *index.shape), np.float32)
    for c in range(nc):
        mask = index == c
        if mask.any() and not mask.all():
            dist = _label_edt_numpy(mask, sp)  # inside voxels: distance to the outside, and vice versa
            out[c] = np.where(mask, 1.0 - dist, dist)
    return out


@overload
def active_contour_map(label: np.ndarray, num_classes: int | None = ...) -> np.ndarray: ...


@overload
def active_contour_map(label: torch.Tensor, num_classes: int | None = ...) -> torch.Tensor: ...


def active_contour_map(label: Array, num_classes: int | None = None) -> Array:
    r"""Active-contour region-wise map ``Z = 1 - Y`` (Valverde & Tohka, section 3.2; Chen et al.'s AC loss).

    .. math:: z_{ic} = 1 - y_{ic}

    ``Y`` the one-hot label: 0 at the true class, 1 elsewhere (rectified by construction).

    Args:
        label: class indices ``(1, *spatial)`` or one-hot ``(C, *spatial)``, see :func:`rrw_map`.
        num_classes: number of classes; see :func:`rrw_map`.

    Returns:
        ``(C, *spatial)`` ``float32`` map, numpy or torch (same device) like ``label``.

    Raises:
        TypeError: see :func:`rrw_map`.
        ValueError: see :func:`rrw_map`.

    Example:
        >>> active_contour_map(np.array([[0, 2, 1]]), num_classes=3).tolist()
        [[0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 1.0]]
    """
    index, nc = _class_index(label, num_classes)
    if isinstance(index, torch.Tensor):
        classes = torch.arange(nc, device=index.device).reshape(-1, *([1] * index.ndim))
        return (index[None] != classes).float()
    return (index[None] != np.arange(nc).reshape(-1, *([1] * index.ndim))).astype(np.float32)
