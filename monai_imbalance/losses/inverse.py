r"""Inverse lesion-size weighting of any voxel-weighted loss, computed from the target on its device."""

from __future__ import annotations

import torch
from monai.utils import convert_to_tensor
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import accepts_keyword, check_integer_values, check_target_shape, check_values
from monai_imbalance.utils.validation import check_connectivity, check_fraction, check_num_classes, check_weight_range

__all__ = ["InverseWeightedLoss"]


class InverseWeightedLoss(_Loss):
    r"""Wrap a voxel-weighted loss and feed it the inverse lesion-size weights of ``target`` (no data change).

    .. math:: w_v = \frac{N}{(K + 1)\,\lvert L_{j(v)} \rvert}

    computed per batch item from the binarised target (``N`` voxels of the patch, ``K`` connected lesions,
    background counted as one component; Shirokikh et al., MICCAI 2020, eq. 1) by
    :func:`monai_imbalance.maps.inverse.inverse_weight_map`, on ``target``'s device and without gradient,
    then ``loss(input, target, weight=w)``. A one-hot target gives components per foreground class; a
    one-channel target is binarised with ``label > threshold`` (an index target of several classes: every
    foreground class together), or, with ``num_classes``, read as class indices with components per class.
    The target is checked before any threshold: NaN / inf and negative values are refused (eagerly on the
    CPU, by an asynchronous assertion on CUDA), so are one-hot values outside [0, 1] and, with ``num_classes``,
    anything but indices below it; the wrapped loss checks the rest against ``input`` (e.g. a 0/255 target is
    refused by a voxel-weighted loss as outside [0, 1]). An empty batch gives an empty map and the wrapped
    loss's empty-batch result.

    Args:
        loss: a loss whose ``forward(input, target, weight=...)`` takes a ``(B, 1, *spatial)`` map, e.g.
            :class:`~monai_imbalance.losses.VoxelWeightedDiceLoss`.
        connectivity: maximum number of orthogonal hops between neighbours (1..ndim); None is full
            connectivity (26 in 3D), as the authors.
        threshold: soft labels are binarised with ``label > threshold``, in ``[0, 1)``.
        min_weight, max_weight: optional clipping of the weights (the authors' code uses 1 and 2e5).
        num_classes: ``None``, or the number of classes of a one-channel index target (e.g. with a wrapped
            ``to_onehot_y=True`` loss): lesions of different classes are then separate components.

    Raises:
        TypeError: when ``loss`` is not callable or its ``forward`` takes no ``weight`` argument, or a setting
            has the wrong type.
        ValueError: when ``connectivity``, ``threshold``, ``min_weight``, ``max_weight`` or ``num_classes`` is
            out of range.

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
        num_classes: int | None = None,
    ) -> None:
        super().__init__()
        if not callable(loss):
            raise TypeError(f"`loss` must be a callable loss module, got {type(loss).__name__}.")
        if not accepts_keyword(loss, "weight"):
            raise TypeError(
                f"`loss` must take the weights as `forward(input, target, weight=...)`, but "
                f"{type(loss).__name__}.forward has no `weight` argument; wrap a voxel-weighted loss such as "
                "VoxelWeightedDiceLoss."
            )
        # the upper bound of `connectivity` (the number of spatial dims) is checked on the target
        self.connectivity = check_connectivity(connectivity)
        self.threshold = check_fraction(threshold, "threshold")
        self.min_weight, self.max_weight = check_weight_range(min_weight, max_weight)
        self.num_classes = check_num_classes(num_classes)
        self.loss = loss

    def _check_target(self, target: torch.Tensor, input: torch.Tensor | None = None) -> None:
        if isinstance(target, torch.Tensor) and target.ndim < 3:
            raise ValueError(f"`target` must have shape (B, 1 or C, *spatial), got shape {tuple(target.shape)}.")
        check_target_shape(target, input if isinstance(input, torch.Tensor) else target)  # weight_map: no input
        if target.shape[1] == 1 and self.num_classes is not None:
            expected = f"integer class indices in [0, {self.num_classes - 1}] (num_classes={self.num_classes})"
            check_values(target, "target", expected, low=0.0, high=self.num_classes - 1)
            check_integer_values(target, "target", expected)
        elif target.shape[1] == 1:  # values above 1 (index targets) are refused or read by the wrapped loss
            check_values(target, "target", "finite non-negative values (a binary, soft or index label)", low=0.0)
        else:
            check_values(target, "target", "one-hot values in [0, 1]", low=0.0, high=1.0)

    def weight_map(self, target: torch.Tensor) -> torch.Tensor:
        """Inverse weights ``(B, 1, *spatial)`` float32 of a ``(B, 1 or C, *spatial)`` target, same device.

        Raises:
            TypeError: when ``target`` is not a real tensor.
            ValueError: when it has the wrong shape or bad values (see the class docstring).
        """
        self._check_target(target)
        return self._weight_map(target)

    def _weight_map(self, target: torch.Tensor) -> torch.Tensor:
        from monai_imbalance.maps.inverse import inverse_weight_map

        t = convert_to_tensor(target, track_meta=False).detach()  # a MetaTensor's plain tensor
        if t.shape[0] == 0:
            return torch.zeros((0, 1, *t.shape[2:]), dtype=torch.float32, device=t.device)
        index = t.shape[1] == 1 and self.num_classes is not None
        items = t if index or t.shape[1] > 1 else t > self.threshold
        maps = []
        with torch.no_grad():
            for i, item in enumerate(items):
                try:
                    m = inverse_weight_map(
                        item,
                        connectivity=self.connectivity,
                        threshold=self.threshold,
                        min_weight=self.min_weight,
                        max_weight=self.max_weight,
                        num_classes=self.num_classes if index else None,
                    )
                except ValueError as e:
                    raise ValueError(f"`target` item {i} of the batch: {e}") from e
                maps.append(torch.as_tensor(m, device=target.device))
        return torch.stack(maps).float()

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the wrapped loss with the inverse weights of ``target``.

        Args:
            input: what the wrapped loss takes, ``(B, C, *spatial)``.
            target: binary ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)`` labels (soft labels thresholded),
                or ``(B, 1, *spatial)`` class indices with ``num_classes``.

        Raises:
            TypeError: when ``target`` is not a real tensor.
            ValueError: when ``target`` is not a ``(B, 1 or C, *spatial)`` tensor matching ``input`` (a missing
                channel dimension is named), or holds NaN / inf or negative values (one-hot values above 1,
                class indices outside ``[0, num_classes - 1]``); the wrapped loss raises on the rest.
        """
        self._check_target(target, input)
        return self.loss(input, target, weight=self._weight_map(target))
