"""Loading and checking transforms of the bundles: a loader that names unreadable files, label checks.

``CheckedLoadImage`` / ``CheckedLoadImaged`` are MONAI's ``LoadImage`` / ``LoadImaged`` that name the file a
reader could not read; ``CheckImageLabelShaped`` stops on an image / label pair of different spatial shapes;
``SelectLesionLabels`` / ``SelectLesionLabelsd`` make the binary lesion label, refusing labels it would misread;
``CheckFinite`` / ``CheckFinited`` stop on an image holding NaN or infinite values (which would otherwise turn
every loss and prediction of the case into NaN with no file named).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.config.type_definitions import NdarrayOrTensor
from monai.transforms import LoadImage, LoadImaged, MapTransform, Transform
from monai.utils import TransformBackends

__all__ = [
    "CheckFinite",
    "CheckFiniteD",
    "CheckFiniteDict",
    "CheckFinited",
    "CheckImageLabelShapeD",
    "CheckImageLabelShapeDict",
    "CheckImageLabelShaped",
    "CheckedLoadImage",
    "CheckedLoadImageD",
    "CheckedLoadImageDict",
    "CheckedLoadImaged",
    "SelectLesionLabels",
    "SelectLesionLabelsD",
    "SelectLesionLabelsDict",
    "SelectLesionLabelsd",
]


def _name(x: Any) -> str:
    meta = getattr(x, "meta", None) or {}
    return str(meta.get("filename_or_obj", "<in memory>"))


def _check_mapping(data: Any, owner: str) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(
            f"`data` of {owner} must be a dictionary (a mapping of keys to file names or arrays), got "
            f"{type(data).__name__}."
        )


def _check_array(x: Any, name: str) -> None:
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        raise TypeError(f"`{name}` must be a channel-first numpy array or torch tensor, got {type(x).__name__}.")


class CheckedLoadImage(LoadImage):
    """MONAI's ``LoadImage`` that names the file it could not read (a truncated ``.nii.gz``, a broken ``.mhd``).

    The arguments are ``LoadImage``'s; readers are MONAI's (NIfTI through nibabel, MetaImage ``.mhd``, NRRD
    and DICOM through ITK).

    Raises:
        RuntimeError: (when called) the file cannot be read; the message names it, chained to the reader's error.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     bad = pathlib.Path(d) / "case.nii.gz"
        ...     _ = bad.write_bytes(b"not an image")
        ...     try:
        ...         CheckedLoadImage(image_only=True)(str(bad))
        ...     except RuntimeError as e:
        ...         print(str(e).startswith(f"cannot read file {bad}"))
        True
    """

    def __call__(self, filename: Any, reader: Any = None) -> Any:
        """Load ``filename``, or name it in the error when it cannot be read."""
        try:
            return super().__call__(filename, reader)
        except Exception as e:
            raise RuntimeError(f"cannot read file {filename}: {type(e).__name__}: {e}") from e


class CheckedLoadImaged(LoadImaged):
    """MONAI's ``LoadImaged`` that names the file it could not read (a truncated ``.nii.gz``, a broken ``.mhd``).

    A reader's own error (an ``EOFError`` from gzip, say) reaches the user behind MONAI's wrappers without the
    file name; this transform probes each key's file on failure and raises a ``RuntimeError`` naming the file,
    chained to the reader's error. The arguments are ``LoadImaged``'s; readers are MONAI's (NIfTI through
    nibabel, MetaImage ``.mhd``, NRRD and DICOM through ITK). Array twin: :class:`CheckedLoadImage`.

    Raises:
        TypeError: (when called) ``data`` is not a dictionary.
        RuntimeError: (when called) a file cannot be read; the message names the key and the file.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     bad = pathlib.Path(d) / "case.nii.gz"
        ...     _ = bad.write_bytes(b"not an image")
        ...     try:
        ...         CheckedLoadImaged(keys="image", image_only=True)({"image": str(bad)})
        ...     except RuntimeError as e:
        ...         print(str(e).startswith(f"cannot read image file {bad}"))
        True
    """

    def __call__(self, data: Any, reader: Any = None) -> Any:
        """Load every key's file, or name the one that cannot be read."""
        _check_mapping(data, type(self).__name__)
        try:
            return super().__call__(data, reader)
        except Exception:
            for key in self.key_iterator(dict(data)):
                try:
                    self._loader(data[key], reader)
                except Exception as e:
                    raise RuntimeError(f"cannot read {key} file {data[key]}: {type(e).__name__}: {e}") from e
            raise


