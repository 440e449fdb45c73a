from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from monai.data import MetaTensor

from monai_imbalance.maps import active_contour_map, boundary_distance_map, rrw_map
from monai_imbalance.maps.region_wise import _boundary_torch, _class_index, _rrw_torch
from tests._reference_maps import one_hot
from tests._reference_region_wise import (
    active_contour_reference,
    boundary_reference,
    random_labels,
    rrw_reference,
    rw_gradient,
    softmax,
)

CASES = [
    pytest.param((15, 17), None, id="2d-iso"),
    pytest.param((15, 17), (0.6, 2.4), id="2d-aniso"),
    pytest.param((10, 11, 12), None, id="3d-iso"),
    pytest.param((10, 11, 12), (2.5, 0.7, 1.2), id="3d-aniso"),
]


def _index(shape, num_classes=3, seed=0):
    return random_labels(np.random.default_rng(seed), shape, num_classes)


# --------------------------------------------------------------------------------------------- references
@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_rrw_matches_reference_all_paths(shape, spacing):
    index = _index(shape, 4)
    ref = rrw_reference(index, 4, spacing)
    z_np = rrw_map(index[None], spacing, num_classes=4)
    z_cpu = rrw_map(torch.from_numpy(index[None]), spacing, num_classes=4)
    z_pure = _rrw_torch(torch.from_numpy(index), 4, spacing or (1.0,) * len(shape))
    assert z_np.dtype == np.float32
    assert z_np.shape == (4, *shape)
    assert z_cpu.dtype == torch.float32
    np.testing.assert_allclose(z_np, ref, atol=1e-6)
    np.testing.assert_allclose(z_cpu.numpy(), ref, atol=1e-6)
    np.testing.assert_allclose(z_pure.numpy(), ref, atol=1e-6)


