"""Shared helpers of every subpackage: input validation, conversions, finite statistics, deprecated aliases."""

from __future__ import annotations

from monai_imbalance.utils.conversion import finite_or_none, to_numpy
from monai_imbalance.utils.deprecation import moved_names, run_moved
from monai_imbalance.utils.stats import finite_stats
from monai_imbalance.utils.validation import (
    check_channel_first,
    check_finite,
    check_fraction,
    check_number,
    check_spacing,
)

__all__ = [
    "check_channel_first",
    "check_finite",
    "check_fraction",
    "check_number",
    "check_spacing",
    "finite_or_none",
    "finite_stats",
    "moved_names",
    "run_moved",
    "to_numpy",
]