class CheckImageLabelShaped(MapTransform):
    """Stop with a clear message when a label's spatial shape differs from its image's.

    It checks a pair of keys, so it has no array twin.

    Args:
        keys: ``(image_key, label_key)``.
        allow_missing_keys: do not raise when a key is absent.

    Raises:
        ValueError: at construction, when ``keys`` is not a pair; (when called) the shapes differ: the message
            names both files.
        KeyError: (when called) a key is absent and ``allow_missing_keys`` is not set.
        TypeError: (when called) ``data`` is not a dictionary, or an image / label is not an array or tensor.

    Example:
        >>> check = CheckImageLabelShaped(["image", "label"])
        >>> check({"image": torch.zeros(1, 4, 4), "label": torch.zeros(1, 4, 4)})["label"].shape
        torch.Size([1, 4, 4])
        >>> check({"image": torch.zeros(1, 4, 4), "label": torch.zeros(1, 4, 5)})
        Traceback (most recent call last):
            ...
        ValueError: label <in memory> has spatial shape (4, 5) but image <in memory> has (4, 4): they must match.
    """

    def __init__(self, keys: KeysCollection = ("image", "label"), allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        if len(self.keys) != 2:
            raise ValueError(f"`keys` must be (image_key, label_key), got {self.keys}.")

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Check the pair and return the data unchanged."""
        _check_mapping(data, type(self).__name__)
        d = dict(data)
        image_key, label_key = self.keys
        if image_key not in d or label_key not in d:
            if self.allow_missing_keys:
                return d
            raise KeyError(f"keys {image_key!r} and {label_key!r} are required, got {sorted(map(str, d))}.")
        image, label = d[image_key], d[label_key]
        _check_array(image, str(image_key))
        _check_array(label, str(label_key))
        if tuple(image.shape[1:]) != tuple(label.shape[1:]):
            raise ValueError(
                f"label {_name(label)} has spatial shape {tuple(label.shape[1:])} but image {_name(image)} has "
                f"{tuple(image.shape[1:])}: they must match."
            )
        return d


class SelectLesionLabels(Transform):
    """Make the binary lesion label the lesion bundle trains on, refusing labels it would misread.

    With ``labels`` given, voxels holding one of those values become 1 and all others 0, e.g. ``[2]`` for
    the tumours of Decathlon Task03 Liver (1 liver, 2 tumour). With ``labels=None`` the label must already
    be binary. Without this check a label with values above 1 would silently become a BCE target of 2.
    The output keeps the label's type, dtype and metadata (MetaTensor in, MetaTensor out).

    Args:
        labels: label values that are lesion, or None for a label that must already be 0/1.

    Raises:
        ValueError: at construction, when ``labels`` is empty or holds a non-integer. When called, when the
            label holds NaN / inf, or is boolean while ``labels`` selects values, or, with ``labels=None``,
            holds values other than 0 and 1: the message names the file, the values found and the setting to use.
        TypeError: (when called) the label is not a numpy array or a torch tensor.

    Example:
        >>> label = torch.tensor([[0, 1, 2, 2]])
        >>> SelectLesionLabels(labels=[2])(label)
        tensor([[0, 0, 1, 1]])
        >>> SelectLesionLabels()(label)
        Traceback (most recent call last):
            ...
        ValueError: label <in memory> holds the values [0, 1, 2], expected a binary lesion label (0, 1); ...
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)

    def __init__(self, labels: Sequence[int] | None = None) -> None:
        if labels is not None:
            values = list(labels) if isinstance(labels, Sequence) and not isinstance(labels, str) else [labels]
            if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise ValueError(f"`labels` must be None or a non-empty list of integer label values, got {labels!r}.")
            labels = values
        self.labels = labels

    def __call__(self, label: NdarrayOrTensor, name: str = "label") -> NdarrayOrTensor:
        """Binarise (or, with ``labels=None``, check) ``label``; ``name`` is the word used in the error."""
        _check_array(label, name)
        t = torch.as_tensor(label)  # no copy
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} {_name(label)} holds NaN or infinite values, expected integer label values.")
        if t.dtype == torch.bool and self.labels is not None:
            raise ValueError(
                f"`labels` selects label values, but {name} {_name(label)} is boolean (already a mask): use "
                "labels=None (lesion_labels: null)."
            )
        if self.labels is None:
            found = torch.unique(torch.as_tensor(label)) if isinstance(label, torch.Tensor) else np.unique(label)
            values = [v.item() if hasattr(v, "item") else v for v in found]
            if any(v not in (0, 1) for v in values):
                shown = [int(v) if float(v).is_integer() else float(v) for v in values[:10]]
                raise ValueError(
                    f"{name} {_name(label)} holds the values {shown}{' ...' if len(values) > 10 else ''}, expected "
                    "a binary lesion label (0, 1); name the lesion values with `lesion_labels` "
                    "(SelectLesionLabelsd(labels=...)), e.g. [2] for the tumours of Decathlon Task03 Liver."
                )
            return label
        if isinstance(label, torch.Tensor):
            mask = torch.isin(label, torch.tensor(self.labels, device=label.device, dtype=label.dtype))
            return mask.to(label.dtype)  # MetaTensor in, MetaTensor out (metadata kept)
        return np.isin(label, self.labels).astype(np.asarray(label).dtype)