@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_boundary_matches_reference_all_paths(shape, spacing):
    index = _index(shape, 3, seed=1)
    ref = boundary_reference(index, 3, spacing)
    got = boundary_distance_map(index[None], spacing)
    got_cpu = boundary_distance_map(torch.from_numpy(index[None]), spacing)
    got_pure = _boundary_torch(torch.from_numpy(index), 3, spacing or (1.0,) * len(shape))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got_cpu.numpy(), ref, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(got_pure.numpy(), ref, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("shape", [(6, 7), (4, 5, 3)], ids=["2d", "3d"])
def test_active_contour_matches_reference(shape):
    index = _index(shape, 4, seed=2)
    ref = active_contour_reference(index, 4)
    np.testing.assert_array_equal(active_contour_map(index[None], num_classes=4), ref)
    np.testing.assert_array_equal(active_contour_map(torch.from_numpy(index[None]), num_classes=4).numpy(), ref)
    np.testing.assert_array_equal(active_contour_map(one_hot(index, 4)), ref)


@pytest.mark.parametrize("fn", [rrw_map, boundary_distance_map], ids=["rrw", "boundary"])
def test_one_hot_and_index_agree(fn):
    index = _index((9, 8, 7), 3, seed=3)
    spacing = (1.0, 2.0, 0.5)
    by_index = fn(index[None], spacing, num_classes=3)
    np.testing.assert_array_equal(fn(one_hot(index, 3), spacing), by_index)
    np.testing.assert_array_equal(fn(one_hot(index, 3).astype(bool), spacing), by_index)
    np.testing.assert_array_equal(fn(torch.from_numpy(one_hot(index, 3)), spacing).numpy(), by_index)
    np.testing.assert_array_equal(fn(index[None].astype(np.float32), spacing, num_classes=3), by_index)


# ----------------------------------------------------------------------------------------- hand computed
def test_rrw_hand_computed_anisotropic():
    # class 1 is a 3x3 square in a 5x5 image, spacing 2 along rows, 1 along columns
    index = np.zeros((1, 5, 5), int)
    index[0, 1:4, 1:4] = 1
    z = rrw_map(index, spacing=(2, 1), num_classes=2)
    # class 1 inside distances: its side columns are one column step (1) from the outside, its middle column
    # two column steps or one row step (both 2)
    d1 = np.array([[1, 2, 1], [1, 2, 1], [1, 2, 1]], float)
    np.testing.assert_allclose(z[1, 1:4, 1:4], -d1 / 2)
    assert (z[1][index[0] == 0] == 1).all()
    assert (z[0][index[0] == 1] == 1).all()
    # background: the corners are the deepest, sqrt(2^2 + 1^2) from the square's corner voxels
    assert z[0, 0, 0] == -1.0
    assert z[0, 0, 2] == pytest.approx(-2 / np.sqrt(5.0))


def test_boundary_spacing_keeps_the_minus_one_literally():
    index = np.array([[[0, 0, 0, 1, 1, 1]]])
    got = boundary_distance_map(index, spacing=(1.0, 0.5))
    # class 1 inside distances 0.5, 1.0, 1.5 -> 1 - d; outside distances to class 1: 1.5, 1.0, 0.5
    np.testing.assert_allclose(got[1, 0], [1.5, 1.0, 0.5, 0.5, 0.0, -0.5])
    np.testing.assert_allclose(got[0, 0], [-0.5, 0.0, 0.5, 0.5, 1.0, 1.5])


# ------------------------------------------------------------------------------------------- edge cases
def test_empty_class_full_class_single_voxel_and_border():
    index = np.zeros((1, 6, 7), int)
    index[0, 2, 3] = 2  # single voxel of class 2; class 1 absent
    z = rrw_map(index, (1.5, 0.5), num_classes=4)
    assert (z[1] == 1).all()
    assert (z[3] == 1).all()
    assert z[2, 2, 3] == -1.0  # d = the smallest spacing = its max
    assert (np.delete(z[2].ravel(), 2 * 7 + 3) == 1).all()
    b = boundary_distance_map(index, (1.5, 0.5), num_classes=4)
    assert (b[1] == 0).all()
    assert (b[3] == 0).all()
    assert b[2, 2, 3] == pytest.approx(0.5)  # 1 - 0.5, as written

    full = np.full((1, 4, 5), 1)
    z = rrw_map(full, num_classes=3)
    assert (z[1] == -1).all()
    assert (z[[0, 2]] == 1).all()
    assert (boundary_distance_map(full, num_classes=3) == 0).all()
    assert (_rrw_torch(torch.from_numpy(full[0]), 3, (1.0, 1.0)).numpy() == z).all()
    assert (_boundary_torch(torch.from_numpy(full[0]), 3, (1.0, 1.0)) == 0).all()

    # a class touching the border: the border is no boundary, distances run to the other class only
    z = rrw_map(np.array([[1, 1, 1, 0, 0]]))
    np.testing.assert_allclose(z[1], [-1, -2 / 3, -1 / 3, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(z[0], [1, 1, 1, -0.5, -1], rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 0, 5), (1, 4, 0)], ids=["empty-first", "empty-last"])
def test_empty_image(shape):
    label = np.zeros(shape, int)
    assert rrw_map(label, num_classes=2).shape == (2, *shape[1:])
    assert boundary_distance_map(label, num_classes=2).shape == (2, *shape[1:])
    index = torch.zeros(shape[1:], dtype=torch.long)
    assert _rrw_torch(index, 2, (1.0, 1.0)).shape == (2, *shape[1:])
    assert _boundary_torch(index, 2, (1.0, 1.0)).shape == (2, *shape[1:])


def test_num_classes_inferred_as_max_plus_one():
    assert rrw_map(np.array([[0, 2, 1]])).shape == (3, 3)
    z = rrw_map(np.array([[0, 2, 2]]), num_classes=3)  # an absent class: all 1 (given num_classes)
    assert z.shape == (3, 3)
    assert (z[1] == 1).all()
    assert rrw_map(np.zeros((1, 3), int)).shape == (1, 3)
    assert rrw_map(np.ones((1, 3), int)).shape == (2, 3)  # up to 2 classes: a binary label without background
    assert active_contour_map(np.array([[0, 1]])).shape == (2, 2)


@pytest.mark.parametrize("fn", [rrw_map, boundary_distance_map, active_contour_map])
@pytest.mark.parametrize("to_torch", [False, True], ids=["numpy", "torch"])
def test_inferred_classes_must_all_be_present(fn, to_torch):
    # a 0/255 mask is not a 256-class label: inferring num_classes refuses absent classes above 2
    for label, absent in ((np.array([[0, 255, 255]]), 254), (np.array([[0, 2, 2]]), 1)):
        arg = torch.as_tensor(label) if to_torch else label
        with pytest.raises(ValueError, match=rf"inferred as 0\.\.{label.max()} .*but {absent} of these classes"):
            fn(arg)


def test_torch_plain_tensor_out_and_label_untouched():
    label = MetaTensor(torch.tensor([[[0.0, 1.0, 1.0], [2.0, 2.0, 0.0]]]))
    before = label.as_tensor().clone()
    for fn in (rrw_map, boundary_distance_map, active_contour_map):
        out = fn(label, num_classes=3)
        assert type(out) is torch.Tensor
        assert out.dtype == torch.float32
        assert out.shape == (3, 2, 3)
    torch.testing.assert_close(label.as_tensor(), before)


@pytest.mark.parametrize("axis", [1, 2, 3])
def test_flip_invariance(axis):
    index = _index((7, 8, 9), 3, seed=4)[None]
    spacing = (1.0, 2.5, 0.5)
    for fn in (rrw_map, boundary_distance_map):
        np.testing.assert_allclose(
            fn(np.flip(index, axis), spacing, num_classes=3), np.flip(fn(index, spacing, num_classes=3), axis)
        )


def test_transpose_with_spacing():
    index = _index((7, 9), 3, seed=5)[None]
    z = rrw_map(index, (1.0, 3.0), num_classes=3)
    np.testing.assert_allclose(rrw_map(index.transpose(0, 2, 1), (3.0, 1.0), num_classes=3), z.transpose(0, 2, 1))


# --------------------------------------------------------------------------------- properties (paper 2)
@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 4)), elements=st.integers(0, 3)),
    st.tuples(*[st.floats(0.3, 3.0)] * 3),
    st.integers(0, 2**32 - 1),
)
def test_property_rrw_rectified(index, spacing, seed):
    z = rrw_map(index[None], spacing, num_classes=4)
    assert ((z >= -1) & (z <= 1)).all()
    true = np.take_along_axis(z, index[None], 0)[0]
    assert (true < 1).all()  # the true class is strictly below 1 (at most 0) ...
    off = np.ones_like(z, bool)
    np.put_along_axis(off, index[None], False, 0)
    assert (z[off] == 1).all()  # ... and every off-class component equals 1 (the rectification principle)
    for c in np.unique(index):
        assert z[c][index == c].min() == -1.0  # the deepest voxel of each present class
    # the RW gradient s_c (z_c - sum_j s_j z_j) has exactly one negative component, at the true class
    s = softmax(np.random.default_rng(seed).normal(0, 3, z.shape))
    g = rw_gradient(s, z.astype(np.float64))
    assert ((g < 0).sum(0) == 1).all()
    assert (np.take_along_axis(g, index[None], 0) < 0).all()
    pure = _rrw_torch(torch.from_numpy(index), 4, spacing).numpy()
    np.testing.assert_allclose(pure, z, atol=1e-6)


