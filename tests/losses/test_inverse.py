"""InverseWeightedLoss: weights from the target per batch item (reference from the paper's formula)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_imbalance.losses import InverseWeightedLoss, VoxelWeightedBCELoss, VoxelWeightedDiceLoss
from monai_imbalance.maps.inverse import inverse_weight_map
from tests._reference_maps import reference_inverse_weight_map


def _data(seed=0, spatial=(9, 10)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 1, *spatial, generator=g)
    y = (torch.rand(3, 1, *spatial, generator=g) > 0.8).float()
    y[2] = 0  # an empty patch: all weights 1
    return x, y


def _ref_weights(y, connectivity=None):
    return torch.from_numpy(np.stack([reference_inverse_weight_map(t.numpy(), connectivity) for t in y])).float()


@pytest.mark.parametrize("connectivity", [None, 1])
@pytest.mark.parametrize("make", [VoxelWeightedBCELoss, lambda: VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True)])
def test_equals_wrapped_loss_with_reference_weights(connectivity, make):
    x, y = _data()
    expected = make()(x, y, weight=_ref_weights(y, connectivity))
    torch.testing.assert_close(InverseWeightedLoss(make(), connectivity=connectivity)(x, y), expected)


def test_connectivity_matters_on_diagonal_lesions():
    y = torch.zeros(1, 1, 4, 4)
    y[0, 0, 0, 0] = y[0, 0, 1, 1] = 1
    full = InverseWeightedLoss(VoxelWeightedBCELoss()).weight_map(y)
    faces = InverseWeightedLoss(VoxelWeightedBCELoss(), connectivity=1).weight_map(y)
    torch.testing.assert_close(full, _ref_weights(y))
    torch.testing.assert_close(faces, _ref_weights(y, 1))
    assert not torch.equal(full, faces)


def test_soft_labels_thresholded_and_multiclass_index_binarised():
    _, y = _data(1)
    soft = y * 0.7 + 0.1  # 0.1 background, 0.8 lesion
    loss = InverseWeightedLoss(VoxelWeightedBCELoss(), threshold=0.5)
    torch.testing.assert_close(loss.weight_map(soft), _ref_weights(y))
    index = y * 2  # class 2 lesions in an index target
    torch.testing.assert_close(loss.weight_map(index), _ref_weights(y))


def test_onehot_target_uses_the_map_function():
    g = torch.Generator().manual_seed(3)
    idx = torch.randint(0, 3, (2, 1, 8, 8), generator=g)
    onehot = torch.nn.functional.one_hot(idx[:, 0], 3).movedim(-1, 1).float()
    x = torch.randn(2, 3, 8, 8, generator=g)
    expected_w = torch.stack([inverse_weight_map(t) for t in onehot])
    dice = VoxelWeightedDiceLoss(softmax=True)
    torch.testing.assert_close(InverseWeightedLoss(dice)(x, onehot), dice(x, onehot, weight=expected_w))


def test_no_gradient_through_weights_and_gradcheck():
    x, y = _data(spatial=(4, 4))
    y = y.clone().requires_grad_(True)
    w = InverseWeightedLoss(VoxelWeightedBCELoss()).weight_map(y)
    assert not w.requires_grad
    x = x.double().requires_grad_(True)
    loss = InverseWeightedLoss(VoxelWeightedDiceLoss(sigmoid=True))
    assert torch.autograd.gradcheck(lambda inp: loss(inp, y.detach().double()), (x,))


def test_clipping_passed_through():
    _, y = _data()
    loss = InverseWeightedLoss(VoxelWeightedBCELoss(), min_weight=1.0, max_weight=5.0)
    w = loss.weight_map(y)
    torch.testing.assert_close(w, _ref_weights(y).clamp(1.0, 5.0))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_weights_stay_on_device():
    x, y = _data()
    loss = InverseWeightedLoss(VoxelWeightedBCELoss())
    w = loss.weight_map(y.cuda())
    assert w.device.type == "cuda"
    torch.testing.assert_close(w.cpu(), _ref_weights(y))
    torch.testing.assert_close(loss(x.cuda(), y.cuda()).cpu(), loss(x, y))


def test_errors():
    with pytest.raises(TypeError, match="`loss`"):
        InverseWeightedLoss(3)
    with pytest.raises(ValueError, match="`target`"):
        InverseWeightedLoss(VoxelWeightedBCELoss())(torch.zeros(4), torch.zeros(4))
