"""The README's Python examples run as written, and its two commands are the ones CI and users rely on."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(PYTHON_BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs(index, capsys, tmp_path, monkeypatch):
    """Each block as pasted into a fresh interpreter namespace; its temporary folders go under tmp_path."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    exec(compile(PYTHON_BLOCKS[index], f"README.md python block {index}", "exec"), {"__name__": "__main__"})


def test_transform_example_crops_the_built_in_data_it_generates(tmp_path, monkeypatch, capsys):
    """The transform block's patch fits the built-in 64 x 64 x 48 volumes and its classes match the preset."""
    block = next(b for b in PYTHON_BLOCKS if "ComputeRRWMapd" in b)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    exec(compile(block, "README.md transform block", "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out.strip()
    assert printed == "2 torch.Size([4, 48, 48, 32]) torch.Size([1, 48, 48, 32])"
    assert f"# {printed}" in block  # the output written under the block is the one it prints


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
