r"""Write a shipped MONAI bundle to a folder of its own, ready for ``python -m monai.bundle run``.

The bundles live in the repository's ``bundles/`` folder; a built wheel carries a copy under
``monai_imbalance/apps/packaged/bundles/`` (``setup.py``). Both are found through
:func:`monai_imbalance.apps.resources.resource_root`, so the same command works in a checkout and from an installed
package::

    python -m monai_imbalance.apps.bundle list
    python -m monai_imbalance.apps.bundle export lesion_inverse_weighting ./lesion_bundle
    python -m monai.bundle run --bundle_root ./lesion_bundle --config_file ./lesion_bundle/configs/train.yaml \
        --meta_file ./lesion_bundle/configs/metadata.json --logging_file ./lesion_bundle/configs/logging.conf

What a run wrote into a checkout's bundle folder (generated data, checkpoints, reports: :data:`RUN_OUTPUTS`) and
binary artefacts (:data:`SKIPPED_FILES`) are not exported, as they are not shipped in the wheel.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from monai_imbalance.apps.resources import resource_root

__all__ = ["RUN_OUTPUTS", "SKIPPED_FILES", "bundle_names", "bundle_path", "describe_bundle", "export_bundle"]

#: folders a run creates at the top of a bundle; neither exported nor shipped (``setup.py`` keeps the same list)
RUN_OUTPUTS: frozenset[str] = frozenset({"data", "models", "eval", "runs", "output", "outputs", "logs"})
#: file patterns neither exported nor shipped (caches, checkpoints, TorchScript / ONNX models, images)
SKIPPED_FILES: tuple[str, ...] = (
    "__pycache__", "*.py[cod]", ".ipynb_checkpoints", ".DS_Store", "*.pt", "*.ts", "*.onnx", "*.nii", "*.nii.gz",
)  # fmt: skip


def _bundles_dir() -> Path:
    return resource_root() / "bundles"


def bundle_names() -> list[str]:
    """Names of the shipped bundles: the folders of ``bundles/`` holding a ``configs/metadata.json``.

    Returns:
        The names, sorted.

    Example:
        >>> bundle_names()
        ['lesion_inverse_weighting', 'multiclass_region_wise']
    """
    root = _bundles_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "configs" / "metadata.json").is_file())


def bundle_path(name: str) -> Path:
    """The folder of the shipped bundle ``name`` (in the checkout or in the installed package).

    Args:
        name: a name of :func:`bundle_names`.

    Returns:
        The bundle's root folder.

    Raises:
        TypeError: when ``name`` is not a string.
        KeyError: when no bundle has this name (the message lists the names).

    Example:
        >>> bundle_path("multiclass_region_wise").joinpath("configs", "train.yaml").is_file()
        True
        >>> bundle_path("lesion")
        Traceback (most recent call last):
            ...
        KeyError: "no bundle named 'lesion'; the shipped bundles: ['lesion_inverse_weighting', ...]."
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a bundle name (str), got {type(name).__name__}.")
    names = bundle_names()
    if name not in names:
        raise KeyError(f"no bundle named {name!r}; the shipped bundles: {names}.")
    return _bundles_dir() / name


def _ignore(folder: str, names: list[str], top: Path) -> set[str]:
    skipped = set(shutil.ignore_patterns(*SKIPPED_FILES)(folder, names))
    if Path(folder) == top:
        skipped |= RUN_OUTPUTS & set(names)
    return skipped


def export_bundle(name: str, output_dir: str | Path) -> Path:
    """Copy the bundle ``name`` to ``output_dir`` (created), never over existing files.

    The copy holds the bundle's ``configs/``, ``docs/``, licence and any other shipped file, without run outputs
    (:data:`RUN_OUTPUTS`) or binary artefacts (:data:`SKIPPED_FILES`); ``--bundle_root <output_dir>`` runs it.

    Args:
        name: a name of :func:`bundle_names`.
        output_dir: the new bundle root; it must not exist or be an empty folder.

    Returns:
        ``output_dir`` as an absolute :class:`~pathlib.Path`.

    Raises:
        TypeError: when ``name`` is not a string.
        KeyError: when no bundle has this name.
        FileExistsError: when ``output_dir`` is a file or a folder that is not empty.

    Example:
        >>> import tempfile
        >>> out = export_bundle("multiclass_region_wise", Path(tempfile.mkdtemp()) / "mc")
        >>> sorted(p.name for p in out.iterdir())
        ['LICENSE', 'configs', 'docs']
        >>> export_bundle("multiclass_region_wise", out)
        Traceback (most recent call last):
            ...
        FileExistsError: ... is not empty: the bundle is exported into a new or empty folder only.
    """
    source = bundle_path(name)
    out = Path(output_dir).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"`output_dir` {str(out)!r} is a file: the bundle is exported into a folder.")
    if out.is_dir() and any(out.iterdir()):
        raise FileExistsError(
            f"`output_dir` {str(out)!r} is not empty: the bundle is exported into a new or empty folder only."
        )
    shutil.copytree(source, out, ignore=lambda folder, names: _ignore(folder, names, source), dirs_exist_ok=True)
    return out


def describe_bundle(name: str) -> str:
    """One line on the bundle ``name``: its name, version and task from ``configs/metadata.json``.

    Args:
        name: a name of :func:`bundle_names`.

    Returns:
        ``"<name> <version>: <task>"``.

    Raises:
        KeyError: when no bundle has this name.
    """
    meta = json.loads((bundle_path(name) / "configs" / "metadata.json").read_text())
    return f"{name} {meta.get('version', '?')}: {meta.get('task', meta.get('name', ''))}"
