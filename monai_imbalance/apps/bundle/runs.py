"""One folder per run: ``runs/<run_name>/{models,eval,logs}`` under the bundle root, so runs never overwrite each other.

``train.yaml`` names a new run after the date and time it starts (:func:`new_run_name`, the same on every DDP
rank); ``evaluate.yaml`` and ``inference.yaml`` use the model of a named run, by default the latest trained one
(:func:`find_model`); every workflow ends with one log line naming what it wrote (:func:`log_outputs`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

__all__ = ["find_model", "log_outputs", "new_run_name", "trained_runs"]

logger = logging.getLogger("monai_imbalance.bundle")

MODEL_FILE = "model.pt"


def new_run_name(runs_dir: str | Path) -> str:
    """A new run name: the local date and time (``20261202-031500``), suffixed ``-2``, ``-3`` ... if taken.

    Under ``torch.distributed`` rank 0 chooses the name and every rank receives it, so all ranks of a
    ``torchrun`` job write into one run folder.

    Args:
        runs_dir: the folder holding the runs (``<bundle_root>/runs``); it need not exist.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> name = new_run_name(d)
        >>> (d / name).mkdir()
        >>> len(name), new_run_name(d) == name + "-2"
        (15, True)
    """
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized()
    name = None
    if not distributed or dist.get_rank() == 0:
        base = time.strftime("%Y%m%d-%H%M%S")
        name, n = base, 1
        while (Path(runs_dir) / name).exists():
            n += 1
            name = f"{base}-{n}"
    if distributed:
        box = [name]
        dist.broadcast_object_list(box, src=0)
        name = box[0]
    return str(name)


def trained_runs(runs_dir: str | Path) -> list[str]:
    """Names of the runs under ``runs_dir`` that hold ``models/model.pt``, oldest model first.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> (d / "a" / "models").mkdir(parents=True)
        >>> _ = (d / "a" / "models" / "model.pt").write_bytes(b"")
        >>> (d / "untrained").mkdir()
        >>> trained_runs(d)
        ['a']
    """
    root = Path(runs_dir)
    models = [p for p in root.glob(f"*/models/{MODEL_FILE}") if p.is_file()] if root.is_dir() else []
    return [p.parents[1].name for p in sorted(models, key=lambda p: (p.stat().st_mtime_ns, p.parents[1].name))]


def find_model(runs_dir: str | Path, run_name: str | None = None, published: str | Path | None = None) -> str:
    """The ``model.pt`` to evaluate or infer with: of the named run, else of the latest trained run.

    Without any trained run, ``published`` (the bundle's ``models/model.pt``, where a model downloaded with the
    bundle's ``large_files.yml`` lies) is used when it exists.

    Args:
        runs_dir: the folder holding the runs (``<bundle_root>/runs``).
        run_name: a run under ``runs_dir``; ``None`` for the latest trained run (the newest ``model.pt``).
        published: the fallback model file; ``None`` for none.

    Returns:
        The path of the model file, as a string.

    Raises:
        FileNotFoundError: the named run has no model, or there is no trained run and no published model; the
            message lists the trained runs and what to pass.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for name in ("20261201-090000", "bce"):
        ...     (d / name / "models").mkdir(parents=True)
        ...     _ = (d / name / "models" / "model.pt").write_bytes(b"")
        >>> pathlib.Path(find_model(d)).parents[1].name  # the newest model
        'bce'
        >>> pathlib.Path(find_model(d, "20261201-090000")).parents[1].name
        '20261201-090000'
    """
    runs = trained_runs(runs_dir)
    if run_name is not None and run_name != "":
        model = Path(runs_dir) / str(run_name) / "models" / MODEL_FILE
        if not model.is_file():
            raise FileNotFoundError(
                f"run {run_name!r} has no trained model ({model} not found); trained runs in {runs_dir}: {runs}."
            )
        return str(model)
    if runs:
        return str(Path(runs_dir) / runs[-1] / "models" / MODEL_FILE)
    if published is not None and Path(published).is_file():
        return str(published)
    where = f" nor a model at {published}" if published is not None else ""
    raise FileNotFoundError(
        f"no trained run in {runs_dir}{where}: train first (configs/train.yaml), or pass --run_name <name> of a "
        "run under runs/."
    )


def log_outputs(workflow: str, **paths: str | Path) -> None:
    """Log one line naming where a workflow wrote its outputs, e.g. ``training wrote: model runs/x/models/...``.

    Example:
        >>> log_outputs("evaluation", report="runs/a/eval/lesion_report.md")  # logged by "monai_imbalance.bundle"
    """
    written = ", ".join(f"{what.replace('_', ' ')} {Path(p).resolve()}" for what, p in paths.items())
    logger.info(f"{workflow} wrote: {written}")
