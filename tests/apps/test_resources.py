"""resolve_resource: the path as given, then the checkout, then the packaged copy; the runner from anywhere."""

from __future__ import annotations

import shutil

import pytest

from monai_imbalance.apps import resources
from monai_imbalance.apps.experiments import load_experiment
from monai_imbalance.apps.resources import resolve_resource


def _packaged_copy(tmp_path, monkeypatch):
    """An installed package's view: no checkout, the repository's configs and bundles under PACKAGED_ROOT."""
    checkout = resources.CHECKOUT_ROOT
    packaged = tmp_path / "site-packages" / "monai_imbalance" / "apps" / "packaged"
    shutil.copytree(checkout / "configs", packaged / "configs")
    for bundle in ("lesion_inverse_weighting", "multiclass_region_wise"):
        shutil.copytree(checkout / "bundles" / bundle / "configs", packaged / "bundles" / bundle / "configs")
    monkeypatch.setattr(resources, "CHECKOUT_ROOT", None)
    monkeypatch.setattr(resources, "PACKAGED_ROOT", packaged)
    return packaged


def test_checkout_root_is_this_repository():
    assert resources.CHECKOUT_ROOT is not None
    assert (resources.CHECKOUT_ROOT / "monai_imbalance" / "apps" / "resources.py").is_file()
    assert resources.resource_root() == resources.CHECKOUT_ROOT


def test_path_as_given_comes_first(tmp_path, monkeypatch):
    own = tmp_path / "configs" / "experiments" / "paper2_multiclass.yaml"
    own.parent.mkdir(parents=True)
    own.write_text("name: mine\n")
    assert resolve_resource(own) == own.resolve()  # absolute
    monkeypatch.chdir(tmp_path)
    assert resolve_resource("configs/experiments/paper2_multiclass.yaml") == own.resolve()  # cwd-relative


def test_checkout_then_packaged_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the checkout: the relative path is found through CHECKOUT_ROOT
    found = resolve_resource("bundles/multiclass_region_wise")
    assert found == resources.CHECKOUT_ROOT / "bundles" / "multiclass_region_wise"
    packaged = _packaged_copy(tmp_path, monkeypatch)
    assert resolve_resource("bundles/multiclass_region_wise") == packaged / "bundles" / "multiclass_region_wise"
    assert resources.resource_root() == packaged


def test_not_found_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"resource 'configs/nothing\.yaml' not found; looked at: ") as exc:
        resolve_resource("configs/nothing.yaml")
    message = str(exc.value)
    assert str(tmp_path / "configs" / "nothing.yaml") in message
    assert str(resources.CHECKOUT_ROOT / "configs" / "nothing.yaml") in message
    assert str(resources.PACKAGED_ROOT / "configs" / "nothing.yaml") in message
    with pytest.raises(FileNotFoundError, match=r"looked at: /no/such/file\.yaml\.$"):
        resolve_resource("/no/such/file.yaml")  # an absolute path is looked up as given only
    with pytest.raises(TypeError, match=r"`path` must be a string or a pathlib\.Path, got int"):
        resolve_resource(3)


def test_experiment_loads_from_an_installed_package(tmp_path, monkeypatch):
    packaged = _packaged_copy(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    cfg = load_experiment("configs/experiments/paper2_multiclass.yaml")
    assert cfg.root == packaged
    assert cfg.bundle == packaged / "bundles" / "multiclass_region_wise"
    assert all(p.is_file() for p in cfg.train_config)
