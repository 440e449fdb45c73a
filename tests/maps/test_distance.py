from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from monai.data import MetaTensor

from monai_imbalance.maps import distance as dist_mod
from monai_imbalance.maps.distance import (
    distance_transform,
    distance_transform_torch,
    label_distance_transform,
    label_distance_transform_torch,
)
from tests._reference_region_wise import (
    brute_force_distance,
    brute_force_label_distance,
    random_labels,
    scipy_class_distance,
)

CASES = [
    pytest.param((9,), None, id="1d"),
    pytest.param((11, 13), None, id="2d-iso"),
    pytest.param((11, 13), (0.7, 2.5), id="2d-aniso"),
    pytest.param((9, 10, 11), None, id="3d-iso"),
    pytest.param((9, 10, 11), (3.0, 0.8, 1.1), id="3d-aniso"),
]


def _per_class_reference(labels, spacing):
    out = np.zeros(labels.shape)
    for v in np.unique(labels):
        m = labels == v
        out[m] = scipy_class_distance(m, spacing)[m]
    return out


@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_distance_transform_matches_scipy_all_paths(shape, spacing):
    rng = np.random.default_rng(0)
    mask = random_labels(rng, shape, 2) == 1
    ref = scipy_class_distance(mask, spacing)
    d_np = distance_transform(mask, spacing)
    d_cpu = distance_transform(torch.from_numpy(mask), spacing)
    d_pure = distance_transform_torch(torch.from_numpy(mask), spacing)
    assert d_np.dtype == np.float32
    assert d_cpu.dtype == torch.float32
    assert d_pure.dtype == torch.float32
    np.testing.assert_allclose(d_np, ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d_cpu.numpy(), ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d_pure.numpy(), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_label_distance_transform_matches_per_label_scipy(shape, spacing):
    rng = np.random.default_rng(1)
    labels = random_labels(rng, shape, 4)
    ref = _per_class_reference(labels, spacing)
    np.testing.assert_allclose(label_distance_transform(labels, spacing), ref, rtol=1e-6, atol=1e-6)
    got_cpu = label_distance_transform(torch.from_numpy(labels), spacing)
    np.testing.assert_allclose(got_cpu.numpy(), ref, rtol=1e-6, atol=1e-6)
    got_pure = label_distance_transform_torch(torch.from_numpy(labels), spacing)
    np.testing.assert_allclose(got_pure.numpy(), ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((7,), (1.5,)), ((5, 6), (1.0, 2.2)), ((4, 5, 3), (2.0, 0.5, 1.3)), ((3, 3, 4, 3), (1.0, 2.0, 0.7, 1.5))],
    ids=["1d", "2d", "3d", "4d-scipy-fallback"],
)
def test_against_brute_force(shape, spacing):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, shape)
    mask = labels == 0
    np.testing.assert_allclose(
        label_distance_transform(labels, spacing), brute_force_label_distance(labels, spacing), rtol=1e-6
    )
    np.testing.assert_allclose(
        label_distance_transform_torch(torch.from_numpy(labels), spacing).numpy(),
        brute_force_label_distance(labels, spacing),
        rtol=1e-6,
    )
    np.testing.assert_allclose(distance_transform(mask, spacing), brute_force_distance(mask, spacing), rtol=1e-6)
    np.testing.assert_allclose(
        distance_transform_torch(torch.from_numpy(mask), spacing).numpy(),
        brute_force_distance(mask, spacing),
        rtol=1e-6,
    )


def test_scipy_fallback_matches_edt(monkeypatch):
    rng = np.random.default_rng(3)
    labels = random_labels(rng, (8, 9, 7), 3)
    spacing = (1.0, 2.0, 0.5)
    fast_l, fast_b = label_distance_transform(labels, spacing), distance_transform(labels == 1, spacing)
    monkeypatch.setattr(dist_mod, "_HAS_EDT", False)
    np.testing.assert_allclose(label_distance_transform(labels, spacing), fast_l, rtol=1e-6)
    np.testing.assert_allclose(distance_transform(labels == 1, spacing), fast_b, rtol=1e-6)
    assert np.isinf(label_distance_transform(np.zeros((3, 4), int))).all()
    assert np.isinf(distance_transform(np.ones((3, 4), bool))).all()


def test_pure_torch_chunking(monkeypatch):
    """The min-plus pass processed a few lines at a time gives the same result."""
    rng = np.random.default_rng(4)
    labels = torch.from_numpy(random_labels(rng, (6, 7, 8), 3))
    full = label_distance_transform_torch(labels, (1.0, 1.5, 0.5))
    monkeypatch.setattr(dist_mod, "_CHUNK_ELEMENTS", 100)
    torch.testing.assert_close(label_distance_transform_torch(labels, (1.0, 1.5, 0.5)), full)


def test_hand_computed_with_spacing():
    mask = np.array([[1, 1, 1], [1, 1, 1], [0, 1, 1]], bool)
    # spacing 2 along rows, 1 along columns; the nearest outside voxel is (2, 0)
    expected = np.array([[4.0, np.sqrt(17.0), np.sqrt(20.0)], [2.0, np.sqrt(5.0), np.sqrt(8.0)], [0.0, 1.0, 2.0]])
    np.testing.assert_allclose(distance_transform(mask, (2, 1)), expected, rtol=1e-6)
    np.testing.assert_allclose(distance_transform_torch(torch.from_numpy(mask), (2, 1)).numpy(), expected, rtol=1e-6)


def test_border_is_not_a_boundary():
    d = distance_transform(np.array([1, 1, 1, 0, 1, 1]))
    np.testing.assert_array_equal(d, [3, 2, 1, 0, 1, 2])


