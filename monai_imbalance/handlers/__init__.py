"""Ignite handlers: lesion-wise validation metrics (FROC, object Dice) and loss-weight schedules."""

from __future__ import annotations

from monai_imbalance.handlers.lesion import FROCHandler, LesionDiceHandler
from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler

__all__ = ["CombinedLossAlphaHandler", "FROCHandler", "LesionDiceHandler"]
