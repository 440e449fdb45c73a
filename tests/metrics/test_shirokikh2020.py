"""The package's proof that its FROC is the paper's: the authors' own records give paper 1's Table 2.

Data: ``shared/data/shirokikh2020_froc_records`` beside the repository (override with the environment
variable ``MONAI_IMBALANCE_SHARED`` pointing at the ``shared`` folder).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from monai_imbalance.metrics import bootstrap, object_dice, read_shirokikh2020_records


def _shared() -> Path:
    env = os.environ.get("MONAI_IMBALANCE_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared"


DATA = _shared() / "data" / "shirokikh2020_froc_records"
pytestmark = pytest.mark.skipif(
    not (DATA / "paper_table2.json").is_file(),
    reason=f"the authors' records are not at {DATA} (set MONAI_IMBALANCE_SHARED to the shared folder)",
)


def _json(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text()) if (DATA / name).is_file() else []


TABLE2 = [r for r in _json("paper_table2.json") if (DATA / f"{r['dataset']}_{r['loss']}.csv.gz").is_file()]
NOTEBOOK = [r for r in _json("notebook_printed.json") if r["notebook_printed_avg_recall"] is not None]
NOTEBOOK_GRID = np.linspace(0, 5, 501)
# Two Table-2 standard deviations that the published records and protocol do not give (see the test below):
# (dataset, loss) -> (Table 2's printed std, the std the records give, unrounded).
TABLE2_STD_DIFFERENCES = {("lits", "iwbce"): (0.03, 0.035944), ("luna", "wce"): (0.01, 0.015190)}


@cache
def _records(dataset: str, loss: str):
    return read_shirokikh2020_records(DATA / f"{dataset}_{loss}.csv.gz")


@cache
def _boot(dataset: str, loss: str, grid: bool):
    return bootstrap(_records(dataset, loss), "shirokikh2020", fp_rates=NOTEBOOK_GRID if grid else None)


def _id(row: dict) -> str:
    return f"{row['dataset']}-{row['loss']}"


def test_table2_has_28_rows_with_records():
    assert len(TABLE2) == 28
    assert len(NOTEBOOK) == 22


@pytest.mark.parametrize("row", TABLE2, ids=_id)
def test_table2_average_recall(row):
    res = _boot(row["dataset"], row["loss"], False)
    assert round(res.mean, 2) == pytest.approx(row["avg_recall"][0])
    key = (row["dataset"], row["loss"])
    if key in TABLE2_STD_DIFFERENCES:
        printed, ours = TABLE2_STD_DIFFERENCES[key]
        assert printed == row["avg_recall"][1]
        assert res.std == pytest.approx(ours, abs=1e-6)
    else:
        assert round(res.std, 2) == pytest.approx(row["avg_recall"][1])


def test_table2_std_differences_pinned():
    """The records give 0.036 (LiTS iw-BCE) and 0.015 (LUNA16 WCE) where Table 2 prints 0.03 and 0.01.

    Every other figure of the 28 rows matches, and the same draws give all 22 notebook pairs, so the
    draws are the authors'; the two printed values are off by 0.006 and 0.005 and no variant of the
    protocol we tried (draw counts 5-120, other samplers, thresholds, interpolation, strict/non-strict
    comparisons, probabilities instead of logits) gives all 28.
    """
    for (dataset, loss), (printed, _ours) in TABLE2_STD_DIFFERENCES.items():
        res = _boot(dataset, loss, False)
        assert round(res.std, 2) != printed
        assert abs(res.std - printed) < 0.01


@pytest.mark.parametrize("row", TABLE2, ids=_id)
def test_table2_object_dice(row):
    mean, std = object_dice(_records(row["dataset"], row["loss"]), "shirokikh2020")
    assert (round(mean, 2), round(std, 2)) == pytest.approx(tuple(row["object_dice"]))


@pytest.mark.parametrize("row", NOTEBOOK, ids=_id)
def test_notebook_printed_pairs(row):
    res = _boot(row["dataset"], row["loss"], True)
    assert (round(res.mean, 2), round(res.std, 2)) == pytest.approx(tuple(row["notebook_printed_avg_recall"]))
    mean, std = object_dice(_records(row["dataset"], row["loss"]), "shirokikh2020")
    assert (round(mean, 2), round(std, 2)) == pytest.approx(tuple(row["notebook_printed_object_dice"]))


@pytest.mark.parametrize("row", NOTEBOOK[:3], ids=_id)
def test_record_counts(row):
    cases = _records(row["dataset"], row["loss"])
    assert len(cases) == row["n_ids"]
    n_rows = sum(c.n_lesions + c.n_predictions for c in cases)
    assert n_rows == row["n_records"]
