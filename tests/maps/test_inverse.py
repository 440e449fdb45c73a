from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from monai_imbalance.maps import inverse_weight_map
from monai_imbalance.maps.inverse import _inverse_weight_map_torch
from tests._reference_maps import (
    one_hot,
    random_class_label,
    random_lesion_mask,
    reference_components,
    reference_inverse_weight_map,
)


def pure_torch(label, connectivity=None, threshold=0.5, min_weight=None, max_weight=None):
    """The CUDA algorithm (pure torch), run on a CPU tensor."""
    t = torch.as_tensor(np.asarray(label))
    ndim = t.ndim - 1
    return _inverse_weight_map_torch(
        t, ndim if connectivity is None else connectivity, threshold, min_weight, max_weight
    )


# ---------------------------------------------------------------- hand-computed cases


def test_hand_computed_2d():
    label = np.zeros((1, 4, 4))
    label[0, 0, 0] = 1  # lesion of 1 voxel
    label[0, 2:, 3] = 1  # lesion of 2 voxels
    label[0, 3, 2] = 1  # ... 3 voxels with this one
    # N = 16, K = 2, background 12 voxels: 16 / (3 * size)
    expected = np.full((1, 4, 4), 16 / 36)
    expected[0, 0, 0] = 16 / 3
    expected[0, 2:, 3] = expected[0, 3, 2] = 16 / 9
    np.testing.assert_allclose(inverse_weight_map(label), expected, rtol=1e-6)


def test_single_voxel_lesion():
    label = np.zeros((1, 5, 6, 7), dtype=np.uint8)
    label[0, 2, 3, 4] = 1
    n = label.size
    w = inverse_weight_map(label)
    assert w[0, 2, 3, 4] == pytest.approx(n / 2)
    rest = np.delete(w.ravel(), np.ravel_multi_index((0, 2, 3, 4), w.shape))
    np.testing.assert_allclose(rest, n / (2 * (n - 1)), rtol=1e-6)


# ---------------------------------------------------------------- reference on random multi-lesion volumes

CASES = [
    pytest.param((48, 40), 12, None, id="2d-full"),
    pytest.param((48, 40), 12, 1, id="2d-faces"),
    pytest.param((24, 20, 16), 10, None, id="3d-full"),
    pytest.param((24, 20, 16), 10, 1, id="3d-faces"),
    pytest.param((24, 20, 16), 10, 2, id="3d-edges"),
    pytest.param((64,), 8, None, id="1d"),
]


# the numpy path weights images with few runs run by run and images with many runs block by block, into a new
# output or (large volumes) over 4-byte labels in place, and labels the lesions' own boxes (stacked) where they
# cost less than one box around them all: force each in turn (_DENSE 0: never by blocks; _PLAN 0 and _GAIN
# infinite: the boxes always, here with cells of 3 voxels a side; _PLAN infinite: never)
NO_BOXES = {"_PLAN": 10**18}
BOXES = {"_PLAN": 0, "_GAIN": float("inf"), "_CELL": 3}
BRANCHES = {
    "sparse": {"_DENSE": 0, **NO_BOXES},
    "dense": {"_DENSE": 10**12},
    "sparse-in-place": {"_DENSE": 0, "_FRESH_BYTES": 0, **NO_BOXES},
    "dense-in-place": {"_DENSE": 10**12, "_FRESH_BYTES": 0},
    "boxes": {"_DENSE": 0, **BOXES},
}


@pytest.fixture(params=sorted(BRANCHES))
def numpy_branch(request, monkeypatch):
    from monai_imbalance.maps import inverse as inverse_module

    for name, value in BRANCHES[request.param].items():
        monkeypatch.setattr(inverse_module, name, value)
    return request.param


