"""Input validation with clear messages: spacing, numbers, fractions, finite values, channel-first arrays."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, cast, overload

import numpy as np
import torch

__all__ = [
    "check_channel_first",
    "check_connectivity",
    "check_finite",
    "check_fraction",
    "check_increasing",
    "check_int",
    "check_num_classes",
    "check_number",
    "check_option",
    "check_path",
    "check_spacing",
    "check_spacing_setting",
]


def check_spacing(spacing: Any, ndim: int, name: str = "spacing") -> tuple[float, ...] | None:
    """Validate a voxel spacing and return it as a tuple of ``ndim`` floats (``None`` passes through).

    Args:
        spacing: ``None``, one positive number (isotropic) or a sequence of ``ndim`` positive numbers.
        ndim: number of spatial dimensions.
        name: argument name used in error messages.

    Raises:
        TypeError: when ``spacing`` is not a number or a sequence of numbers.
        ValueError: when its length is not ``ndim`` or a value is not finite and positive.

    Example:
        >>> check_spacing(2, 3)
        (2.0, 2.0, 2.0)
        >>> check_spacing([1, 1, 3], 3)
        (1.0, 1.0, 3.0)
    """
    if spacing is None:
        return None
    if isinstance(spacing, torch.Tensor):
        spacing = spacing.detach().cpu().tolist()
    elif isinstance(spacing, np.ndarray):
        spacing = spacing.tolist()
    if isinstance(spacing, (int, float, np.integer, np.floating)) and not isinstance(spacing, bool):
        values = (float(spacing),) * ndim
    elif isinstance(spacing, Sequence) and not isinstance(spacing, str):
        try:
            values = tuple(float(s) for s in spacing)
        except (TypeError, ValueError) as e:
            raise TypeError(f"`{name}` must be a number or a sequence of numbers, got {spacing!r}.") from e
        if len(values) != ndim:
            raise ValueError(
                f"`{name}` must have one value per spatial dimension ({ndim}), got {len(values)} values: {spacing!r}."
            )
    else:
        raise TypeError(f"`{name}` must be a number or a sequence of numbers, got {type(spacing).__name__}.")
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"`{name}` must hold finite positive values, got {values}.")
    return values


def check_fraction(value: Any, name: str, low_open: bool = False, high_open: bool = True) -> float:
    """Validate a number in the unit interval (a probability threshold, a Dice / IoU threshold) and return it.

    The interval is ``[0, 1)`` by default (a probability threshold: ``p > 1`` never holds); ``low_open`` and
    ``high_open`` choose the ends (``(0, 1]`` for a Dice / IoU a hit must reach).

    Raises:
        TypeError: when ``value`` is not a real number (``bool`` included).
        ValueError: when it is NaN, infinite or outside the interval.

    Example:
        >>> check_fraction(0.5, "threshold")
        0.5
        >>> check_fraction(float("nan"), "threshold")
        Traceback (most recent call last):
            ...
        ValueError: `threshold` must be in [0, 1), got nan.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}.")
    v = float(value)
    above = v > 0 if low_open else v >= 0
    below = v < 1 if high_open else v <= 1
    if not (math.isfinite(v) and above and below):
        raise ValueError(f"`{name}` must be in {'(' if low_open else '['}0, 1{')' if high_open else ']'}, got {v}.")
    return v


