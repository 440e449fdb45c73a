"""Shared helpers of every subpackage: input validation, conversions, finite statistics, figures, deprecated aliases."""

from __future__ import annotations

from monai_imbalance.utils.conversion import finite_or_none, to_numpy
from monai_imbalance.utils.deprecation import moved_names, run_moved
from monai_imbalance.utils.figures import agg_figure, save_png
from monai_imbalance.utils.stats import finite_stats
from monai_imbalance.utils.validation import (
    check_channel_first,
    check_finite,
    check_fraction,
    check_number,
    check_spacing,
)

__all__ = [
    "agg_figure",
    "check_channel_first",
    "check_finite",
    "check_fraction",
    "check_number",
    "check_spacing",
    "finite_or_none",
    "finite_stats",
    "moved_names",
    "run_moved",
    "save_png",
    "to_numpy",
]