def test_figure2_boundary_maps_give_several_negative_components_rrw_one():
    """Valverde & Tohka, Fig. 2: RW-Boundary maps can push several softmax values up at once; RRW cannot."""
    index = np.array([[0] * 6 + [1] * 3 + [2] * 3])  # 1-D, 3 classes
    s = np.broadcast_to(np.array([0.8, 0.1, 0.1])[:, None], (3, 12))  # confident in the wrong class 0
    b = boundary_distance_map(index, num_classes=3).astype(np.float64)
    neg_b = (rw_gradient(s, b) < 0).sum(0)
    assert neg_b.max() >= 2
    # e.g. the first class-2 voxel: z = (4, 1, 0) -> sum s z = 3.3 > z_1, z_2: both gradients negative
    assert neg_b[9] == 2
    z = rrw_map(index, num_classes=3).astype(np.float64)
    assert ((rw_gradient(s, z) < 0).sum(0) == 1).all()


def test_class_weights_scale_inside_values_only():
    index = _index((9, 10), 3, seed=7)
    spacing = (1.0, 1.7)
    weights = [0.5, 1.0, 3.0]
    ref = rrw_reference(index, 3, spacing)
    for c, w in enumerate(weights):
        ref[c][index == c] *= w
    got = rrw_map(index[None], spacing, num_classes=3, class_weights=weights)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    got_t = rrw_map(torch.from_numpy(index[None]), spacing, num_classes=3, class_weights=torch.tensor(weights))
    np.testing.assert_allclose(got_t.numpy(), ref, atol=1e-6)
    assert got.min() == -3.0
    # still rectified: exactly one negative gradient component, at the true class
    s = softmax(np.random.default_rng(0).normal(0, 2, got.shape))
    g = rw_gradient(s, got.astype(np.float64))
    assert ((g < 0).sum(0) == 1).all()
    np.testing.assert_array_equal(
        rrw_map(index[None], spacing, 3, class_weights=[1, 1, 1]), rrw_map(index[None], spacing, 3)
    )


