"""The README's Python examples run as written, and its two commands are the ones CI and users rely on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs(index, capsys):
    exec(compile(PYTHON_BLOCKS[index], f"README.md python block {index}", "exec"), {})


def test_main_command_trains_and_evaluates_the_lesion_bundle():
    block = README.split("<!-- main-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert "pip install torch==2.13.0 -e ." in block
    assert "lesion_inverse_weighting/configs/train.yaml" in block
    assert "lesion_inverse_weighting/configs/evaluate.yaml" in block


def test_test_command_builds_the_api_reference_with_warnings_as_errors():
    block = README.split("<!-- test-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert '-e ".[test,docs]"' in block
    assert "python -m sphinx -W --keep-going -q -b html docs/api build/docs" in block
    assert (Path(__file__).resolve().parents[1] / "docs" / "api" / "conf.py").is_file()
