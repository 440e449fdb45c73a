from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from monai.data import MetaTensor

from monai_imbalance.metrics import (
    CaseRecords,
    FROCMetric,
    LesionDiceMetric,
    average_recall,
    lesion_records,
    object_dice,
    pack_records,
    unpack_records,
)


def _batch(seed, n=6, shape=(20, 20, 12)):
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand((n, 1, *shape), generator=g) > 0.985).float()
    y = torch.nn.functional.max_pool3d(y, 3, 1, 1)
    noise = torch.nn.functional.avg_pool3d(torch.rand((n, 1, *shape), generator=g), 3, 1, 1)
    p = (0.75 * y + 0.6 * noise).clamp(0, 1)
    return p, y


def _functional(p, y, spacing=None):
    return [lesion_records(y[b, 0], p[b, 0], spacing=spacing) for b in range(p.shape[0])]


@pytest.mark.parametrize("protocol", ["luna16", "shirokikh2020"])
def test_cumulative_over_batches_equals_functional(protocol):
    p, y = _batch(0)
    metric, dice = FROCMetric(protocol=protocol), LesionDiceMetric(protocol=protocol)
    for s in (slice(0, 2), slice(2, 3), slice(3, 6)):
        metric(p[s], y[s])
        dice(p[s], y[s])
    cases = _functional(p, y)
    assert metric.aggregate().item() == pytest.approx(average_recall(cases, protocol))
    assert dice.aggregate().item() == pytest.approx(object_dice(cases, protocol)[0])
    metric.reset()
    assert np.isnan(metric.aggregate().item())


def test_list_input_and_spacing_sources():
    p, y = _batch(1, n=3)
    sp = (0.7, 0.7, 2.5)
    ref = _functional(p, y, spacing=sp)
    m1 = FROCMetric(spacing=sp)
    m1(list(p), list(y))
    affine = torch.diag(torch.tensor([*sp, 1.0]))
    m2 = FROCMetric()
    m2(p, MetaTensor(y, affine=affine))  # not a batch MetaTensor: one pixdim for all
    m3 = FROCMetric()
    m3(p, y, spacing=[sp] * 3)
    for m in (m1, m2, m3):
        recs = m.records()
        for a, b in zip(recs, ref, strict=False):
            np.testing.assert_allclose(a.lesion_volume, b.lesion_volume)
            np.testing.assert_allclose(a.lesion_confidence, b.lesion_confidence)


def test_pack_roundtrip_and_fp_truncation():
    rec = CaseRecords([0.9, -np.inf], [0.5, 0.0], [3.0, 2.0], [14.0, 4.0], [0.7, 0.2, 0.9], [1, 2, 3], [1, 8, 27])
    back = unpack_records(pack_records(rec, 3, 4)[None], 3, 4)[0]
    np.testing.assert_array_equal(back.lesion_confidence, rec.lesion_confidence)
    np.testing.assert_array_equal(np.sort(back.fp_volume), np.sort(rec.fp_volume))
    np.testing.assert_array_equal(np.sort(back.fp_confidence), np.sort(rec.fp_confidence))
    assert back.n_predictions == rec.n_predictions
    with pytest.warns(UserWarning, match="more than `max_fps`"):
        row = pack_records(rec, 3, 2)
    assert sorted(unpack_records(row[None], 3, 2)[0].fp_confidence.tolist()) == [0.7, 0.9]
    with pytest.raises(ValueError, match="more than `max_lesions`"):
        pack_records(rec, 1, 4)
    with pytest.raises(ValueError, match="`rows` must have shape"):
        unpack_records(np.zeros((1, 5)), 3, 4)


def test_defaults_hold_a_lits_sized_case_and_an_over_segmenting_model():
    # LiTS volumes hold up to ~75 tumours; an early inverse-weighted model predicts hundreds of false positives
    y = torch.zeros(1, 1, 40, 40, 40)
    p = torch.zeros(1, 1, 40, 40, 40)
    y[0, 0, 1:40:4, 1:40:4, 1:40:20] = 1  # 10 x 10 x 2 = 200 one-voxel lesions
    p[0, 0, 1:40:4, 1:40:4, 1:40:20] = 0.9
    p[0, 0, 3:40:4, 3:40:4, 3:40:4] = torch.linspace(0.55, 0.95, 1000).reshape(10, 10, 10)  # 1000 FPs
    metric = FROCMetric()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing truncated
        metric(p, y)
    (rec,) = metric.records()
    assert rec.n_lesions == 200
    assert rec.fp_confidence.size == 1000
    expected = average_recall([lesion_records(y[0, 0], p[0, 0])])
    assert metric.aggregate().item() == pytest.approx(expected)


def test_metric_errors():
    with pytest.raises(ValueError, match="`protocol`"):
        FROCMetric(protocol="camelyon")
    with pytest.raises(ValueError, match="`max_lesions` and `max_fps` must be positive"):
        FROCMetric(max_fps=0)
    with pytest.raises(ValueError, match=r"must both be \(B, 1, \*spatial\)"):
        FROCMetric()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4))


def _ddp_worker(rank, world, init_file, out_file):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        p, y = _batch(5)
        metric, dice = FROCMetric(), LesionDiceMetric()
        shard = slice(rank * 3, rank * 3 + 3)
        metric(p[shard], y[shard])
        dice(p[shard], y[shard])
        result = [metric.aggregate().item(), dice.aggregate().item(), len(metric.records())]
        if rank == 0:
            torch.save(result, out_file)
    finally:
        dist.destroy_process_group()


def test_ddp_two_processes_gloo():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "result.pt")
        mp.spawn(_ddp_worker, args=(2, os.path.join(d, "init"), out), nprocs=2, join=True)
        ar, od, n = torch.load(out)
    p, y = _batch(5)
    cases = _functional(p, y)
    assert n == 6
    assert ar == pytest.approx(average_recall(cases))
    assert od == pytest.approx(object_dice(cases)[0])
