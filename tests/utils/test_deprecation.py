"""Old import paths: each warns, names the new path and returns the very object of the new home."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import warnings

import pytest

from monai_imbalance.utils import moved_names

_BUNDLE = ("prepare_dataset", "load_checked_datalist", "attach_resume", "latest_checkpoint", "SCHEMA_PATH")
_LOADING = ("CheckedLoadImaged", "CheckImageLabelShaped", "SelectLesionLabelsd")
_EXPERIMENTS = importlib.import_module("monai_imbalance.apps.experiments").__all__

MOVED = [
    *[("monai_imbalance.bundle", n, "monai_imbalance.apps.bundle") for n in (*_BUNDLE, "verify_metadata_offline")],
    *[("monai_imbalance.bundle", n, "monai_imbalance.transforms") for n in _LOADING],
    *[("monai_imbalance.bundle.data", n, "monai_imbalance.apps.bundle.dataset") for n in _BUNDLE[:2]],
    *[("monai_imbalance.bundle.data", n, "monai_imbalance.transforms.io") for n in _LOADING],
    *[("monai_imbalance.bundle.checkpoints", n, "monai_imbalance.apps.bundle.checkpoints") for n in _BUNDLE[2:4]],
    ("monai_imbalance.bundle.schema", "SCHEMA_PATH", "monai_imbalance.apps.bundle.schema"),
    ("monai_imbalance.bundle.schema", "verify_metadata_offline", "monai_imbalance.apps.bundle.schema"),
    ("monai_imbalance.bundle.multiclass_report", "MulticlassReportHandler", "monai_imbalance.handlers.multiclass"),
    ("monai_imbalance.bundle.multiclass_report", "write_multiclass_report", "monai_imbalance.reporting.multiclass"),
    *[("monai_imbalance.experiments", n, "monai_imbalance.apps.experiments") for n in _EXPERIMENTS],
    ("monai_imbalance.demo", "main", "monai_imbalance.apps.demo"),
    ("monai_imbalance.demo", "run_demo", "monai_imbalance.apps.demo"),
    ("monai_imbalance.reporting.handler", "LesionReportHandler", "monai_imbalance.handlers.report"),
    ("monai_imbalance.reporting.handler", "gather_to_rank0", "monai_imbalance.handlers.report"),
    ("monai_imbalance.reporting.gradients", "GradientSignHandler", "monai_imbalance.handlers.gradients"),
    ("monai_imbalance.reporting", "GradientSignHandler", "monai_imbalance.handlers"),
    ("monai_imbalance.reporting", "LesionReportHandler", "monai_imbalance.handlers"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{o}.{n}" for o, n, _ in MOVED])
def test_old_path_warns_and_is_the_new_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"^{old}\.{name} is deprecated: use {new}\.{name}$"):
        found = getattr(module, name)
    assert found is getattr(importlib.import_module(new), name)


def test_config_target_of_an_old_path_resolves():
    # users' downloaded bundle configs name e.g. monai_imbalance.bundle.data.CheckedLoadImaged
    from monai.bundle import ConfigParser

    from monai_imbalance.transforms import CheckedLoadImaged

    parser = ConfigParser({"t": {"_target_": "monai_imbalance.bundle.data.CheckedLoadImaged", "keys": "image"}})
    with pytest.warns(DeprecationWarning, match="use monai_imbalance.transforms.io.CheckedLoadImaged"):
        loader = parser.get_parsed_content("t")
    assert type(loader) is CheckedLoadImaged


@pytest.mark.parametrize("old", sorted({o for o, _, _ in MOVED}))
def test_scanning_an_old_module_does_not_warn(old):
    # MONAI's ComponentLocator runs inspect.getmembers over every loaded monai* module
    module = importlib.import_module(old)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inspect.getmembers(module)
        assert not hasattr(module, "__wrapped__")


def test_unknown_name_raises():
    getattr_ = moved_names("old.place", {"known": "monai_imbalance.utils"})
    with pytest.raises(AttributeError, match=r"module 'old\.place' has no attribute 'unknown'"):
        getattr_("unknown")
    with pytest.raises(AttributeError, match="'known'"):
        getattr_("known")  # listed, but not in its home
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = importlib.import_module("monai_imbalance.bundle").nothing_here


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("monai_imbalance.experiments", "monai_imbalance.apps.experiments"),
        ("monai_imbalance.demo", "monai_imbalance.apps.demo"),
    ],
    ids=["experiments", "demo"],
)
def test_old_command_still_runs(old, new):
    res = subprocess.run(
        [sys.executable, "-W", "always::DeprecationWarning", "-m", old, "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert f"python -m {old} is deprecated: use python -m {new}" in res.stderr
    assert f"usage: python -m {new}" in res.stdout
