"""Helpers the bundles call from their configs: dataset preparation, checked datalists, run folders, resume, schema.

Every run writes into ``runs/<run_name>/{models,eval,logs}`` of the bundle root (:mod:`.runs`); a multi-process run
initialises its process group through :func:`init_distributed`, which destroys it at exit even when the run fails.

The bundles' loading transforms (``CheckedLoadImaged``, ``CheckFinited``, ``CheckImageLabelShaped``,
``SelectLesionLabelsd``) are in :mod:`monai_imbalance.transforms`, their report handlers in
:mod:`monai_imbalance.handlers`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monai_imbalance.apps.bundle.checkpoints import attach_resume, latest_checkpoint
    from monai_imbalance.apps.bundle.dataset import load_checked_datalist, prepare_dataset
    from monai_imbalance.apps.bundle.distributed import init_distributed
    from monai_imbalance.apps.bundle.runs import find_model, log_outputs, new_run_name, trained_runs
    from monai_imbalance.apps.bundle.schema import SCHEMA_PATH, verify_metadata_offline

# resolved on first use (PEP 562), so that `python -m monai_imbalance.apps.bundle list` does not import MONAI
_HOMES = {
    "attach_resume": "checkpoints",
    "latest_checkpoint": "checkpoints",
    "load_checked_datalist": "dataset",
    "prepare_dataset": "dataset",
    "init_distributed": "distributed",
    "find_model": "runs",
    "log_outputs": "runs",
    "new_run_name": "runs",
    "trained_runs": "runs",
    "SCHEMA_PATH": "schema",
    "verify_metadata_offline": "schema",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__all__ = [
    "SCHEMA_PATH",
    "attach_resume",
    "find_model",
    "init_distributed",
    "latest_checkpoint",
    "load_checked_datalist",
    "log_outputs",
    "new_run_name",
    "prepare_dataset",
    "trained_runs",
    "verify_metadata_offline",
]
