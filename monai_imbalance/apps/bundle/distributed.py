"""Process-group set-up for the bundles' ``multi_gpu_train.yaml``: initialised once, always destroyed at exit.

A failing multi-process run (a file that cannot be read, an error in a handler) leaves MONAI's ``finalize``
steps unrun, so the process group the config created would be alive at interpreter exit; under NCCL that can end
the process with "terminate called without an active exception" (exit status -6) instead of the error's own
exit status. :func:`init_distributed` registers the clean-up at exit, so the traceback and exit status 1 are what a
failing run leaves behind, with any backend.
"""

from __future__ import annotations

import atexit
from typing import Any

import torch
import torch.distributed as dist

__all__ = ["init_distributed"]


def _destroy_at_exit() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def init_distributed(backend: str | None = None, **kwargs: Any) -> str:
    """Initialise the default process group from the ``torchrun`` environment unless one exists; return its backend.

    The group this function creates is destroyed at interpreter exit (``atexit``) when nothing destroyed it
    before, whether the run ended normally or with an error; a group created by the caller is left alone.

    Args:
        backend: ``"nccl"``, ``"gloo"``, ... or ``None``: NCCL where CUDA is available, gloo otherwise.
        kwargs: passed to :func:`torch.distributed.init_process_group` (``init_method``, ``rank``,
            ``world_size``, ``timeout``); without them the ``torchrun`` environment variables are read.

    Returns:
        The backend of the default process group.

    Raises:
        RuntimeError: ``torch.distributed`` is not available in this build of PyTorch.
        TypeError: ``backend`` is neither ``None`` nor a string.

    Example:
        >>> import os, tempfile
        >>> rendezvous = "file://" + os.path.join(tempfile.mkdtemp(), "rendezvous")
        >>> init_distributed("gloo", init_method=rendezvous, rank=0, world_size=1)
        'gloo'
        >>> dist.destroy_process_group()
    """
    if not dist.is_available():
        raise RuntimeError("torch.distributed is not available in this PyTorch build: multi-process training needs it.")
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"`backend` must be None or a backend name such as 'nccl' or 'gloo', got {backend!r}.")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if torch.cuda.is_available() else "gloo"), **kwargs)
        atexit.register(_destroy_at_exit)
    return str(dist.get_backend())
