"""Lesion-wise evaluation of predictions made by any model (nnU-Net, another bundle, a colleague's folder).

``python -m monai_imbalance.evaluate --pred <folder or glob> --label <folder> --output_dir <folder>`` pairs the
files by case name (:mod:`~monai_imbalance.evaluate.pairing`), reads NIfTI, NRRD and MetaImage through MONAI's
readers, and writes the report the bundles write (:mod:`~monai_imbalance.evaluate.folder`). The command line
is :mod:`~monai_imbalance.evaluate.cli`. Names are resolved lazily, so ``--help`` does not pay for
``import monai``.

Example:
    >>> from monai_imbalance.evaluate import PREDICTION_SUFFIXES, evaluate_folder
    >>> PREDICTION_SUFFIXES, callable(evaluate_folder)
    (('_prob', '_pred', '_seg'), True)
"""

from __future__ import annotations

import importlib
from typing import Any

from monai_imbalance.evaluate.pairing import IMAGE_EXTENSIONS, PREDICTION_SUFFIXES, pair_files

__all__ = ["IMAGE_EXTENSIONS", "PREDICTION_SUFFIXES", "evaluate_folder", "pair_files"]


def __getattr__(name: str) -> Any:
    """``evaluate_folder`` on first access (it imports MONAI)."""
    if name == "evaluate_folder":
        return importlib.import_module(f"{__name__}.folder").evaluate_folder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
