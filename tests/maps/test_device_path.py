"""The pure-torch (CUDA) paths never bring a volume to the host: run on CPU tensors with every host exit disabled.

On a GPU a ``.cpu()``, ``.numpy()``, ``.tolist()`` or ``numpy.asarray(tensor)`` copies the volume to the host and
stalls the step. Here the same code runs on CPU tensors with those exits replaced by errors, and a dispatch mode
counts the scalar reads (``.item()``, ``int(t)``: a device sync each on a GPU) and any copy to another device.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from monai_imbalance.losses import InverseWeightedLoss, RegionWiseLoss, VoxelWeightedDiceLoss
from monai_imbalance.maps import components as components_module
from monai_imbalance.maps.components import label_components_torch
from monai_imbalance.maps.distance import distance_transform_torch, label_distance_transform_torch
from monai_imbalance.maps.inverse import _inverse_weight_map_torch
from monai_imbalance.maps.region_wise import _boundary_torch, _rrw_torch
from tests._reference_maps import random_class_label, random_lesion_mask


class _HostWatch(TorchDispatchMode):
    """Counts scalar reads and records every copy that names a device."""

    def __init__(self) -> None:
        super().__init__()
        self.scalar_reads = 0
        self.device_copies: list[str] = []
        self.cpu_only_ops: list[str] = []  # integer matrix products: CUDA has no int64 kernel for them

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(func.overloadpacket)
        if name == "aten._local_scalar_dense":
            self.scalar_reads += 1
        if name in ("aten._to_copy", "aten.to") and kwargs.get("device") is not None:
            self.device_copies.append(f"{name} -> {kwargs['device']}")
        integer = [a for a in args if isinstance(a, torch.Tensor) and not a.is_floating_point()]
        if name in ("aten.mm", "aten.mv", "aten.bmm", "aten.addmm", "aten.dot") and integer:
            self.cpu_only_ops.append(name)
        return func(*args, **kwargs)


@pytest.fixture
def no_host_exits(monkeypatch):
    def refuse(name):
        def raiser(self, *args, **kwargs):
            raise AssertionError(f"the device path called Tensor.{name}: a host round trip on a GPU")

        return raiser

    for name in ("numpy", "tolist", "cpu", "__array__"):
        monkeypatch.setattr(torch.Tensor, name, refuse(name))
    watch = _HostWatch()
    with watch:
        yield watch


def _lesions(seed=0, shape=(32, 28, 24)):
    return torch.from_numpy(random_lesion_mask(shape, 10, np.random.default_rng(seed))[None].astype(np.float32))


def _classes(seed=0, shape=(32, 28, 24), nc=3):
    return torch.from_numpy(random_class_label(shape, nc, 10, np.random.default_rng(seed)))


@pytest.mark.parametrize("sparse", [True, False], ids=["sparse-path", "dense-path"])
def test_components_and_inverse_weights_stay_on_device(no_host_exits, sparse, monkeypatch):
    if not sparse:  # no edge list fits: the dense propagation
        monkeypatch.setattr(components_module, "_EDGE_BUDGET", 0)
    reads = []
    for n_lesions in (2, 12):
        before = no_host_exits.scalar_reads
        label = torch.from_numpy(
            random_lesion_mask((32, 28, 24), n_lesions, np.random.default_rng(n_lesions))[None].astype(np.float32)
        )
        labels, k = label_components_torch(label[0] > 0.5)
        weights = _inverse_weight_map_torch(label, 3, 0.5, None, None)
        assert k > 1
        assert labels.shape == label.shape[1:]
        assert weights.shape == label.shape
        reads.append(no_host_exits.scalar_reads - before)
    assert no_host_exits.device_copies == []
    assert no_host_exits.cpu_only_ops == []
    # a constant number of scalar reads (component counts), not one per component or voxel
    assert reads[0] == reads[1] <= 4


def test_distances_and_region_maps_stay_on_device(no_host_exits):
    index = _classes()
    spacing = (1.0, 0.8, 2.5)
    label_distance_transform_torch(index, spacing)
    distance_transform_torch(index == 1, spacing)
    _rrw_torch(index, 3, spacing)
    _boundary_torch(index, 3, spacing)
    assert no_host_exits.device_copies == []
    assert no_host_exits.cpu_only_ops == []
    assert no_host_exits.scalar_reads == 0


def test_a_host_exit_is_caught(no_host_exits):
    # the fixture itself can fail: a volume brought to the host is reported
    with pytest.raises(AssertionError, match=r"Tensor\.numpy"):
        _lesions()[0].numpy()
    with pytest.raises(AssertionError, match=r"Tensor\.tolist"):
        torch.zeros(3).tolist()
    _ = torch.ones(2, 2, dtype=torch.int64) @ torch.ones(2, dtype=torch.int64)
    assert no_host_exits.cpu_only_ops == ["aten.mv"]


def test_losses_computing_maps_on_the_fly_make_no_bulk_copies(no_host_exits):
    # the loss entry points pick cc3d / edt for CPU tensors: the maps come from the torch algorithms (as for CUDA
    # tensors) and the losses' own computations, forward and backward, must not leave the device either
    label = _lesions(1, (16, 14, 12))[None]
    logits = torch.randn(1, 1, 16, 14, 12, requires_grad=True)
    loss = InverseWeightedLoss(VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True))
    weights = torch.stack([_inverse_weight_map_torch(t, 3, 0.5, None, None) for t in label])
    value = loss.loss(logits, label, weights)
    value.backward()
    index = _classes(2, (16, 14, 12))[None, None]
    z = _rrw_torch(index[0, 0], 3, (1.0, 1.0, 1.0))[None]
    RegionWiseLoss()(torch.randn(1, 3, 16, 14, 12), index, rw_map=z)
    assert no_host_exits.device_copies == []
    assert torch.isfinite(value)