class SelectLesionLabelsd(MapTransform):
    """Dictionary twin of :class:`SelectLesionLabels`: binarise (or check) every key's label in place.

    Args:
        keys: label key(s).
        labels: label values that are lesion, or None for a label that must already be 0/1.
        allow_missing_keys: do not raise when a key is absent.

    Raises:
        ValueError: at construction, when ``labels`` is empty or holds a non-integer. When called, with
            ``labels=None``, when the label holds values other than 0 and 1: the message names the key, the
            file, the values found and the setting to use.

    Example:
        >>> label = torch.tensor([[0, 1, 2, 2]])
        >>> SelectLesionLabelsd("label", labels=[2])({"label": label})["label"]
        tensor([[0, 0, 1, 1]])
        >>> SelectLesionLabelsd("label")({"label": label})
        Traceback (most recent call last):
            ...
        ValueError: label <in memory> holds the values [0, 1, 2], expected a binary lesion label (0, 1); ...
    """

    backend = SelectLesionLabels.backend

    def __init__(
        self, keys: KeysCollection, labels: Sequence[int] | None = None, allow_missing_keys: bool = False
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.selector = SelectLesionLabels(labels)
        self.labels = self.selector.labels

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Binarise (or check) every key's label; the output keeps the label's type, dtype and metadata."""
        _check_mapping(data, type(self).__name__)
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.selector(d[key], name=str(key))
        return d


class CheckFinite(Transform):
    """Stop with a clear message when an image holds NaN or infinite values; return it unchanged otherwise.

    A NaN voxel in an input image turns the network output, every loss and every prediction of that case
    into NaN, and the error (if any) comes far from the file. This check costs one pass over the volume
    (none for integer images, which cannot hold NaN). It takes no argument.

    Raises:
        TypeError: (when called) the image is not a numpy array or a torch tensor.
        ValueError: (when called) the image holds NaN / inf: the message names the file and counts the voxels.

    Example:
        >>> CheckFinite()(torch.ones(1, 2, 2)).shape
        torch.Size([1, 2, 2])
        >>> CheckFinite()(torch.tensor([[1.0, float("nan")]]))
        Traceback (most recent call last):
            ...
        ValueError: image <in memory> holds 1 NaN and 0 infinite values of 2, expected finite intensities; ...
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]  # noqa: RUF012 (MONAI convention)

    def __call__(self, img: NdarrayOrTensor, name: str = "image") -> NdarrayOrTensor:
        """Check ``img`` (``name`` is the word used in the error) and return it unchanged."""
        _check_array(img, name)
        t = torch.as_tensor(img)  # no copy
        if not (t.is_floating_point() or t.is_complex()) or bool(torch.isfinite(t).all()):
            return img
        n_nan = int(torch.isnan(t).sum())
        n_inf = int(torch.isinf(t).sum())
        raise ValueError(
            f"{name} {_name(img)} holds {n_nan} NaN and {n_inf} infinite values of {t.numel()}, expected finite "
            "intensities; repair or drop the file (e.g. replace NaN by the background value) before training or "
            "inference."
        )


class CheckFinited(MapTransform):
    """Dictionary twin of :class:`CheckFinite`: stop on any key's image holding NaN or infinite values.

    Args:
        keys: image key(s).
        allow_missing_keys: do not raise when a key is absent.

    Raises:
        TypeError: (when called) ``data`` is not a dictionary or an image is not an array or tensor.
        KeyError: (when called) a key is absent and ``allow_missing_keys`` is not set.
        ValueError: (when called) an image holds NaN / inf: the message names the key and the file.

    Example:
        >>> CheckFinited("image")({"image": torch.ones(1, 2, 2)})["image"].shape
        torch.Size([1, 2, 2])
    """

    backend = CheckFinite.backend

    def __init__(self, keys: KeysCollection, allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)
        self.checker = CheckFinite()

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        """Check every key's image and return the data unchanged."""
        _check_mapping(data, type(self).__name__)
        d = dict(data)
        for key in self.key_iterator(d):
            self.checker(d[key], name=str(key))
        return d


CheckedLoadImageD = CheckedLoadImageDict = CheckedLoadImaged
CheckImageLabelShapeD = CheckImageLabelShapeDict = CheckImageLabelShaped
SelectLesionLabelsD = SelectLesionLabelsDict = SelectLesionLabelsd
CheckFiniteD = CheckFiniteDict = CheckFinited
