"""GradientSignHandler: gradient-sign records on a tiny SupervisedTrainer, plain ignite engines, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from monai_imbalance.handlers import GradientSignHandler
from monai_imbalance.losses import MapBridgeLoss, PrepareBatchWithMap, RegionWiseLoss
from tests._reference_region_wise import random_labels, reference_counts, reference_rw_gradient


def test_settings_errors():
    with pytest.raises(ValueError, match="`interval` must be a positive integer"):
        GradientSignHandler(interval=0)
    with pytest.raises(ValueError, match="`tol` must be a non-negative number"):
        GradientSignHandler(tol=-0.1)
    with pytest.raises(ValueError, match="`metric_name` must be a non-empty string"):
        GradientSignHandler(metric_name="")


# ---------------------------------------------------------------- the handler on a tiny SupervisedTrainer


def _datalist(n=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        label = random_labels(rng, (size, size), 3, smooth=2.0)[None]
        image = (label + 0.5 * rng.standard_normal(label.shape)).astype(np.float32)
        items.append({"image": image, "label": label.astype(np.float32)})
    return items


def _trainer(map_kind, handler, max_epochs=2):
    from monai.data import DataLoader, Dataset
    from monai.engines import SupervisedTrainer
    from monai.networks.nets import UNet
    from monai.transforms import Compose, EnsureTyped

    from monai_imbalance.transforms import ComputeBoundaryMapd, ComputeRRWMapd

    torch.manual_seed(0)
    if map_kind == "rrw":
        make_map, key = ComputeRRWMapd("label", num_classes=3), "label_rrw"
    else:
        make_map, key = ComputeBoundaryMapd("label", num_classes=3), "label_boundary"
    transform = Compose([make_map, EnsureTyped(keys=["image", "label", key])])
    loader = DataLoader(Dataset(_datalist(), transform), batch_size=2, num_workers=0)
    net = UNet(2, 1, 3, channels=(4, 8), strides=(2,), num_res_units=0)
    trainer = SupervisedTrainer(
        device=torch.device("cpu"),
        max_epochs=max_epochs,
        train_data_loader=loader,
        network=net,
        optimizer=torch.optim.Adam(net.parameters(), 1e-2),
        loss_function=MapBridgeLoss(RegionWiseLoss(), key),
        prepare_batch=PrepareBatchWithMap(key),
    )
    handler.attach(trainer)
    return trainer


@pytest.mark.parametrize("map_kind", ["rrw", "boundary"])
def test_handler_on_a_tiny_trainer(map_kind, tmp_path):
    out = tmp_path / "grad" / "signs.json"
    handler = GradientSignHandler(interval=3, output_file=out)
    seen = []
    trainer = _trainer(map_kind, handler)
    from ignite.engine import Events

    trainer.add_event_handler(
        Events.ITERATION_COMPLETED, lambda e: seen.append(e.state.metrics.get(handler.metric_name))
    )
    trainer.run()
    # 2 epochs x 2 iterations = 4 iterations; recorded at 1 and 4
    assert [r["iteration"] for r in handler.history] == [1, 4]
    assert [r["epoch"] for r in handler.history] == [1, 2]
    fractions = handler.fractions
    assert all(0.0 <= f <= 1.0 for f in fractions)
    for r in handler.history:
        assert sum(r["counts"]) == 2 * 16 * 16
        assert len(r["counts"]) == 4
    for r in handler.history:
        assert r["multiple_fraction"] == sum(r["counts"][2:]) / sum(r["counts"])
    if map_kind == "rrw":
        assert fractions == [1.0, 1.0]
        assert [r["multiple_fraction"] for r in handler.history] == [0.0, 0.0]
    else:
        assert fractions[0] < 1.0
        assert handler.history[0]["multiple_fraction"] > 0.0
    assert seen[0] == fractions[0]
    assert seen[-1] == fractions[-1]
    saved = json.loads(out.read_text())
    assert saved["history"] == handler.history
    assert saved["metric"] == "grad_one_negative_fraction"


def test_handler_matches_direct_counts_with_an_explicit_loss():
    # an explicit loss_function overrides the trainer's: RW-Boundary maps given by the transform are ignored and
    # the RRW map computed from the label is used, so every record is exactly one negative component
    handler = GradientSignHandler(interval=1, loss_function=lambda x, y: RegionWiseLoss()(x, y.as_tensor()))
    trainer = _trainer("boundary", handler, max_epochs=1)
    trainer.run()
    assert handler.fractions == [1.0, 1.0]


def test_handler_on_a_plain_ignite_engine():
    from ignite.engine import Engine

    z = torch.ones(1, 3, 5, dtype=torch.float64)
    z[0, 0, :2] = 5.0  # not rectified
    z[0, 2, :] = -1.0

    def step(engine, batch):
        return {"pred": torch.zeros(1, 3, 5), "label": z}

    handler = GradientSignHandler(loss_function=lambda x, y: RegionWiseLoss()(x, None, rw_map=y))
    engine = Engine(step)
    handler.attach(engine)
    engine.run([0, 1], max_epochs=1)
    expected = reference_counts(reference_rw_gradient(np.zeros((1, 3, 5)), z.numpy()), 3)
    assert handler.history[0]["counts"] == expected.tolist()
    assert handler.fractions == [expected[1] / 5] * 2


@pytest.mark.parametrize(
    ("output", "loss", "error", "match"),
    [
        ({"pred": torch.zeros(1, 2, 3)}, RegionWiseLoss(), KeyError, "must hold `pred` and `label`"),
        (torch.zeros(1, 2, 3), RegionWiseLoss(), TypeError, "must be a dictionary or a list of them"),
        ({"pred": torch.zeros(1, 2, 3), "label": torch.zeros(1, 1, 3)}, None, ValueError, "No loss to differentiate"),
    ],
    ids=["missing-key", "not-a-dict", "no-loss"],
)
def test_handler_errors_when_called(output, loss, error, match):
    from ignite.engine import Engine

    handler = GradientSignHandler(loss_function=loss)
    engine = Engine(lambda e, b: output)
    handler.attach(engine)
    with pytest.raises(error, match=match):
        engine.run([0], max_epochs=1)


def test_handler_on_decollated_outputs():
    from ignite.engine import Engine

    label = torch.tensor([[0.0, 1.0, 1.0]])
    items = [{"pred": torch.zeros(2, 3), "label": label}, {"pred": torch.ones(2, 3), "label": label}]
    handler = GradientSignHandler(loss_function=RegionWiseLoss())  # RRW map computed from the stacked labels
    engine = Engine(lambda e, b: items)
    handler.attach(engine)
    engine.run([0], max_epochs=1)
    assert handler.history[0]["counts"] == [0, 6, 0]
