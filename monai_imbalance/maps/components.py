"""Connected components of binary masks: cc3d / scipy on the CPU, pure torch on any device (CUDA)."""

from __future__ import annotations

import itertools
import math
from typing import Literal, TypeVar

import cc3d
import numpy as np
import torch
from monai.utils import convert_to_tensor
from scipy import ndimage

from monai_imbalance.utils.validation import check_connectivity

__all__ = ["CC3D_CONNECTIVITY", "component_sizes", "label_components", "label_components_torch", "label_image"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# the sparse (edge list) labelling of the torch path is used while the edges are at most this many per voxel of
# the volume (two int64 edge arrays: 16 bytes per edge, twice the dense int64 label volume per edge and voxel)
_EDGE_BUDGET = 1

#: cc3d's neighbour count for ``(ndim, orthogonal hops)``; other dimensions (1D) are labelled with scipy
CC3D_CONNECTIVITY: dict[tuple[int, int], Literal[4, 6, 8, 18, 26]] = {
    (2, 1): 4,
    (2, 2): 8,
    (3, 1): 6,
    (3, 2): 18,
    (3, 3): 26,
}


def label_image(
    image: np.ndarray, connectivity: int, out_dtype: type[np.unsignedinteger] | None = None
) -> tuple[np.ndarray, int]:
    """Components of every non-zero value of an image at once: a mask, or a class image (never merged across values).

    One ``cc3d`` pass in 2D and 3D, ``scipy.ndimage.label`` per value otherwise. The labels keep the dtype
    the library gives (the smallest safe unsigned type of cc3d, or ``out_dtype``; ``int32`` from scipy), so no
    full-volume conversion follows; ``image`` is copied only when it is not C-contiguous (the labels are then
    C-contiguous too, as their flat index order is the image's).

    Args:
        image: spatial-only boolean or integer image ``(*spatial)``, 0 the background; validated by the caller.
        connectivity: orthogonal hops in ``[1, ndim]`` (checked by the caller).
        out_dtype: ``np.uint32`` for 4-byte labels (cc3d; scipy's are ``int32``); ``None``: cc3d's choice.

    Returns:
        ``(labels, K)``: labels ``1..K`` of the image's shape, 0 the background.

    Example:
        >>> labels, k = label_image(np.array([[1, 1, 2], [0, 0, 2]], np.uint8), 2)
        >>> k, labels.tolist()
        (2, [[1, 1, 2], [0, 0, 2]])
    """
    image = np.ascontiguousarray(image)
    key = (image.ndim, connectivity)
    if key in CC3D_CONNECTIVITY:
        # uint8 input (a zero-copy view of a bool mask) lets cc3d pick uint16 labels more often than bool does
        data = image.view(np.uint8) if image.dtype == bool else image
        labels, num = cc3d.connected_components(  # type: ignore[call-overload]
            data, connectivity=CC3D_CONNECTIVITY[key], return_N=True, out_dtype=out_dtype
        )
        return labels, int(num)
    structure = ndimage.generate_binary_structure(image.ndim, connectivity)
    if image.dtype == bool:
        labels, num = ndimage.label(image, structure=structure, output=np.int32)
        return labels, int(num)
    out = np.zeros(image.shape, dtype=np.int32)  # a class image: every value labelled on its own, offset
    num = 0
    for value in np.unique(image).tolist():
        if value != 0:
            labels, k = ndimage.label(image == value, structure=structure, output=np.int32)
            np.add(out, labels + num, out=out, where=labels > 0)
            num += int(k)
    return out, num


def label_components(mask: ArrayT, connectivity: int | None = None) -> tuple[ArrayT, int]:
    r"""Label the connected components of a binary mask.

    Voxels ``v`` and ``u`` are neighbours when ``max |v - u| = 1`` and at most ``connectivity`` coordinates
    differ (``connectivity = ndim``, the default, is full connectivity: 8 in 2D, 26 in 3D, as the
    authors of Shirokikh et al., MICCAI 2020 label lesions; ``1`` is faces only: 4 in 2D, 6 in 3D).

    numpy arrays and CPU tensors use ``connected-components-3d`` (scipy for other dimensions); CUDA tensors
    use :func:`label_components_torch`, which stays on the device.

    Args:
        mask: spatial-only mask ``(*spatial)`` (no channel), boolean or 0/1, numpy array or torch tensor.
        connectivity: orthogonal hops in ``[1, ndim]``; ``None`` for full connectivity.

    Returns:
        ``(labels, K)``: labels of the mask's shape (``int32`` numpy or ``int64`` tensor on the mask's device),
        ``0`` for background and ``1..K`` for the components in an unspecified order; ``K`` the count.

    Raises:
        TypeError: when ``mask`` is neither a numpy array nor a tensor, or ``connectivity`` is not an int.
        ValueError: when ``mask`` has no dimension or ``connectivity`` is out of range.

    Example:
        >>> labels, k = label_components(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]))
        >>> k
        1
        >>> label_components(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]]), connectivity=1)[1]
        2
    """
    if not isinstance(mask, (np.ndarray, torch.Tensor)):
        raise TypeError(f"`mask` must be a numpy array or a torch tensor, got {type(mask).__name__}.")
    if mask.ndim < 1:
        raise ValueError(f"`mask` must have at least one spatial dimension, got shape {tuple(mask.shape)}.")
    conn = check_connectivity(connectivity, mask.ndim)
    if isinstance(mask, torch.Tensor):
        if mask.device.type != "cpu":
            return label_components_torch(mask, conn)
        labels_np, num = label_image(convert_to_tensor(mask, track_meta=False).detach().numpy() != 0, conn)
        return torch.from_numpy(labels_np.astype(np.int64)), num
    labels, num = label_image(mask != 0, conn)
    return labels.astype(np.int32, copy=False), num


def _neighbour_offsets(ndim: int, connectivity: int) -> list[tuple[int, ...]]:
    return [o for o in itertools.product((-1, 0, 1), repeat=ndim) if 0 < sum(abs(v) for v in o) <= connectivity]


def _shift_min(x: torch.Tensor, offset: tuple[int, ...], fill: int) -> torch.Tensor:
    """``out[i] = x[i + offset]`` with ``fill`` where ``i + offset`` leaves the volume."""
    out = torch.full_like(x, fill)
    dst, src = [], []
    for o, n in zip(offset, x.shape, strict=True):
        dst.append(slice(max(0, -o), n - max(0, o)))
        src.append(slice(max(0, o), n - max(0, -o)))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _box_min(x: torch.Tensor, fill: int) -> torch.Tensor:
    """Minimum over the full ``3^ndim`` neighbourhood, one axis at a time."""
    out = x
    for axis in range(x.ndim):
        lo = tuple(-1 if a == axis else 0 for a in range(x.ndim))
        hi = tuple(1 if a == axis else 0 for a in range(x.ndim))
        out = torch.minimum(out, torch.minimum(_shift_min(out, lo, fill), _shift_min(out, hi, fill)))
    return out


def label_components_torch(
    mask: torch.Tensor, connectivity: int | None = None, max_iter: int | None = None
) -> tuple[torch.Tensor, int]:
    """Connected components in pure torch, on the mask's device (the CUDA path of :func:`label_components`).

    Sparse masks (lesions: at most one edge per voxel of the volume) are labelled on the list of their
    foreground voxels: the edges between neighbouring foreground voxels are listed once; every voxel starts
    with its own rank (C order) as label; each iteration hooks every edge's voxels and their labels' voxels
    to the smaller label (``scatter_reduce`` min) and jumps pointers twice, until nothing changes; the roots
    (labels naming themselves, each component's first voxel in C order) are numbered ``1..K`` by a cumulative
    sum. Only the foreground is touched in the iterations, so a lesion patch costs a handful of passes over
    the volume. Dense masks take the dense form of the same propagation (neighbourhood minimum over the whole
    volume, then pointer jumping). Nothing is copied to the host but the foreground and edge counts, one
    boolean per iteration (converged?) and the number of components (tested in
    ``tests/maps/test_device_path.py``).

    Args:
        mask: spatial-only mask ``(*spatial)``, boolean or 0/1, on any device.
        connectivity: orthogonal hops in ``[1, ndim]``; ``None`` for full connectivity.
        max_iter: safety bound on the iterations (default: the voxel count, never reached in practice).

    Returns:
        ``(labels, K)``: ``int64`` labels on the mask's device, ``0`` background, components ``1..K``
        numbered by their first voxel in C order.

    Raises:
        TypeError: when ``mask`` is not a tensor.
        ValueError: when ``connectivity`` is out of range.

    Example:
        >>> m = torch.tensor([[1, 1, 0, 1], [0, 0, 0, 1], [1, 0, 0, 0]])
        >>> labels, k = label_components_torch(m)
        >>> k
        3
        >>> labels
        tensor([[1, 1, 0, 2],
                [0, 0, 0, 2],
                [3, 0, 0, 0]])
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"`mask` must be a torch tensor, got {type(mask).__name__}.")
    conn = check_connectivity(connectivity, mask.ndim)
    fg = convert_to_tensor(mask, track_meta=False).detach() != 0
    idx, comp, num = _compact_components(fg, conn, max_iter)
    out = torch.zeros(fg.numel(), dtype=torch.int64, device=fg.device)
    out[idx] = comp
    return out.reshape(fg.shape), num


def _compact_components(
    fg: torch.Tensor, conn: int, max_iter: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(idx, comp, K)``: flat indices of the foreground voxels (ascending), their component ``1..K``, ``K``."""
    n = fg.numel()
    idx = torch.nonzero(fg.reshape(-1)).reshape(-1)
    m = idx.numel()
    if m == 0:
        return idx, idx.clone(), 0
    half = [o for o in _neighbour_offsets(fg.ndim, conn) if o > (0,) * fg.ndim]  # each edge once
    limit = n if max_iter is None else max_iter
    if m * len(half) <= _EDGE_BUDGET * n:
        lab = _propagate_sparse(fg.shape, idx, half, limit)
        roots = lab == torch.arange(m, device=fg.device)
        rank = torch.cumsum(roots, 0)
        return idx, rank[lab], int(rank[-1])
    labels, num = _components_dense(fg, conn, limit)
    return idx, labels.reshape(-1)[idx], num


def _propagate_sparse(shape: torch.Size, idx: torch.Tensor, half: list[tuple[int, ...]], limit: int) -> torch.Tensor:
    """Rank (among ``idx``) of the first voxel of every foreground voxel's component."""
    dev, m = idx.device, idx.numel()
    n = math.prod(shape)
    strides = torch.tensor([math.prod(shape[i + 1 :]) for i in range(len(shape))], device=dev)
    size = torch.tensor(list(shape), device=dev)
    offsets = torch.tensor(half, device=dev)
    shifted = ((idx[:, None] // strides) % size)[:, None, :] + offsets  # (m, P, ndim) neighbour coordinates
    inside = ((shifted >= 0) & (shifted < size)).all(-1)
    del shifted
    rank = torch.full((n,), -1, dtype=torch.int64, device=dev)
    rank[idx] = torch.arange(m, device=dev)
    step = (offsets * strides).sum(-1)  # flat offsets (no integer matmul: CUDA has none for int64)
    neighbour = torch.where(inside, rank[(idx[:, None] + step).clamp(0, n - 1)], -1)  # (m, P)
    edge = neighbour >= 0
    src = torch.arange(m, device=dev)[:, None].expand_as(neighbour)[edge]
    dst = neighbour[edge]
    del rank, neighbour, edge, inside
    lab = torch.arange(m, device=dev)
    for _ in range(limit):
        ls, ld = lab[src], lab[dst]
        low = torch.minimum(ls, ld)
        new = lab.scatter_reduce(0, src, low, "amin")  # voxels take the smaller label of their edges
        new.scatter_reduce_(0, dst, low, "amin")
        new.scatter_reduce_(0, ls, low, "amin")  # ... and so do the voxels their labels name (hooking)
        new.scatter_reduce_(0, ld, low, "amin")
        new = new[new][new]  # pointer jumping: every label names a voxel of the same component
        if torch.equal(new, lab):
            break
        lab = new
    return lab


def _components_dense(fg: torch.Tensor, conn: int, limit: int) -> tuple[torch.Tensor, int]:
    """Neighbourhood minimum over the whole volume, then pointer jumping: for masks with many edges."""
    n = fg.numel()
    sentinel = n  # larger than every flat index
    index = torch.arange(n, device=fg.device, dtype=torch.int64).reshape(fg.shape)
    labels = torch.where(fg, index, torch.full_like(index, sentinel))
    for _ in range(limit):
        if conn == fg.ndim:
            new = _box_min(labels, sentinel)
        else:
            new = labels
            for offset in _neighbour_offsets(fg.ndim, conn):
                new = torch.minimum(new, _shift_min(labels, offset, sentinel))
        new = torch.where(fg, new, labels)
        # pointer jumping: a label is the flat index of a voxel of the same component with a label <= it
        flat = new.reshape(-1)
        jumped = torch.where(fg.reshape(-1), flat[flat.clamp(max=n - 1)], flat)
        new = jumped.reshape(fg.shape)
        if torch.equal(new, labels):
            break
        labels = new
    roots = labels[fg]
    unique = torch.unique(roots)  # sorted: numbered by first voxel in C order
    out = torch.zeros(fg.shape, dtype=torch.int64, device=fg.device)
    out[fg] = torch.searchsorted(unique, roots) + 1
    return out, int(unique.numel())


def component_sizes(labels: ArrayT, num: int) -> ArrayT:
    """Voxel count of every component, background first.

    Args:
        labels: integer labels from :func:`label_components` (numpy array or tensor).
        num: the number of components ``K``.

    Returns:
        Counts of length ``K + 1`` (index 0: background), ``int64``, same array type and device as ``labels``.

    Example:
        >>> component_sizes(np.array([0, 1, 1, 0, 2]), 2)
        array([2, 2, 1])
    """
    if isinstance(labels, torch.Tensor):
        return torch.bincount(labels.reshape(-1).long(), minlength=num + 1)
    return np.bincount(np.asarray(labels).ravel(), minlength=num + 1).astype(np.int64)
