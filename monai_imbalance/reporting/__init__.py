"""Reports: lesion-wise JSON / Markdown / PNG reports, their records and handler; gradient-sign diagnostics."""

from __future__ import annotations

from monai_imbalance.reporting.gradients import (
    GradientSignHandler,
    logit_gradient,
    negative_component_counts,
    negative_component_map,
)
from monai_imbalance.reporting.handler import LesionReportHandler
from monai_imbalance.reporting.lesion import lesion_markdown, lesion_report, write_lesion_report
from monai_imbalance.reporting.plots import plot_froc, plot_recall_by_size
from monai_imbalance.reporting.records import load_record_views, load_records, save_records

__all__ = [
    "GradientSignHandler",
    "LesionReportHandler",
    "lesion_markdown",
    "lesion_report",
    "load_record_views",
    "load_records",
    "logit_gradient",
    "negative_component_counts",
    "negative_component_map",
    "plot_froc",
    "plot_recall_by_size",
    "save_records",
    "write_lesion_report",
]
