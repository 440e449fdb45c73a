"""Helpers the bundles call from their configs: dataset preparation, checked datalists, run folders, resume, schema.

Every run writes into ``runs/<run_name>/{models,eval,logs}`` of the bundle root (:mod:`.runs`).

The bundles' loading transforms (``CheckedLoadImaged``, ``CheckImageLabelShaped``, ``SelectLesionLabelsd``) are in
:mod:`monai_imbalance.transforms`, their report handlers in :mod:`monai_imbalance.handlers`.
"""

from monai_imbalance.apps.bundle.checkpoints import attach_resume, latest_checkpoint
from monai_imbalance.apps.bundle.dataset import load_checked_datalist, prepare_dataset
from monai_imbalance.apps.bundle.runs import find_model, log_outputs, new_run_name, trained_runs
from monai_imbalance.apps.bundle.schema import SCHEMA_PATH, verify_metadata_offline

__all__ = [
    "SCHEMA_PATH",
    "attach_resume",
    "find_model",
    "latest_checkpoint",
    "load_checked_datalist",
    "log_outputs",
    "new_run_name",
    "prepare_dataset",
    "trained_runs",
    "verify_metadata_offline",
]
