"""Array transforms that compute weight maps from a channel-first label (the label is never modified).

Each returns a ``float32`` map: a MetaTensor carrying a copy of the label's metadata (affine included) for
a MetaTensor label, a tensor for a tensor, a numpy array for a numpy array.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from copy import deepcopy
from typing import Any, cast

import torch
from monai.config.type_definitions import NdarrayOrTensor
from monai.data.meta_obj import get_track_meta
from monai.data.meta_tensor import MetaTensor
from monai.data.utils import affine_to_spacing
from monai.transforms.transform import Transform
from monai.utils import StrEnum, TransformBackends, convert_to_tensor

from monai_imbalance.maps.inverse import inverse_weight_map
from monai_imbalance.maps.region_wise import active_contour_map, boundary_distance_map, rrw_map
from monai_imbalance.utils.validation import (
    check_connectivity,
    check_fraction,
    check_num_classes,
    check_option,
    check_spacing,
    check_spacing_setting,
    check_weight_range,
)

__all__ = ["BoundaryMapKind", "ComputeBoundaryMap", "ComputeInverseWeightMap", "ComputeRRWMap"]


class BoundaryMapKind(StrEnum):
    """The boundary maps of :class:`ComputeBoundaryMap`."""

    KERVADEC = "kervadec"
    ACTIVE_CONTOUR = "active_contour"


def _like_label(out: NdarrayOrTensor, label: Any) -> NdarrayOrTensor:
    """Wrap a computed map as the label: a MetaTensor label gives a MetaTensor with a copy of its metadata.

    MONAI's ``convert_to_dst_type`` would give the map the label's own affine tensor (an in-place change of one
    would change the other): the metadata is deep-copied instead.
    """
    if isinstance(label, MetaTensor) and get_track_meta():
        plain = convert_to_tensor(out, track_meta=False)
        return MetaTensor(plain, meta=deepcopy(label.meta), applied_operations=deepcopy(label.applied_operations))
    if isinstance(label, torch.Tensor):
        return convert_to_tensor(out, track_meta=get_track_meta())
    return out


def resolve_spacing(label: Any, spacing: Any = None) -> tuple[float, ...] | None:
    """The voxel spacing to use for ``label``: ``spacing`` when given, else a MetaTensor's ``pixdim``, else ``None``.

    Args:
        label: channel-first label ``(C, *spatial)``.
        spacing: ``None``, one number or one number per spatial dimension.

    Returns:
        One float per spatial dimension, or ``None`` (unit voxels) for a plain array without spacing.

    Raises:
        TypeError: when ``spacing`` is not a number or a sequence of numbers.
        ValueError: when the spacing has the wrong length or a value that is not finite and positive; a spacing
            read from a MetaTensor's affine (NaN, or a zero column) names the affine.

    Example:
        >>> import numpy as np
        >>> from monai.data import MetaTensor
        >>> resolve_spacing(MetaTensor(torch.zeros(1, 4, 4, 4), affine=torch.diag(torch.tensor([2.0, 1, 3, 1]))))
        (2.0, 1.0, 3.0)
        >>> resolve_spacing(np.zeros((1, 4, 4)), 0.5)
        (0.5, 0.5)
    """
    ndim = label.ndim - 1
    if spacing is None and isinstance(label, MetaTensor):
        # column norms of the affine, zeros kept (MONAI's `pixdim` reads a zero column as spacing 1)
        pixdim = [float(v) for v in affine_to_spacing(label.affine, r=ndim, suppress_zeros=False)]
        if len(pixdim) == ndim:
            try:
                return check_spacing(pixdim, ndim, name="label.affine")
            except ValueError as e:
                raise ValueError(
                    f"{e} (the voxel spacing: column norms of the MetaTensor's affine; pass `spacing` to override)"
                ) from e
    return check_spacing(spacing, ndim)


class ComputeInverseWeightMap(Transform):
    r"""Inverse lesion-size weight map of a label (Shirokikh et al., MICCAI 2020), one channel.

    .. math:: w_v = \frac{N}{(K + 1)\,\lvert L_{j(v)} \rvert}

    A transform around :func:`monai_imbalance.maps.inverse_weight_map` (see it for the edge cases). Apply it
    to every training *patch* (after the crop), as the paper does: padding counts as background.

    Args:
        connectivity: orthogonal hops making two voxels neighbours; ``None`` (default) for full connectivity.
        threshold: label values ``> threshold`` are lesion.
        min_weight: optional lower clip (the authors use 1).
        max_weight: optional upper clip (the authors use 2e5).
        num_classes: ``None`` (a one-channel label is binary or soft), or the number of classes of a one-channel
            index label, read as one-hot: each foreground class has its own components.

    Raises:
        TypeError: when an argument has the wrong type.
        ValueError: when an argument is out of range (at construction) or the label is invalid (at call).

    Example:
        >>> import numpy as np
        >>> ComputeInverseWeightMap()(np.array([[1, 0, 1, 0, 1, 1, 0, 0]]))
        array([[2. , 0.5, 2. , 0.5, 1. , 1. , 0.5, 0.5]], dtype=float32)
        >>> ComputeInverseWeightMap(num_classes=3)(np.array([[1, 2, 0, 0]]))
        array([[1.3333334, 1.3333334, 0.6666667, 0.6666667]], dtype=float32)
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)

    def __init__(
        self,
        connectivity: int | None = None,
        threshold: float = 0.5,
        min_weight: float | None = None,
        max_weight: float | None = None,
        num_classes: int | None = None,
    ) -> None:
        self.connectivity = check_connectivity(connectivity)
        self.threshold = check_fraction(threshold, "threshold")
        self.min_weight, self.max_weight = check_weight_range(min_weight, max_weight)
        self.num_classes = check_num_classes(num_classes)

    def __call__(self, label: NdarrayOrTensor) -> NdarrayOrTensor:
        """Return the ``(1, *spatial)`` float32 weight map of ``label`` (``(1, *spatial)`` or one-hot)."""
        out = inverse_weight_map(
            cast(Any, label), self.connectivity, self.threshold, self.min_weight, self.max_weight, self.num_classes
        )
        return _like_label(out, label)


