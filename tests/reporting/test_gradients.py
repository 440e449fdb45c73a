"""Gradient-sign diagnostics (paper 2, section 3.4, Figures 2-3): counts against the analytic references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monai_imbalance.losses import RegionWiseLoss, VoxelWeightedBCELoss
from monai_imbalance.maps import boundary_distance_map, rrw_map
from monai_imbalance.reporting.gradients import logit_gradient, negative_component_counts, negative_component_map
from tests._reference_region_wise import (
    boundary_reference,
    random_labels,
    reference_counts,
    reference_rw_gradient,
    rrw_reference,
)


def _batch_maps(labels, num_classes, kind):
    ref = rrw_reference if kind == "rrw" else boundary_reference
    return torch.from_numpy(np.stack([ref(lab, num_classes) for lab in labels]))


@settings(max_examples=25, deadline=None)
@given(
    num_classes=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 4.0),
    ndim=st.sampled_from([1, 2, 3]),
)
def test_rrw_maps_give_exactly_one_negative_component(num_classes, seed, scale, ndim):
    rng = np.random.default_rng(seed)
    shape = {1: (17,), 2: (9, 8), 3: (5, 6, 4)}[ndim]
    labels = np.stack([random_labels(rng, shape, num_classes) for _ in range(2)])
    z = _batch_maps(labels, num_classes, "rrw")
    logits = torch.from_numpy(scale * rng.standard_normal((2, num_classes, *shape)))
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    assert counts.shape == (num_classes + 1,)
    assert counts[1] == labels.size, counts
    # the single negative component sits at the true class
    grad = logit_gradient(RegionWiseLoss(), logits, None, rw_map=z).numpy()
    np.testing.assert_array_equal(grad.argmin(axis=1), labels)


def test_rrw_computed_from_target_inside_the_loss():
    rng = np.random.default_rng(3)
    labels = np.stack([random_labels(rng, (12, 10), 4) for _ in range(2)])
    target = torch.from_numpy(labels[:, None])
    logits = torch.from_numpy(rng.standard_normal((2, 4, 12, 10)))
    counts = negative_component_counts(RegionWiseLoss(), logits, target)
    assert counts[1] == labels.size
    assert counts.sum() == labels.size


def test_rw_boundary_three_classes_has_several_negative_components():
    # background, class 1 on the left, class 2 on the right: background voxels next to class 1 and far from
    # class 2 have both Z_0 and Z_1 below the mean under uniform probabilities
    label = np.zeros((1, 24, 24), np.int64)
    label[0, 4:10, 2:8] = 1
    label[0, 14:20, 16:22] = 2
    z = torch.from_numpy(boundary_distance_map(label, num_classes=3))[None].double()
    np.testing.assert_allclose(z[0].numpy(), boundary_reference(label[0], 3))
    logits = torch.zeros(1, 3, 24, 24, dtype=torch.float64)
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    assert counts[2:].sum() > 0
    assert counts[1] < label.size
    # the same label with its RRW map: all ones
    z_rrw = torch.from_numpy(rrw_map(label, num_classes=3))[None].double()
    assert negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z_rrw)[1] == label.size


def test_two_classes_boundary_map_is_fine():
    # with two classes the gradient components are opposite: exactly one negative whenever Z_0 != Z_1
    rng = np.random.default_rng(0)
    label = random_labels(rng, (16, 16), 2)
    z = torch.from_numpy(boundary_reference(label, 2))[None]
    logits = torch.from_numpy(rng.standard_normal((1, 2, 16, 16)))
    counts = negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z)
    unequal = int((z[0, 0] != z[0, 1]).sum())
    assert counts[1] == unequal


@pytest.mark.parametrize("kind", ["rrw", "boundary", "random"])
@pytest.mark.parametrize("num_classes", [2, 3, 5])
def test_gradient_and_counts_match_the_analytic_reference(kind, num_classes):
    rng = np.random.default_rng(num_classes)
    shape = (7, 6)
    labels = np.stack([random_labels(rng, shape, num_classes) for _ in range(2)])
    if kind == "random":
        z = torch.from_numpy(rng.normal(size=(2, num_classes, *shape)))
    else:
        z = _batch_maps(labels, num_classes, kind)
    logits = torch.from_numpy(2 * rng.standard_normal((2, num_classes, *shape)))
    grad = logit_gradient(RegionWiseLoss(), logits, None, rw_map=z)
    ref = reference_rw_gradient(logits.numpy(), z.numpy())
    np.testing.assert_allclose(grad.numpy(), ref, rtol=1e-10, atol=1e-15)
    expected = reference_counts(ref, num_classes)
    np.testing.assert_array_equal(negative_component_counts(RegionWiseLoss(), logits, None, rw_map=z), expected)
    per_voxel = negative_component_map(RegionWiseLoss(), logits, None, rw_map=z)
    np.testing.assert_array_equal(per_voxel, (ref < 0).sum(axis=1))


def test_map_arg_and_tolerance():
    # voxel-weighted BCE: d/dx = w (p - y) / N, negative exactly at positive targets with p < 1
    x = torch.tensor([[[0.0, 0.0, 0.0, 30.0]]], dtype=torch.float64)
    y = torch.tensor([[[1.0, 0.0, 1.0, 1.0]]], dtype=torch.float64)
    w = torch.tensor([[[1.0, 1.0, 0.0, 1.0]]], dtype=torch.float64)
    counts = negative_component_map(VoxelWeightedBCELoss(), x, y, rw_map=w, map_arg="weight")
    np.testing.assert_array_equal(counts, [[1, 0, 0, 1]])  # zero weight: zero gradient; p ~ 1: tiny negative
    counts = negative_component_map(VoxelWeightedBCELoss(), x, y, rw_map=w, map_arg="weight", tol=1e-6)
    np.testing.assert_array_equal(counts, [[1, 0, 0, 0]])


def test_saturated_softmax_gives_zero_not_two():
    # s_c == 1.0 exactly in float64: the true-class component rounds to 0, the others are 0 too -> 0 negatives;
    # a rectified map never produces two
    x = torch.tensor([[[60.0, 0.0], [-60.0, 0.0], [-60.0, 0.0]]], dtype=torch.float64)
    z = torch.tensor([[[-1.0, -1.0], [1.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    np.testing.assert_array_equal(negative_component_map(RegionWiseLoss(), x, None, rw_map=z), [[0, 1]])


def test_logits_graph_is_untouched():
    logits = torch.randn(1, 3, 4, requires_grad=True)
    out = logits * 2
    z = torch.ones(1, 3, 4)
    z[:, 0] = -1
    logit_gradient(RegionWiseLoss(), out, None, rw_map=z)
    assert logits.grad is None
    out.sum().backward()  # the caller's graph still works
    assert torch.equal(logits.grad, torch.full((1, 3, 4), 2.0))


def test_errors():
    loss = RegionWiseLoss()
    z = torch.ones(1, 2, 3)
    with pytest.raises(TypeError, match=r"`logits` must be a torch\.Tensor"):
        logit_gradient(loss, np.zeros((1, 2, 3)), None, z)
    with pytest.raises(TypeError, match="`logits` must be a floating tensor"):
        logit_gradient(loss, torch.zeros(1, 2, 3, dtype=torch.long), None, z)
    with pytest.raises(ValueError, match=r"`logits` must have shape \(B, C, \*spatial\)"):
        logit_gradient(loss, torch.zeros(2, 3), None, z)
    with pytest.raises(ValueError, match="does not depend on `logits`"):
        logit_gradient(lambda x, y: torch.tensor(1.0, requires_grad=True), torch.zeros(1, 2, 3), None)
    with pytest.raises(ValueError, match="no value depending on `logits`"):
        logit_gradient(lambda x, y: torch.tensor(1.0), torch.zeros(1, 2, 3), None)
    with pytest.raises(ValueError, match="`tol` must be a non-negative number"):
        negative_component_counts(loss, torch.zeros(1, 2, 3), None, z, tol=-1)