def check_number(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Validate a real-number setting (bools refused) within optional bounds and return it as a float.

    Args:
        value: the setting.
        name: argument name used in error messages.
        low: optional lower bound; NaN and infinities are always refused.
        high: optional upper bound.
        low_open: exclude ``low`` itself.
        high_open: exclude ``high`` itself.

    Raises:
        TypeError: when ``value`` is not a real number (``bool`` included).
        ValueError: when it is not finite or out of the bounds.

    Example:
        >>> check_number(2, "beta", low=0, low_open=True)
        2.0
        >>> check_number(0, "beta", low=0, low_open=True)
        Traceback (most recent call last):
            ...
        ValueError: `beta` must be a finite number > 0, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a real number, got {value!r} ({type(value).__name__}).")
    bounds = []
    if low is not None:
        bounds.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        bounds.append(f"{'<' if high_open else '<='} {high:g}")
    v = float(value)
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        expected = f"a finite number {' and '.join(bounds)}" if bounds else "a finite number"
        raise ValueError(f"`{name}` must be {expected}, got {value!r}.")
    return v


def check_finite(x: Any, name: str = "label") -> None:
    """Raise ``ValueError`` when a floating-point array or tensor holds NaN or infinite values.

    Example:
        >>> check_finite(np.array([0.0, 1.0]))
        >>> check_finite(np.array([0.0, np.nan]))
        Traceback (most recent call last):
            ...
        ValueError: `label` must hold finite values, got 1 NaN or infinite value(s).
    """
    if isinstance(x, torch.Tensor):
        if x.is_floating_point():
            bad = int((~torch.isfinite(x)).sum().item())
        else:
            return
    else:
        arr = np.asarray(x)
        if not np.issubdtype(arr.dtype, np.floating):
            return
        bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise ValueError(f"`{name}` must hold finite values, got {bad} NaN or infinite value(s).")


def check_channel_first(label: Any, name: str = "label", min_spatial: int = 1, max_spatial: int = 3) -> None:
    """Check that ``label`` is a channel-first array ``(C, *spatial)`` with a supported number of spatial dims.

    Args:
        label: numpy array or torch tensor.
        name: argument name used in error messages.
        min_spatial: fewest spatial dimensions accepted.
        max_spatial: most spatial dimensions accepted.

    Raises:
        TypeError: when ``label`` is neither a numpy array nor a torch tensor.
        ValueError: when its number of dimensions is outside ``[1 + min_spatial, 1 + max_spatial]``.

    Example:
        >>> check_channel_first(np.zeros((1, 4, 4)))
        >>> check_channel_first(np.zeros((4,)))
        Traceback (most recent call last):
            ...
        ValueError: `label` must be channel-first (C, *spatial) with 1 to 3 spatial dimensions, got shape (4,).
    """
    if not isinstance(label, (np.ndarray, torch.Tensor)):
        raise TypeError(f"`{name}` must be a numpy array or a torch tensor, got {type(label).__name__}.")
    if not 1 + min_spatial <= label.ndim <= 1 + max_spatial:
        raise ValueError(
            f"`{name}` must be channel-first (C, *spatial) with {min_spatial} to {max_spatial} spatial dimensions, "
            f"got shape {tuple(label.shape)}."
        )


def check_num_classes(num_classes: Any, name: str = "num_classes") -> int | None:
    """Validate a number of classes: ``None`` (inferred from the data) or a positive int, returned as an int.

    The one check of the setting for the maps, the transforms, the losses and the metrics.

    Raises:
        TypeError: when it is neither ``None`` nor an int (``bool`` and floats included).
        ValueError: when it is below 1.

    Example:
        >>> check_num_classes(3), check_num_classes(None)
        (3, None)
        >>> check_num_classes(0)
        Traceback (most recent call last):
            ...
        ValueError: `num_classes` must be a positive int, got 0.
    """
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"`{name}` must be None or a positive int, got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(f"`{name}` must be a positive int, got {num_classes}.")
    return int(num_classes)


@overload
def check_connectivity(connectivity: Any, ndim: int, name: str = ...) -> int: ...


@overload
def check_connectivity(connectivity: Any, ndim: None = ..., name: str = ...) -> int | None: ...


def check_connectivity(connectivity: Any, ndim: int | None = None, name: str = "connectivity") -> int | None:
    """Validate a connectivity given as orthogonal hops (scipy / scikit-image style), ``None`` meaning full.

    Two voxels are neighbours when at most ``connectivity`` of their coordinates differ by one (``1``: faces
    only, 4 in 2D and 6 in 3D; ``ndim``: full, 8 in 2D and 26 in 3D). Without ``ndim`` (a setting checked in a
    constructor) any positive int passes and ``None`` is returned as ``None``; with ``ndim`` (data in hand)
    the value must lie in ``[1, ndim]`` and ``None`` becomes ``ndim``.

    Raises:
        TypeError: when it is neither ``None`` nor an int (``bool`` and floats included).
        ValueError: when it is below 1, or above ``ndim``.

    Example:
        >>> check_connectivity(None), check_connectivity(None, 3), check_connectivity(1, 2)
        (None, 3, 1)
        >>> check_connectivity(3, 2)
        Traceback (most recent call last):
            ...
        ValueError: `connectivity` must be None (full) or an int in [1, 2] (orthogonal hops) for a 2-D mask, got 3.
    """
    if connectivity is None:
        return ndim
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)):
        raise TypeError(f"`{name}` must be None or a positive int, got {connectivity!r}.")
    if ndim is None:
        if connectivity < 1:
            raise ValueError(f"`{name}` must be None (full) or a positive int (orthogonal hops), got {connectivity}.")
    elif not 1 <= connectivity <= ndim:
        raise ValueError(
            f"`{name}` must be None (full) or an int in [1, {ndim}] (orthogonal hops) for a {ndim}-D mask, "
            f"got {connectivity}."
        )
    return int(connectivity)


