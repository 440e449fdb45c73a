"""Helpers the bundles call from their configs: data preparation, checked datalists, the offline schema."""

from monai_imbalance.bundle.checkpoints import attach_resume, latest_checkpoint
from monai_imbalance.bundle.data import (
    CheckedLoadImaged,
    CheckImageLabelShaped,
    SelectLesionLabelsd,
    load_checked_datalist,
    prepare_dataset,
)
from monai_imbalance.bundle.schema import SCHEMA_PATH, verify_metadata_offline

__all__ = [
    "SCHEMA_PATH",
    "CheckImageLabelShaped",
    "CheckedLoadImaged",
    "SelectLesionLabelsd",
    "attach_resume",
    "latest_checkpoint",
    "load_checked_datalist",
    "prepare_dataset",
    "verify_metadata_offline",
]
