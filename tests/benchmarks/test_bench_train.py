"""benchmarks/bench_train.py: the ``default`` family times the lesion bundle's own default loss against plain BCE."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "benchmarks" / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_default_variant_is_the_bundle_loss(bench):
    from monai_imbalance.losses import InverseWeightedLoss, VoxelWeightedBCELoss

    loss, transform, prepare = bench._variant("default")
    assert isinstance(loss, InverseWeightedLoss)
    assert isinstance(loss.loss, VoxelWeightedBCELoss)
    assert transform is None
    assert prepare is None
    patch, batch = bench.bundle_patches()
    assert len(patch) == 3
    assert all(p > 0 for p in patch)
    assert batch >= 1


def test_default_family_quick_rounds(bench, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        bench.main(["--quick", "--device", "cpu", "--family", "default", "--rounds", "2"])
    finally:
        torch.set_num_threads(threads)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "time ratio to bce" in lines[2]
    rows = {line.split("|")[1].strip(): float(line.split("|")[4]) for line in lines[4:]}
    assert list(rows) == ["bce", "default"]
    assert rows["bce"] == 1.0
    assert rows["default"] > 0


@pytest.mark.parametrize("rounds", [0, -1, 1.5, True])
def test_rounds_checked(bench, rounds):
    with pytest.raises(ValueError, match="rounds"):
        bench.run(quick=True, device="cpu", family="default", rounds=rounds)