class ComputeRRWMap(Transform):
    r"""Rectified region-wise (RRW) map of a label (Valverde et al., region-wise loss), one channel per class.

    .. math:: z_{ic} = -\frac{d_c(i)}{\max_j d_c(j)} \text{ inside class } c, \qquad z_{ic} = 1 \text{ elsewhere}

    A transform around :func:`monai_imbalance.maps.region_wise.rrw_map`. Compute it on the whole image
    (before the crop) and list its output key in the crop's ``keys`` so it is cropped with the image.
    Distances are in the units of the spacing: ``spacing`` when given, else the MetaTensor's ``pixdim``
    (from its affine), else unit voxels. ``spacing=1`` reproduces the authors' unspaced maps.

    Args:
        spacing: ``None``, one number (isotropic) or one number per spatial dimension.
        num_classes: number of classes ``C`` for a ``(1, *spatial)`` class-index label; ``None`` to infer.

    Raises:
        TypeError: when an argument has the wrong type.
        ValueError: when an argument is out of range (at construction) or the label is invalid (at call).

    Example:
        >>> import numpy as np
        >>> ComputeRRWMap()(np.array([[0, 1, 1, 1, 0]]))
        array([[-1. ,  1. ,  1. ,  1. , -1. ],
               [ 1. , -0.5, -1. , -0.5,  1. ]], dtype=float32)
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)

    def __init__(self, spacing: Sequence[float] | float | None = None, num_classes: int | None = None) -> None:
        self.spacing = check_spacing_setting(spacing)
        self.num_classes = check_num_classes(num_classes)

    def __call__(self, label: NdarrayOrTensor, spacing: Sequence[float] | float | None = None) -> NdarrayOrTensor:
        """Return the ``(C, *spatial)`` float32 RRW map; ``spacing`` overrides the constructor's and ``pixdim``."""
        spacing = resolve_spacing(label, self.spacing if spacing is None else spacing)
        return _like_label(rrw_map(cast(Any, label), spacing=spacing, num_classes=self.num_classes), label)


class ComputeBoundaryMap(Transform):
    r"""Boundary map of a label, one channel per class: Kervadec's signed distance or the active-contour map.

    ``kind="kervadec"`` (RW-Boundary; Kervadec et al., MIDL 2019), per class with a non-empty mask ``m``:

    .. math:: z = \operatorname{edt}(\lnot m)\,(\lnot m) - (\operatorname{edt}(m) - 1)\, m

    (:func:`monai_imbalance.maps.region_wise.boundary_distance_map`, distances with the spacing resolved as
    in :class:`ComputeRRWMap`); ``kind="active_contour"``: :math:`Z = 1 - Y`
    (:func:`monai_imbalance.maps.region_wise.active_contour_map`, no distances).

    Args:
        kind: ``"kervadec"`` (default) or ``"active_contour"``.
        spacing: ``None``, one number or one number per spatial dimension (``kervadec`` only).
        num_classes: number of classes ``C`` for a ``(1, *spatial)`` class-index label; ``None`` to infer.

    Raises:
        TypeError: when an argument has the wrong type (``kind`` not a string included).
        ValueError: when ``kind`` is unknown (named, with the closest option), an argument is out of range, or
            the label is invalid (at call).

    Warns:
        UserWarning: when a ``spacing`` is given with ``kind="active_contour"``, which ignores it.

    Example:
        >>> import numpy as np
        >>> ComputeBoundaryMap()(np.array([[0, 1, 1, 1, 0]]))[1]
        array([ 1.,  0., -1.,  0.,  1.], dtype=float32)
        >>> ComputeBoundaryMap("active_contour")(np.array([[0, 1, 1, 1, 0]]))
        array([[0., 1., 1., 1., 0.],
               [1., 0., 0., 0., 1.]], dtype=float32)
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)

    def __init__(
        self,
        kind: BoundaryMapKind | str = BoundaryMapKind.KERVADEC,
        spacing: Sequence[float] | float | None = None,
        num_classes: int | None = None,
    ) -> None:
        if not isinstance(kind, str):
            raise TypeError(f"`kind` must be 'kervadec' or 'active_contour', got {kind!r} ({type(kind).__name__}).")
        try:
            self.kind = check_option(kind, BoundaryMapKind, "kind")
        except ValueError as e:
            raise ValueError(f"`kind` must be 'kervadec' or 'active_contour', got {kind!r}. {e}") from None
        self.spacing = check_spacing_setting(spacing)
        self.num_classes = check_num_classes(num_classes)
        if self.kind == BoundaryMapKind.ACTIVE_CONTOUR and spacing is not None:
            warnings.warn("`spacing` is ignored with kind='active_contour' (the map has no distances).", stacklevel=2)

    def __call__(self, label: NdarrayOrTensor, spacing: Sequence[float] | float | None = None) -> NdarrayOrTensor:
        """Return the ``(C, *spatial)`` float32 boundary map; ``spacing`` overrides the constructor's and ``pixdim``."""
        if self.kind == BoundaryMapKind.ACTIVE_CONTOUR:
            out = active_contour_map(cast(Any, label), num_classes=self.num_classes)
        else:
            spacing = resolve_spacing(label, self.spacing if spacing is None else spacing)
            out = boundary_distance_map(cast(Any, label), spacing=spacing, num_classes=self.num_classes)
        return _like_label(out, label)
