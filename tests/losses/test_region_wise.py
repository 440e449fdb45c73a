"""RegionWiseLoss: formula, RRW maps from the target, gradient-sign property (Valverde & Tohka 2023, Fig. 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monai_imbalance.losses import RegionWiseLoss, two_class_probabilities
from monai_imbalance.maps.region_wise import boundary_distance_map, rrw_map
from tests._reference_region_wise import boundary_reference, rrw_reference


def _batch(seed, c, spatial=(6, 7), b=2, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, *spatial, generator=g, dtype=dtype) * 2
    labels = torch.randint(0, max(c, 2), (b, 1, *spatial), generator=g)
    return x, labels


def _ref_maps(labels, k, spacing=None, kind="rrw"):
    f = rrw_reference if kind == "rrw" else boundary_reference
    return torch.from_numpy(np.stack([f(lab[0].numpy(), k, spacing) for lab in labels]))


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_value_matches_formula(squared, reduction):
    x, labels = _batch(0, 3)
    z = _ref_maps(labels, 3)
    s = np.exp(x.numpy()) / np.exp(x.numpy()).sum(1, keepdims=True)
    terms = (s**2 if squared else s) * z.numpy()
    expected = {"mean": terms.mean(), "sum": terms.sum(), "none": terms}[reduction]
    got = RegionWiseLoss(squared_pred=squared, reduction=reduction)(x, labels, rw_map=z)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("spacing", [None, (1.0, 2.5)])
@pytest.mark.parametrize("onehot", [False, True])
def test_rrw_map_computed_from_target(spacing, onehot):
    x, labels = _batch(1, 3)
    z = _ref_maps(labels, 3, spacing)
    target = torch.nn.functional.one_hot(labels[:, 0], 3).movedim(-1, 1) if onehot else labels
    got = RegionWiseLoss(spacing=spacing)(x, target)
    torch.testing.assert_close(got, RegionWiseLoss()(x, labels, rw_map=z), rtol=1e-6, atol=1e-7)


def test_single_channel_is_two_class_softmax():
    x, labels = _batch(2, 1)
    labels = (labels > 0).long()
    two = torch.cat([torch.zeros_like(x), x], 1)
    z = _ref_maps(labels, 2)
    torch.testing.assert_close(two_class_probabilities(x), torch.softmax(two, 1))
    torch.testing.assert_close(RegionWiseLoss()(x, labels), RegionWiseLoss()(two, labels), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(RegionWiseLoss()(x, None, rw_map=z), RegionWiseLoss()(two, None, rw_map=z))


def _logit_grad(x, z):
    x = x.clone().requires_grad_(True)
    RegionWiseLoss()(x, None, rw_map=z).backward()
    return x.grad


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 100_000), c=st.integers(2, 5), use_package=st.booleans())
def test_rrw_gradient_has_exactly_one_negative_component_at_the_true_class(seed, c, use_package):
    x, labels = _batch(seed, c, spatial=(5, 6))
    z = torch.stack([rrw_map(lab, num_classes=c) for lab in labels]).double() if use_package else _ref_maps(labels, c)
    grad = _logit_grad(x, z)
    negative = grad < 0
    assert (negative.sum(1) == 1).all()
    true_class = torch.nn.functional.one_hot(labels[:, 0], c).movedim(-1, 1).bool()
    assert torch.equal(negative, true_class)


def test_boundary_map_gradient_has_several_negative_components_figure_2():
    """RW-Boundary maps on 3 classes: a background voxel near class 1 and far from class 2 pulls class 1 up too."""
    label = torch.zeros(1, 1, 12, dtype=torch.long)
    label[..., 4:6] = 1
    label[..., 10:] = 2
    x = torch.zeros(1, 3, 12, dtype=torch.float64)  # uniform probabilities
    for z in (
        boundary_distance_map(label[0], num_classes=3)[None].double(),
        _ref_maps(label, 3, kind="boundary"),
    ):
        counts = (_logit_grad(x, z) < 0).sum(1)
        assert (counts != 1).any()
        assert (counts >= 2).any()
    # the same voxels with the RRW map: exactly one
    z = _ref_maps(label, 3)
    assert ((_logit_grad(x, z) < 0).sum(1) == 1).all()


def test_gradcheck_float64():
    x, labels = _batch(3, 3, spatial=(3, 4))
    z = _ref_maps(labels, 3)
    x.requires_grad_(True)
    for squared in (False, True):
        loss = RegionWiseLoss(squared_pred=squared)
        assert torch.autograd.gradcheck(lambda inp, loss=loss: loss(inp, None, rw_map=z), (x,))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_finite_under_cpu_autocast(dtype):
    x, labels = _batch(4, 3, dtype=torch.float32)
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    with torch.autocast("cpu", dtype=dtype):
        value = RegionWiseLoss()(conv(x), labels)
    value.backward()
    assert torch.isfinite(value)
    assert all(torch.isfinite(p.grad).all() for p in conv.parameters())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_rrw_map_on_cuda_matches_cpu():
    x, labels = _batch(5, 3, dtype=torch.float32)
    cpu = RegionWiseLoss()(x, labels)
    gpu = RegionWiseLoss()(x.cuda(), labels.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-6)


def test_errors():
    x, labels = _batch(6, 3)
    z = _ref_maps(labels, 3)
    loss = RegionWiseLoss()
    with pytest.raises(ValueError, match="`rw_map` must have shape"):
        loss(x, None, rw_map=z[:, :2])
    with pytest.raises(TypeError, match=r"`target` must be a torch\.Tensor"):
        loss(x, None)
    with pytest.raises(ValueError, match="`target` must have shape"):
        loss(x, labels[..., :3])
    with pytest.raises(TypeError, match=r"`rw_map` must be a torch\.Tensor"):
        loss(x, None, rw_map=z.numpy())
    with pytest.raises(TypeError, match="floating-point"):
        loss(labels, labels)
    with pytest.raises(ValueError, match="reduction"):
        RegionWiseLoss(reduction="avg")
    with pytest.raises(ValueError, match="spacing"):
        RegionWiseLoss(spacing=(1.0, -2.0))


def test_metatensor_target_inside_engines():
    from monai.data import MetaTensor

    x, labels = _batch(7, 3)
    torch.testing.assert_close(RegionWiseLoss()(x, MetaTensor(labels)), RegionWiseLoss()(x, labels))


def test_squared_is_the_deprecated_name_of_squared_pred():
    x, labels = _batch(0, 3)
    z = _ref_maps(labels, 3)
    with pytest.warns(DeprecationWarning, match=r"RegionWiseLoss\(`squared`=...\) is deprecated: use `squared_pred`"):
        old = RegionWiseLoss(squared=True)
    assert old.squared_pred is True
    torch.testing.assert_close(old(x, labels, rw_map=z), RegionWiseLoss(squared_pred=True)(x, labels, rw_map=z))
    with pytest.raises(TypeError, match="give `squared_pred` only"):
        RegionWiseLoss(squared_pred=True, squared=True)


def test_spacing_setting_is_stored_validated():
    assert RegionWiseLoss(spacing=2).spacing == 2.0
    assert RegionWiseLoss(spacing=np.array([1, 2.5])).spacing == (1.0, 2.5)
    assert RegionWiseLoss().spacing is None
