"""The flat top-level API: every re-exported name is the submodule's object, resolved lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import monai_imbalance as mi


@pytest.mark.parametrize("name", sorted(mi._WHERE))
def test_flat_name_is_submodule_object(name):
    module = importlib.import_module(f"monai_imbalance.{mi._WHERE[name]}")
    assert getattr(mi, name) is getattr(module, name)
    assert name in module.__all__


@pytest.mark.parametrize("module", mi._SUBMODULES)
def test_submodules_resolve(module):
    assert getattr(mi, module) is importlib.import_module(f"monai_imbalance.{module}")


def test_export_table_is_each_subpackage_all():
    # generated from the subpackages' __all__ (parsed without importing): nothing to keep in sync by hand
    assert set(mi._EXPORTS) == set(mi._FLAT)
    for module, names in mi._EXPORTS.items():
        assert names == tuple(importlib.import_module(f"monai_imbalance.{module}").__all__), module
    assert "LesionReportHandler" in mi._EXPORTS["handlers"]
    assert "CheckedLoadImaged" in mi._EXPORTS["transforms"]


def test_no_name_is_exported_by_two_subpackages():
    seen: dict[str, str] = {}
    for module, names in mi._EXPORTS.items():
        for name in names:
            assert name not in seen, f"{name} is exported by monai_imbalance.{seen[name]} and monai_imbalance.{module}"
            seen[name] = module


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = mi.no_such_name


def test_import_is_lazy():
    code = "import sys, monai_imbalance; print('torch' in sys.modules, 'monai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
