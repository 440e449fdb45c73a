"""Helpers the bundles call from their configs: dataset preparation, checked datalists, checkpoint resume, schema.

The bundles' loading transforms (``CheckedLoadImaged``, ``CheckImageLabelShaped``, ``SelectLesionLabelsd``) are in
:mod:`monai_imbalance.transforms`, their report handlers in :mod:`monai_imbalance.handlers`.
"""

from monai_imbalance.apps.bundle.checkpoints import attach_resume, latest_checkpoint
from monai_imbalance.apps.bundle.dataset import load_checked_datalist, prepare_dataset
from monai_imbalance.apps.bundle.schema import SCHEMA_PATH, verify_metadata_offline

__all__ = [
    "SCHEMA_PATH",
    "attach_resume",
    "latest_checkpoint",
    "load_checked_datalist",
    "prepare_dataset",
    "verify_metadata_offline",
]
