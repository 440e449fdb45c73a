"""Both bundles' metadata.json: the model zoo's formatting, its schema, installable requirements, measured metrics."""

from __future__ import annotations

import json

import pytest

import monai_imbalance
from monai_imbalance.apps.bundle import verify_metadata_offline
from tests.bundles._common import ROOT

METADATA = sorted(ROOT.glob("bundles/*/configs/metadata.json"))

# The newest release with wheels for Python 3.10 (the model zoo's CI Python), looked up on PyPI on 2026-12-02:
# a pin above it does not install there (numpy 2.3+ and matplotlib 3.11+ need Python 3.11).
NEWEST_FOR_PY310 = {"numpy": (2, 2, 6), "matplotlib": (3, 10, 9), "scipy": (1, 15, 3)}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_both_bundles_are_checked():
    assert [p.parents[1].name for p in METADATA] == ["lesion_inverse_weighting", "multiclass_region_wise"]


@pytest.mark.parametrize("path", METADATA, ids=lambda p: p.parents[1].name)
def test_formatted_as_the_zoo_hook_writes_it(path):
    # pretty-format-json --autofix --no-sort-keys --indent=4: 4 spaces, keys in their order, non-ASCII as \u escapes
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=4, ensure_ascii=True) + "\n"


@pytest.mark.parametrize("path", METADATA, ids=lambda p: p.parents[1].name)
def test_schema_version_and_changelog(path):
    verify_metadata_offline(path)
    meta = json.loads(path.read_text())
    assert meta["version"] == next(iter(meta["changelog"]))  # the newest changelog entry comes first


@pytest.mark.parametrize("path", METADATA, ids=lambda p: p.parents[1].name)
def test_requirements_install_on_python_310_to_312(path):
    meta = json.loads(path.read_text())
    required = meta["required_packages_version"]
    assert required["monai-imbalance"] == monai_imbalance.__version__
    assert "pyyaml" in required  # the configs are YAML
    pins = {"numpy": meta["numpy_version"], **required}
    for name, newest in NEWEST_FOR_PY310.items():
        assert _version(pins[name]) <= newest, f"{name}=={pins[name]} has no release for Python 3.10"


@pytest.mark.parametrize("path", METADATA, ids=lambda p: p.parents[1].name)
def test_eval_metrics_are_measured_numbers_with_their_data(path):
    meta = json.loads(path.read_text())
    assert meta["eval_metrics"]
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in meta["eval_metrics"].values())
    assert "eval_metrics: the default configs" in meta["description"]  # which run and data they come from
    assert "synthetic" in meta["network_data_format"]["inputs"]["image"]["modality"]
