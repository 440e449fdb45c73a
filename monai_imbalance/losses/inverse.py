r"""Inverse lesion-size weighting of any voxel-weighted loss, computed from the target on its device."""

from __future__ import annotations

import torch
from torch.nn.modules.loss import _Loss

__all__ = ["InverseWeightedLoss"]


class InverseWeightedLoss(_Loss):
    r"""Wrap a voxel-weighted loss and feed it the inverse lesion-size weights of ``target`` (no data change).

    .. math:: w_v = \frac{N}{(K + 1)\,\lvert L_{j(v)} \rvert}

    computed per batch item from the binarised target (``N`` voxels of the patch, ``K`` connected lesions,
    background counted as one component; Shirokikh et al., MICCAI 2020, eq. 1) by
    :func:`monai_imbalance.maps.inverse.inverse_weight_map`, on ``target``'s device and without gradient,
    then ``loss(input, target, weight=w)``. A one-hot target gives components per foreground class; a
    one-channel target is binarised with ``label > threshold`` (an index target of several classes: every
    foreground class together).

    Args:
        loss: a loss whose ``forward(input, target, weight=...)`` takes a ``(B, 1, *spatial)`` map, e.g.
            :class:`~monai_imbalance.losses.VoxelWeightedDiceLoss`.
        connectivity: maximum number of orthogonal hops between neighbours (1..ndim); None is full
            connectivity (26 in 3D), as the authors.
        threshold: soft labels are binarised with ``label > threshold``.
        min_weight, max_weight: optional clipping of the weights (the authors' code uses 1 and 2e5).

    Raises:
        TypeError: when ``loss`` is not callable.

    Example:
        >>> from monai_imbalance.losses import VoxelWeightedBCELoss
        >>> x = torch.zeros(1, 1, 8)
        >>> y = torch.tensor([[[1.0, 0, 1, 0, 1, 1, 0, 0]]])  # weights 2, .5, 2, .5, 1, 1, .5, .5
        >>> InverseWeightedLoss(VoxelWeightedBCELoss())(x, y)
        tensor(0.6931)
    """

    def __init__(
        self,
        loss: torch.nn.Module,
        connectivity: int | None = None,
        threshold: float = 0.5,
        min_weight: float | None = None,
        max_weight: float | None = None,
    ) -> None:
        super().__init__()
        if not callable(loss):
            raise TypeError(f"`loss` must be a callable loss module, got {type(loss).__name__}.")
        self.loss = loss
        self.connectivity = connectivity
        self.threshold = threshold
        self.min_weight = min_weight
        self.max_weight = max_weight

    def weight_map(self, target: torch.Tensor) -> torch.Tensor:
        """Inverse weights ``(B, 1, *spatial)`` float32 of a ``(B, 1 or C, *spatial)`` target, same device."""
        from monai_imbalance.maps.inverse import inverse_weight_map

        if not isinstance(target, torch.Tensor) or target.ndim < 3:
            raise ValueError(
                f"`target` must be a tensor of shape (B, 1 or C, *spatial), got {getattr(target, 'shape', target)!r}."
            )
        t = target.as_tensor() if hasattr(target, "as_tensor") else target
        with torch.no_grad():
            maps = [
                inverse_weight_map(
                    item,
                    connectivity=self.connectivity,
                    threshold=self.threshold,
                    min_weight=self.min_weight,
                    max_weight=self.max_weight,
                )
                for item in (t.detach() > self.threshold if t.shape[1] == 1 else t.detach())
            ]
        return torch.stack([torch.as_tensor(m, device=target.device) for m in maps]).float()

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the wrapped loss with the inverse weights of ``target``.

        Args:
            input: what the wrapped loss takes, ``(B, C, *spatial)``.
            target: binary ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)`` labels (soft labels thresholded).

        Raises:
            ValueError: when ``target`` is not a ``(B, 1 or C, *spatial)`` tensor.
        """
        return self.loss(input, target, weight=self.weight_map(target))
