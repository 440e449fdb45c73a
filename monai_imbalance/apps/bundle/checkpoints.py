"""Resumable training for the bundles: find the latest checkpoint and attach a loader to the trainer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["attach_resume", "latest_checkpoint"]

logger = logging.getLogger(__name__)


def latest_checkpoint(ckpt_dir: str | Path, pattern: str = "checkpoint*.pt") -> Path | None:
    """Return the most recently written checkpoint in ``ckpt_dir`` matching ``pattern`` (``None`` if there is none).

    Example:
        >>> import tempfile
        >>> latest_checkpoint(tempfile.mkdtemp()) is None
        True
    """
    files = sorted(Path(ckpt_dir).glob(pattern), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def attach_resume(
    trainer: Any, ckpt_dir: str | Path, load_dict: Mapping[str, Any], resume: bool = True, map_location: Any = None
) -> Path | None:
    """Attach a ``CheckpointLoader`` that restores ``load_dict`` from the latest checkpoint when ``resume`` is set.

    Args:
        trainer: the ignite engine (e.g. MONAI's ``SupervisedTrainer``).
        ckpt_dir: folder holding the checkpoints written by ``CheckpointSaver``.
        load_dict: objects to restore, by name (network, optimizer, lr_scheduler, trainer).
        resume: do nothing when False.
        map_location: device to load the tensors to.

    Returns:
        The checkpoint that will be loaded, or ``None`` when ``resume`` is False.

    Raises:
        FileNotFoundError: when ``resume`` is set and ``ckpt_dir`` holds no checkpoint.
    """
    if not resume:
        return None
    path = latest_checkpoint(ckpt_dir)
    if path is None:
        raise FileNotFoundError(
            f"`resume` is set but {ckpt_dir} holds no checkpoint*.pt: resume continues a run that was trained "
            "before, named with `--run_name <name>` (a folder of runs/); train once without `--resume true` first."
        )
    from monai.handlers import CheckpointLoader

    logger.info("resuming from %s", path)
    CheckpointLoader(load_path=str(path), load_dict=dict(load_dict), map_location=map_location).attach(trainer)
    return path
