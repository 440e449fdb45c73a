"""ScheduledCombinedLoss and the ignite handler stepping alpha per epoch."""

from __future__ import annotations

import itertools

import pytest
import torch
from ignite.engine import Engine, Events

from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler
from monai_imbalance.losses import RegionWiseLoss, ScheduledCombinedLoss, VoxelWeightedDiceLoss


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 6, generator=g)
    labels = torch.randint(0, 3, (2, 1, 6, 6), generator=g)
    return x, labels


def test_value_is_the_weighted_sum_and_routes_maps():
    x, labels = _data()
    dice = VoxelWeightedDiceLoss(softmax=True, to_onehot_y=True)
    rw = RegionWiseLoss()
    w = torch.rand(2, 1, 6, 6)
    z = torch.rand(2, 3, 6, 6) * 2 - 1
    loss = ScheduledCombinedLoss(dice, rw, alpha=0.3)
    expected = 0.3 * dice(x, labels, weight=w) + 0.7 * rw(x, labels, rw_map=z)
    torch.testing.assert_close(loss(x, labels, weight=w, rw_map=z), expected)
    expected = 0.3 * dice(x, labels) + 0.7 * rw(x, labels)  # RRW map from the target
    torch.testing.assert_close(loss(x, labels), expected)


def test_schedule_values():
    loss = ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.MSELoss(), alpha=1.0, alpha_step=0.01, alpha_min=0.01)
    assert loss.alpha_at(1) == 1.0
    assert loss.alpha_at(51) == pytest.approx(0.5)
    assert loss.alpha_at(1000) == 0.01
    values = [loss.alpha_at(e) for e in range(1, 200)]
    assert all(a >= b for a, b in itertools.pairwise(values))


def test_zero_coefficient_loss_is_not_evaluated():
    def boom(*args, **kwargs):
        raise RuntimeError("evaluated")

    loss = ScheduledCombinedLoss(torch.nn.L1Loss(), boom, alpha=1.0)
    assert loss(torch.ones(3), torch.zeros(3)) == 1.0


def test_handler_steps_alpha_per_epoch_and_forward_does_not():
    loss = ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.MSELoss(), alpha=1.0, alpha_step=0.1, alpha_min=0.05)
    seen = []

    def step(engine, batch):
        before = loss.alpha
        loss(torch.ones(2), torch.zeros(2))
        assert loss.alpha == before
        return before

    engine = Engine(step)
    CombinedLossAlphaHandler(loss, name="alpha").attach(engine)
    engine.add_event_handler(Events.EPOCH_COMPLETED, lambda e: seen.append((loss.alpha, e.state.metrics["alpha"])))
    engine.run([0, 1, 2], max_epochs=12)
    assert [a for a, _ in seen] == pytest.approx([max(0.05, 1.0 - 0.1 * e) for e in range(12)])
    assert all(a == m for a, m in seen)


def test_errors():
    with pytest.raises(ValueError, match="`alpha`"):
        ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.L1Loss(), alpha=1.5)
    with pytest.raises(ValueError, match="`alpha_step`"):
        ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.L1Loss(), alpha_step=-0.1)
    with pytest.raises(ValueError, match="`alpha_min`"):
        ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.L1Loss(), alpha=0.5, alpha_min=0.6)
    with pytest.raises(TypeError, match="`loss_b`"):
        ScheduledCombinedLoss(torch.nn.L1Loss(), 3)
    with pytest.raises(ValueError, match="`epoch`"):
        ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.L1Loss()).alpha_at(0)
    with pytest.raises(TypeError, match="set_epoch"):
        CombinedLossAlphaHandler(torch.nn.L1Loss())
