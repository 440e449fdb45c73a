r"""Class-frequency weighted binary cross-entropy, the WCE of Shirokikh et al. (MICCAI 2020, Table 1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.utils import LossReduction, StrEnum
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import check_reduction, prepare_inputs, reduce_loss
from monai_imbalance.utils.validation import check_number, check_option

__all__ = ["FrequencyWeightMode", "FrequencyWeightedBCELoss"]


class FrequencyWeightMode(StrEnum):
    """Which counts give the positive-class weight of :class:`FrequencyWeightedBCELoss`."""

    PROBABILITY = "probability"
    LABEL = "label"


class FrequencyWeightedBCELoss(_Loss):
    r"""Binary cross-entropy with the positives weighted by the inverse class frequency of the batch (WCE).

    .. math:: L = \frac{1}{N} \sum_i -\left( w_c\, y_i \log p_i + (1 - y_i) \log (1 - p_i) \right), \quad
        w_c = \frac{n - \sum_i q_i}{\sum_i q_i + s_{dr}}

    with :math:`p = \sigma(x)` and the sums over the batch and the voxels of channel :math:`c` (``n`` voxels).
    ``mode="probability"`` (default) takes :math:`q = p`, the *predicted* probabilities, as in the table of
    Shirokikh et al. (MICCAI 2020) and the authors' code, with the gradient flowing through :math:`w_c`
    (``detach_weight=True`` stops it); ``mode="label"`` takes :math:`q = y`, the ground-truth counts
    (Long et al. style). :math:`s_{dr}` only guards against an empty class.

    Args:
        include_background: if False, channel 0 is excluded (ignored with one channel, with a warning).
        to_onehot_y: convert a ``(B, 1, *spatial)`` index target to one-hot with ``C`` channels.
        mode: ``"probability"`` or ``"label"``.
        detach_weight: stop the gradient through :math:`w_c` (only matters for ``"probability"``).
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"`` (``(B, C, *spatial)``).
        smooth_dr: constant added to the denominator of :math:`w_c`, ``> 0`` (with 0 a class absent from the
            batch would get an infinite weight and a NaN loss in label mode).

    Raises:
        TypeError: when ``smooth_dr`` is not a number.
        ValueError: when ``mode`` or ``reduction`` is unknown or ``smooth_dr`` is not finite and positive.

    Example:
        >>> x = torch.tensor([[[2.0, -1.0, 0.0, 3.0]]])
        >>> y = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
        >>> FrequencyWeightedBCELoss(mode="label")(x, y)  # w = (4 - 2) / 2 = 1: plain BCE
        tensor(1.0455)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        mode: FrequencyWeightMode | str = FrequencyWeightMode.PROBABILITY,
        detach_weight: bool = False,
        reduction: LossReduction | str = "mean",
        smooth_dr: float = 1e-5,
    ) -> None:
        super().__init__(reduction=check_reduction(reduction))
        try:
            self.mode = check_option(mode, FrequencyWeightMode, "mode")
        except ValueError as e:
            raise ValueError(f"`mode` must be 'probability' or 'label', got {mode!r}. {e}") from None
        # > 0: with 0 an empty class in label mode gives w_c = n / 0 = inf and inf * 0 = NaN
        smooth_dr = check_number(smooth_dr, "smooth_dr", low=0.0, low_open=True)
        self.include_background = include_background
        self.to_onehot_y = to_onehot_y
        self.detach_weight = detach_weight
        self.smooth_dr = smooth_dr

    def class_weight(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Return :math:`w_c` of shape ``(1, C, 1, ...)`` for prepared logits and target."""
        dims = [0, *range(2, input.ndim)]
        q = torch.sigmoid(input) if self.mode == FrequencyWeightMode.PROBABILITY else target
        if self.detach_weight:
            q = q.detach()
        n = input[:, :1].numel()
        s = q.sum(dims, keepdim=True)
        return (n - s) / (s + self.smooth_dr)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: logits ``(B, C, *spatial)``.
            target: ``(B, C, *spatial)`` in [0, 1], or ``(B, 1, *spatial)`` indices with ``to_onehot_y``.

        Raises:
            TypeError: when an argument is not a tensor or ``input`` is not floating point.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"``, ``input`` holds NaN / inf
                or ``target`` values outside [0, 1] (class indices outside ``[0, C - 1]`` with ``to_onehot_y``);
                on CUDA the value checks are asynchronous device-side assertions (see
                :mod:`monai_imbalance.losses.weighted`).
        """
        input, target, _ = prepare_inputs(
            input,
            target,
            None,
            include_background=self.include_background,
            to_onehot_y=self.to_onehot_y,
            reduction=self.reduction,
        )
        w = self.class_weight(input, target)
        loss = -(w * target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
        return reduce_loss(loss, self.reduction)
