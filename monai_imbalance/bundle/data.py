"""Deprecated import path of :mod:`monai_imbalance.apps.bundle.dataset` and :mod:`monai_imbalance.transforms.io`."""

from __future__ import annotations

from monai_imbalance.utils.deprecation import moved_names

__getattr__ = moved_names(__name__, ("monai_imbalance.apps.bundle.dataset", "monai_imbalance.transforms.io"))
