"""``monai_imbalance.apps.bundle`` resolves its helpers on first use: the bundle listing does not pay for MONAI."""

from __future__ import annotations

import subprocess
import sys

import pytest

import monai_imbalance.apps.bundle as bundle_helpers


def test_package_import_and_list_do_not_import_monai():
    code = (
        "import sys, monai_imbalance.apps.bundle, monai_imbalance.apps.bundle.export as e; "
        "names = e.bundle_names(); assert 'lesion_inverse_weighting' in names, names; "
        "assert 'monai' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", bundle_helpers.__all__)
def test_every_name_resolves_to_its_module(name):
    value = getattr(bundle_helpers, name)
    assert name in dir(bundle_helpers)
    if callable(value):
        assert value.__module__.startswith("monai_imbalance.apps.bundle.")


def test_unknown_name():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bundle_helpers.nope  # noqa: B018
