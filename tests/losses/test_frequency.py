"""FrequencyWeightedBCELoss (WCE): both weight forms against the formula, gradient through the weight."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_imbalance.losses import FrequencyWeightedBCELoss, VoxelWeightedBCELoss
from tests._reference_losses import ref_wce


def _data(c=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, c, 5, 6, generator=g, dtype=torch.float64)
    y = (torch.rand(2, c, 5, 6, generator=g) > 0.8).double()
    return x, y


@pytest.mark.parametrize("mode", ["probability", "label"])
@pytest.mark.parametrize("c", [1, 3])
def test_matches_reference(mode, c):
    x, y = _data(c)
    np.testing.assert_allclose(FrequencyWeightedBCELoss(mode=mode)(x, y).item(), ref_wce(x, y, mode), rtol=1e-10)


def test_balanced_label_counts_give_plain_bce():
    x, _ = _data()
    y = torch.zeros_like(x)
    y.view(-1)[::2] = 1  # half positives: w = 1 (up to the smoothing term)
    loss = FrequencyWeightedBCELoss(mode="label", smooth_dr=1e-12)  # smooth_dr=0 is refused (NaN on empty classes)
    torch.testing.assert_close(loss(x, y), VoxelWeightedBCELoss()(x, y))


def test_gradient_flows_through_the_probability_weight():
    x, y = _data()
    x1 = x.clone().requires_grad_(True)
    FrequencyWeightedBCELoss()(x1, y).backward()
    x2 = x.clone().requires_grad_(True)
    FrequencyWeightedBCELoss(detach_weight=True)(x2, y).backward()
    assert not torch.allclose(x1.grad, x2.grad)
    # detached: the gradient is the one of a BCE with the positive weight held constant
    loss = FrequencyWeightedBCELoss()
    w = loss.class_weight(x, y)
    x3 = x.clone().requires_grad_(True)
    torch.nn.functional.binary_cross_entropy_with_logits(x3, y, pos_weight=w.reshape(-1)).backward()
    torch.testing.assert_close(x2.grad, x3.grad)


def test_gradcheck_float64():
    x, y = _data(2)
    x = x[..., :3, :3].contiguous().requires_grad_(True)
    y = y[..., :3, :3].contiguous()
    for mode in ("probability", "label"):
        loss = FrequencyWeightedBCELoss(mode=mode)
        assert torch.autograd.gradcheck(lambda inp, loss=loss: loss(inp, y), (x,))


@pytest.mark.parametrize("kind", ["all_background", "all_foreground", "single_voxel"])
@pytest.mark.parametrize("mode", ["probability", "label"])
def test_edge_targets_and_bf16_autocast_finite(kind, mode):
    x, _ = _data()
    y = torch.zeros_like(x) if kind != "all_foreground" else torch.ones_like(x)
    if kind == "single_voxel":
        y[0, 0, 0, 0] = 1
    conv = torch.nn.Conv2d(1, 1, 3, padding=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = FrequencyWeightedBCELoss(mode=mode)(conv(x.float() * 5), y.float())
    value.backward()
    assert torch.isfinite(value)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_consistent(reduction):
    x, y = _data(2)
    none = FrequencyWeightedBCELoss(reduction="none")(x, y)
    got = FrequencyWeightedBCELoss(reduction=reduction)(x, y)
    torch.testing.assert_close(got, {"none": none, "mean": none.mean(), "sum": none.sum()}[reduction])


def test_errors():
    with pytest.raises(ValueError, match="`mode`"):
        FrequencyWeightedBCELoss(mode="counts")
    with pytest.raises(ValueError, match="smooth_dr"):
        FrequencyWeightedBCELoss(smooth_dr=-1)
    x, y = _data()
    with pytest.raises(ValueError, match="`target` must have shape"):
        FrequencyWeightedBCELoss()(x, y[..., :2])
