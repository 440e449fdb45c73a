"""Both bundle READMEs: the model zoo template's sections, written for someone who downloaded only the bundle."""

from __future__ import annotations

import json
import re

import pytest

from tests.bundles._common import ROOT

BUNDLES = sorted(p.parents[1] for p in ROOT.glob("bundles/*/docs/README.md"))
SECTIONS = [
    "# Model Overview",
    "## Data",
    "### Preprocessing",
    "## Training configuration",
    "## Input / Output",
    "## Performance",
    "## MONAI Bundle Commands",
    "## References",
    "## License",
]


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_zoo_template_sections_in_order(bundle):
    headings = [line for line in (bundle / "docs" / "README.md").read_text().splitlines() if line.startswith("#")]
    assert [h for h in headings if h in SECTIONS] == SECTIONS


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_needs_nothing_outside_the_bundle(bundle):
    text = (bundle / "docs" / "README.md").read_text()
    for outside in ("../", "pip install -e", "repository root", "DESIGN.md", "docs/results.md", "/tmp/", "/home/",
                    "/work/", "bundles/"):  # fmt: skip
        assert outside not in text, outside
    for path in sorted(set(re.findall(r"configs/[\w/]+\.(?:yaml|json|conf)", text))):
        assert (bundle / path).is_file(), path
    assert (bundle / "LICENSE").is_file()


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_performance_section_shows_the_metadata_metrics(bundle):
    text = (bundle / "docs" / "README.md").read_text()
    performance = text.split("## Performance", 1)[1].split("\n## ", 1)[0]
    metrics = json.loads((bundle / "configs" / "metadata.json").read_text())["eval_metrics"]
    for name, value in metrics.items():
        assert f"{value}" in performance or f"{value:.3f}" in performance, name
