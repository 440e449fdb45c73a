r"""Region-wise (RW) loss of Valverde & Tohka (2023): softmax probabilities times a region-wise map."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from monai.utils import LossReduction, convert_to_tensor
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import (
    check_empty_mean,
    check_input,
    check_reduction,
    check_target_shape,
    check_values,
    reduce_loss,
    renamed_keyword,
    to_compute_dtype,
)
from monai_imbalance.utils.validation import check_spacing_setting

__all__ = ["RegionWiseLoss", "two_class_probabilities"]


def two_class_probabilities(input: torch.Tensor) -> torch.Tensor:
    r"""Class probabilities of logits: softmax over ``C > 1`` channels, ``[1 - sigmoid, sigmoid]`` for one channel.

    A single logit channel is read as the two-class softmax of ``[0, x]``, so :math:`C = 2` probabilities.

    Example:
        >>> two_class_probabilities(torch.tensor([[[0.0, 2.0]]]))
        tensor([[[0.5000, 0.1192],
                 [0.5000, 0.8808]]])
    """
    if input.shape[1] == 1:
        return torch.cat([torch.sigmoid(-input), torch.sigmoid(input)], dim=1)
    return torch.softmax(input, dim=1)


class RegionWiseLoss(_Loss):
    r"""Region-wise loss: the mean over batch, classes and voxels of softmax probabilities times a map.

    .. math:: RW(s, Z) = \frac{1}{B\,C\,N} \sum_{b, c, i} s_{bci}^{k}\, z_{bci},
        \quad s = \operatorname{softmax}(x), \ k \in \{1, 2\}

    (Valverde & Tohka, "Region-wise loss for biomedical image segmentation", Pattern Recognition 2023, eq. 1;
    the background class is included and the class sum divided by ``C`` as in the authors' code). The map
    ``Z`` decides the loss: the rectified region-wise (RRW) map of eq. 4 (default, computed from ``target`` on
    its device when ``rw_map`` is None), the RW-Boundary map (boundary loss), ``1 - Y`` (active contour) or any
    map made by a transform. ``squared_pred=True`` (:math:`k = 2`) is the form equivalent to the one-sided Hausdorff
    loss (supplement B). A single logit channel is a two-class softmax of ``[0, x]``: maps then have 2 channels.

    Args:
        spacing: voxel spacing (mm) for the RRW map computed from ``target``: one number or one per spatial
            dimension; None means unit spacing.
        squared_pred: square the probabilities (:math:`k = 2`), MONAI's name (``DiceLoss(squared_pred=...)``).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(B, C, *spatial)``).
        squared: deprecated name of ``squared_pred`` (a ``DeprecationWarning``).

    Raises:
        TypeError, ValueError: when ``spacing`` or ``reduction`` is invalid, or both ``squared_pred`` and
            ``squared`` are given.

    Example:
        >>> x = torch.tensor([[[2.0, 0.0, -1.0]]])  # one logit channel: two classes
        >>> z = torch.tensor([[[1.0, -0.5, -1.0], [-1.0, 1.0, 1.0]]])  # voxel 0 foreground, 1-2 background
        >>> RegionWiseLoss()(x, None, rw_map=z)
        tensor(-0.1623)
    """

    def __init__(
        self,
        spacing: Sequence[float] | float | None = None,
        squared_pred: bool = False,
        reduction: LossReduction | str = "mean",
        *,
        squared: bool | None = None,
    ) -> None:
        super().__init__(reduction=check_reduction(reduction))
        self.spacing = check_spacing_setting(spacing)
        self.squared_pred = bool(
            renamed_keyword(squared_pred, squared, "squared_pred", "squared", "RegionWiseLoss", default=False)
        )

    def rrw_map(self, target: torch.Tensor, num_classes: int) -> torch.Tensor:
        """RRW map ``(B, num_classes, *spatial)`` of a batch of index or one-hot labels, on ``target``'s device."""
        from monai_imbalance.maps.region_wise import rrw_map

        plain = convert_to_tensor(target, track_meta=False)  # a MetaTensor's plain tensor
        if plain.shape[0] == 0:
            return torch.zeros((0, num_classes, *plain.shape[2:]), dtype=torch.float32, device=plain.device)
        maps = []
        with torch.no_grad():
            for i, t in enumerate(plain.detach()):
                try:
                    maps.append(torch.as_tensor(rrw_map(t, spacing=self.spacing, num_classes=num_classes)))
                except ValueError as e:
                    raise ValueError(f"`target` item {i} of the batch: {e}") from e
        return torch.stack(maps).to(device=target.device, dtype=torch.float32)

    def forward(
        self, input: torch.Tensor, target: torch.Tensor | None = None, rw_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: logits ``(B, C, *spatial)``; ``C = 1`` is read as two classes.
            target: labels ``(B, 1, *spatial)`` (indices) or ``(B, K, *spatial)`` (one-hot), ``K = max(C, 2)``;
                used only when ``rw_map`` is None.
            rw_map: region-wise map ``(B, K, *spatial)``, or None to compute the RRW map from ``target``.

        Raises:
            TypeError: when ``input`` is not a floating tensor or a map / target is missing or not a tensor.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"`` (a mean over nothing;
                ``"sum"`` gives 0, ``"none"`` an empty tensor), ``input`` or ``rw_map`` holds NaN / inf, or
                ``target`` is not a valid label (the batch item and the reason are named). Value checks of
                ``input`` and ``rw_map`` are asynchronous device-side assertions on CUDA (no host sync); the RRW
                map computed from ``target`` validates it on every device.
        """
        check_input(input)
        k = max(input.shape[1], 2)
        expected = (input.shape[0], k, *input.shape[2:])
        if rw_map is None:
            if not isinstance(target, torch.Tensor):
                raise TypeError(f"`target` must be a torch.Tensor when `rw_map` is None, got {type(target).__name__}.")
            check_target_shape(target, input, channels=(1, k))
            rw_map = self.rrw_map(target, k)
        if not isinstance(rw_map, torch.Tensor):
            raise TypeError(f"`rw_map` must be a torch.Tensor or None, got {type(rw_map).__name__}.")
        if rw_map.is_complex():
            raise TypeError(f"`rw_map` must be a real tensor, got dtype {rw_map.dtype}.")
        if tuple(rw_map.shape) != expected:
            raise ValueError(
                f"`rw_map` must have shape {expected} (B, max(C, 2), *spatial), got {tuple(rw_map.shape)}."
            )
        check_empty_mean(input, self.reduction)
        check_values(input, "input", "finite values (NaN / inf logits)")
        check_values(rw_map, "rw_map", "finite values")
        s = two_class_probabilities(to_compute_dtype(input))
        if self.squared_pred:
            s = s * s
        return reduce_loss(s * rw_map.to(s), self.reduction)
