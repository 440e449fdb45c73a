from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from monai_imbalance.maps import components as components_module
from monai_imbalance.maps.components import component_sizes, label_components, label_components_torch
from tests._reference_maps import random_lesion_mask


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two labelings describe the same components (up to renumbering) with the same background."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a[a > 0], b[b > 0]]), axis=1)
    return pairs.shape[1] == len(np.unique(a[a > 0])) == len(np.unique(b[b > 0]))


def scipy_reference(mask: np.ndarray, connectivity: int) -> tuple[np.ndarray, int]:
    structure = ndimage.generate_binary_structure(mask.ndim, connectivity)
    labels, num = ndimage.label(mask, structure=structure)
    return labels, int(num)


SHAPES = [(17,), (13, 11), (9, 8, 7)]

# the torch path labels sparse masks on an edge list and dense ones on the whole volume: force each in turn
TORCH_PATHS = {"sparse": 10**9, "dense": 0}


@pytest.fixture(params=sorted(TORCH_PATHS))
def torch_path(request, monkeypatch):
    monkeypatch.setattr(components_module, "_EDGE_BUDGET", TORCH_PATHS[request.param])
    return request.param


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("density", [0.2, 0.5, 0.7])
def test_all_backends_match_scipy(shape, density, torch_path):
    rng = np.random.default_rng(len(shape) * 10 + int(density * 10))
    mask = rng.random(shape) < density
    for conn in range(1, len(shape) + 1):
        ref, k_ref = scipy_reference(mask, conn)
        labels, k = label_components(mask, connectivity=conn)
        assert labels.dtype == np.int32
        assert k == k_ref
        assert same_partition(labels, ref)
        labels_t, k_t = label_components(torch.from_numpy(mask), connectivity=conn)
        assert labels_t.dtype == torch.int64
        assert k_t == k_ref
        assert same_partition(labels_t.numpy(), ref)
        labels_p, k_p = label_components_torch(torch.from_numpy(mask), connectivity=conn)
        assert k_p == k_ref
        assert same_partition(labels_p.numpy(), ref)
        assert labels_p.max().item() == k_p


def test_default_is_full_connectivity():
    mask = np.zeros((3, 3, 3), bool)
    mask[0, 0, 0] = mask[1, 1, 1] = True  # corner-touching: one lesion with full connectivity
    assert label_components(mask)[1] == 1
    assert label_components(mask, connectivity=2)[1] == 2
    assert label_components(mask, connectivity=1)[1] == 2
    assert label_components_torch(torch.from_numpy(mask))[1] == 1


def test_long_snake_converges(torch_path):
    # a serpentine path forces many propagation steps without pointer jumping
    mask = np.zeros((21, 21), bool)
    mask[::2, :] = True
    mask[1::4, -1] = True
    mask[3::4, 0] = True
    labels, k = label_components_torch(torch.from_numpy(mask), connectivity=1)
    assert k == 1
    assert same_partition(labels.numpy(), scipy_reference(mask, 1)[0])


def test_torch_numbering_follows_c_order(torch_path):
    mask = torch.tensor([[0, 1, 0, 1], [1, 0, 0, 1]])
    labels, k = label_components_torch(mask, connectivity=1)
    assert k == 3
    first_voxel = [int(np.flatnonzero(labels.numpy().ravel() == i)[0]) for i in range(1, k + 1)]
    assert first_voxel == sorted(first_voxel)


def test_empty_and_full_masks(torch_path):
    for fn in (label_components, label_components_torch):
        labels, k = fn(torch.zeros(4, 5, dtype=torch.bool))
        assert k == 0
        assert int(labels.abs().sum()) == 0
        labels, k = fn(torch.ones(4, 5, dtype=torch.bool))
        assert k == 1
        assert bool((labels == 1).all())


def test_component_sizes():
    mask = np.zeros((6, 6), bool)
    mask[0:2, 0:2] = True
    mask[4, 4] = True
    labels, k = label_components(mask)
    sizes = component_sizes(labels, k)
    assert sizes.sum() == mask.size
    assert sorted(sizes[1:].tolist()) == [1, 4]
    assert sizes[0] == mask.size - 5
    sizes_t = component_sizes(torch.from_numpy(labels.astype(np.int64)), k)
    assert sizes_t.tolist() == sizes.tolist()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"mask": [1, 0]}, TypeError, "`mask` must be a numpy array or a torch tensor"),
        ({"mask": np.array(1)}, ValueError, "at least one spatial dimension"),
        ({"mask": np.zeros((3, 3)), "connectivity": 3}, ValueError, r"\[1, 2\].*got 3"),
        ({"mask": np.zeros((3, 3)), "connectivity": 0}, ValueError, "got 0"),
        ({"mask": np.zeros((3, 3)), "connectivity": 1.5}, TypeError, "`connectivity` must be None or a positive int"),
    ],
)
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        label_components(**kwargs)


def test_torch_errors():
    with pytest.raises(TypeError, match="must be a torch tensor"):
        label_components_torch(np.zeros((3, 3)))  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(mask=arrays(bool, st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))), conn=st.integers(1, 3))
def test_property_torch_matches_scipy(mask, conn):
    ref, k_ref = scipy_reference(mask, conn)
    results = {}
    for path, budget in TORCH_PATHS.items():
        components_module._EDGE_BUDGET, saved = budget, components_module._EDGE_BUDGET
        try:
            results[path] = label_components_torch(torch.from_numpy(mask), connectivity=conn)
        finally:
            components_module._EDGE_BUDGET = saved
    for labels, k in results.values():
        assert k == k_ref
        assert same_partition(labels.numpy(), ref)
    # both number the components by their first voxel in C order: identical labels
    assert torch.equal(results["sparse"][0], results["dense"][0])


def test_sparse_path_on_a_lesion_patch_equals_cc3d():
    # the default choice for a lesion-like patch is the edge list; numbering as cc3d's (first voxel in C order)
    mask = random_lesion_mask((40, 36, 30), 12, np.random.default_rng(4)) > 0
    assert mask.sum() * 13 <= mask.size  # the sparse path is the one taken
    labels, k = label_components_torch(torch.from_numpy(mask))
    ref, k_ref = label_components(mask)
    assert k == k_ref
    np.testing.assert_array_equal(labels.numpy(), ref)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_stays_on_device_and_matches_cpu():
    rng = np.random.default_rng(0)
    mask = rng.random((32, 32, 32)) < 0.3
    labels, k = label_components(torch.from_numpy(mask).cuda())
    assert labels.device.type == "cuda"
    ref, k_ref = label_components(mask)
    assert k == k_ref
    assert same_partition(labels.cpu().numpy(), ref)
