r"""Voxel-weighted BCE, Focal, Dice and asymmetric-similarity losses (Shirokikh et al., MICCAI 2020, Table 1).

Each loss takes an optional voxel weight map ``weight`` of shape ``(B, 1 or C, *spatial)`` in ``forward``; with
all weights 1 it equals its unweighted form and MONAI's (or torch's) class: ``BCEWithLogitsLoss``, ``FocalLoss``,
``DiceLoss`` and ``TverskyLoss`` at :math:`\alpha = 1/(1+\beta^2)`, :math:`\beta_T = \beta^2/(1+\beta^2)`.
Constructor arguments, their order and defaults follow the MONAI twin; the papers' settings live in
``configs/losses/``. MONAI's per-class ``weight``, ``soft_label`` and ``ignore_index`` are not offered: a
``(B, C, *spatial)`` map gives per-class weights and zero weights ignore voxels; with soft labels the sums
:math:`\sum w p y`, :math:`\sum w p^k`, :math:`\sum w y^k` are those of MONAI's default ``soft_label=False``.

Input checks (stricter than MONAI's twins, which accept all of these and return a wrong, NaN or inf value):
``input`` must be finite (probabilities in [0, 1] for Dice / ASL without ``sigmoid``/``softmax``/``other_act``),
``target`` in [0, 1] (integer class indices below ``C`` with ``to_onehot_y``), ``weight`` finite, non-negative
and not half precision (float16 overflows at 65504, below the inverse weight of a small lesion: store maps in
float32). Each value check is one ``aminmax`` per tensor: an eager ``ValueError`` on the CPU, an asynchronous
device-side assertion on CUDA (no host sync per step; a bad value fails a later CUDA call with a
``RuntimeError`` carrying the same message). An empty batch (``B = 0``) gives an empty tensor with
``reduction="none"``, 0 with ``"sum"`` and a ``ValueError`` with ``"mean"`` (a mean over nothing is undefined).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
import torch.nn.functional as F
from monai.utils import LossReduction
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import (
    check_activation,
    check_finite_result,
    check_reduction,
    defers_input_check,
    prepare_inputs,
    reduce_loss,
    reduce_per_channel,
)
from monai_imbalance.utils.validation import check_number

__all__ = ["VoxelWeightedASLoss", "VoxelWeightedBCELoss", "VoxelWeightedDiceLoss", "VoxelWeightedFocalLoss"]


def _weighted_sums(
    input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, dims: list[int], squared: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(sum w p y, sum w p^k, sum w y^k)`` over ``dims`` with ``k = 2`` when ``squared`` else 1."""
    y_k = target * target if squared else target
    if weight is None:
        return (input * target).sum(dims), (input * input if squared else input).sum(dims), y_k.sum(dims)
    if weight.requires_grad or target.requires_grad:  # rare: let autograd differentiate everything
        wp = weight * input
        return (wp * target).sum(dims), (wp * input if squared else wp).sum(dims), (weight * y_k).sum(dims)
    # one layout for every product below: a strided target (a one-hot moved from channels-last, say) would make
    # each mixed product and the backward run strided
    target = target.contiguous()
    sy = (target * target).mul_(weight).sum(dims) if squared else (weight * target).sum(dims)
    tp, sp = _PredictionSums.apply(input, target, weight, dims, squared)
    return tp, sp, sy


