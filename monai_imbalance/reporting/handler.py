"""Deprecated import path of :mod:`monai_imbalance.handlers.report`."""

from __future__ import annotations

from monai_imbalance.utils.deprecation import moved_names

__getattr__ = moved_names(__name__, "monai_imbalance.handlers.report")
