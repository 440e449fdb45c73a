"""Summary statistics of the finite values of a sequence (reports and experiment summaries)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["finite_stats"]


def finite_stats(values: Any) -> dict[str, float | int | None]:
    """Mean, standard deviation (ddof 0) and count of the finite values; ``None`` statistics when there are none.

    Example:
        >>> finite_stats([1.0, 3.0, float("inf"), float("nan")])
        {'mean': 2.0, 'std': 1.0, 'n': 2}
        >>> finite_stats([])
        {'mean': None, 'std': None, 'n': 0}
    """
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}
