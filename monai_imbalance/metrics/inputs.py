"""Validation of lesion-wise evaluation inputs: one checker per concept, shared by functions, metrics and handlers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from monai.utils import convert_to_tensor

from monai_imbalance.utils.validation import check_fraction

__all__ = ["check_affine", "check_case", "check_lesion_labels", "host_array", "lesion_mask"]


def host_array(x: Any, name: str) -> np.ndarray:
    """A numpy array of a tensor (detached, on the host; float16 / bfloat16 read as float32) or an array as it is.

    Raises:
        TypeError: when ``x`` is neither; the message names ``name``.

    Example:
        >>> host_array(torch.tensor([0.5], dtype=torch.bfloat16), "prob")
        array([0.5], dtype=float32)
    """
    if isinstance(x, torch.Tensor):
        t = convert_to_tensor(x, track_meta=False)
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()  # numpy has no bfloat16; half precision is read as float32
        return t.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"`{name}` must be a numpy array or a torch tensor, got {type(x).__name__}.")


def check_lesion_labels(lesion_labels: Any) -> list[int] | None:
    """Validate the label values that are lesion: ``None`` (a binary label), or positive integers, as a list of ints.

    One value (``2``), a sequence (``[2, 3]``) or an integer array / tensor is accepted; a string is refused (it is
    a sequence of characters: ``"23"`` is not ``[2, 3]``). The one check of the setting for the lesion functions,
    metrics and handlers, at construction or per call.

    Raises:
        TypeError: when it is a string, or holds something other than numbers (``bool`` included).
        ValueError: when it is empty, or a value is not a positive integer.

    Example:
        >>> check_lesion_labels([2, 3]), check_lesion_labels(2), check_lesion_labels(None)
        ([2, 3], [2], None)
        >>> check_lesion_labels("23")
        Traceback (most recent call last):
            ...
        TypeError: `lesion_labels` must be None or positive integer label values (e.g. [2]), got '23' (str).
    """
    if lesion_labels is None:
        return None
    items = lesion_labels.tolist() if isinstance(lesion_labels, (np.ndarray, torch.Tensor)) else lesion_labels
    if isinstance(items, (int, float, np.integer, np.floating)) and not isinstance(items, bool):
        items = [items]
    if (
        isinstance(items, (str, bytes))
        or not isinstance(items, Sequence)
        or not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in items)
    ):
        raise TypeError(
            "`lesion_labels` must be None or positive integer label values (e.g. [2]), got "
            f"{lesion_labels!r} ({type(lesion_labels).__name__})."
        )
    if not items or not all(math.isfinite(v) and v > 0 and v == round(v) for v in items):
        raise ValueError(f"`lesion_labels` must be positive integer label values, got {lesion_labels!r}.")
    return [int(v) for v in items]


def lesion_mask(label: np.ndarray, lesion_labels: Sequence[int] | None = None, name: str = "label") -> np.ndarray:
    """The binary lesion mask of a label: a 0/1 (or boolean) label as it is, or the voxels of ``lesion_labels``.

    Args:
        label: the label array.
        lesion_labels: label values that are lesion (e.g. ``[2]`` for Decathlon Task03 tumours), or ``None``
            for a binary label.
        name: the argument name used in errors.

    Returns:
        Boolean mask of the label's shape.

    Raises:
        TypeError: when the label does not hold numbers (strings, complex values) or ``lesion_labels`` is not
            label values (:func:`check_lesion_labels`).
        ValueError: on NaN, negative or (without ``lesion_labels``) non-binary values, naming what was found.

    Example:
        >>> lesion_mask(np.array([0, 1, 2, 2]), [2]).tolist()
        [False, False, True, True]
        >>> lesion_mask(np.array([0, 1, 2]))
        Traceback (most recent call last):
            ...
        ValueError: `label` must be binary (0/1) unless `lesion_labels` names the lesion values, got values in [0, 2].
    """
    values = check_lesion_labels(lesion_labels)
    if label.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold numbers (0/1, or label values), got dtype {label.dtype}.")
    if label.dtype == bool:
        if values is not None:
            raise ValueError(f"`lesion_labels` selects label values, but `{name}` is boolean.")
        return label
    if label.size == 0:
        return label.astype(bool)
    unsigned = label.dtype.kind == "u"  # no minimum to check: it is read only for a message
    lo, hi = (label.dtype.type(0) if unsigned else label.min()), label.max()
    if np.isnan(lo) or np.isnan(hi):
        raise ValueError(f"`{name}` must not hold NaN values.")
    if lo < 0:
        raise ValueError(f"`{name}` must be non-negative, got a minimum of {lo:g}.")
    if values is not None:
        return np.isin(label, values)
    if hi > 1 or (np.issubdtype(label.dtype, np.floating) and not np.all((label == 0) | (label == 1))):
        lo = label.min() if unsigned else lo
        raise ValueError(
            f"`{name}` must be binary (0/1) unless `lesion_labels` names the lesion values, got values in "
            f"[{lo:g}, {hi:g}]."
        )
    return label.view(bool) if label.dtype == np.uint8 else label != 0  # 0/1 bytes: a zero-copy boolean view


def check_case(
    label: Any, prob: Any, confidence: Any, threshold: Any, sigmoid: bool, lesion_labels: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Validate one case's inputs: ``(lesion mask, probabilities, confidence, threshold)`` on the host.

    Checks, each with an error naming the argument: types, equal shapes, one case of 1 to 3 spatial
    dimensions (a batch or channel dimension is refused), a binary label (or ``lesion_labels``),
    probabilities in [0, 1] (logits only with ``sigmoid``, which applies the sigmoid), a finite ``threshold``
    in [0, 1), and no NaN confidence.

    Example:
        >>> mask, prob, conf, thr = check_case(np.array([0, 1]), np.array([0.2, 0.9]), None, 0.5, False, None)
        >>> mask.tolist(), thr
        ([False, True], 0.5)
    """
    lab, pr = host_array(label, "label"), host_array(prob, "prob")
    conf = None if confidence is None else host_array(confidence, "confidence")
    if lab.shape != pr.shape:
        raise ValueError(f"`label` and `prob` must have the same shape, got {lab.shape} and {pr.shape}.")
    if conf is not None and conf.shape != pr.shape:
        raise ValueError(f"`confidence` must have the shape of `prob` {pr.shape}, got {conf.shape}.")
    if not 1 <= lab.ndim <= 3:
        raise ValueError(
            "`label` and `prob` must be one case's spatial volume (*spatial) with 1 to 3 dimensions, got shape "
            f"{lab.shape}: index a batch per case (label[b, 0]) or use FROCMetric / case_lesion_records on items."
        )
    thr = check_fraction(threshold, "threshold")
    mask = lesion_mask(lab, lesion_labels)
    if not np.issubdtype(pr.dtype, np.floating) and pr.dtype != bool and not np.issubdtype(pr.dtype, np.integer):
        raise TypeError(f"`prob` must hold numbers, got dtype {pr.dtype}.")
    pr = pr.astype(np.float32, copy=False) if pr.dtype == bool or pr.dtype.itemsize < 4 else pr
    if pr.size:
        lo, hi = float(pr.min()), float(pr.max())
        if sigmoid:
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError("`prob` (logits, sigmoid=True) must hold finite values, got NaN or inf.")
            pr = 1.0 / (1.0 + np.exp(-pr.astype(np.float64)))
        elif not (lo >= 0.0 and hi <= 1.0):
            raise ValueError(
                f"`prob` must hold probabilities in [0, 1], got values in [{lo:g}, {hi:g}]: pass sigmoid=True for "
                "logits (or apply the activation first)."
            )
    if conf is None:
        conf = pr
    elif np.issubdtype(conf.dtype, np.floating) and np.isnan(conf).any():
        raise ValueError("`confidence` must not hold NaN values.")
    return mask, pr, conf, thr