@pytest.mark.parametrize(
    ("weights", "exc", "match"),
    [
        ([1.0, 2.0], ValueError, r"`class_weights` must hold one factor per class \(3\), got 2"),
        ([1.0, 0.0, 1.0], ValueError, "`class_weights` must hold finite positive factors"),
        ([1.0, -1.0, 1.0], ValueError, "`class_weights` must hold finite positive factors"),
        ([1.0, float("nan"), 1.0], ValueError, "`class_weights` must hold finite positive factors"),
        (["a", "b", "c"], TypeError, "`class_weights` must be a sequence of numbers"),
    ],
)
def test_class_weights_errors(weights, exc, match):
    with pytest.raises(exc, match=match):
        rrw_map(np.zeros((1, 3, 3), int), num_classes=3, class_weights=weights)


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("fn", [rrw_map, boundary_distance_map, active_contour_map], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("label", "kwargs", "exc", "match"),
    [
        ([[0, 1]], {}, TypeError, "`label` must be a numpy array or a torch tensor, got list"),
        (
            np.zeros(4),
            {},
            ValueError,
            r"channel-first \(C, \*spatial\) with 1 to 3 spatial dimensions, got shape \(4,\)",
        ),
        (np.zeros((1, 2, 2, 2, 2)), {}, ValueError, r"got shape \(1, 2, 2, 2, 2\)"),
        (np.array([[0.0, np.nan]]), {}, ValueError, "`label` must hold finite values, got 1 NaN"),
        (np.array([[0.0, 1.5]]), {}, ValueError, "must hold integer class indices, got non-integer 1.5"),
        (np.array([[0, -1]]), {}, ValueError, "class indices must be >= 0, got minimum -1"),
        (np.array([[0, 3]]), {"num_classes": 3}, ValueError, "must be < num_classes=3, got maximum 3"),
        (np.array([[0, 2], [1, 0]]), {}, ValueError, "must be one-hot \\(values 0 and 1\\), got value 2.0"),
        (
            np.array([[1, 1], [1, 0]]),
            {},
            ValueError,
            r"one class per voxel, got 1 voxel\(s\) whose channels do not sum to 1",
        ),
        (
            np.array([[0, 0], [0, 1]]),
            {},
            ValueError,
            r"one class per voxel, got 1 voxel\(s\) whose channels do not sum to 1",
        ),
        (np.array([[1, 0], [0, 1]]), {"num_classes": 3}, ValueError, "one-hot has 2 channels but num_classes=3"),
        (np.array([[0, 1]]), {"num_classes": 0}, ValueError, "`num_classes` must be a positive int, got 0"),
        (np.array([[0, 1]]), {"num_classes": 2.0}, TypeError, "`num_classes` must be None or a positive int"),
        (np.array([[0, 1]]), {"num_classes": True}, TypeError, "`num_classes` must be None or a positive int"),
    ],
)
def test_label_errors(fn, label, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(label, **kwargs)
    if isinstance(label, np.ndarray) and label.ndim >= 2:  # torch input raises the same
        with pytest.raises(exc, match=match):
            fn(torch.from_numpy(label), **kwargs)
        with pytest.raises(exc, match=match):  # the validation of the device (CUDA) path, run on the CPU
            _class_index(torch.from_numpy(label), kwargs.get("num_classes"))


@pytest.mark.parametrize("dtype", [torch.bool, torch.uint8, torch.int64, torch.float32], ids=str)
def test_device_path_class_index_matches_numpy(dtype):
    index = _index((5, 6), 3, seed=8)
    got, nc = _class_index(torch.from_numpy(one_hot(index, 3)).to(dtype), None)
    assert nc == 3
    np.testing.assert_array_equal(got.numpy(), index)
    binary = (index > 0)[None]
    got, nc = _class_index(torch.from_numpy(binary).to(dtype), None)
    assert nc == 2
    np.testing.assert_array_equal(got.numpy(), binary[0])


@pytest.mark.parametrize("fn", [rrw_map, boundary_distance_map], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("spacing", "exc", "match"),
    [
        ((1.0,), ValueError, r"`spacing` must have one value per spatial dimension \(2\), got 1"),
        ((1.0, 0.0), ValueError, r"`spacing` must hold finite positive values, got \(1.0, 0.0\)"),
        ((1.0, -2.0), ValueError, "finite positive values"),
        ((1.0, float("nan")), ValueError, "finite positive values"),
        ("mm", TypeError, "`spacing` must be a number or a sequence of numbers"),
    ],
)
def test_spacing_errors(fn, spacing, exc, match):
    with pytest.raises(exc, match=match):
        fn(np.zeros((1, 3, 3), int), spacing)


# -------------------------------------------------------------------------------------------------- GPU
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("shape", "spacing"), CASES)
def test_cuda_matches_numpy(shape, spacing):
    index = _index(shape, 3, seed=6)
    label = torch.from_numpy(index[None]).cuda()
    for fn in (rrw_map, boundary_distance_map):
        out = fn(label, spacing, num_classes=4)
        assert out.is_cuda
        assert out.dtype == torch.float32
        np.testing.assert_allclose(out.cpu().numpy(), fn(index[None], spacing, num_classes=4), atol=1e-5, rtol=1e-5)
    ac = active_contour_map(label, num_classes=4)
    assert ac.is_cuda
    np.testing.assert_array_equal(ac.cpu().numpy(), active_contour_map(index[None], num_classes=4))
    one_hot_cuda = torch.from_numpy(one_hot(index, 3)).cuda()
    np.testing.assert_allclose(
        rrw_map(one_hot_cuda, spacing).cpu().numpy(), rrw_reference(index, 3, spacing), atol=1e-5
    )
