"""Ignite handlers: the lesion records owner and its metric views (FROC, object Dice, over-segmentation), schedules."""

from __future__ import annotations

from monai_imbalance.handlers.lesion import (
    FROCHandler,
    LesionDiceHandler,
    LesionRecordsHandler,
    OverSegmentationHandler,
    PredLabel,
)
from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler

__all__ = [
    "CombinedLossAlphaHandler",
    "FROCHandler",
    "LesionDiceHandler",
    "LesionRecordsHandler",
    "OverSegmentationHandler",
    "PredLabel",
]
