"""Deprecated import path of the multi-class report.

The handler moved to :mod:`monai_imbalance.handlers.multiclass`, the writer to
:mod:`monai_imbalance.reporting.multiclass`.
"""

from __future__ import annotations

from monai_imbalance.utils.deprecation import moved_names

__getattr__ = moved_names(
    __name__,
    {
        "MulticlassReportHandler": "monai_imbalance.handlers.multiclass",
        "write_multiclass_report": "monai_imbalance.reporting.multiclass",
    },
)