class _PredictionSums(torch.autograd.Function):
    """``(sum w p y, sum w p^k)`` over ``dims`` with the closed-form gradient ``w (g_t y + k g_s p^(k-1))``.

    Saves the memory and the passes of autograd's intermediate products (first derivatives only).
    """

    @staticmethod
    def forward(
        ctx: Any, p: torch.Tensor, y: torch.Tensor, w: torch.Tensor, dims: list[int], squared: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.save_for_backward(p, y, w)
        ctx.dims, ctx.squared = dims, squared
        wp = w * p  # a fresh buffer: the in-place product below touches no input
        sp = (wp * p if squared else wp).sum(dims)
        return wp.mul_(y).sum(dims), sp

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g_tp: torch.Tensor, g_sp: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        p, y, w = ctx.saved_tensors
        for d in sorted(ctx.dims):
            g_tp, g_sp = g_tp.unsqueeze(d), g_sp.unsqueeze(d)
        grad = y * g_tp  # fresh buffer, updated in place: one temporary instead of four
        if ctx.squared:
            grad.addcmul_(p, 2 * g_sp)
        else:
            grad.add_(g_sp)
        return grad.mul_(w), None, None, None, None


class _WeightedBCESum(torch.autograd.Function):
    r"""``scale * sum_i w_i (softplus(x_i) - x_i y_i)``: the reduced weighted BCE on logits, closed-form gradient.

    :math:`\operatorname{softplus}(x) - x y = -(y \log \sigma(x) + (1 - y) \log(1 - \sigma(x)))`; the gradient
    is the closed form :math:`w (\sigma(x) - y)\, g\, s` (first derivatives only). Four passes over the voxels
    forward and four backward, fewer than ``binary_cross_entropy_with_logits`` with a weight: the weighted loss
    costs no more than torch's unweighted one (``benchmarks/bench_losses.py``). The sum is torch's cascade sum
    (float32 results agree with ``binary_cross_entropy_with_logits`` to rounding, tested). ``w`` is ``None`` or
    broadcasts to ``x``; ``x`` is float32 or float64 (the caller promotes half precision): autocast casts none of
    these ops.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None, scale: float) -> torch.Tensor:
        ctx.save_for_backward(x, y, w)
        ctx.scale = scale
        t = F.softplus(x)  # a fresh buffer: the in-place updates below touch no input
        t.addcmul_(x, y, value=-1.0)
        if w is not None:
            t.mul_(w)
        return t.sum() * scale

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, y, w = ctx.saved_tensors
        grad = torch.sigmoid(x)
        grad.sub_(y)
        if w is not None:
            grad.mul_(w)
        return grad.mul_(g * ctx.scale), None, None, None


def _weighted_bce(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, reduction: str
) -> torch.Tensor:
    """Weighted BCE on logits: the fused sum for ``"mean"`` / ``"sum"``, autograd's elementwise product otherwise.

    ``"none"``, and a target or weight that needs a gradient (torch's ``weight`` takes none), multiply torch's
    elementwise ``binary_cross_entropy_with_logits`` by the weight.
    """
    needs_grad = target.requires_grad or (weight is not None and weight.requires_grad)
    if reduction != LossReduction.NONE.value and not needs_grad:
        scale = 1.0 / logits.numel() if reduction == LossReduction.MEAN.value else 1.0
        return cast(torch.Tensor, _WeightedBCESum.apply(logits, target, weight, scale))
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def _activation(sigmoid: bool, other_act: Callable | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    return torch.sigmoid if sigmoid else other_act


class VoxelWeightedBCELoss(_Loss):
    r"""Binary cross-entropy on logits with a voxel weight map (Shirokikh et al., MICCAI 2020, Table 1).

    .. math:: L = \frac{1}{N} \sum_i -w_i \left( y_i \log p_i + (1 - y_i) \log (1 - p_i) \right),
        \quad p_i = \sigma(x_i)

    The mean divides by the number of elements ``N`` (voxels times channels), not by :math:`\sum_i w_i`,
    as ``torch.nn.BCEWithLogitsLoss`` with ``weight`` does; all weights 1 give ``BCEWithLogitsLoss``.

    Args:
        include_background: if False, channel 0 is excluded (ignored with one channel, with a warning).
        to_onehot_y: convert a ``(B, 1, *spatial)`` index target to one-hot with ``C`` channels.
        reduction: ``"mean"`` (over all elements), ``"sum"`` or ``"none"`` (``(B, C, *spatial)``).

    Raises:
        ValueError: when ``reduction`` is not one of ``"none"``, ``"mean"``, ``"sum"``.

    Example:
        >>> x = torch.tensor([[[2.0, -1.0, 0.0, 3.0]]])
        >>> y = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
        >>> w = torch.tensor([[[1.0, 1.0, 2.0, 0.5]]])
        >>> VoxelWeightedBCELoss()(x, y, w)
        tensor(0.8377)
    """

    def __init__(
        self, include_background: bool = True, to_onehot_y: bool = False, reduction: LossReduction | str = "mean"
    ) -> None:
        super().__init__(reduction=check_reduction(reduction))
        self.include_background = include_background
        self.to_onehot_y = to_onehot_y

    def forward(self, input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: logits ``(B, C, *spatial)``.
            target: ``(B, C, *spatial)`` in [0, 1], or ``(B, 1, *spatial)`` indices with ``to_onehot_y``.
            weight: non-negative voxel weights ``(B, 1 or C, *spatial)``; None means all 1.

        Raises:
            TypeError: when an argument is not a tensor, ``input`` is not floating point or ``weight`` is half
                precision.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"``, or a value is bad
                (see the module docstring); on CUDA value errors are device-side assertions.
        """
        deferred = defers_input_check(input, self.reduction)
        logits, target, weight = prepare_inputs(
            input,
            target,
            weight,
            include_background=self.include_background,
            to_onehot_y=self.to_onehot_y,
            reduction=self.reduction,
            check_input_values=not deferred,
        )
        loss = _weighted_bce(logits, target, weight, self.reduction)
        return check_finite_result(loss, input) if deferred else loss


class VoxelWeightedFocalLoss(_Loss):
    r"""Focal loss with a voxel weight map (Lin et al., ICCV 2017; weighted in Shirokikh et al., MICCAI 2020).

    .. math:: L = \frac{1}{N} \sum_i -w_i\, \alpha_{y_i} (1 - p_{y_i})^\gamma \log p_{y_i}

    with :math:`\alpha_y = \alpha` for positives and :math:`1 - \alpha` for negatives (sigmoid), or
    :math:`1 - \alpha` for the background channel and :math:`\alpha` for the others (``use_softmax``), as
    MONAI's ``FocalLoss``; a sequence ``alpha`` gives per-class factors. All weights 1 give ``FocalLoss``,
    including its reductions (``"sum"`` sums the per-channel spatial means) and its channel handling
    (with ``include_background=False`` the softmax runs over the remaining channels). The paper uses
    ``gamma=2, alpha=0.75``.

    Args:
        include_background: if False, channel 0 is excluded (ignored with one channel, with a warning).
        to_onehot_y: convert a ``(B, 1, *spatial)`` index target to one-hot with ``C`` channels.
        gamma: focusing exponent, :math:`\gamma \ge 0`.
        alpha: balance factor in [0, 1], a sequence of per-class factors, or None (no balancing).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(B, C, *spatial)``).
        use_softmax: softmax over channels instead of a per-channel sigmoid.

    Raises:
        TypeError: when ``gamma`` is not a number or ``alpha`` not a number / sequence of numbers.
        ValueError: when ``gamma`` is negative or not finite, ``alpha`` is outside [0, 1] or ``reduction`` is
            unknown.

    Example:
        >>> x = torch.tensor([[[2.0, -1.0, 0.0, 3.0]]])
        >>> y = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
        >>> w = torch.tensor([[[1.0, 1.0, 2.0, 0.5]]])
        >>> VoxelWeightedFocalLoss(gamma=2.0, alpha=0.75)(x, y, w)
        tensor(0.1532)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        reduction: LossReduction | str = "mean",
        use_softmax: bool = False,
    ) -> None:
        super().__init__(reduction=check_reduction(reduction))
        gamma = check_number(gamma, "gamma", low=0.0)
        self.alpha: float | torch.Tensor | None = None
        if alpha is not None:
            try:
                a = torch.as_tensor(alpha, dtype=torch.float32)
            except (TypeError, ValueError, RuntimeError) as e:
                raise TypeError(f"`alpha` must be None, a number or a sequence of numbers, got {alpha!r}.") from e
            if a.ndim > 1 or not bool(((a >= 0) & (a <= 1)).all()):
                raise ValueError(f"`alpha` must be None, a number or a sequence of numbers in [0, 1], got {alpha!r}.")
            self.alpha = float(a) if a.ndim == 0 else a
        self.include_background = include_background
        self.to_onehot_y = to_onehot_y
        self.gamma = float(gamma)
        self.use_softmax = use_softmax

    def _alpha_factor(self, target: torch.Tensor) -> torch.Tensor | None:
        alpha, c = self.alpha, target.shape[1]
        if alpha is None:
            return None
        shape = [1, -1] + [1] * (target.ndim - 2)
        if isinstance(alpha, torch.Tensor):
            if alpha.shape[0] != c:
                raise ValueError(f"The length of `alpha` ({alpha.shape[0]}) must match the number of classes ({c}).")
            a = alpha.to(target).view(shape)
            return a.expand_as(target) if self.use_softmax else torch.where(target == 1, a, torch.ones_like(a))
        if self.use_softmax:
            if not self.include_background:
                warnings.warn("`include_background=False`, scalar `alpha` ignored when using softmax.", stacklevel=3)
                return None
            return torch.tensor([1 - alpha] + [alpha] * (c - 1)).to(target).view(shape)
        return target * alpha + (1 - target) * (1 - alpha)

    def forward(self, input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: logits ``(B, C, *spatial)``.
            target: ``(B, C, *spatial)`` in [0, 1], or ``(B, 1, *spatial)`` indices with ``to_onehot_y``.
            weight: non-negative voxel weights ``(B, 1 or C, *spatial)``; None means all 1.

        Raises:
            TypeError: when an argument is not a tensor, ``input`` is not floating point or ``weight`` is half
                precision.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"``, or a value is bad
                (see the module docstring); on CUDA value errors are device-side assertions.
        """
        input, target, weight = prepare_inputs(
            input,
            target,
            weight,
            include_background=self.include_background,
            to_onehot_y=self.to_onehot_y,
            reduction=self.reduction,
        )
        if self.use_softmax:
            log_p = input.log_softmax(1)
            loss = -(1 - log_p.exp()).pow(self.gamma) * log_p * target
        else:
            bce = input - input * target - F.logsigmoid(input)
            loss = torch.exp(F.logsigmoid(-input * (target * 2 - 1)) * self.gamma) * bce
        factor = self._alpha_factor(target)
        if factor is not None:
            loss = factor * loss
        if weight is not None:
            loss = loss * weight
        if self.reduction == LossReduction.SUM.value:  # MONAI's FocalLoss: the sum of the per-channel means
            loss = loss.mean(dim=list(range(2, loss.ndim)))
        return reduce_loss(loss, self.reduction)


class _WeightedOverlapLoss(_Loss):
    """Arguments and weighted sums shared by the overlap losses (Dice, ASL): MONAI's ``DiceLoss`` vocabulary."""

    def __init__(
        self,
        include_background: bool,
        to_onehot_y: bool,
        sigmoid: bool,
        softmax: bool,
        other_act: Callable | None,
        squared_pred: bool,
        reduction: LossReduction | str,
        smooth_nr: float,
        smooth_dr: float,
        batch: bool,
    ) -> None:
        super().__init__(reduction=check_reduction(reduction))
        check_activation(sigmoid, softmax, other_act)
        self.include_background = include_background
        self.to_onehot_y = to_onehot_y
        self.sigmoid = sigmoid
        self.softmax = softmax
        self.other_act = other_act
        self.squared_pred = squared_pred
        self.smooth_nr = check_number(smooth_nr, "smooth_nr", low=0.0)
        self.smooth_dr = check_number(smooth_dr, "smooth_dr", low=0.0)
        self.batch = batch

    def _weighted_overlap(
        self, input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """``(sum w p y, sum w p^k, sum w y^k, input.ndim)`` per sample and channel (per channel with ``batch``)."""
        input, target, weight = prepare_inputs(
            input,
            target,
            weight,
            include_background=self.include_background,
            to_onehot_y=self.to_onehot_y,
            activation=_activation(self.sigmoid, self.other_act),
            softmax=self.softmax,
            probabilities=not (self.sigmoid or self.softmax or self.other_act is not None),
            reduction=self.reduction,
        )
        dims = ([0] if self.batch else []) + list(range(2, input.ndim))
        return (*_weighted_sums(input, target, weight, dims, self.squared_pred), input.ndim)


class VoxelWeightedDiceLoss(_WeightedOverlapLoss):
    r"""Dice loss with a voxel weight map (Milletari et al., 3DV 2016; weighted in Shirokikh et al., MICCAI 2020).

    .. math:: L = 1 - \frac{2 \sum_i w_i p_i y_i + s_{nr}}{\sum_i w_i (p_i^k + y_i^k) + s_{dr}}

    per sample and channel (per channel with ``batch=True``), :math:`k = 2` with ``squared_pred`` (the paper's
    form) else 1; ``jaccard`` gives :math:`1 - (T + s_{nr}) / (2 (S - T) + s_{dr})` with the same sums as
    MONAI. All weights 1 give MONAI's ``DiceLoss`` with the same arguments.

    Args:
        include_background: if False, channel 0 is excluded (ignored with one channel, with a warning).
        to_onehot_y: convert a ``(B, 1, *spatial)`` index target to one-hot with ``C`` channels.
        sigmoid, softmax, other_act: activation of ``input`` (at most one).
        squared_pred: square the terms of the denominator (the paper's Dice loss).
        jaccard: compute the Jaccard (IoU) loss instead.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(B, C, 1, ...)``, ``(C, 1, ...)`` with ``batch``).
        smooth_nr, smooth_dr: constants added to the numerator and the denominator (``>= 0``); with
            ``smooth_dr=0`` a sample and channel whose weighted sums are all 0 (an empty class predicted empty,
            or all-zero weights) gives 0/0 = NaN, as in MONAI.
        batch: sum over the batch before dividing.

    Raises:
        TypeError: when ``other_act`` is not callable or a smoothing term is not a number.
        ValueError: when more than one activation is chosen, ``reduction`` is unknown or a smoothing term is
            negative or not finite.

    Example:
        >>> p = torch.tensor([[[0.9, 0.2, 0.6, 0.1]]])
        >>> y = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
        >>> w = torch.tensor([[[1.0, 1.0, 2.0, 0.5]]])
        >>> VoxelWeightedDiceLoss(squared_pred=True)(p, y, w)
        tensor(0.0820)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: LossReduction | str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
    ) -> None:
        super().__init__(
            include_background, to_onehot_y, sigmoid, softmax, other_act,
            squared_pred, reduction, smooth_nr, smooth_dr, batch,
        )  # fmt: skip
        self.jaccard = jaccard

    def forward(self, input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: ``(B, C, *spatial)`` probabilities, or logits with ``sigmoid``/``softmax``/``other_act``.
            target: ``(B, C, *spatial)`` in [0, 1], or ``(B, 1, *spatial)`` indices with ``to_onehot_y``.
            weight: non-negative voxel weights ``(B, 1 or C, *spatial)``; None means all 1.

        Raises:
            TypeError: when an argument is not a tensor, ``input`` is not floating point or ``weight`` is half
                precision.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"``, or a value is bad
                (see the module docstring); on CUDA value errors are device-side assertions.
        """
        tp, sp, sy, ndim = self._weighted_overlap(input, target, weight)
        if self.jaccard:
            f = 1 - (2 * tp + self.smooth_nr) / (2 * (sp + sy - tp) + self.smooth_dr)
        else:
            f = 1 - (2 * tp + self.smooth_nr) / (sp + sy + self.smooth_dr)
        return reduce_per_channel(f, self.reduction, ndim)


class VoxelWeightedASLoss(_WeightedOverlapLoss):
    r"""Asymmetric similarity (F-beta) loss with a voxel weight map (Hashemi et al., IEEE Access 2018).

    .. math:: L = 1 - \frac{(1 + \beta^2) \sum_i w_i p_i y_i + s_{nr}}{\sum_i w_i (\beta^2 y_i^k + p_i^k) + s_{dr}}

    per sample and channel, :math:`k = 1` (the formula of Shirokikh et al., MICCAI 2020, Table 1) or
    :math:`k = 2` with ``squared_pred`` (the authors' code). All weights 1 and ``k = 1`` give MONAI's
    ``TverskyLoss(alpha=1/(1+beta**2), beta=beta**2/(1+beta**2))`` with smoothing terms divided by
    :math:`1 + \beta^2`. The paper uses ``beta=1.5``.

    Args:
        include_background: if False, channel 0 is excluded (ignored with one channel, with a warning).
        to_onehot_y: convert a ``(B, 1, *spatial)`` index target to one-hot with ``C`` channels.
        sigmoid, softmax, other_act: activation of ``input`` (at most one).
        beta: weight of recall against precision, :math:`\beta > 0`.
        squared_pred: square the terms of the denominator (the authors' code).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (``(B, C)`` like ``TverskyLoss``; ``(C,)`` with batch).
        smooth_nr, smooth_dr: constants added to the numerator and the denominator (``>= 0``; ``smooth_dr=0``:
            NaN where the weighted sums are all 0, as for :class:`VoxelWeightedDiceLoss`).
        batch: sum over the batch before dividing.

    Raises:
        TypeError: when ``other_act`` is not callable, or ``beta`` or a smoothing term is not a number.
        ValueError: when ``beta`` is not positive, more than one activation is chosen, ``reduction`` is unknown
            or a smoothing term is negative or not finite.

    Example:
        >>> p = torch.tensor([[[0.9, 0.2, 0.6, 0.1]]])
        >>> y = torch.tensor([[[1.0, 0.0, 1.0, 0.0]]])
        >>> w = torch.tensor([[[1.0, 1.0, 2.0, 0.5]]])
        >>> VoxelWeightedASLoss(beta=1.5)(p, y, w)
        tensor(0.2500)
    """

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable | None = None,
        beta: float = 1.5,
        squared_pred: bool = False,
        reduction: LossReduction | str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
    ) -> None:
        super().__init__(
            include_background, to_onehot_y, sigmoid, softmax, other_act,
            squared_pred, reduction, smooth_nr, smooth_dr, batch,
        )  # fmt: skip
        self.beta = check_number(beta, "beta", low=0.0, low_open=True)

    def forward(self, input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            input: ``(B, C, *spatial)`` probabilities, or logits with ``sigmoid``/``softmax``/``other_act``.
            target: ``(B, C, *spatial)`` in [0, 1], or ``(B, 1, *spatial)`` indices with ``to_onehot_y``.
            weight: non-negative voxel weights ``(B, 1 or C, *spatial)``; None means all 1.

        Raises:
            TypeError: when an argument is not a tensor, ``input`` is not floating point or ``weight`` is half
                precision.
            ValueError: when the shapes do not match, ``B = 0`` with ``reduction="mean"``, or a value is bad
                (see the module docstring); on CUDA value errors are device-side assertions.
        """
        tp, sp, sy, _ = self._weighted_overlap(input, target, weight)
        b2 = self.beta**2
        f = 1 - ((1 + b2) * tp + self.smooth_nr) / (b2 * sy + sp + self.smooth_dr)
        return reduce_loss(f, self.reduction)
