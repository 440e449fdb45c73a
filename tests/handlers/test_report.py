"""LesionReportHandler: the report of a SupervisedEvaluator's run, gathered across DDP ranks, errors."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from monai.data import MetaTensor, list_data_collate
from monai.engines import SupervisedEvaluator

from monai_imbalance.handlers import LesionRecordsHandler, LesionReportHandler
from monai_imbalance.handlers import report as handler_module
from monai_imbalance.metrics import case_lesion_records
from monai_imbalance.reporting import lesion_report, write_lesion_report
from tests._lesion_cases import hand_cases, random_cases


def _volumes(n=3, shape=(20, 18, 12), spacing=(0.8, 0.8, 2.0)):
    rng = np.random.default_rng(11)
    items = []
    for i in range(n):
        label = np.zeros(shape, np.float32)
        prob = (rng.random(shape) * 0.3).astype(np.float32)
        for _ in range(3):
            c = rng.integers(2, np.array(shape) - 4)
            label[c[0] : c[0] + 3, c[1] : c[1] + 3, c[2] : c[2] + 2] = 1
            if rng.random() < 0.7:
                prob[c[0] : c[0] + 2, c[1] : c[1] + 3, c[2] : c[2] + 2] = rng.uniform(0.55, 0.99)
        c = rng.integers(1, np.array(shape) - 2)
        prob[c[0], c[1], c[2]] = rng.uniform(0.5, 0.9)  # a false positive unless it lands on a lesion
        affine = torch.diag(torch.tensor([*spacing, 1.0], dtype=torch.float64))
        lab = MetaTensor(torch.from_numpy(label)[None], affine=affine)
        lab.meta["filename_or_obj"] = f"/data/case_{i}.nii.gz"
        items.append((torch.from_numpy(prob)[None], lab, label, prob))
    return items


def test_on_supervised_evaluator_writes_same_report(tmp_path):
    items = _volumes()
    spacing = (0.8, 0.8, 2.0)
    # batches as MONAI's DataLoader collates them: two cases, then one
    loader = [
        list_data_collate([{"image": p, "label": lab} for p, lab, _, _ in items[:2]]),
        list_data_collate([{"image": items[2][0], "label": items[2][1]}]),
    ]
    handler = LesionReportHandler(tmp_path / "h", n_draws=7, seed=1, size_thresholds=[3.0])
    evaluator = SupervisedEvaluator(
        device=torch.device("cpu"), val_data_loader=loader, network=torch.nn.Identity(), val_handlers=[handler]
    )
    evaluator.run()
    per_case = [
        case_lesion_records(prob, label, spacing=spacing, case_id=f"case_{i}.nii.gz")
        for i, (_, _, label, prob) in enumerate(items)
    ]
    views = {v: [c[v] for c in per_case] for v in ("paper", "strict")}
    cases = views["strict"]
    assert [c.case_id for c in handler.records] == [c.case_id for c in cases]
    assert cases[0].lesion_volume.sum() == pytest.approx(items[0][2].sum() * 0.8 * 0.8 * 2.0)  # spacing used
    expected = write_lesion_report(views, tmp_path / "f", n_draws=7, seed=1, size_thresholds=[3.0])
    assert handler.report["key_view"] == "strict"
    assert handler.report["views"]["paper"]["matching"] == "many-to-one, any overlap (paper 1)"
    assert handler.report == expected
    assert (tmp_path / "h" / "lesion_report.json").read_text() == (tmp_path / "f" / "lesion_report.json").read_text()
    assert (tmp_path / "h" / "lesion_report.md").read_text() == (tmp_path / "f" / "lesion_report.md").read_text()
    # a second run starts afresh
    evaluator.run()
    assert len(handler.records) == 3


def test_gathers_across_ranks(tmp_path, monkeypatch):
    other = hand_cases()

    def fake_gather(parts, obj):
        parts[0], parts[1] = obj, [{"paper": c, "strict": c} for c in other]

    for name, value in (("is_available", True), ("is_initialized", True), ("get_world_size", 2)):
        monkeypatch.setattr(handler_module.dist, name, lambda value=value: value)
    monkeypatch.setattr(handler_module.dist, "all_gather_object", fake_gather)
    mine = random_cases(n=4)
    for rank in (0, 1):
        monkeypatch.setattr(handler_module.dist, "get_rank", lambda rank=rank: rank)
        handler = LesionReportHandler(tmp_path / f"rank{rank}", n_draws=3)
        for c in mine:
            handler.records_handler.metric.add({"paper": c, "strict": c})
        handler.write()
        if rank == 0:
            both = mine + other
            assert handler.report == lesion_report({"paper": both, "strict": both}, n_draws=3)
            assert (tmp_path / "rank0" / "lesion_report.json").exists()
        else:
            assert handler.report is None
            assert not (tmp_path / "rank1").exists()


def _ddp_worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        handler = LesionReportHandler(os.path.join(out_dir, f"rank{rank}"), n_draws=3)
        for c in random_cases(n=6)[rank * 3 : rank * 3 + 3]:
            handler.records_handler.metric.add({"paper": c, "strict": c})
        handler.write()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ddp_two_processes_gloo(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    assert not (tmp_path / "rank1").exists()
    written = json.loads((tmp_path / "rank0" / "lesion_report.json").read_text())
    cases = random_cases(n=6)
    assert written == json.loads(json.dumps(lesion_report({"paper": cases, "strict": cases}, n_draws=3)))


def test_without_cases_warns(tmp_path):
    handler = LesionReportHandler(tmp_path)
    with pytest.warns(UserWarning, match="no case was evaluated"):
        handler.write()
    assert handler.report is None


def test_errors():
    with pytest.raises(ValueError, match="`protocol`"):
        LesionReportHandler("x", protocol="froc")
    with pytest.raises(ValueError, match="`n_draws`"):
        LesionReportHandler("x", n_draws=0)

    output = [{"pred": torch.zeros(3, 4, 4), "label": torch.zeros(3, 4, 4)}]
    engine = SimpleNamespace(state=SimpleNamespace(output=output))
    with pytest.raises(ValueError, match="`pred` items must be channel-first"):
        LesionReportHandler("x").records_handler.iteration_completed(engine)
    with pytest.raises(ValueError, match="`key_view` 'lenient' is not one of the views"):
        LesionReportHandler("x", key_view="lenient")
    with pytest.raises(ValueError, match="belong to the shared `records`"):
        LesionReportHandler("x", records=LesionRecordsHandler(), threshold=0.3)