EnumT = TypeVar("EnumT", bound=Enum)


def check_option(value: Any, enum: type[EnumT], name: str) -> EnumT:
    """Resolve a string option to its enum member with MONAI's ``look_up_option``, naming the argument in the error.

    ``look_up_option`` suggests the closest valid value ("did you mean ...?"); this is the package's only
    wrapper of it. MONAI is imported on the first call, so modules that validate options stay cheap to import.

    Raises:
        ValueError: when ``value`` is not one of the enum's values (the message names ``name``).

    Example:
        >>> from monai.utils import LossReduction
        >>> check_option("mean", LossReduction, "reduction") is LossReduction.MEAN
        True
    """
    from monai.utils import look_up_option  # MONAI is slow to import: only when an option is read

    try:
        return enum(look_up_option(value, enum))
    except ValueError as e:
        raise ValueError(f"`{name}`: {e}".strip()) from None


def check_spacing_setting(spacing: Any, name: str = "spacing") -> float | tuple[float, ...] | None:
    """Validate a voxel spacing given as a setting, before the data (and its number of dimensions) is known.

    One number stays one number (isotropic, expanded to the data's dimensions later); a sequence is checked
    value by value and returned as a tuple of floats; :func:`check_spacing` checks the length against the data.
    The one check of a spacing setting for the transforms and the losses.

    Raises:
        TypeError: when ``spacing`` is not ``None``, a number or a sequence of numbers.
        ValueError: when a value is not finite and positive.

    Example:
        >>> check_spacing_setting(2), check_spacing_setting([1, 0.5]), check_spacing_setting(None)
        (2.0, (1.0, 0.5), None)
        >>> check_spacing_setting(-1)
        Traceback (most recent call last):
            ...
        ValueError: `spacing` must hold finite positive values, got (-1.0,).
    """
    if spacing is None:
        return None
    if isinstance(spacing, (torch.Tensor, np.ndarray)):
        spacing = spacing.tolist()  # a 0-d array becomes a number
    if isinstance(spacing, (int, float, np.integer, np.floating)) and not isinstance(spacing, bool):
        return cast(tuple[float, ...], check_spacing(spacing, 1, name))[0]
    if isinstance(spacing, Sequence) and not isinstance(spacing, str):
        return check_spacing(spacing, len(spacing), name)
    raise TypeError(f"`{name}` must be a number or a sequence of numbers, got {type(spacing).__name__}.")


