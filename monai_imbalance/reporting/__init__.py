"""Reports: lesion-wise and multi-class JSON / Markdown / PNG reports, their records, plots; gradient-sign diagnostics.

The ignite handlers that write these reports during a run are in :mod:`monai_imbalance.handlers`.
"""

from __future__ import annotations

from monai_imbalance.reporting.gradients import logit_gradient, negative_component_counts, negative_component_map
from monai_imbalance.reporting.lesion import lesion_markdown, lesion_report, write_lesion_report
from monai_imbalance.reporting.multiclass import write_multiclass_report
from monai_imbalance.reporting.plots import plot_froc, plot_recall_by_size
from monai_imbalance.reporting.records import load_record_views, load_records, save_records
from monai_imbalance.utils.deprecation import moved_names

__all__ = [
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
    "write_multiclass_report",
]

# deprecated: the handlers moved to monai_imbalance.handlers
__getattr__ = moved_names(
    __name__,
    {"GradientSignHandler": "monai_imbalance.handlers", "LesionReportHandler": "monai_imbalance.handlers"},
)
