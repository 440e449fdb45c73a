"""The README's Python examples run as written, and its two commands are the ones CI and users rely on."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tempfile
from pathlib import Path

import pytest

README_PATH = Path(__file__).resolve().parents[1] / "README.md"
README = README_PATH.read_text()
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


def _main_command_runs() -> list[list[str]]:
    """The ``--config_file`` lists of the main command's ``python -m monai.bundle run`` calls, in order."""
    block = README.split("<!-- main-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert "pip install torch==2.13.0 -e ." in block
    runs = []
    for call in block.split("&&"):
        if "monai.bundle run" in call:
            value = shlex.split(call)[shlex.split(call).index("--config_file") + 1]
            runs.append(ast.literal_eval(value) if value.startswith("[") else [value])
    return runs


def test_main_command_trains_and_evaluates_the_lesion_bundle(tmp_path, lesion_data, one_thread):
    """The main command's two runs, in process on the tiny built-in data: training writes the model, the second
    run (train.yaml + evaluate.yaml) writes the lesion-wise report."""
    from tests.bundles._common import LESION_TINY
    from tests.bundles._common import run as run_bundle

    runs = _main_command_runs()
    train, evaluate = (f"bundles/lesion_inverse_weighting/configs/{n}.yaml" for n in ("train", "evaluate"))
    assert runs == [[train], [train, evaluate]]
    root = README_PATH.parent
    configs = root / "bundles" / "lesion_inverse_weighting" / "configs"
    common = {"bundle_root": str(tmp_path), "dataset_dir": str(lesion_data), **LESION_TINY}
    run_bundle(configs, [str(root / f) for f in runs[0]], "train", **common)
    assert list(tmp_path.rglob("model.pt"))
    run_bundle(configs, [str(root / f) for f in runs[1]], "train", **common)
    reports = list(tmp_path.rglob("lesion_report.json"))
    assert len(reports) == 1
    assert json.loads(reports[0].read_text())["n_cases"] == 3  # the test list of the built-in data


def test_test_command_builds_the_api_reference_with_warnings_as_errors():
    block = README.split("<!-- test-command -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    assert '-e ".[test,docs]"' in block
    assert "python -m sphinx -W --keep-going -q -b html docs/api build/docs" in block
    assert (Path(__file__).resolve().parents[1] / "docs" / "api" / "conf.py").is_file()


def test_install_section_commands_export_a_bundle_that_the_run_line_finds(tmp_path, monkeypatch, capsys):
    """The export commands of 'Install, release and documentation' run; the run line names the exported files."""
    import shlex

    from monai_imbalance.apps.bundle.__main__ import main

    section = README.split("## Install, release and documentation", 1)[1]
    lines = section.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    monkeypatch.chdir(tmp_path)
    for line in lines:
        args = shlex.split(line)
        if args[:3] == ["python", "-m", "monai_imbalance.apps.bundle"]:
            assert main(args[3:]) == 0
        else:
            assert args[:4] == ["python", "-m", "monai.bundle", "run"]  # trained in tests/test_release.py
            paths = [a for a in args[4:] if "/" in a]
            assert paths
            assert all((tmp_path / a).is_file() for a in paths)
    assert "lesion_inverse_weighting" in capsys.readouterr().out
