"""The map bridge: PrepareBatchWithMap + MapBridgeLoss inside MONAI's stock engines, from a bundle-style config."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from ignite.engine import Events
from monai.bundle import ConfigParser
from monai.data import MetaTensor, list_data_collate

from monai_imbalance.losses import (
    InverseWeightedLoss,
    MapBridgeLoss,
    PrepareBatchWithMap,
    RegionWiseLoss,
    ScheduledCombinedLoss,
    VoxelWeightedBCELoss,
    VoxelWeightedDiceLoss,
)
from monai_imbalance.transforms import ComputeInverseWeightMapd, ComputeRRWMapd


def make_datalist(n=6, size=24, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    items = []
    for _ in range(n):
        label = np.zeros((1, size, size), dtype=np.float32)
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.integers(3, size - 3), rng.integers(3, size - 3), rng.integers(1, 4)
            label[0][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
        image = label + 0.3 * rng.standard_normal(label.shape).astype(np.float32)
        items.append({"image": image, "label": label})
    return items


MAP_SETUPS = {
    "inverse": (
        {"_target_": "monai_imbalance.transforms.ComputeInverseWeightMapd", "keys": "label"},
        "label_weight",
        {"_target_": "monai_imbalance.losses.VoxelWeightedDiceLoss", "softmax": True, "to_onehot_y": True},
    ),
    "rrw": (
        {"_target_": "monai_imbalance.transforms.ComputeRRWMapd", "keys": "label", "num_classes": 2},
        "label_rrw",
        {"_target_": "monai_imbalance.losses.RegionWiseLoss"},
    ),
}


def _config(kind, amp, accumulation_steps, max_epochs=3):
    transform, key, loss = MAP_SETUPS[kind]
    post = {
        "_target_": "monai.transforms.Compose",
        "transforms": [
            {"_target_": "monai.transforms.Activationsd", "keys": "pred", "softmax": True},
            {
                "_target_": "monai.transforms.AsDiscreted",
                "keys": ["pred", "label"],
                "argmax": [True, False],
                "to_onehot": 2,
            },
        ],
    }
    metric = {
        "_target_": "monai.handlers.MeanDice",
        "include_background": False,
        "output_transform": "$monai.handlers.from_engine(['pred', 'label'])",
    }
    return {
        "imports": ["$import torch", "$import monai"],
        "device": "$torch.device('cpu')",
        "network": {
            "_target_": "monai.networks.nets.UNet",
            "spatial_dims": 2,
            "in_channels": 1,
            "out_channels": 2,
            "channels": [4, 8],
            "strides": [2],
            "num_res_units": 0,
        },
        "loss": {"_target_": "monai_imbalance.losses.MapBridgeLoss", "loss": loss, "map_key": key},
        "optimizer": {"_target_": "torch.optim.Adam", "params": "$@network.parameters()", "lr": 0.01},
        "transforms": {
            "_target_": "monai.transforms.Compose",
            "transforms": [transform, {"_target_": "monai.transforms.EnsureTyped", "keys": ["image", "label", key]}],
        },
        "dataset": {"_target_": "monai.data.Dataset", "data": "@datalist", "transform": "@transforms"},
        "loader": {"_target_": "monai.data.DataLoader", "dataset": "@dataset", "batch_size": 2, "num_workers": 0},
        "prepare_batch": {"_target_": "monai_imbalance.losses.PrepareBatchWithMap", "map_keys": key},
        "trainer": {
            "_target_": "monai.engines.SupervisedTrainer",
            "device": "@device",
            "max_epochs": max_epochs,
            "train_data_loader": "@loader",
            "network": "@network",
            "optimizer": "@optimizer",
            "loss_function": "@loss",
            "prepare_batch": "@prepare_batch",
            "postprocessing": post,
            "key_train_metric": {"train_dice": metric},
            "amp": amp,
            "accumulation_steps": accumulation_steps,
        },
        "evaluator": {
            "_target_": "monai.engines.SupervisedEvaluator",
            "device": "@device",
            "val_data_loader": "@loader",
            "network": "@network",
            "prepare_batch": {
                "_target_": "monai_imbalance.losses.PrepareBatchWithMap",
                "map_keys": key,
                "allow_missing_keys": True,
            },
            "postprocessing": post,
            "key_val_metric": {"val_dice": metric},
            "amp": amp,
        },
    }


@pytest.mark.parametrize(
    ("kind", "amp", "accumulation_steps"),
    [("inverse", False, 1), ("inverse", True, 1), ("inverse", False, 2), ("rrw", False, 1), ("rrw", True, 2)],
)
def test_stock_trainer_and_evaluator_from_config(kind, amp, accumulation_steps):
    torch.manual_seed(0)
    parser = ConfigParser(_config(kind, amp, accumulation_steps))
    parser["datalist"] = make_datalist()
    trainer = parser.get_parsed_content("trainer")
    network = parser.get_parsed_content("network")
    before = [p.detach().clone() for p in network.parameters()]
    losses = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: losses.append(float(e.state.output[0]["loss"])))
    with warnings.catch_warnings():
        # CPU only: SupervisedTrainer(amp=True) builds torch.cuda.amp.GradScaler and torch.autocast("cuda"), which
        # warn and disable themselves without CUDA, so amp=True runs in float32 here (real AMP: gpu test below).
        warnings.filterwarnings("ignore", message=".*GradScaler.*")
        warnings.filterwarnings("ignore", message=".*CUDA is not available.*")
        warnings.filterwarnings("ignore", message=".*device_type of 'cuda'.*")
        trainer.run()
        evaluator = parser.get_parsed_content("evaluator")
        evaluator.run()
    assert len(losses) == 9
    assert all(np.isfinite(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True))
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    # metrics and post transforms saw an ordinary label
    assert 0.0 <= trainer.state.metrics["train_dice"] <= 1.0
    assert 0.0 <= evaluator.state.metrics["val_dice"] <= 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_stock_trainer_cuda_amp():
    cfg = _config("inverse", True, 2)
    cfg["device"] = "$torch.device('cuda')"
    parser = ConfigParser(cfg)
    parser["datalist"] = make_datalist()
    trainer = parser.get_parsed_content("trainer")
    losses = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: losses.append(float(e.state.output[0]["loss"])))
    trainer.run()
    assert all(np.isfinite(losses))


def _batch(kind="inverse"):
    items = make_datalist(4, seed=1)
    t = ComputeInverseWeightMapd("label") if kind == "inverse" else ComputeRRWMapd("label", num_classes=2)
    return list_data_collate([{k: MetaTensor(v) for k, v in t(d).items()} for d in items])


def test_inverse_weighted_loss_equals_transform_plus_bridge():
    batch = _batch()
    pred = torch.randn(4, 2, 24, 24)
    _, label = PrepareBatchWithMap("label_weight")(batch, "cpu")
    for make in (
        lambda: VoxelWeightedDiceLoss(softmax=True, to_onehot_y=True, squared_pred=True),
        lambda: VoxelWeightedBCELoss(to_onehot_y=True),
    ):
        bridged = MapBridgeLoss(make(), "label_weight")(pred, label)
        direct = InverseWeightedLoss(make())(pred, batch["label"])
        torch.testing.assert_close(bridged, direct)


def test_rrw_transform_plus_bridge_equals_region_wise_loss_on_the_fly():
    batch = _batch("rrw")
    pred = torch.randn(4, 2, 24, 24)
    _, label = PrepareBatchWithMap("label_rrw")(batch, "cpu")
    bridged = MapBridgeLoss(RegionWiseLoss(), "label_rrw")(pred, label)
    torch.testing.assert_close(bridged, RegionWiseLoss()(pred, batch["label"].as_tensor()))


def test_bridge_under_bf16_autocast():
    batch = _batch()
    image, label = PrepareBatchWithMap("label_weight")(batch, "cpu")
    conv = torch.nn.Conv2d(1, 2, 3, padding=1)
    loss = MapBridgeLoss(VoxelWeightedDiceLoss(softmax=True, to_onehot_y=True), "label_weight")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(conv(image), label)
    value.backward()
    assert torch.isfinite(value)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())


def test_prepare_batch_leaves_the_batch_untouched():
    batch = _batch()
    meta_keys = set(batch["label"].meta)
    _, label = PrepareBatchWithMap("label_weight")(batch, "cpu")
    assert set(batch["label"].meta) == meta_keys
    assert "label_weight" in label.meta
    assert label.data_ptr() == batch["label"].data_ptr()
    torch.testing.assert_close(label.as_tensor(), batch["label"].as_tensor())


def test_plain_tensor_batches_and_missing_keys():
    batch = {"image": torch.zeros(2, 1, 4), "label": torch.ones(2, 1, 4), "label_weight": torch.ones(2, 1, 4)}
    _, label = PrepareBatchWithMap()(batch)
    assert torch.equal(label.meta["label_weight"], batch["label_weight"])
    del batch["label_weight"]
    with pytest.raises(KeyError, match="label_weight"):
        PrepareBatchWithMap()(batch)
    _, label = PrepareBatchWithMap(allow_missing_keys=True)(batch)
    with pytest.raises(KeyError, match="PrepareBatchWithMap"):
        MapBridgeLoss(VoxelWeightedBCELoss())(torch.zeros(2, 1, 4), label)
    with pytest.raises(KeyError, match="PrepareBatchWithMap"):
        MapBridgeLoss(VoxelWeightedBCELoss())(torch.zeros(2, 1, 4), torch.ones(2, 1, 4))
    with pytest.raises(KeyError, match="`image`"):
        PrepareBatchWithMap()({"label": torch.ones(1)})
    with pytest.raises(TypeError, match="dictionary"):
        PrepareBatchWithMap()([torch.ones(1), torch.ones(1)])


def test_loss_argument_detection():
    assert MapBridgeLoss(VoxelWeightedBCELoss()).map_arg == "weight"
    assert MapBridgeLoss(RegionWiseLoss(), "label_rrw").map_arg == "rw_map"
    combined = ScheduledCombinedLoss(VoxelWeightedDiceLoss(), RegionWiseLoss())
    with pytest.raises(ValueError, match="set `map_arg`"):
        MapBridgeLoss(combined, "label_rrw")
    assert MapBridgeLoss(combined, "label_rrw", map_arg="rw_map").map_arg == "rw_map"
    with pytest.raises(TypeError, match="`loss`"):
        MapBridgeLoss(3)


def test_deprecated_keywords_still_work_and_warn():
    batch = {"image": torch.zeros(2, 1, 4), "label": torch.ones(2, 1, 4)}
    with pytest.warns(DeprecationWarning, match=r"PrepareBatchWithMap\(`allow_missing`=...\) is deprecated: use"):
        prepare = PrepareBatchWithMap(allow_missing=True)
    assert prepare.allow_missing_keys is True
    _, label = prepare(batch)
    assert "label_weight" not in label.meta
    combined = ScheduledCombinedLoss(VoxelWeightedDiceLoss(), RegionWiseLoss())
    with pytest.warns(DeprecationWarning, match=r"MapBridgeLoss\(`loss_arg`=...\) is deprecated: use `map_arg`"):
        assert MapBridgeLoss(combined, "label_rrw", loss_arg="rw_map").map_arg == "rw_map"
    with pytest.raises(TypeError, match="give `map_arg` only"):
        MapBridgeLoss(combined, "label_rrw", map_arg="rw_map", loss_arg="rw_map")
    with pytest.raises(TypeError, match="give `allow_missing_keys` only"):
        PrepareBatchWithMap(allow_missing_keys=True, allow_missing=True)
