"""Inverse lesion-size weight maps (Shirokikh et al., MICCAI 2020): one labelling pass, then the label's runs only.

The CPU path costs little more than the labelling and the output's own write: the label is cut into runs of
equal values along its last axis (one read of its 8-byte words, comparing byte by byte only the words near a
foreground voxel; a uint8 label is validated on the runs' values, a boolean one not at all) and cc3d labels the
foreground's bounding box, or only the lesions' own boxes where they lie far apart. A run lies in one component,
so the component sizes are the foreground runs' lengths summed by label, and the float32 output is written run by
run in one pass (``np.repeat``; over the 4-byte labels' memory for large volumes). Besides the labels and the
output, no full-volume array is made for a boolean or uint8 label.
"""

from __future__ import annotations

import math
import sys
from typing import Any, TypeVar

import numpy as np
import torch
from monai.utils import convert_to_tensor

from monai_imbalance.maps.components import _compact_components, label_image
from monai_imbalance.utils.validation import (
    check_channel_first,
    check_connectivity,
    check_fraction,
    check_num_classes,
    check_weight_range,
)

__all__ = ["inverse_weight_map"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# tolerance on the channel sum of a float one-hot label
_ONEHOT_ATOL = 1e-4
# images where more than 1 / _DENSE of the voxels start a run (of equal values along the last axis) are weighted
# block by block (the runs' arrays, ~40 bytes a run, would otherwise approach the output's size); _BLOCK voxels,
# words or runs per block
_DENSE = 32
_BLOCK = 1 << 16
# the foreground's bounding box is labelled alone when it holds at most _BOX of the voxels
_BOX = 0.9
# the lesions' own boxes (:func:`_box_labels`): cells of _CELL voxels a side mark the foreground. Boxes are planned
# when at least _PLAN voxels would be labelled otherwise and there are fewer row pieces than cells' voxels, and used
# when their cost is under _GAIN of that labelling: a voxel copied costs _COPY voxels labelled, a labelling call
# _CALL (cc3d's ~55 us of set-up), a box _PER_BOX and a row piece _PER_PIECE (its numpy work)
_CELL = 8
_PLAN = 1 << 16
_COPY = 1.5
_CALL = 30000
_PER_BOX = 3000
_PER_PIECE = 16
_GAIN = 0.75
# output bytes above which the weights are written over 4-byte labels (glibc's largest mmap threshold, 32 MiB)
_FRESH_BYTES = 32 << 20


def inverse_weight_map(
    label: ArrayT,
    connectivity: int | None = None,
    threshold: float = 0.5,
    min_weight: float | None = None,
    max_weight: float | None = None,
    num_classes: int | None = None,
) -> ArrayT:
    r"""Voxel weights inversely proportional to the size of the component holding the voxel.

    .. math:: w_v = \frac{N}{(K + 1)\,\lvert L_{j(v)} \rvert}

    ``N`` voxels, ``K`` lesions (connected components of the foreground) ``L_1..L_K`` and the background
    ``L_0`` counted as one component, so that :math:`\sum_v w_v = N` and every component carries the
    same total weight :math:`N / (K + 1)` (Shirokikh et al., "Universal loss reweighting to balance
    lesion size inequality in 3D medical image segmentation", MICCAI 2020, eq. 1). Computed per training
    patch: padding counts as background.

    Edge cases: no lesion gives all ones; an all-lesion patch has no background component (the
    normalisation uses ``K`` components). A one-hot label ``(C, *spatial)`` (our extension) takes the
    components of every foreground class ``1..C-1``; ``K`` counts them over all classes, all sharing one
    normalisation, and the background component is the set of voxels in no foreground class.
    With ``num_classes`` a one-channel label holds class indices ``0..num_classes-1`` and is read as its
    one-hot form (components per foreground class), as :func:`~monai_imbalance.maps.rrw_map` reads it.
    The authors' code clips the weights to ``[1, 2e5]``: pass ``min_weight=1, max_weight=2e5`` for that.

    numpy arrays and CPU tensors use ``connected-components-3d`` (scipy for 1D labels), one pass for all classes;
    CUDA tensors stay on the device (pure torch, see :func:`label_components_torch`).

    Args:
        label: channel-first ``(1, *spatial)`` binary or soft label (values ``> threshold`` are lesion), or
            ``(C, *spatial)`` one-hot label (channel 0: background), 1 to 3 spatial dimensions; numpy
            array or torch tensor.
        connectivity: orthogonal hops in ``[1, ndim]`` that make two voxels neighbours; ``None`` (default)
            for full connectivity (8 in 2D, 26 in 3D), as the authors label lesions; ``1`` for faces only.
        threshold: values ``> threshold`` are foreground, in ``[0, 1)``.
        min_weight: optional lower clip of the weights (the authors use 1).
        max_weight: optional upper clip of the weights (the authors use 2e5).
        num_classes: ``None`` (default): a one-channel label is binary or soft. An int ``n``: a one-channel label
            holds integer class indices in ``[0, n - 1]`` (0 the background, every other class its own
            components); a one-hot label must then have ``n`` channels.

    Returns:
        ``float32`` weights ``(1, *spatial)`` whatever the label's dtype (bool, uint8, float16 included): a
        numpy array for numpy input, a tensor on the label's device for tensor input.

    Raises:
        TypeError: when ``label`` is not an array or tensor, or an argument has the wrong type.
        ValueError: when ``label`` has the wrong number of dimensions, holds NaN or infinite values, values
            outside ``[0, 1]`` (without ``num_classes``) or that are not class indices below ``num_classes``, or
            channels that do not sum to 1 (one-hot) or differ from ``num_classes``; when ``connectivity``,
            ``threshold``, ``min_weight``, ``max_weight`` or ``num_classes`` is out of range, or
            ``min_weight > max_weight``.

    Example:
        >>> inverse_weight_map(np.array([[1, 0, 1, 0, 1, 1, 0, 0]]))
        array([[2. , 0.5, 2. , 0.5, 1. , 1. , 0.5, 0.5]], dtype=float32)
        >>> inverse_weight_map(np.array([[1, 2, 0, 0]]), num_classes=3)  # two lesions of different classes
        array([[1.3333334, 1.3333334, 0.6666667, 0.6666667]], dtype=float32)
    """
    threshold, min_weight, max_weight = _check_args(threshold, min_weight, max_weight)
    nc = check_num_classes(num_classes)
    check_channel_first(label, "label")
    connectivity = check_connectivity(connectivity, label.ndim - 1)
    if nc is not None and label.shape[0] > 1 and nc != label.shape[0]:
        raise ValueError(f"`label` one-hot has {label.shape[0]} channels but num_classes={nc}.")
    classes = nc if label.shape[0] == 1 else None  # an index label (num_classes given) or a binary / soft one
    if isinstance(label, torch.Tensor):
        t = convert_to_tensor(label, track_meta=False).detach()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16
            t = t.float()
        if t.device.type == "cpu":  # the numpy path on a zero-copy view
            return torch.from_numpy(inverse_weight_map(t.numpy(), connectivity, threshold, min_weight, max_weight, nc))
        _check_values(t, classes)
        return _inverse_weight_map_torch(t, connectivity, threshold, min_weight, max_weight, classes)
    image, unchecked, binary = _foreground_image(label, threshold, classes)
    out = _weights_numpy(image, connectivity, min_weight, max_weight, label if unchecked else None, binary)
    return out.reshape(1, *label.shape[1:])


def _value_range(x: np.ndarray | torch.Tensor) -> tuple[float, float]:
    """``(min, max)`` of a non-empty array (``+ 0.0``: no -0); NaN when it holds NaN."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool:
            return float(x.min()), float(x.max())
        lo_t, hi_t = torch.aminmax(x)
        return float(lo_t) + 0.0, float(hi_t) + 0.0
    if x.dtype == bool:
        return float(x.min()), float(x.max())
    if x.dtype.kind == "u":  # unsigned: only the maximum can be out of range
        return 0.0, float(x.max())
    return float(x.min()) + 0.0, float(x.max()) + 0.0


def _check_values(label: np.ndarray | torch.Tensor, num_classes: int | None) -> None:
    """Finite values in ``[0, 1]``, or integer class indices below ``num_classes``; one-hot channels sum to 1.

    The range is read from the minimum and maximum alone, which also reveal a NaN or infinite value (NaN
    propagates through both): the count of such values is taken only then, for the message.
    """
    if (label.numel() if isinstance(label, torch.Tensor) else label.size) == 0:
        return
    lo, hi = _value_range(label)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = (
            int((~torch.isfinite(label)).sum())
            if isinstance(label, torch.Tensor)
            else int(np.count_nonzero(~np.isfinite(label)))
        )
        raise ValueError(f"`label` must hold finite values, got {bad} NaN or infinite value(s).")
    if num_classes is not None:
        if isinstance(label, torch.Tensor):
            non_integer = label.is_floating_point() and bool((label != label.round()).any())
        else:
            non_integer = label.dtype.kind == "f" and bool(np.any(label != np.round(label)))
        if lo < 0 or hi > num_classes - 1 or non_integer:
            kind = "non-integer values" if lo >= 0 and hi <= num_classes - 1 else "values"
            raise ValueError(
                f"`label` with num_classes={num_classes} must hold integer class indices in [0, {num_classes - 1}], "
                f"got {kind} in [{lo:g}, {hi:g}]."
            )
        return
    if lo < 0 or hi > 1:
        raise ValueError(
            f"`label` must hold binary or soft values in [0, 1] (a one-hot label for several classes), "
            f"got values in [{lo:g}, {hi:g}]."
        )
    if label.shape[0] > 1:
        deviation = abs(label.sum(0) - 1)
        bad = int((deviation > _ONEHOT_ATOL).sum())
        if bad:
            raise ValueError(
                f"`label` with {label.shape[0]} channels must be one-hot (channels summing to 1 at every voxel), "
                f"got {bad} voxel(s) where they do not."
            )


def _foreground_image(label: np.ndarray, threshold: float, num_classes: int | None) -> tuple[np.ndarray, bool, bool]:
    """``(image, unchecked, binary)``: the C-contiguous spatial image to label of a numpy label (mask or class indices).

    A boolean or uint8 binary label is its own image (a uint8 view: no copy, no pass): a boolean one needs no
    check, a uint8 one is checked on the values of its runs by :func:`_weights_numpy` (``unchecked``). An integer
    index label is its own class image; other labels are validated here, a float label compared to
    ``threshold`` (as indices: cast) and a one-hot label made the index of its foreground channel. ``binary``:
    the image is a mask (0 and 1 only, once checked).
    """
    x = label[0]
    if num_classes is None and label.shape[0] == 1 and (x.dtype == bool or x.dtype == np.uint8):
        return np.ascontiguousarray(x).view(np.uint8), x.dtype == np.uint8, True
    _check_values(label, num_classes)
    if num_classes is not None:  # class indices 0..num_classes-1, validated
        image = x if x.dtype.kind in "biu" else x.astype(np.uint8 if num_classes <= 256 else np.uint32)
        return np.ascontiguousarray(image), False, False
    if label.shape[0] == 1:
        return x > threshold, False, True
    cls = np.zeros(label.shape[1:], dtype=np.uint8 if label.shape[0] <= 256 else np.uint16)
    for c in range(1, label.shape[0]):
        channel = label[c] > threshold
        overlap = int(np.count_nonzero(channel & (cls != 0)))
        if overlap:
            raise _overlap_error(overlap, threshold)
        cls[channel] = c
    return cls, False, False


def _weights_numpy(
    image: np.ndarray,
    connectivity: int,
    min_weight: float | None,
    max_weight: float | None,
    unchecked: np.ndarray | None = None,
    binary: bool = False,
) -> np.ndarray:
    """Flat ``float32`` weights of a C-contiguous image (``binary``: a mask; ``unchecked``: a uint8 label to check).

    The image is cut into runs of equal values (:func:`_run_starts`; a mask's alternate between background and
    foreground); a uint8 label is checked on the runs' values, which are all its values. Within a row (the last
    axis) a run lies in one component, so only the foreground's bounding box is labelled
    (:func:`_foreground_box`), or the lesions' own boxes where that costs less (:func:`_box_labels`); the component
    sizes are the foreground runs' lengths summed by label (one label read per run, more for the few runs that go
    on past a row's end, :func:`_row_pieces`) and the weights are written run by run: by ``np.repeat`` into a new
    output (which may take the freed labels' memory), or, for large volumes labelled whole, over the 4-byte
    labels' own memory (the background weight in one fill, then the foreground runs). Images with more runs than
    1 / ``_DENSE`` of their voxels are weighted block by block instead (bounded temporaries).
    """
    flat_image = image.reshape(-1)
    n = flat_image.size
    if n == 0:
        return np.zeros(0, np.float32)
    # above glibc's largest mmap threshold every new array is fresh memory, paid in page faults on its first
    # touch: there the labels of the whole image are made 4-byte and become the output
    out_dtype = np.uint32 if np.dtype(np.float32).itemsize * n > _FRESH_BYTES else None
    starts = _run_starts(flat_image, n // _DENSE if _DENSE > 0 else n)
    if unchecked is not None and (starts is None or int(flat_image[starts].max()) > 1):
        _check_values(unchecked, None)  # raises when a value is above 1
    if starts is None:
        labels, num = label_image(image, connectivity, out_dtype)
        return _weights_blocks(labels.reshape(-1), num, min_weight, max_weight)
    lengths = np.empty_like(starts)
    np.subtract(starts[1:], starts[:-1], out=lengths[:-1])
    lengths[-1] = n - starts[-1]
    fg: slice | np.ndarray = slice(0 if flat_image[0] else 1, None, 2) if binary else np.flatnonzero(flat_image[starts])
    fg_starts, fg_lengths = starts[fg], lengths[fg]
    if not fg_starts.size:  # no lesion: no labelling
        return np.full(n, _clip(_weight_table(np.array([n]), 0, n), min_weight, max_weight)[0], np.float32)
    cut, cut_lengths, piece_starts, piece_lengths = _row_pieces(fg_starts, fg_lengths, image.shape[-1], n)
    if cut.size:  # a run going on past a row's end: its first piece here, the others as pieces
        first_lengths = fg_lengths.copy()
        first_lengths[cut] = cut_lengths
    else:
        first_lengths = fg_lengths
    box = _foreground_box(image.shape, fg_starts, fg_lengths, cut.size > 0, image.itemsize)
    labelled = n if box is None else math.prod(b.stop - b.start for b in box)
    boxes = _box_labels(image, connectivity, (fg_starts, piece_starts), (first_lengths, piece_lengths), labelled)
    in_place = False  # the weights written over the 4-byte labels of the whole image
    if boxes is not None:  # the lesions' own boxes, stacked: far less than one box around them all
        ids, num = boxes
        fg_ids, piece_ids = ids[: fg_starts.size], ids[fg_starts.size :]
    elif box is None:
        labels, num = label_image(image, connectivity, out_dtype)
        flat = labels.reshape(-1)  # a view: the labels are C-contiguous
        fg_ids, piece_ids = flat[fg_starts], flat[piece_starts]  # read before the labels' memory is reused
        in_place = out_dtype is not None and flat.itemsize == 4
        if not in_place:
            del labels, flat  # the output may take their memory
    else:  # the background around the lesions needs no labelling
        labels, num = label_image(image[box], connectivity)
        flat = labels.reshape(-1)
        fg_ids, piece_ids = (
            flat[_index_in_box(fg_starts, image.shape, box)],
            flat[_index_in_box(piece_starts, image.shape, box)],
        )
        del labels, flat  # the output may take their memory
    sizes = np.bincount(fg_ids, weights=first_lengths, minlength=num + 1)
    if piece_ids.size:
        sizes += np.bincount(piece_ids, weights=piece_lengths, minlength=num + 1)
    sizes[0] = n - int(lengths[fg].sum())
    num = int(np.count_nonzero(sizes[1:]))  # K: the stacked boxes' labels have gaps (labels no piece reads)
    table = _clip(_weight_table(sizes, num, n), min_weight, max_weight).astype(np.float32)
    if in_place:
        out = flat.view(np.float32)
        out.fill(table[0])
        _paint_runs(out, fg_starts, lengths[fg], table[fg_ids])
    else:
        values = np.full(starts.size, table[0], np.float32)
        values[fg] = table[fg_ids]
        out = np.repeat(values, lengths)
    if piece_ids.size:
        _paint_runs(out, piece_starts, piece_lengths, table[piece_ids])
    return out


def _foreground_box(
    shape: tuple[int, ...], starts: np.ndarray, lengths: np.ndarray, whole_rows: bool, itemsize: int = 1
) -> tuple[slice, ...] | None:
    """The box of the image to label: the foreground runs' bounding box, or ``None`` for the whole image.

    The box is labelled from a copy (it is not contiguous): above ``_FRESH_BYTES`` that copy is fresh memory, so
    the box then keeps whole planes (the first axis: a contiguous view), as it does when some run goes on past a
    row's end (``whole_rows``). ``None`` when the box holds more than ``_BOX`` of the voxels.
    """
    plane = math.prod(shape[1:])
    slab = (slice(int(starts[0]) // plane, (int(starts[-1] + lengths[-1]) - 1) // plane + 1),)
    box = (*slab, *(slice(0, s) for s in shape[1:]))
    if not whole_rows and len(shape) > 1:
        coords = np.unravel_index(starts, shape)
        ends = coords[-1] + (lengths - 1)  # a run ends in its own row
        tight = (
            *(slice(int(c.min()), int(c.max()) + 1) for c in coords[:-1]),
            slice(int(coords[-1].min()), int(ends.max()) + 1),
        )
        if math.prod(b.stop - b.start for b in tight) * itemsize <= _FRESH_BYTES:
            box = tight
    if math.prod(b.stop - b.start for b in box) > _BOX * math.prod(shape):
        return None
    return box


def _box_labels(
    image: np.ndarray,
    connectivity: int,
    start_parts: tuple[np.ndarray, ...],
    length_parts: tuple[np.ndarray, ...],
    labelled: int,
) -> tuple[np.ndarray, int] | None:
    """Labels of the foreground's row pieces, from the lesions' own boxes: ``(ids, num)``, or ``None``.

    The pieces (their starts and lengths in ``start_parts`` and ``length_parts``, concatenated in that order, as the
    ids are: the foreground runs' parts within one row) mark the cells of a coarse
    grid, ``_CELL`` voxels a side. Two neighbouring voxels lie in the same or in neighbouring cells, so every
    component lies within one component of the marked cells (labelled with the same connectivity), and within
    that cell component's box. A cell component marked by one piece is one lesion and needs no labelling. The
    other boxes are copied into a few stacks, one per tier (the boxes whose extents across the first axis fit
    in a power of two of cells, padded to it), along the first axis with an empty plane after each box; a stack
    is labelled in one call. A box may hold voxels of another cell component: they get labels of their own that
    no piece reads, so the labels ``1..num`` have gaps (empty components).

    ``None`` for images of other than 2 or 3 dimensions, when less than ``_PLAN`` voxels would be labelled
    anyway, when there is a piece or more for every cell's worth of voxels, or when the stacks would cost more
    than ``_GAIN`` of the ``labelled`` voxels of one box around all the lesions: a voxel copied costs ``_COPY``
    voxels labelled, a labelling call ``_CALL``, a box ``_PER_BOX``, a piece ``_PER_PIECE``. The plan is judged
    on the cells before any work per piece beyond the marking, so dense images give up early.
    """
    shape, ndim, size = image.shape, image.ndim, _CELL
    budget = _GAIN * labelled
    if ndim not in (2, 3) or labelled < _PLAN or sum(p.size for p in start_parts) * size**ndim >= budget:
        return None
    starts, lengths = np.concatenate(start_parts), np.concatenate(length_parts)
    row = starts // shape[-1]
    x0 = starts - row * shape[-1]
    lead: tuple[np.ndarray, ...] = (row,) if ndim == 2 else (row // shape[1], row % shape[1])
    grid = tuple(-(-s // size) for s in shape)
    gx = grid[-1]
    cell_row = lead[0] // size if ndim == 2 else (lead[0] // size) * grid[1] + lead[1] // size
    first_cell = x0 // size
    marks = np.bincount(cell_row * (gx + 1) + first_cell, minlength=math.prod(grid[:-1]) * (gx + 1))
    marks -= np.bincount(  # -1 after a piece's last cell: a running sum along the row marks its cells
        cell_row * (gx + 1) + (x0 + lengths - 1) // size + 1, minlength=marks.size
    )
    occupied = np.cumsum(marks.reshape(-1, gx + 1), axis=1)[:, :gx] > 0
    del marks
    if np.count_nonzero(occupied) * size**ndim * _COPY >= budget:  # the boxes hold the marked cells at least
        return None
    cell_labels, num_cells = label_image(occupied.reshape(grid).view(np.uint8), connectivity)
    cells = cell_labels.reshape(-1)
    marked = np.flatnonzero(cells)
    cell_comp = cells[marked].astype(np.intp) - 1
    order = np.argsort(cell_comp, kind="stable")
    group = np.flatnonzero(np.diff(cell_comp[order], prepend=-1))  # every cell component has marked cells
    cell_coords = np.unravel_index(marked[order], grid)
    lo = [np.minimum.reduceat(c, group) * size for c in cell_coords]
    extent = [
        np.minimum((np.maximum.reduceat(c, group) + 1) * size, s) - a
        for c, a, s in zip(cell_coords, lo, shape, strict=True)
    ]
    across = np.maximum.reduce(extent[1:]) if ndim == 3 else extent[1]
    tier = np.ceil(np.log2(-(-across // size))).astype(np.intp)  # boxes fit in 2 ** tier cells across
    padded = [np.minimum(size << tier, s) for s in shape[1:]]
    volume = int(((extent[0] + 1) * math.prod(padded)).sum())
    tiers = np.unique(tier)
    if volume * _COPY + tiers.size * _CALL + num_cells * _PER_BOX + starts.size * _PER_PIECE >= budget:
        return None
    comp = cells[cell_row * gx + first_cell].astype(np.intp) - 1
    count = np.bincount(comp, minlength=num_cells)
    ids = np.zeros(starts.size, np.intp)
    alone = count[comp] == 1
    num = int(np.count_nonzero(alone))
    ids[alone] = np.arange(1, num + 1)
    piece_tier = np.where(alone, -1, tier[comp])
    offset = np.zeros(num_cells, np.intp)  # a box's first plane in its stack
    for t in tiers.tolist():
        members = np.flatnonzero((tier == t) & (count > 1))
        if not members.size:
            continue
        heights = extent[0][members] + 1
        offset[members] = np.cumsum(heights) - heights
        stack = np.zeros((int(heights.sum()) - 1, *(min(size << t, s) for s in shape[1:])), image.dtype)
        for j in members.tolist():
            e = [int(x[j]) for x in extent]
            src = tuple(slice(int(a[j]), int(a[j]) + n) for a, n in zip(lo, e, strict=True))
            stack[(slice(int(offset[j]), int(offset[j]) + e[0]), *(slice(0, n) for n in e[1:]))] = image[src]
        labels, found = label_image(stack, connectivity)
        where = np.flatnonzero(piece_tier == t)
        c = comp[where]
        position = (
            lead[0][where] - lo[0][c] + offset[c],
            *((lead[1][where] - lo[1][c],) if ndim == 3 else ()),
            x0[where] - lo[-1][c],
        )
        ids[where] = labels.reshape(-1)[np.ravel_multi_index(position, stack.shape)].astype(np.intp) + num
        num += int(found)
    return ids, num


def _index_in_box(positions: np.ndarray, shape: tuple[int, ...], box: tuple[slice, ...]) -> np.ndarray:
    """Flat indices in the box (C order) of flat positions in the image."""
    if not positions.size:
        return positions
    coords = np.unravel_index(positions, shape)
    return np.ravel_multi_index(
        tuple(c - b.start for c, b in zip(coords, box, strict=True)), [b.stop - b.start for b in box]
    )


def _weights_blocks(flat: np.ndarray, num: int, min_weight: float | None, max_weight: float | None) -> np.ndarray:
    """Weights of labels with many runs, block by block (bincount copies its input to intp: blocks keep that small)."""
    out = flat.view(np.float32) if flat.itemsize == 4 else np.empty(flat.size, np.float32)
    sizes = np.zeros(num + 1, np.int64)
    step = max(_BLOCK, num)  # bincount allocates num + 1 counts per block
    for a in range(0, flat.size, step):
        sizes += np.bincount(flat[a : a + step], minlength=num + 1)
    table = _clip(_weight_table(sizes, num, flat.size), min_weight, max_weight).astype(np.float32)
    for a in range(0, flat.size, _BLOCK):
        out[a : a + _BLOCK] = table[flat[a : a + _BLOCK]]
    return out


def _run_starts(v: np.ndarray, limit: int) -> np.ndarray | None:
    """Sorted ``intp`` indices where a run of equal values of the flat contiguous ``v`` starts (0 first).

    ``None`` when more than ``limit`` runs start after the first. A 1-byte image is read as 8-byte words: only
    the words holding a non-zero value or followed by one are compared byte by byte (the word XOR its copy shifted
    by one byte), so a sparse mask costs one read of its words and little more.
    """
    n = v.size
    parts = [np.zeros(1, np.intp)]
    found = 0
    words_end = 0
    if v.itemsize == 1 and sys.byteorder == "little" and n >= 16:
        nw = n // 8
        words_end = 8 * nw
        words = v[:words_end].view(np.uint64)
        near = words != 0
        near[:-1] |= near[1:]  # a word is compared when it or the next one is not all zero
        candidates = np.flatnonzero(near)
        del near
        for a in range(0, candidates.size, _BLOCK):
            c = candidates[a : a + _BLOCK]
            w = words[c]
            w ^= (w >> np.uint64(8)) | (words.take(c + 1, mode="clip") << np.uint64(56))  # byte i: v[i] != v[i + 1]
            changed = np.flatnonzero(w != 0)  # the words holding a run's end (fewer bytes to search)
            c, w = c[changed], w[changed]
            q = np.flatnonzero(w.view(np.uint8) != 0)
            found += q.size
            if found > limit:
                return None
            parts.append(c[q >> 3] * 8 + (q & 7) + 1)
        last = parts[-1]
        if last.size and last[-1] >= words_end:  # the last word was compared with itself: its end is read below
            parts[-1] = last[:-1]
            found -= 1
    lo = max(words_end - 1, 0)  # the rest, from the last word's end, or all of v
    for a in range(lo, n - 1, _BLOCK * 16):
        b = min(a + _BLOCK * 16, n - 1)
        q = np.flatnonzero(v[a + 1 : b + 1] != v[a:b])
        found += q.size
        if found > limit:
            return None
        parts.append(q + (a + 1))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _row_pieces(
    starts: np.ndarray, lengths: np.ndarray, row: int, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The foreground runs that go on past the end of a row (``row`` voxels): each row's piece is one component.

    Returns ``(cut, first_lengths, piece_starts, piece_lengths)``: the indices of those runs and the length of
    their first piece, and the starts and lengths of their other pieces (in order); empty in 1D.
    """
    empty = np.zeros(0, np.intp)
    if row >= n:
        return empty, empty, empty, empty
    offset = starts % row
    count = (offset + lengths - 1) // row  # row starts inside the run: its pieces after the first
    cut = np.flatnonzero(count)
    if not cut.size:
        return empty, empty, empty, empty
    first = starts[cut] - offset[cut] + row  # the first row start inside each cut run
    end = starts[cut] + lengths[cut]
    count = count[cut]
    steps = np.arange(int(count.sum()), dtype=np.intp) - np.repeat(np.cumsum(count) - count, count)
    piece_starts = np.repeat(first, count) + row * steps
    piece_lengths = np.minimum(np.repeat(end, count) - piece_starts, row)
    return cut, row - offset[cut], piece_starts, piece_lengths


def _paint_runs(out: np.ndarray, starts: np.ndarray, lengths: np.ndarray, values: np.ndarray) -> None:
    """``out[s : s + l] = v`` for every run, many short runs at once (voxel indices made a block at a time)."""
    long = lengths > _BLOCK
    for s, length, v in zip(starts[long].tolist(), lengths[long].tolist(), values[long].tolist(), strict=True):
        out[s : s + length] = v
    starts, lengths, values = starts[~long], lengths[~long], values[~long]
    ends = np.cumsum(lengths)
    block = max(_BLOCK, out.size // 64)  # voxels per block: temporaries of ~28 bytes each
    a = 0
    while a < starts.size:
        base = int(ends[a] - lengths[a])
        b = int(np.searchsorted(ends, base + block, side="right"))
        b = max(b, a + 1)
        total = int(ends[b - 1]) - base
        index = np.repeat(starts[a:b] - (ends[a:b] - lengths[a:b]), lengths[a:b])
        index += np.arange(base, base + total, dtype=np.intp)
        out[index] = np.repeat(values[a:b], lengths[a:b])
        a = b


def _check_args(threshold: Any, min_weight: Any, max_weight: Any) -> tuple[float, float | None, float | None]:
    """The settings of the function and the transforms as floats (the threshold and the clip bounds)."""
    return (check_fraction(threshold, "threshold"), *check_weight_range(min_weight, max_weight))


def _overlap_error(num: int, threshold: float) -> ValueError:
    return ValueError(
        f"`label`: {num} voxel(s) exceed `threshold`={threshold} in more than one foreground channel; "
        "use a threshold >= 0.5 with one-hot labels."
    )


def _weight_table(sizes: Any, num: int, total: int) -> Any:
    """``N / (n |L_j|)`` per component, index 0 the background, ``n = K + 1`` or ``K`` when the background is empty.

    ``sizes`` is an int64 numpy array or tensor of length ``K + 1``; the table is float64 (it is tiny).
    """
    sizes = sizes.double() if isinstance(sizes, torch.Tensor) else sizes.astype(np.float64)
    if num == 0:
        return sizes * 0 + 1
    count = num + int(sizes[0] > 0)
    return total / (count * sizes.clip(min=1))


def _clip(table: Any, min_weight: float | None, max_weight: float | None) -> Any:
    if min_weight is None and max_weight is None:
        return table
    return table.clip(min_weight, max_weight)


def _inverse_weight_map_torch(
    label: torch.Tensor,
    connectivity: int,
    threshold: float,
    min_weight: float | None,
    max_weight: float | None,
    num_classes: int | None = None,
) -> torch.Tensor:
    """Pure-torch path (CUDA, or CPU in tests): no copy to the host but the component counts.

    Works on the foreground voxels only (:func:`~monai_imbalance.maps.components._compact_components`): the
    background, one component, is filled in one pass. ``num_classes`` set: ``label`` is a validated index label.
    """
    spatial = label.shape[1:]
    total = math.prod(spatial)
    one_hot = label.shape[0] > 1
    taken = torch.zeros(spatial, dtype=torch.bool, device=label.device) if one_hot else None
    if num_classes is not None:  # index label: one mask per foreground class, disjoint by construction
        masks = (label[0] == c for c in range(1, num_classes))
    else:  # the foreground classes, or the one binary channel
        masks = (channel > threshold for channel in (label[1:] if one_hot else label))
    indices, components, num = [], [], 0
    for mask in masks:
        if taken is not None:
            overlap = int((mask & taken).sum())
            if overlap:
                raise _overlap_error(overlap, threshold)
            taken |= mask
        idx, comp, k = _compact_components(mask, connectivity)
        indices.append(idx)
        components.append(comp + num)
        num += k
    if not indices:  # num_classes=1: no foreground class
        return torch.ones((1, *spatial), dtype=torch.float32, device=label.device)
    idx, comp = torch.cat(indices), torch.cat(components)
    sizes = torch.bincount(comp, minlength=num + 1)
    sizes[0] = total - idx.numel()
    table = _clip(_weight_table(sizes, num, total), min_weight, max_weight).float()
    out = table[:1].expand(total).clone()  # the background weight, without reading it on the host
    out[idx] = table[comp]
    return out.reshape(1, *spatial)