def check_affine(affine: Any, ndim: int) -> np.ndarray | None:
    """A finite ``(ndim + 1, ndim + 1)`` voxel-to-world matrix as float64, or ``None``.

    Raises:
        TypeError: when ``affine`` is not a matrix of real numbers (a string, complex values, ragged rows).
        ValueError: when its shape is not ``(ndim + 1, ndim + 1)`` or it holds NaN or infinite values.

    Example:
        >>> check_affine(np.eye(3), 2).shape
        (3, 3)
        >>> check_affine(np.full((3, 3), np.nan), 2)
        Traceback (most recent call last):
            ...
        ValueError: `affine` must be a finite (3, 3) matrix, got 9 NaN or infinite values.
    """
    if affine is None:
        return None
    size = f"({ndim + 1}, {ndim + 1})"
    try:
        a = host_array(affine, "affine") if isinstance(affine, torch.Tensor) else np.asarray(affine)
        real = a.dtype.kind in "biuf"  # not strings, complex values, objects
    except ValueError:  # ragged rows
        real = False
    if not real:
        raise TypeError(
            f"`affine` must be a {size} matrix of real numbers, got {affine!r:.80} ({type(affine).__name__})."
        )
    a = np.asarray(a, dtype=np.float64)
    if a.shape != (ndim + 1, ndim + 1):
        raise ValueError(f"`affine` must be a finite {size} matrix, got shape {a.shape}.")
    bad = int((~np.isfinite(a)).sum())
    if bad:
        raise ValueError(f"`affine` must be a finite {size} matrix, got {bad} NaN or infinite values.")
    return a
