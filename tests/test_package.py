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


def test_every_submodule_public_name_is_reexported_or_internal():
    # a public class or function added to a subpackage must be re-exported at the top (or listed here)
    internal = {"two_class_probabilities", "resolve_spacing", "all_gather_list", "equivalent_diameter"}
    for module, names in mi._EXPORTS.items():
        sub = importlib.import_module(f"monai_imbalance.{module}")
        missing = (
            {n for n in sub.__all__ if not n.isupper() and (n[0].isupper() or callable(getattr(sub, n)))}
            - set(names)
            - internal
        )
        assert not missing, f"monai_imbalance.{module} exports {sorted(missing)} not re-exported at the top level"


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = mi.no_such_name


def test_import_is_lazy():
    code = "import sys, monai_imbalance; print('torch' in sys.modules, 'monai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
