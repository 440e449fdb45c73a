"""Deprecated import path of :mod:`monai_imbalance.apps.bundle.schema`."""

from __future__ import annotations

from monai_imbalance.utils.deprecation import moved_names

__getattr__ = moved_names(__name__, "monai_imbalance.apps.bundle.schema")
