"""The tutorials in notebooks/: stored without outputs, and each runs top to bottom in its small setting."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXPECTED_FIGURES = {
    "01_inverse_weighting.ipynb": ["01_inverse_weight_maps.png", "01_per_lesion_contributions.png"],
    "02_region_wise_maps.ipynb": [
        "02_region_wise_maps.png",
        "02_simplex_gradient_signs.png",
        "02_gradient_sign_maps.png",
        "02_gradient_sign_training.png",
    ],
    "03_lesion_evaluation.ipynb": ["03_froc_dice_vs_iw_dice.png", "03_recall_by_size.png"],
}


def test_every_notebook_is_listed():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED_FIGURES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for cell in code:
        assert cell.outputs == [], f"{name}: a code cell has stored outputs"
        assert cell.execution_count is None, f"{name}: a code cell has an execution count"
    # the first code cell holds the parameters, with the small-setting switch and the figure folder
    assert "MONAI_IMBALANCE_NB_SMALL" in code[0].source
    assert "MONAI_IMBALANCE_FIG_DIR" in code[0].source


@pytest.mark.parametrize("name", sorted(EXPECTED_FIGURES))
def test_runs_top_to_bottom(name, tmp_path, monkeypatch):
    fig_dir = tmp_path / "figures"
    monkeypatch.setenv("MONAI_IMBALANCE_NB_SMALL", "1")
    monkeypatch.setenv("MONAI_IMBALANCE_FIG_DIR", str(fig_dir))
    monkeypatch.setenv("MONAI_IMBALANCE_NB_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # one thread per kernel: tiny networks, shared CI cores
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    for figure in EXPECTED_FIGURES[name]:
        path = fig_dir / figure
        assert path.is_file(), f"{name} did not write {figure}"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