def test_inner_border_is_one_voxel_step():
    mask = np.zeros((5, 5, 5), bool)
    mask[1:4, 1:4, 1:4] = True
    d = distance_transform(mask, (3.0, 0.5, 2.0))
    assert d[2, 2, 2] == pytest.approx(1.0)  # nearest axis: 2 steps of 0.5
    assert d[1, 2, 2] == pytest.approx(1.0)
    assert d[2, 1, 2] == pytest.approx(0.5)  # inner border voxel: one step along axis 1


@pytest.mark.parametrize("fn", [distance_transform, distance_transform_torch], ids=["dispatch", "pure"])
def test_all_true_is_inf_all_false_is_zero(fn):
    ones = torch.ones(4, 5, dtype=torch.bool)
    assert torch.isinf(torch.as_tensor(fn(ones))).all()
    assert (torch.as_tensor(fn(~ones)) == 0).all()
    assert (torch.as_tensor(fn(torch.zeros(0, 3, dtype=torch.bool)))).shape == (0, 3)


def test_single_label_is_inf_and_label_dtypes():
    assert np.isinf(label_distance_transform(np.full((3, 4), 7))).all()
    assert torch.isinf(label_distance_transform_torch(torch.full((3, 4), 7))).all()
    labels = np.array([[-5, -5, 300, 300, 300, 70000]])
    ref = brute_force_label_distance(labels)
    for lab in (labels, labels.astype(np.int32), labels.astype(np.uint64) % 1000):
        np.testing.assert_allclose(label_distance_transform(lab), brute_force_label_distance(lab), rtol=1e-6)
    np.testing.assert_allclose(label_distance_transform(labels), ref)
    b = np.array([True, True, False])
    np.testing.assert_allclose(label_distance_transform(b), [2, 1, 1])
    u8 = np.array([0, 255, 255], np.uint8)  # 255 + 1 does not fit uint8
    np.testing.assert_allclose(label_distance_transform(u8), [1, 1, 2])


def test_single_voxel():
    mask = np.zeros((5, 6), bool)
    mask[2, 3] = True
    d = distance_transform(mask, (1.7, 0.4))
    assert d[2, 3] == pytest.approx(0.4)
    assert np.count_nonzero(d) == 1


def test_torch_outputs_plain_tensor_same_device_and_no_input_change():
    mask = MetaTensor(torch.tensor([[1.0, 1.0, 0.0]]))
    before = mask.clone()
    d = distance_transform(mask)
    assert type(d) is torch.Tensor
    assert d.device == mask.device
    torch.testing.assert_close(d, torch.tensor([[2.0, 1.0, 0.0]]))
    torch.testing.assert_close(mask.as_tensor(), before.as_tensor())


@pytest.mark.parametrize("flip_axis", [0, 1])
def test_flip_invariance(flip_axis):
    rng = np.random.default_rng(5)
    labels = random_labels(rng, (12, 9), 3)
    d = label_distance_transform(labels, (1.3, 0.6))
    np.testing.assert_allclose(label_distance_transform(np.flip(labels, flip_axis), (1.3, 0.6)), np.flip(d, flip_axis))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 5)), elements=st.integers(0, 2)),
    st.tuples(*[st.floats(0.25, 4.0)] * 3),
)
def test_property_pure_torch_equals_edt_and_bounds(labels, spacing):
    d = label_distance_transform(labels, spacing)
    pure = label_distance_transform_torch(torch.from_numpy(labels), spacing).numpy()
    np.testing.assert_allclose(pure, d, rtol=1e-5)
    if len(np.unique(labels)) > 1:  # every voxel is at least one voxel step from another label
        assert (d >= min(spacing) * (1 - 1e-6)).all()
        assert np.isfinite(d).all()
    else:
        assert np.isinf(d).all()


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: distance_transform([1, 0]), TypeError, "`mask` must be a numpy array or a torch tensor, got list"),
        (lambda: distance_transform(np.array(1)), ValueError, "`mask` must have at least one spatial dimension"),
        (lambda: distance_transform(np.array([1.0, np.nan])), ValueError, "`mask` must hold finite values"),
        (lambda: distance_transform(np.ones(3), spacing=(1, 1)), ValueError, "one value per spatial dimension"),
        (lambda: distance_transform(np.ones(3), spacing=0), ValueError, "finite positive values"),
        (lambda: distance_transform(np.ones(3), spacing=-1.0), ValueError, "finite positive values"),
        (lambda: distance_transform(np.ones(3), spacing=float("nan")), ValueError, "finite positive values"),
        (lambda: distance_transform(np.ones(3), spacing="a"), TypeError, "`spacing` must be a number"),
        (lambda: label_distance_transform(np.ones(3)), TypeError, "`labels` must hold integer or boolean labels"),
        (lambda: label_distance_transform_torch(np.ones(3, int)), TypeError, "`labels` must be a torch tensor"),
        (lambda: distance_transform_torch(np.ones(3)), TypeError, "`mask` must be a torch tensor"),
        (lambda: label_distance_transform_torch(torch.ones(3)), TypeError, "integer or boolean labels, got dtype"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_cuda_matches_cpu(shape, spacing):
    rng = np.random.default_rng(6)
    labels = random_labels(rng, shape, 3)
    cuda = torch.from_numpy(labels).cuda()
    d = label_distance_transform(cuda, spacing)
    b = distance_transform(cuda == 1, spacing)
    assert d.is_cuda
    assert b.is_cuda
    np.testing.assert_allclose(d.cpu().numpy(), label_distance_transform(labels, spacing), rtol=1e-5)
    np.testing.assert_allclose(b.cpu().numpy(), distance_transform(labels == 1, spacing), rtol=1e-5)
