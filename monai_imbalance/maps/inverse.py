"""Inverse lesion-size weight maps (Shirokikh et al., MICCAI 2020): one labelling pass, a bincount and a gather."""

from __future__ import annotations

import math
from typing import Any, Literal, TypeVar, cast

import numpy as np
import torch

from monai_imbalance.maps.components import _check_connectivity, _compact_components, label_components
from monai_imbalance.maps.region_wise import _check_num_classes
from monai_imbalance.utils.validation import check_channel_first, check_finite, check_fraction

try:  # the fast CPU path: one multi-label pass for every class at once
    import cc3d

    _HAS_CC3D = True
except ImportError:  # pragma: no cover - cc3d is an install requirement
    _HAS_CC3D = False

__all__ = ["inverse_weight_map"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)

# cc3d names connectivity by neighbour count; ours is the number of orthogonal hops
_CC3D_CONNECTIVITY: dict[tuple[int, int], Literal[4, 6, 8, 18, 26]] = {
    (2, 1): 4,
    (2, 2): 8,
    (3, 1): 6,
    (3, 2): 18,
    (3, 3): 26,
}
# elements per bincount chunk: bounds the int64 copy numpy makes of the labels to 512 KB
_CHUNK = 1 << 16
# tolerance on the channel sum of a float one-hot label
_ONEHOT_ATOL = 1e-4


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
    nc = _check_num_classes(num_classes)
    check_channel_first(label, "label")
    connectivity = _check_connectivity(connectivity, label.ndim - 1)
    index = nc is not None and label.shape[0] == 1
    if index:
        _check_index_label(label, cast(int, nc))
    else:
        if nc is not None and nc != label.shape[0]:
            raise ValueError(f"`label` one-hot has {label.shape[0]} channels but num_classes={nc}.")
        _check_label(label)
    classes = cast(int, nc) if index else None
    if isinstance(label, torch.Tensor):
        t = label.as_tensor() if hasattr(label, "as_tensor") else label
        t = t.detach()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16
            t = t.float()
        if t.device.type != "cpu":
            return _inverse_weight_map_torch(t, connectivity, threshold, min_weight, max_weight, classes)
        return torch.from_numpy(
            _inverse_weight_map_numpy(t.numpy(), connectivity, threshold, min_weight, max_weight, classes)
        )
    return _inverse_weight_map_numpy(label, connectivity, threshold, min_weight, max_weight, classes)


def _check_index_label(label: np.ndarray | torch.Tensor, nc: int) -> None:
    """A one-channel label of integer class indices in ``[0, nc - 1]`` (finite)."""
    check_finite(label, "label")
    if (label.numel() if isinstance(label, torch.Tensor) else label.size) == 0:
        return
    if isinstance(label, torch.Tensor):
        non_integer = label.is_floating_point() and bool((label != label.round()).any())
    else:
        non_integer = label.dtype.kind == "f" and bool(np.any(label != np.round(label)))
    lo, hi = float(label.min()) + 0.0, float(label.max()) + 0.0  # + 0.0: no -0
    if lo < 0 or hi > nc - 1 or non_integer:
        kind = "non-integer values" if lo >= 0 and hi <= nc - 1 else "values"
        raise ValueError(
            f"`label` with num_classes={nc} must hold integer class indices in [0, {nc - 1}], "
            f"got {kind} in [{lo:g}, {hi:g}]."
        )


def _check_args(threshold: Any, min_weight: Any, max_weight: Any) -> tuple[float, float | None, float | None]:
    """Validate the settings shared by the function and the transforms; return them as floats."""

    def number(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a number, got {type(value).__name__}.")
        if not math.isfinite(value):
            raise ValueError(f"`{name}` must be finite, got {value}.")
        return float(value)

    threshold = check_fraction(threshold, "threshold")
    lo = None if min_weight is None else number(min_weight, "min_weight")
    hi = None if max_weight is None else number(max_weight, "max_weight")
    for value, name in ((lo, "min_weight"), (hi, "max_weight")):
        if value is not None and value <= 0:
            raise ValueError(f"`{name}` must be positive (weights are positive), got {value}.")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"`min_weight` must not exceed `max_weight`, got min_weight={lo} > max_weight={hi}.")
    return threshold, lo, hi


def _check_label(label: np.ndarray | torch.Tensor) -> None:
    """Values in [0, 1], finite; a multi-channel label must be one-hot (channels summing to 1)."""
    check_finite(label, "label")
    if (label.numel() if isinstance(label, torch.Tensor) else label.size) == 0:
        return
    lo, hi = float(label.min()) + 0.0, float(label.max()) + 0.0  # + 0.0: no -0
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


def _overlap_error(num: int, threshold: float) -> ValueError:
    return ValueError(
        f"`label`: {num} voxel(s) exceed `threshold`={threshold} in more than one foreground channel; "
        "use a threshold >= 0.5 with one-hot labels."
    )


def _class_image_numpy(label: np.ndarray, threshold: float) -> np.ndarray:
    """Spatial image of foreground class indices (0: background) from a validated label."""
    if label.shape[0] == 1:
        return label[0] > threshold
    cls = np.zeros(label.shape[1:], dtype=np.uint8 if label.shape[0] <= 256 else np.uint16)
    for c in range(1, label.shape[0]):
        mask = label[c] > threshold
        overlap = int(np.count_nonzero(mask & (cls != 0)))
        if overlap:
            raise _overlap_error(overlap, threshold)
        cls[mask] = c
    return cls


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


def _inverse_weight_map_numpy(
    label: np.ndarray,
    connectivity: int,
    threshold: float,
    min_weight: float | None,
    max_weight: float | None,
    num_classes: int | None = None,
) -> np.ndarray:
    """The numpy path; ``num_classes`` set: ``label`` is a validated one-channel index label."""
    spatial = label.shape[1:]
    total = math.prod(spatial)
    if num_classes is not None:
        cls = label[0].astype(np.uint8 if num_classes <= 256 else np.uint32)
    else:
        cls = _class_image_numpy(label, threshold)
    key = (cls.ndim, connectivity)
    if _HAS_CC3D and key in _CC3D_CONNECTIVITY:
        # a multi-label image gives the components of every class in one pass (never merged across classes);
        # uint8 input (a zero-copy view of a bool mask) lets cc3d pick uint16 labels more often than bool does
        image = cls.view(np.uint8) if cls.dtype == bool else cls
        components, num = cc3d.connected_components(image, connectivity=_CC3D_CONNECTIVITY[key], return_N=True)
    else:
        components, num = _label_per_class(cls, connectivity)
    del cls
    flat = components.reshape(-1)
    sizes = np.zeros(num + 1, dtype=np.int64)
    for start in range(0, flat.size, _CHUNK):  # bincount copies its input to intp: chunks keep that small
        sizes += np.bincount(flat[start : start + _CHUNK], minlength=num + 1)
    table = _clip(_weight_table(sizes, num, total), min_weight, max_weight).astype(np.float32)
    # fancy indexing casts the uint16/uint32 labels on the fly (buffered): the output is the only full array
    return table[components].reshape(1, *spatial)


def _label_per_class(cls: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    """Fallback: label every class separately and offset the labels so they stay distinct."""
    classes = [1] if cls.dtype == bool else [int(c) for c in np.unique(cls) if c != 0]
    out = np.zeros(cls.shape, dtype=np.int32)
    num = 0
    for c in classes:
        labels, k = label_components(cls == c, connectivity)
        np.add(out, labels + num, out=out, where=labels > 0)
        num += k
    return out, num


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
