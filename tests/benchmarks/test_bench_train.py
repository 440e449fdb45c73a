"""benchmarks/bench_train.py: the ``default`` family times the lesion bundle's own default loss against plain BCE."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("bench_train")


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


def test_quick_run_prints_the_dice_family(bench, capsys, one_thread):
    bench.main(["--quick", "--device", "cpu"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "(quick)" in lines[0]
    rows = {line.split("|")[1].strip(): [float(x) for x in line.split("|")[2:5]] for line in lines[4:]}
    assert list(rows) == ["dice", "iw_dice (device)", "iw_dice (transform)"]
    assert rows["dice"][2] == 1.0
    for it_per_s, s_per_it, ratio in rows.values():
        assert it_per_s > 0
        assert ratio > 0
        assert it_per_s * s_per_it == pytest.approx(1.0, rel=0.02)


def test_recipe_family(bench, capsys, one_thread):
    bench.main(["--quick", "--device", "cpu", "--family", "recipe"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "time ratio to bce" in lines[2]
    rows = {line.split("|")[1].strip(): float(line.split("|")[4]) for line in lines[4:]}
    assert list(rows) == ["bce", "iw_bce (transform)", "iw_bce recipe", "dice", "iw_dice recipe"]
    assert rows["bce"] == 1.0
    with pytest.raises(ValueError, match="family"):
        bench.run(quick=True, device="cpu", family="focal")
