"""Deprecated command: ``python -m monai_imbalance.experiments`` runs ``python -m monai_imbalance.apps.experiments``."""

from monai_imbalance.utils.deprecation import run_moved

if __name__ == "__main__":
    run_moved("monai_imbalance.experiments", "monai_imbalance.apps.experiments")
