"""MulticlassReportHandler: per-case scores of an evaluator's run, the report written by rank 0 only."""

from __future__ import annotations

import json

import pytest

from monai_imbalance.handlers import MulticlassReportHandler
from monai_imbalance.handlers import report as handler_module


def test_needs_a_background_and_a_class(tmp_path):
    with pytest.raises(ValueError, match="class_names"):
        MulticlassReportHandler(tmp_path, ["background"])


def test_writes_on_rank0_only_with_every_rank_records(tmp_path, monkeypatch):
    mine = [{"case": "a", "dice": [0.5], "hd95": [2.0]}]
    other = [{"case": "b", "dice": [1.0], "hd95": [1.0]}]

    def fake_gather(parts, obj):
        parts[0], parts[1] = obj, other

    monkeypatch.setattr(handler_module.dist, "is_available", lambda: True)
    monkeypatch.setattr(handler_module.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(handler_module.dist, "get_world_size", lambda: 2)
    monkeypatch.setattr(handler_module.dist, "all_gather_object", fake_gather)
    for rank in (0, 1):
        monkeypatch.setattr(handler_module.dist, "get_rank", lambda rank=rank: rank)
        handler = MulticlassReportHandler(tmp_path / f"rank{rank}", ["background", "organ"])
        handler.records = list(mine)
        handler.write(None)
    written = json.loads((tmp_path / "rank0" / "evaluation.json").read_text())
    assert [c["case"] for c in written["cases"]] == ["a", "b"]
    assert written["summary"]["organ"]["dice"]["mean"] == 0.75
    assert not (tmp_path / "rank1").exists()
