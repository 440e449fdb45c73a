"""Build hook: the repository's top-level ``bundles/`` and ``configs/`` ship inside the wheel.

The two folders stay the one copy in the repository. ``build_py`` copies them into the built package at
``monai_imbalance/apps/packaged/`` (:data:`monai_imbalance.apps.resources.PACKAGED_ROOT`), where an installed
package finds them (``python -m monai_imbalance.apps.bundle export <name> <dir>``). What a run writes into a
checkout's bundle folder (data, models, reports) is left out, as ``.gitignore`` leaves it out of git. An editable
install copies nothing: the package then reads the checkout itself. Everything else is declared in ``setup.cfg``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RESOURCES = ("bundles", "configs")
PACKAGED = Path("monai_imbalance", "apps", "packaged")
#: folders a run creates at the top of a bundle (generated data, checkpoints, reports, run folders)
RUN_OUTPUTS = frozenset({"data", "models", "eval", "runs", "output", "outputs", "logs"})
_SKIP = shutil.ignore_patterns(
    "__pycache__", "*.py[cod]", ".ipynb_checkpoints", ".DS_Store", "*.pt", "*.ts", "*.onnx", "*.nii", "*.nii.gz"
)


def _ignore(folder: str, names: list[str]) -> set[str]:
    skipped = set(_SKIP(folder, names))
    if Path(folder).parent.name == "bundles":  # the top of one bundle
        skipped |= RUN_OUTPUTS & set(names)
    return skipped


class BuildPyWithResources(build_py):
    """``build_py`` that also copies ``bundles/`` and ``configs/`` to ``monai_imbalance/apps/packaged/``."""

    def run(self) -> None:
        """Build the package, then copy the resources next to it (not in editable mode)."""
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in RESOURCES:
            source = HERE / name
            if not source.is_dir():
                raise FileNotFoundError(f"cannot ship {name}/: {source} is not a folder (is MANIFEST.in complete?).")
            target = Path(self.build_lib) / PACKAGED / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=_ignore)


setup(cmdclass={"build_py": BuildPyWithResources})