def check_int(value: Any, name: str, low: int | None = None) -> int:
    """Validate an integer setting (a count, a seed, a limit) and return it as an int; ``bool`` and floats refused.

    Raises:
        TypeError: when ``value`` is not an int (a float such as ``2.5`` or ``2.0``, a string, a ``bool``).
        ValueError: when it is below ``low``.

    Example:
        >>> check_int(3, "n_draws", low=1)
        3
        >>> check_int(2.5, "n_draws")
        Traceback (most recent call last):
            ...
        TypeError: `n_draws` must be an int, got 2.5 (float).
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {value!r} ({type(value).__name__}).")
    if low is not None and value < low:
        raise ValueError(f"`{name}` must be an int >= {low}, got {value}.")
    return int(value)


def check_increasing(values: Any, name: str) -> np.ndarray:
    """Validate a non-empty, finite, strictly increasing sequence of numbers (size thresholds) as a float64 array.

    The one check of size-group thresholds for :func:`~monai_imbalance.metrics.size_groups` and the reports.

    Raises:
        TypeError: when ``values`` is a string or holds something other than numbers.
        ValueError: when it is empty, not finite or not strictly increasing.

    Example:
        >>> check_increasing([5, 10.0], "thresholds")
        array([ 5., 10.])
        >>> check_increasing([10, 5], "thresholds")
        Traceback (most recent call last):
            ...
        ValueError: `thresholds` must be finite and strictly increasing, got [10, 5].
    """
    items = values.tolist() if isinstance(values, (np.ndarray, torch.Tensor)) else values
    items = items if isinstance(items, Sequence) and not isinstance(items, str) else [items]
    if isinstance(values, (str, bytes)) or not all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in items
    ):
        raise TypeError(f"`{name}` must be a number or a sequence of numbers, got {values!r}.")
    edges = np.asarray(items, dtype=np.float64).reshape(-1)
    if edges.size == 0 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"`{name}` must be finite and strictly increasing, got {values!r}.")
    return edges


def check_weight_range(min_weight: Any, max_weight: Any) -> tuple[float | None, float | None]:
    """Validate optional clip bounds of voxel weights: finite positive numbers, ``min_weight <= max_weight``.

    Shared by the inverse weight maps, their transforms and the losses that compute them.

    Raises:
        TypeError: when a bound is neither ``None`` nor a real number (``bool`` included).
        ValueError: when a bound is not finite or not positive, or ``min_weight > max_weight``.

    Example:
        >>> check_weight_range(1, 2e5)
        (1.0, 200000.0)
        >>> check_weight_range(3, 2)
        Traceback (most recent call last):
            ...
        ValueError: `min_weight` must not exceed `max_weight`, got min_weight=3.0 > max_weight=2.0.
    """
    bounds: list[float | None] = []
    for value, name in ((min_weight, "min_weight"), (max_weight, "max_weight")):
        if value is None:
            bounds.append(None)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a number, got {type(value).__name__}.")
        if not math.isfinite(value):
            raise ValueError(f"`{name}` must be finite, got {value}.")
        if value <= 0:
            raise ValueError(f"`{name}` must be positive (weights are positive), got {float(value)}.")
        bounds.append(float(value))
    lo, hi = bounds
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"`min_weight` must not exceed `max_weight`, got min_weight={lo} > max_weight={hi}.")
    return lo, hi


def check_path(value: Any, name: str) -> Path:
    """Validate a file or folder setting (an output folder, a records file) and return it as a :class:`~pathlib.Path`.

    Only the type is checked (whether the path exists is for the caller to say): a setting read at the end of a
    run is refused when given, not when the run has been spent.

    Raises:
        TypeError: when ``value`` is not a ``str`` or an ``os.PathLike`` (``None`` included).

    Example:
        >>> check_path("reports", "output_dir").name
        'reports'
        >>> check_path(None, "output_dir")
        Traceback (most recent call last):
            ...
        TypeError: `output_dir` must be a path (str or os.PathLike), got NoneType.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a path (str or os.PathLike), got {type(value).__name__}.")
    return Path(value)
