"""Helpers shared by the bundle tests: in-process bundle runs, torchrun, file listings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: spatial shape of the tiny lesion bundle's data (the ``lesion_data`` fixture of tests/conftest.py)
LESION_DATA_SHAPE = [24, 24, 16]
#: overrides that make the lesion bundle train, validate and evaluate in seconds on one thread
LESION_TINY = {
    "num_training_cases": 2,
    "num_validation_cases": 2,
    "data_shape": LESION_DATA_SHAPE,
    "patch_size": [16, 16, 16],
    "num_samples": 2,
    "num_epochs": 1,
    "val_interval": 1,
    "val_sw_batch_size": 4,
}
#: overrides that make the multi-class bundle train, validate and evaluate in seconds on one thread
MULTICLASS_TINY = {
    "num_training_cases": 2,
    "num_validation_cases": 2,
    "data_shape": [32, 32, 12],
    "patch_size": [32, 32],
    "num_samples": 2,
    "num_epochs": 1,
    "val_interval": 1,
    "val_sw_batch_size": 4,
}


def workflow(configs: Path, config_file: str | Sequence[str], workflow_type: str, **override: Any):
    """A ``ConfigWorkflow`` of the bundle whose ``configs`` folder is given (its metadata and logging.conf)."""
    from monai.bundle import ConfigWorkflow

    return ConfigWorkflow(
        config_file=config_file,
        meta_file=str(configs / "metadata.json"),
        logging_file=str(configs / "logging.conf"),
        workflow_type=workflow_type,
        **override,
    )


def run(configs: Path, config_file: str | Sequence[str], workflow_type: str = "train", **override: Any):
    """Initialise, run and finalise a bundle config in this process (``import monai`` is paid once)."""
    wf = workflow(configs, config_file, workflow_type, **override)
    wf.initialize()
    wf.run()
    wf.finalize()
    return wf


def cli_overrides(override: Mapping[str, Any]) -> list[str]:
    """``--key value`` pairs for ``python -m monai.bundle run`` (values as JSON without spaces)."""
    out: list[str] = []
    for k, v in override.items():
        out += [f"--{k}", json.dumps(v).replace(" ", "")]
    return out


def torchrun_train(configs: Path, bundle_root: Path, dataset_dir: Path, override: Mapping[str, Any], nproc: int = 2):
    """Run ``train.yaml`` + ``multi_gpu_train.yaml`` with ``torchrun --nproc_per_node`` on CPU (gloo)."""
    files = [str(configs / "train.yaml"), str(configs / "multi_gpu_train.yaml")]
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", f"--nproc_per_node={nproc}",
        "-m", "monai.bundle", "run", "--config_file", json.dumps(files), "--meta_file", str(configs / "metadata.json"),
        "--bundle_root", str(bundle_root), "--dataset_dir", str(dataset_dir), *cli_overrides(override),
    ]  # fmt: skip
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)


def listing(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``roots``: path -> (size, mtime in ns)."""
    out = {}
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = os.path.join(dirpath, name)
                st = os.stat(p)
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Files added, removed or modified between two :func:`listing` calls."""
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def error_chain(exc: BaseException) -> str:
    """The messages of an exception and of every exception it was raised from (what the traceback shows)."""
    parts = []
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}")
        e = e.__cause__ or e.__context__
    return "\n".join(parts)
