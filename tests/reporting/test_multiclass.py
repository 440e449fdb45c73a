"""write_multiclass_report: the per-class summary of per-case scores and its errors."""

from __future__ import annotations

import json
import math

import pytest

from monai_imbalance.reporting import write_multiclass_report


def test_summary_of_finite_values(tmp_path):
    records = [
        {"case": "a", "dice": [0.5, 1.0], "hd95": [2.0, float("inf")]},
        {"case": "b", "dice": [0.7, float("nan")], "hd95": [4.0, 1.0]},
    ]
    report = write_multiclass_report(records, ["organ", "tumour"], tmp_path, source="test list")
    assert report["summary"]["organ"]["dice"] == {"mean": pytest.approx(0.6), "std": pytest.approx(0.1), "n": 2}
    assert report["summary"]["tumour"]["dice"]["n"] == 1
    assert report["summary"]["tumour"]["hd95"] == {"mean": 1.0, "std": 0.0, "n": 1}
    written = json.loads((tmp_path / "evaluation.json").read_text())
    assert written["cases"][0]["hd95"] == [2.0, None]  # inf is null in JSON
    assert not any(isinstance(v, float) and math.isnan(v) for c in written["cases"] for v in c["dice"] if v)
    assert "(test list)" in (tmp_path / "evaluation.md").read_text()
    assert (tmp_path / "evaluation.png").read_bytes()[:4] == b"\x89PNG"


def test_rejects_bad_records(tmp_path):
    with pytest.raises(ValueError, match="at least one case"):
        write_multiclass_report([], ["organ"], tmp_path)
    with pytest.raises(ValueError, match="`dice` has 1 values, expected 2"):
        write_multiclass_report([{"case": "a", "dice": [1.0], "hd95": [0.0, 0.0]}], ["organ", "tumour"], tmp_path)
