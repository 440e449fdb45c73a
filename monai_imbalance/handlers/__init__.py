"""Every ignite handler of the package: lesion records and their metric views, reports, gradient signs, schedules.

``lesion`` holds the lesion records owner and its views (FROC, object Dice, over-segmentation); ``report`` and
``multiclass`` write the lesion-wise and multi-class reports of an evaluator's run; ``gradients`` records the
gradient signs of the training loss; ``schedule`` moves the weight of a combined loss during training.
"""

from __future__ import annotations

from monai_imbalance.handlers.gradients import GradientSignHandler
from monai_imbalance.handlers.lesion import (
    FROCHandler,
    LesionDiceHandler,
    LesionRecordsHandler,
    OverSegmentationHandler,
    PredLabel,
)
from monai_imbalance.handlers.multiclass import MulticlassReportHandler
from monai_imbalance.handlers.report import LesionReportHandler
from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler

__all__ = [
    "CombinedLossAlphaHandler",
    "FROCHandler",
    "GradientSignHandler",
    "LesionDiceHandler",
    "LesionRecordsHandler",
    "LesionReportHandler",
    "MulticlassReportHandler",
    "OverSegmentationHandler",
    "PredLabel",
]
