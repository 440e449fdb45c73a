"""Dictionary twins of the map transforms: each map is written to ``<key><postfix>``, the label left untouched.

Example pipeline (paper 1: weights per patch, after the crop; paper 2: RRW on the whole image, cropped with it)::

    Compose([
        ComputeRRWMapd("label"),                                  # adds "label_rrw"
        RandCropByPosNegLabeld(["image", "label", "label_rrw"], "label", (96, 96, 96)),
        ComputeInverseWeightMapd("label"),                        # adds "label_weight" per patch
    ])

Lazy resampling (``Compose(..., lazy=True)``): these transforms are not lazy, so MONAI applies the pending
spatial operations of the label before them; with monai 1.6.1 that application interpolates the label
bilinearly even when ``Spacingd`` was given ``mode="nearest"`` (a binary label comes back with values 0.5, a
class-index label with non-integer values, which the transforms reject with a ``ValueError``). Pass
``overrides={"label": {"mode": "nearest"}}`` to ``Compose``; the maps then equal those of the eager pipeline
(tested).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from monai.config.type_definitions import KeysCollection, NdarrayOrTensor
from monai.transforms.transform import MapTransform, Transform
from monai.utils import TransformBackends

from monai_imbalance.transforms.array import (
    BoundaryMapKind,
    ComputeBoundaryMap,
    ComputeInverseWeightMap,
    ComputeRRWMap,
)

__all__ = [
    "ComputeBoundaryMapD",
    "ComputeBoundaryMapDict",
    "ComputeBoundaryMapd",
    "ComputeInverseWeightMapD",
    "ComputeInverseWeightMapDict",
    "ComputeInverseWeightMapd",
    "ComputeInverseWeightsD",
    "ComputeInverseWeightsDict",
    "ComputeInverseWeightsd",
    "ComputeRRWMapD",
    "ComputeRRWMapDict",
    "ComputeRRWMapd",
]


class _PostfixMapd(MapTransform):
    """Run an array transform on every key and store the result under ``key + postfix``."""

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)
    converter: Transform

    def __init__(self, keys: KeysCollection, postfix: str, allow_missing_keys: bool) -> None:
        super().__init__(keys, allow_missing_keys)
        if not isinstance(postfix, str) or not postfix:
            raise ValueError(f"`postfix` must be a non-empty string (the label is never overwritten), got {postfix!r}.")
        self.postfix = postfix

    def __call__(self, data: Mapping[Hashable, NdarrayOrTensor]) -> dict[Hashable, NdarrayOrTensor]:
        """Return a shallow copy of ``data`` with one map per key under ``key + postfix``.

        Raises:
            TypeError: when ``data`` is not a dictionary (a mapping).
            KeyError: when a key is missing and ``allow_missing_keys`` is False.
        """
        if not isinstance(data, Mapping):
            raise TypeError(
                f"`data` of {type(self).__name__} must be a dictionary (a mapping of keys to arrays), got "
                f"{type(data).__name__}; use the array transform {type(self.converter).__name__} for an array."
            )
        d = dict(data)
        if not self.allow_missing_keys:
            missing = [key for key in self.keys if key not in d]
            if missing:
                raise KeyError(
                    f"`keys`: {missing[0]!r} is not in the data of {type(self).__name__}; "
                    f"keys present: {sorted(map(str, d))}."
                )
        for key in self.key_iterator(d):
            d[f"{key}{self.postfix}"] = self.converter(d[key])
        return d


class ComputeInverseWeightMapd(_PostfixMapd):
    r"""Dictionary twin of :class:`~monai_imbalance.transforms.ComputeInverseWeightMap`.

    .. math:: w_v = \frac{N}{(K + 1)\,\lvert L_{j(v)} \rvert}

    Inverse lesion-size weights (Shirokikh et al., MICCAI 2020), written to ``key + postfix``; place it
    *after* the crop so that each patch gets its own weights (every patch's weights sum to its voxel count).

    Args:
        keys: label keys (channel-first, ``(1, *spatial)`` binary or ``(C, *spatial)`` one-hot).
        postfix: suffix of the output key (default ``"_weight"``: ``label`` -> ``label_weight``).
        connectivity: orthogonal hops making two voxels neighbours; ``None`` (default) for full connectivity.
        threshold: label values ``> threshold`` are lesion.
        min_weight: optional lower clip (the authors use 1).
        max_weight: optional upper clip (the authors use 2e5).
        num_classes: ``None`` (binary or soft one-channel labels) or the number of classes of one-channel
            index labels (components per foreground class).
        allow_missing_keys: skip missing keys instead of raising ``KeyError``.

    Raises:
        KeyError: when a key is missing (unless ``allow_missing_keys``), naming it and the keys present.
        TypeError: when an argument has the wrong type or ``data`` is not a dictionary.
        ValueError: when an argument is out of range, ``postfix`` is empty, or a label is invalid.

    Example:
        >>> import numpy as np
        >>> out = ComputeInverseWeightMapd("label")({"label": np.array([[1, 0, 1, 0, 1, 1, 0, 0]])})
        >>> sorted(out), out["label_weight"]
        (['label', 'label_weight'], array([[2. , 0.5, 2. , 0.5, 1. , 1. , 0.5, 0.5]], dtype=float32))
    """

    def __init__(
        self,
        keys: KeysCollection,
        postfix: str = "_weight",
        connectivity: int | None = None,
        threshold: float = 0.5,
        min_weight: float | None = None,
        max_weight: float | None = None,
        num_classes: int | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, postfix, allow_missing_keys)
        self.converter = ComputeInverseWeightMap(connectivity, threshold, min_weight, max_weight, num_classes)


class ComputeRRWMapd(_PostfixMapd):
    r"""Dictionary twin of :class:`~monai_imbalance.transforms.ComputeRRWMap` (Valverde et al., region-wise loss).

    .. math:: z_{ic} = -\frac{d_c(i)}{\max_j d_c(j)} \text{ inside class } c, \qquad z_{ic} = 1 \text{ elsewhere}

    Written to ``key + postfix``; place it *before* the crop and list the output key in the crop's keys, so
    the map of the whole image is cropped with it. The spacing is ``spacing`` when given, else each
    MetaTensor's ``pixdim``, else unit voxels.

    Args:
        keys: label keys (``(1, *spatial)`` class indices or ``(C, *spatial)`` one-hot).
        postfix: suffix of the output key (default ``"_rrw"``).
        spacing: ``None``, one number or one number per spatial dimension.
        num_classes: number of classes for class-index labels; ``None`` to infer.
        allow_missing_keys: skip missing keys instead of raising ``KeyError``.

    Raises:
        KeyError: when a key is missing (unless ``allow_missing_keys``), naming it and the keys present.
        TypeError: when an argument has the wrong type or ``data`` is not a dictionary.
        ValueError: when an argument is out of range, ``postfix`` is empty, or a label is invalid.

    Example:
        >>> import numpy as np
        >>> out = ComputeRRWMapd("label")({"label": np.array([[0, 1, 1, 1, 0]])})
        >>> out["label_rrw"][1]
        array([ 1. , -0.5, -1. , -0.5,  1. ], dtype=float32)
    """

    def __init__(
        self,
        keys: KeysCollection,
        postfix: str = "_rrw",
        spacing: Sequence[float] | float | None = None,
        num_classes: int | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, postfix, allow_missing_keys)
        self.converter = ComputeRRWMap(spacing, num_classes)


class ComputeBoundaryMapd(_PostfixMapd):
    r"""Dictionary twin of :class:`~monai_imbalance.transforms.ComputeBoundaryMap`.

    ``kind="kervadec"``: Kervadec's signed distance map (RW-Boundary), per class with a non-empty mask ``m``

    .. math:: z = \operatorname{edt}(\lnot m)\,(\lnot m) - (\operatorname{edt}(m) - 1)\, m

    ``kind="active_contour"``: :math:`Z = 1 - Y`. Written to ``key + postfix``; compute it on the whole
    image, before the crop, like the RRW map.

    Args:
        keys: label keys (``(1, *spatial)`` class indices or ``(C, *spatial)`` one-hot).
        postfix: suffix of the output key (default ``"_boundary"``).
        kind: ``"kervadec"`` (default) or ``"active_contour"``.
        spacing: ``None``, one number or one number per spatial dimension (``kervadec`` only).
        num_classes: number of classes for class-index labels; ``None`` to infer.
        allow_missing_keys: skip missing keys instead of raising ``KeyError``.

    Raises:
        KeyError: when a key is missing (unless ``allow_missing_keys``), naming it and the keys present.
        TypeError: when an argument has the wrong type or ``data`` is not a dictionary.
        ValueError: when ``kind`` is unknown, an argument is out of range, ``postfix`` is empty, or a label
            is invalid.

    Example:
        >>> import numpy as np
        >>> out = ComputeBoundaryMapd("label", kind="active_contour")({"label": np.array([[0, 1, 1, 0]])})
        >>> out["label_boundary"]
        array([[0., 1., 1., 0.],
               [1., 0., 0., 1.]], dtype=float32)
    """

    def __init__(
        self,
        keys: KeysCollection,
        postfix: str = "_boundary",
        kind: BoundaryMapKind | str = BoundaryMapKind.KERVADEC,
        spacing: Sequence[float] | float | None = None,
        num_classes: int | None = None,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, postfix, allow_missing_keys)
        self.converter = ComputeBoundaryMap(kind, spacing, num_classes)


ComputeInverseWeightMapD = ComputeInverseWeightMapDict = ComputeInverseWeightMapd
# the name the user asked for
ComputeInverseWeightsd = ComputeInverseWeightsD = ComputeInverseWeightsDict = ComputeInverseWeightMapd
ComputeRRWMapD = ComputeRRWMapDict = ComputeRRWMapd
ComputeBoundaryMapD = ComputeBoundaryMapDict = ComputeBoundaryMapd