@pytest.mark.parametrize(("shape", "num", "connectivity"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_binary_matches_reference(shape, num, connectivity, seed, numpy_branch):
    rng = np.random.default_rng(seed)
    label = random_lesion_mask(shape, num, rng)[None].astype(np.float32)
    expected = reference_inverse_weight_map(label, connectivity)
    np.testing.assert_allclose(inverse_weight_map(label, connectivity), expected, rtol=1e-5)
    np.testing.assert_allclose(pure_torch(label, connectivity).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize(("shape", "num", "connectivity"), CASES)
def test_one_hot_matches_reference(shape, num, connectivity, numpy_branch):
    rng = np.random.default_rng(7)
    label = one_hot(random_class_label(shape, 4, num, rng), 4)
    expected = reference_inverse_weight_map(label, connectivity)
    np.testing.assert_allclose(inverse_weight_map(label, connectivity), expected, rtol=1e-5)
    np.testing.assert_allclose(pure_torch(label, connectivity).numpy(), expected, rtol=1e-5)


def test_one_hot_touching_classes_are_separate_lesions():
    classes = np.zeros((6, 6), dtype=np.int64)
    classes[1:3, 1:3] = 1
    classes[3:5, 1:3] = 2  # touches class 1: two lesions, not one
    label = one_hot(classes, 3)
    w = inverse_weight_map(label)
    n = 36
    assert w[0, 1, 1] == pytest.approx(n / (3 * 4))
    assert w[0, 4, 1] == pytest.approx(n / (3 * 4))
    np.testing.assert_allclose(w, reference_inverse_weight_map(label), rtol=1e-6)


# ---------------------------------------------------------------- backends


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64, bool], ids=lambda d: np.dtype(d).name)
def test_numpy_torch_and_pure_torch_agree(dtype):
    rng = np.random.default_rng(3)
    label = random_lesion_mask((20, 18, 16), 8, rng)[None].astype(dtype)
    w_np = inverse_weight_map(label)
    w_t = inverse_weight_map(torch.from_numpy(label))
    assert isinstance(w_np, np.ndarray)
    assert w_np.dtype == np.float32
    assert isinstance(w_t, torch.Tensor)
    assert w_t.dtype == torch.float32
    assert w_t.shape == (1, 20, 18, 16)
    np.testing.assert_array_equal(w_t.numpy(), w_np)
    w_p = pure_torch(label)
    assert w_p.dtype == torch.float32
    np.testing.assert_allclose(w_p.numpy(), w_np, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.bool, torch.int32], ids=str)
def test_torch_dtypes(dtype):
    label = random_lesion_mask((12, 10), 4, np.random.default_rng(1))[None]
    out = inverse_weight_map(torch.from_numpy(label).to(dtype))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), reference_inverse_weight_map(label), rtol=1e-6)


def test_metatensor_input():
    from monai.data import MetaTensor

    label = MetaTensor(torch.from_numpy(random_lesion_mask((16, 16), 4, np.random.default_rng(0))[None]).float())
    out = inverse_weight_map(label)
    np.testing.assert_allclose(out.numpy(), reference_inverse_weight_map(label.numpy()), rtol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("channels", [1, 3], ids=["binary", "one-hot"])
def test_cuda_matches_numpy(channels):
    rng = np.random.default_rng(5)
    if channels == 1:
        label = random_lesion_mask((32, 28, 24), 10, rng)[None].astype(np.float32)
    else:
        label = one_hot(random_class_label((32, 28, 24), 3, 10, rng), 3)
    out = inverse_weight_map(torch.from_numpy(label).cuda())
    assert out.device.type == "cuda"
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.cpu().numpy(), inverse_weight_map(label), rtol=1e-6)


# ---------------------------------------------------------------- properties


def binary_labels(max_side=7):
    shapes = st.one_of(
        st.tuples(st.integers(1, max_side), st.integers(1, max_side)),
        st.tuples(st.integers(1, max_side), st.integers(1, max_side), st.integers(1, max_side)),
    )
    return shapes.flatmap(lambda s: arrays(np.uint8, (1, *s), elements=st.integers(0, 1)))


