"""Dataset preparation and checked datalists for the bundles: the built-in data on demand, every listed file checked."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from monai.data import load_decathlon_datalist

from monai_imbalance.data.decathlon import DATASET_JSON, make_dataset
from monai_imbalance.utils.validation import check_int, check_path

__all__ = ["load_checked_datalist", "prepare_dataset"]

logger = logging.getLogger(__name__)


def _shape(shape: Any) -> tuple[int, int, int]:
    if isinstance(shape, np.ndarray):
        shape = shape.tolist()
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 3:
        raise TypeError(f"`shape` must be three sizes (x, y, z) of generated cases, got {shape!r}.")
    x, y, z = (check_int(v, "shape") for v in shape)  # the sizes are checked by the generator (at least 8)
    return x, y, z


def prepare_dataset(
    dataset_dir: str | Path,
    preset: str = "metastases",
    num_training: int = 12,
    num_validation: int = 4,
    shape: Sequence[int] = (64, 64, 48),
    seed: int = 0,
    num_test: int = 4,
) -> str:
    """Return the ``dataset.json`` of ``dataset_dir``, generating the built-in synthetic data there if it holds none.

    A folder that already has a ``dataset.json`` (the built-in data or a real Decathlon dataset) is used as
    it is; nothing is generated or overwritten, and an empty or broken list is reported by
    :func:`load_checked_datalist`. Data are generated only into a missing or empty folder. Under
    ``torch.distributed`` rank 0 generates while the other ranks wait (a barrier), so every rank of a
    ``torchrun`` job reads complete files. Generated data hold three disjoint lists: ``training``,
    ``validation`` (chooses the model) and ``test`` (with labels, for the report); the training and
    validation cases are the same whatever ``num_test`` is. Generation writes into a hidden sibling folder that
    is renamed to ``dataset_dir`` once complete, so processes preparing the same folder at the same time (the
    runs of an experiment grid split with ``--only``) never read, or refuse, a half-written dataset: the first
    complete one is kept and the others' copies are removed.

    Args:
        dataset_dir: dataset folder.
        preset: synthetic preset used when data must be generated (a name of
            :data:`monai_imbalance.data.PRESET_NAMES`, e.g. the CT-like ``"ct_metastases"``).
        num_training: training cases to generate.
        num_validation: held-out cases to generate.
        shape: spatial shape of generated cases.
        seed: seed of generated cases.
        num_test: test cases (with labels) to generate; a folder that already has a ``dataset.json`` keeps
            the ``test`` list it has (possibly none).

    Returns:
        Path of ``dataset.json`` as a string.

    Raises:
        TypeError: when ``dataset_dir`` is not a path, ``shape`` not three ints or a count or ``seed`` not an int.
        ValueError: when a size of ``shape``, a count or ``seed`` is negative (or too small for the generator).
        NotADirectoryError: when ``dataset_dir`` is a file.
        FileExistsError: when ``dataset_dir`` holds files but no ``dataset.json`` (nothing is written there).

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> p = prepare_dataset(d, num_training=1, num_validation=1, shape=(16, 16, 8))
        >>> p == prepare_dataset(d)  # already there: reused
        True
    """
    import torch.distributed as dist

    root = check_path(dataset_dir, "dataset_dir")
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"`dataset_dir` {root} is a file, not a folder of a dataset.")
    sizes = _shape(shape)
    counts = {
        name: check_int(value, name, low=0)
        for name, value in (
            ("num_training", num_training),
            ("num_validation", num_validation),
            ("num_test", num_test),
            ("seed", seed),
        )
    }
    distributed = dist.is_available() and dist.is_initialized()
    if (not distributed or dist.get_rank() == 0) and not (root / DATASET_JSON).is_file():
        if root.is_dir() and any(root.iterdir()):
            raise FileExistsError(
                f"`dataset_dir` {root} holds files but no {DATASET_JSON}: write a Decathlon-style "
                f"{DATASET_JSON} listing its cases, or point `dataset_dir` at a new or empty folder to "
                "generate the built-in data there."
            )
        logger.info("no dataset in %s: generating the built-in %s data", root, preset)
        _generate_atomically(
            root,
            preset=preset,
            num_training=counts["num_training"],
            num_validation=counts["num_validation"],
            shape=sizes,
            seed=counts["seed"],
            progress=False,
            num_test=counts["num_test"],
        )
    if distributed:
        dist.barrier()
    return str(root / DATASET_JSON)


def _generate_atomically(root: Path, **settings: Any) -> None:
    """``make_dataset(root, **settings)`` through a temporary sibling folder renamed to ``root`` when complete."""
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        make_dataset(tmp, **settings)  # dataset.json lists relative paths: valid after the rename
        try:
            if root.is_dir() and not any(root.iterdir()):
                root.rmdir()  # an empty folder made by the user: replaced by the complete one
            tmp.rename(root)
        except OSError:
            if not (root / DATASET_JSON).is_file():  # not another process's complete dataset: a real error
                raise
            logger.info("%s was completed by another process meanwhile: using it", root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def load_checked_datalist(
    dataset_json: str | Path, key: str = "training", limit: int | None = None, require_labels: bool = False
) -> list[dict]:
    """Load a Decathlon datalist and check that it is not empty and that every file exists.

    Every list holds ``{"image": ..., "label": ...}`` dicts; the ``test`` list may instead hold image paths
    only, as the official Decathlon ``dataset.json`` does (read as ``{"image": ...}``). The built-in data
    (:func:`prepare_dataset`) write their ``test`` list with labels. Use ``validation`` to choose the model
    and ``test`` for the final report.

    Args:
        dataset_json: path of ``dataset.json``.
        key: the list to read (``training``, ``validation``, ``test``).
        limit: keep only the first ``limit`` items (``None``: all).
        require_labels: every item must have a ``label`` (set it for a lesion-wise report or any metric).

    Returns:
        The datalist with absolute paths.

    Raises:
        TypeError: when ``dataset_json`` is not a path, ``key`` not a string or ``limit`` not an int.
        FileNotFoundError: when ``dataset.json`` or a listed image or label file is missing (the file is named).
        IsADirectoryError: when a listed image or label path is a folder.
        ValueError: when the file is not UTF-8 JSON holding an object (truncated, binary), the list is missing,
            empty or holds items other than ``{"image": ...}`` dicts of path strings (or, under ``test``, image
            paths), when ``require_labels`` is set and an item has no label, or when ``limit`` is negative; the
            messages name the file and the lists it has.

    Example:
        >>> import tempfile
        >>> p = prepare_dataset(tempfile.mkdtemp(), num_training=2, num_validation=1, shape=(16, 16, 8), num_test=1)
        >>> len(load_checked_datalist(p, "training")), len(load_checked_datalist(p, "validation"))
        (2, 1)
        >>> sorted(load_checked_datalist(p, "test", require_labels=True)[0])
        ['image', 'label']
    """
    path = check_path(dataset_json, "dataset_json")
    if not isinstance(key, str):
        raise TypeError(f"`key` must be the name of a list (a string), got {type(key).__name__}.")
    limit = None if limit is None else check_int(limit, "limit", low=0)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"dataset file {path} is not valid JSON: {e}") from e
    except UnicodeDecodeError as e:
        raise ValueError(f"dataset file {path} is not a UTF-8 JSON text (binary or corrupted): {e}") from e
    if not isinstance(info, dict):
        raise ValueError(f"dataset file {path} must hold a JSON object, got {type(info).__name__}.")
    lists = [k for k, v in info.items() if isinstance(v, list) and v and all(isinstance(i, (dict, str)) for i in v)]
    if not info.get(key) or not isinstance(info[key], list):
        hint = (
            " The built-in data write a `test` list when generated with `num_test` > 0 "
            "(prepare_dataset / make_dataset); a folder with a dataset.json is never regenerated: generate "
            'into a new folder, or add a `test` list of {"image", "label"} entries.'
            if key == "test"
            else ""
        )
        raise ValueError(f"dataset {path} has no `{key}` cases (non-empty lists it has: {lists}).{hint}")
    raw = info[key]
    if key == "test" and all(isinstance(item, str) for item in raw):
        raw = [{"image": item} for item in raw]  # the official Decathlon form: image paths only
    for n, item in enumerate(raw):
        if not isinstance(item, dict) or "image" not in item:
            allowed = 'an {"image": ..., "label": ...} dict' + (
                " or an image path (one form for the whole list)" if key == "test" else ""
            )
            raise ValueError(f"dataset {path}: item {n} of `{key}` must be {allowed}, got {item!r}.")
        for field in ("image", "label"):
            if field in item and not isinstance(item[field], str):
                raise ValueError(
                    f"dataset {path}: item {n} of `{key}` must give `{field}` as a file path (a string), got "
                    f"{item[field]!r}."
                )
        if require_labels and "label" not in item:
            raise ValueError(
                f"dataset {path}: item {n} of `{key}` ({item['image']}) has no label, and labels are required "
                "(a lesion-wise report compares predictions with labels). The official Decathlon `test` list "
                "holds images only: report on `validation`, or list `test` cases as "
                '{"image": ..., "label": ...}.'
            )
    # MONAI resolves the paths (and reads a `test` list of image paths as {"image": ...})
    items = load_decathlon_datalist(str(path), is_segmentation=True, data_list_key=key, base_dir=str(path.parent))
    for item in items:
        for field in ("image", "label"):
            if field in item and Path(item[field]).is_dir():
                raise IsADirectoryError(
                    f"{field} file listed in {path} under `{key}` is a folder, not a file: {item[field]}"
                )
            if field in item and not Path(item[field]).is_file():
                raise FileNotFoundError(f"{field} file listed in {path} under `{key}` not found: {item[field]}")
    return items[:limit] if limit is not None else items
