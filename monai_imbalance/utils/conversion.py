"""Conversions: tensors to numpy arrays, numbers to JSON-safe floats."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["finite_or_none", "to_numpy"]


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a numpy array: tensors are detached and moved to the CPU (zero-copy when possible).

    MetaTensors lose their metadata; numpy arrays pass through unchanged.

    Args:
        x: a ``torch.Tensor``, a ``numpy.ndarray`` or anything ``numpy.asarray`` accepts.

    Example:
        >>> to_numpy(torch.tensor([1, 2]))
        array([1, 2])
    """
    if isinstance(x, torch.Tensor):
        t = x.as_tensor() if hasattr(x, "as_tensor") else x
        return t.detach().cpu().numpy()
    return np.asarray(x)


def finite_or_none(x: Any) -> float | None:
    """``float(x)``, or ``None`` for ``None``, NaN and infinities (JSON has no NaN).

    Example:
        >>> finite_or_none(np.float32(0.5)), finite_or_none(float("nan")), finite_or_none(None)
        (0.5, None, None)
    """
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