@settings(max_examples=60, deadline=None)
@given(label=binary_labels(), connectivity=st.sampled_from([None, 1]))
def test_properties(label, connectivity):
    w = inverse_weight_map(label, connectivity)
    n = label.size
    assert np.all(np.isfinite(w))
    assert np.all(w > 0)
    assert w.sum(dtype=np.float64) == pytest.approx(n, rel=1e-5)
    components = reference_components(label, connectivity)
    totals = [w[0][c].sum(dtype=np.float64) for c in components]
    np.testing.assert_allclose(totals, n / len(components), rtol=1e-5)
    np.testing.assert_allclose(pure_torch(label, connectivity).numpy(), w, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(label=binary_labels(), axis=st.integers(0, 2))
def test_flip_invariance(label, axis):
    axis = 1 + axis % (label.ndim - 1)
    flipped = np.ascontiguousarray(np.flip(label, axis))
    np.testing.assert_array_equal(inverse_weight_map(flipped), np.flip(inverse_weight_map(label), axis))


# ---------------------------------------------------------------- the numpy path's runs


def naive_run_starts(v):
    return np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))


@settings(max_examples=80, deadline=None)
@given(
    v=st.integers(0, 300).flatmap(
        lambda n: arrays(st.sampled_from([np.uint8, np.bool_, np.uint16, np.int64]), n, elements=st.integers(0, 1))
    ),
    block=st.sampled_from([1, 3, 1 << 16]),
    limit=st.integers(0, 40),
)
def test_run_starts_match_naive(v, block, limit):
    from monai_imbalance.maps import inverse as inverse_module

    if v.size == 0:
        return
    expected = naive_run_starts(v)
    old = inverse_module._BLOCK
    inverse_module._BLOCK = block  # several word blocks and tail blocks
    try:
        got = inverse_module._run_starts(v, limit)
        all_runs = inverse_module._run_starts(v, v.size)
    finally:
        inverse_module._BLOCK = old
    np.testing.assert_array_equal(all_runs, expected)
    if expected.size - 1 > limit:  # more runs than the limit after the first: the caller's dense path
        assert got is None
    else:
        np.testing.assert_array_equal(got, expected)


def test_run_starts_of_class_values():
    from monai_imbalance.maps.inverse import _run_starts

    rng = np.random.default_rng(0)
    v = np.repeat(rng.integers(0, 4, 400), rng.integers(1, 12, 400)).astype(np.uint8)
    np.testing.assert_array_equal(_run_starts(v, v.size), naive_run_starts(v))


