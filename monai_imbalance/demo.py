"""Deprecated import path of :mod:`monai_imbalance.apps.demo` (``python -m monai_imbalance.apps.demo``)."""

from __future__ import annotations

from monai_imbalance.utils.deprecation import moved_names, run_moved

__getattr__ = moved_names(__name__, "monai_imbalance.apps.demo")

if __name__ == "__main__":
    run_moved("monai_imbalance.demo", "monai_imbalance.apps.demo")