@pytest.mark.parametrize("connectivity", [None, 1])
def test_runs_past_the_end_of_a_row(connectivity, numpy_branch):
    # foreground runs that go on from one row (last axis) into the next, across different components or the
    # same one, whole foreground rows and planes, a run from the last row of one plane into the next plane
    label = np.zeros((1, 4, 5, 6), dtype=np.uint8)
    label[0, 0, 0, 4:] = 1
    label[0, 0, 1, :2] = 1  # not touching the run above with faces only
    label[0, 1, 2:, :] = 1  # whole rows: one run across three rows
    label[0, 2, 4, 5] = label[0, 3, 0, 0] = 1  # last voxel of plane 2, first of plane 3
    label[0, 3, 3, 3:] = 1
    label[0, 3, 4, :] = 1
    expected = reference_inverse_weight_map(label, connectivity)
    np.testing.assert_allclose(inverse_weight_map(label, connectivity), expected, rtol=1e-6)
    plane = label[:, 0]  # 2D
    np.testing.assert_allclose(
        inverse_weight_map(plane, connectivity), reference_inverse_weight_map(plane, connectivity), rtol=1e-6
    )
    classes = label * (1 + (np.arange(label.size).reshape(label.shape) // 7) % 3)  # runs of several classes
    onehot = one_hot(classes[0].astype(np.int64), 4)
    np.testing.assert_allclose(
        inverse_weight_map(classes, connectivity, num_classes=4),
        reference_inverse_weight_map(onehot, connectivity),
        rtol=1e-6,
    )


@pytest.mark.parametrize("shape", [(24, 20, 16), (40, 36), (300,)], ids=["3d", "2d", "1d"])
@pytest.mark.parametrize("wrap", [False, True], ids=["box", "slab"])
def test_lesions_in_part_of_the_volume(shape, wrap, numpy_branch):
    # only the foreground's bounding box is labelled: lesions in a corner of the volume, or (wrap) with a run going
    # on past a row's end, where the box keeps whole planes
    rng = np.random.default_rng(len(shape))
    label = np.zeros((1, *shape), dtype=np.uint8)
    inner = tuple(slice(s // 4, s // 2 + 1) for s in shape)
    label[(0, *inner)] = random_lesion_mask(label[(0, *inner)].shape, 3, rng, max_radius=2)
    if wrap and len(shape) > 1:
        label[(0, *(s // 3 for s in shape[:-1]), -1)] = 1
        label[(0, *(s // 3 for s in shape[:-2]), shape[-2] // 3 + 1, 0)] = 1
    for connectivity in (None, 1):
        expected = reference_inverse_weight_map(label, connectivity)
        np.testing.assert_allclose(inverse_weight_map(label, connectivity), expected, rtol=1e-6)
        np.testing.assert_allclose(inverse_weight_map(label.astype(bool), connectivity), expected, rtol=1e-6)


def test_no_lesion_is_clipped_too():
    np.testing.assert_array_equal(inverse_weight_map(np.zeros((1, 30, 30), np.uint8), min_weight=2), 2)
    np.testing.assert_array_equal(pure_torch(np.zeros((1, 30, 30)), min_weight=2).numpy(), 2)


@pytest.mark.parametrize("size", [7, 13, 64, 1001])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_uint8_values_above_one_are_refused_wherever_they_are(size, where):
    label = np.zeros((1, size), dtype=np.uint8)
    label[0, size // 3 : size // 2] = 1
    label[0, {"first": 0, "middle": size // 2, "last": -1}[where]] = 2
    with pytest.raises(ValueError, match=r"binary or soft values in \[0, 1\].*got values in \[0, 2\]"):
        inverse_weight_map(label)
    with pytest.raises(ValueError, match=r"got values in \[0, 2\]"):
        inverse_weight_map(label.astype(np.float32))


def test_small_blocks(monkeypatch):
    # runs longer than a block (painted by slices) and many blocks of words, runs and painted voxels
    from monai_imbalance.maps import inverse as inverse_module

    monkeypatch.setattr(inverse_module, "_BLOCK", 3)
    rng = np.random.default_rng(9)
    label = random_lesion_mask((24, 20, 16), 10, rng)[None].astype(np.uint8)
    expected = reference_inverse_weight_map(label)
    np.testing.assert_allclose(inverse_weight_map(label), expected, rtol=1e-5)
    monkeypatch.setattr(inverse_module, "_FRESH_BYTES", 0)
    np.testing.assert_allclose(inverse_weight_map(label), expected, rtol=1e-5)
    line = np.zeros((1, 50), np.uint8)
    line[0, 3:40] = 1
    np.testing.assert_allclose(inverse_weight_map(line), reference_inverse_weight_map(line), rtol=1e-6)


def _box_path_taken(monkeypatch):
    """Record whether ``_box_labels`` returned labels (the lesions' own boxes) in the calls that follow."""
    from monai_imbalance.maps import inverse as inverse_module

    taken = []
    original = inverse_module._box_labels

    def spy(*args):
        result = original(*args)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(inverse_module, "_box_labels", spy)
    return taken


def test_sparse_volume_takes_the_lesions_boxes_by_default(monkeypatch):
    # a few small lesions spread over a volume: their own boxes (stacked) are labelled, not the volume
    rng = np.random.default_rng(4)
    label = np.zeros((1, 96, 80, 64), np.uint8)
    for _ in range(9):
        z, y, x = (int(rng.integers(2, s - 6)) for s in label.shape[1:])
        label[0, z : z + int(rng.integers(1, 5)), y : y + 3, x : x + int(rng.integers(1, 5))] = 1
    label[0, 50, 40, 30] = 1  # a one-voxel lesion: a cell component of one piece, not labelled
    taken = _box_path_taken(monkeypatch)
    out = inverse_weight_map(label)
    assert taken == [True]
    np.testing.assert_allclose(out, reference_inverse_weight_map(label), rtol=1e-6)


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_boxes_hold_other_lesions_voxels(monkeypatch, connectivity):
    # an L-shaped lesion whose box holds a small lesion of another cell component and part of a long one that
    # leaves the box: the stray voxels are labelled in the stack but never read
    from monai_imbalance.maps import inverse as inverse_module

    for name, value in {"_PLAN": 0, "_GAIN": float("inf"), "_CELL": 4}.items():
        monkeypatch.setattr(inverse_module, name, value)
    label = np.zeros((1, 40, 40, 40), np.uint8)
    label[0, 2:30, 2, 2] = 1  # the L: down the first axis ...
    label[0, 29, 2, 2:30] = 1  # ... then along the last
    label[0, 10, 3, 20] = 1  # inside the L's box, 9 voxels from the L
    label[0, 20, 2, 12:39] = 1  # a bar from inside the L's box to beyond it
    taken = _box_path_taken(monkeypatch)
    out = inverse_weight_map(label, connectivity)
    assert taken == [True]
    np.testing.assert_allclose(out, reference_inverse_weight_map(label, connectivity), rtol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    shape=st.sampled_from([(30, 28), (17, 33), (14, 12, 20), (9, 21, 16)]),
    lesions=st.integers(1, 10),
    cell=st.integers(1, 9),
    classes=st.booleans(),
)
def test_boxes_match_one_labelling_bit_for_bit(seed, shape, lesions, cell, classes):
    # the stacked boxes give the very weights of one labelling of the whole image, for any cell size
    from monai_imbalance.maps import inverse as inverse_module

    rng = np.random.default_rng(seed)
    if classes:
        label, num_classes = random_class_label(shape, 3, lesions, rng)[None].astype(np.uint8), 3
    else:
        label, num_classes = random_lesion_mask(shape, lesions, rng)[None].astype(np.uint8), None
    saved = {name: getattr(inverse_module, name) for name in ("_PLAN", "_GAIN", "_CELL")}
    try:
        inverse_module._PLAN = 10**18
        whole = inverse_weight_map(label, num_classes=num_classes)
        inverse_module._PLAN, inverse_module._GAIN, inverse_module._CELL = 0, float("inf"), cell
        boxes = inverse_weight_map(label, num_classes=num_classes)
    finally:
        for name, value in saved.items():
            setattr(inverse_module, name, value)
    np.testing.assert_array_equal(boxes, whole)


# ---------------------------------------------------------------- edge cases


def test_no_lesion_gives_ones():
    np.testing.assert_array_equal(inverse_weight_map(np.zeros((1, 5, 5, 5))), np.ones((1, 5, 5, 5)))
    np.testing.assert_array_equal(inverse_weight_map(one_hot(np.zeros((4, 4), np.int64), 3)), np.ones((1, 4, 4)))
    np.testing.assert_array_equal(pure_torch(np.zeros((1, 4, 4))).numpy(), np.ones((1, 4, 4)))


def test_all_lesion_has_no_background_component():
    # a known difference from the paper's formula: eq. 1's K + 1 counts the background even when it is empty
    # (the reference: 0.5 for one lesion filling the patch); the package drops an empty background and
    # normalises by K, so the weights still sum to N (docs/design.md, "Inverse weights")
    np.testing.assert_array_equal(inverse_weight_map(np.ones((1, 4, 5))), np.ones((1, 4, 5)))
    np.testing.assert_array_equal(reference_inverse_weight_map(np.ones((1, 4, 5))), np.full((1, 4, 5), 0.5))
    classes = np.ones((4, 4), np.int64)
    classes[:, 2:] = 2  # two lesions, no background: N / (2 * 8) = 1
    np.testing.assert_array_equal(inverse_weight_map(one_hot(classes, 3)), np.ones((1, 4, 4)))
    classes[:, 3] = 1  # class 1: columns 0-1 and column 3 (apart), class 2: column 2; still no background
    k = 3
    np.testing.assert_allclose(
        inverse_weight_map(one_hot(classes, 3)), reference_inverse_weight_map(one_hot(classes, 3)) * (k + 1) / k
    )


def test_soft_labels_are_binarised():
    rng = np.random.default_rng(2)
    soft = rng.random((1, 12, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(inverse_weight_map(soft), inverse_weight_map((soft > 0.5).astype(np.uint8)))
    np.testing.assert_array_equal(inverse_weight_map(soft, threshold=0.8), inverse_weight_map(soft > 0.8))
    np.testing.assert_allclose(inverse_weight_map(soft), reference_inverse_weight_map(soft), rtol=1e-5)


def test_threshold_is_strict():
    label = np.array([[0.5, 0.51, 0.5, 1.0]])  # values equal to the threshold are background
    expected = np.array([[4 / 6, 4 / 3, 4 / 6, 4 / 3]])
    np.testing.assert_allclose(inverse_weight_map(label), expected, rtol=1e-6)
    np.testing.assert_allclose(pure_torch(label).numpy(), expected, rtol=1e-6)
    one_hot_soft = np.array([[0.5, 0.4], [0.5, 0.6]])  # class 1 at the second voxel only
    np.testing.assert_allclose(inverse_weight_map(one_hot_soft), [[1.0, 1.0]])


def test_empty_class_in_one_hot():
    rng = np.random.default_rng(4)
    classes = random_class_label((16, 16, 8), 3, 6, rng)  # classes 0..2
    with_empty = one_hot(classes, 4)  # class 3 never present
    np.testing.assert_array_equal(inverse_weight_map(with_empty), inverse_weight_map(one_hot(classes, 3)))


def test_lesion_touching_border():
    label = np.zeros((1, 8, 8, 8))
    label[0, :2, :3, -1] = 1  # on three faces of the volume
    label[0, -1, -1, 0] = 1  # a corner voxel
    w = inverse_weight_map(label)
    np.testing.assert_allclose(w, reference_inverse_weight_map(label), rtol=1e-6)
    assert w[0, 0, 0, -1] == pytest.approx(512 / (3 * 6))
    assert w[0, -1, -1, 0] == pytest.approx(512 / 3)


@pytest.mark.parametrize("ndim", [2, 3])
def test_corner_touching_lesions(ndim):
    label = np.zeros((1,) + (4,) * ndim)
    label[(0,) + (1,) * ndim] = 1
    label[(0,) + (2,) * ndim] = 1  # touches the first only at a corner
    n = 4**ndim
    full, faces = inverse_weight_map(label), inverse_weight_map(label, connectivity=1)
    assert full[(0,) + (1,) * ndim] == pytest.approx(n / (2 * 2))  # one lesion of 2 voxels
    assert faces[(0,) + (1,) * ndim] == pytest.approx(n / (3 * 1))  # two lesions of 1 voxel
    np.testing.assert_allclose(pure_torch(label).numpy(), full)
    np.testing.assert_allclose(pure_torch(label, 1).numpy(), faces)


def test_clipping_as_the_authors():
    rng = np.random.default_rng(6)
    label = random_lesion_mask((24, 24, 24), 6, rng)[None]
    expected = np.clip(reference_inverse_weight_map(label), 1, 2e5)
    np.testing.assert_allclose(inverse_weight_map(label, min_weight=1, max_weight=2e5), expected, rtol=1e-6)
    np.testing.assert_allclose(pure_torch(label, None, 0.5, 1, 2e5).numpy(), expected, rtol=1e-6)
    assert inverse_weight_map(label, max_weight=3.0).max() == pytest.approx(3.0)
    assert inverse_weight_map(label, min_weight=2.0).min() == pytest.approx(2.0)


def test_empty_volume():
    assert inverse_weight_map(np.zeros((1, 0, 4))).shape == (1, 0, 4)


def test_label_not_modified():
    label = random_lesion_mask((10, 10), 3, np.random.default_rng(0))[None].astype(np.float32)
    copy = label.copy()
    inverse_weight_map(label)
    inverse_weight_map(torch.from_numpy(label))
    np.testing.assert_array_equal(label, copy)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("label", "kwargs", "error", "match"),
    [
        pytest.param([[0, 1]], {}, TypeError, "`label` must be a numpy array or a torch tensor", id="type"),
        pytest.param(np.zeros(4), {}, ValueError, r"`label` must be channel-first .* got shape \(4,\)", id="ndim-low"),
        pytest.param(np.zeros((1, 2, 2, 2, 2)), {}, ValueError, r"got shape \(1, 2, 2, 2, 2\)", id="ndim-high"),
        pytest.param(np.array([[0.0, np.nan]]), {}, ValueError, "`label` must hold finite values", id="nan"),
        pytest.param(np.array([[0.0, -1.0]]), {}, ValueError, r"values in \[0, 1\].*got values in \[-1, 0\]", id="neg"),
        pytest.param(np.array([[0, 2, 1]]), {}, ValueError, r"got values in \[0, 2\]", id="class-index"),
        pytest.param(np.array([[1, 0], [1, 1]]), {}, ValueError, "2 channels must be one-hot.*1 voxel", id="oh"),
        pytest.param(np.zeros((1, 3, 3)), {"connectivity": 3}, ValueError, r"`connectivity` .* \[1, 2\]", id="conn"),
        pytest.param(np.zeros((1, 3, 3)), {"connectivity": 0}, ValueError, "`connectivity`", id="conn-0"),
        pytest.param(np.zeros((1, 3, 3)), {"connectivity": 1.5}, TypeError, "`connectivity` must be None", id="conn-t"),
        pytest.param(
            np.zeros((1, 3)), {"min_weight": 3, "max_weight": 2}, ValueError, "3.0 > max_weight=2", id="min>max"
        ),
        pytest.param(np.zeros((1, 3)), {"min_weight": -1}, ValueError, "`min_weight` must be positive", id="min-neg"),
        pytest.param(np.zeros((1, 3)), {"max_weight": "2"}, TypeError, "`max_weight` must be a number", id="max-type"),
        pytest.param(np.zeros((1, 3)), {"max_weight": np.inf}, ValueError, "`max_weight` must be finite", id="max-inf"),
        pytest.param(np.zeros((1, 3)), {"threshold": 1.0}, ValueError, r"`threshold` must be in \[0, 1\)", id="thr"),
        pytest.param(np.zeros((1, 3)), {"threshold": None}, TypeError, "`threshold` must be a number", id="thr-type"),
        pytest.param(
            np.array([[0.2, 1.0], [0.4, 0.0], [0.4, 0.0]]),
            {"threshold": 0.3},
            ValueError,
            "1 voxel.* more than one foreground channel",
            id="overlap",
        ),
    ],
)
def test_errors(label, kwargs, error, match):
    with pytest.raises(error, match=match):
        inverse_weight_map(label, **kwargs)


def test_errors_torch():
    with pytest.raises(ValueError, match="`label` must hold finite values"):
        inverse_weight_map(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="3 channels must be one-hot"):
        inverse_weight_map(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="more than one foreground channel"):
        pure_torch(np.array([[0.2, 1.0], [0.4, 0.0], [0.4, 0.0]]), threshold=0.3)
