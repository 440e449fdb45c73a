r"""Weighted sum of two losses with a fixed or per-epoch decreasing weight (equal / gradual contribution)."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn.modules.loss import _Loss

from monai_imbalance.losses._common import accepts_keyword
from monai_imbalance.utils.validation import check_number

__all__ = ["ScheduledCombinedLoss"]


class ScheduledCombinedLoss(_Loss):
    r"""Combine two losses as :math:`\alpha L_a + (1 - \alpha) L_b` with :math:`\alpha` fixed or decreasing per epoch.

    .. math:: \alpha_e = \max(\alpha_{min},\ \alpha_0 - (e - 1)\, \delta), \quad e = 1, 2, \dots

    ``alpha_step = 0`` keeps :math:`\alpha` fixed (equal contribution with :math:`\alpha = 0.5`, i.e. half of
    ``L_a + L_b``); ``alpha=1, alpha_step=0.01, alpha_min=0.01`` is the gradual contribution of Kervadec et al.
    (MIDL 2019) studied in Valverde & Tohka (2023, section 4.4) with ``L_a`` a Dice or cross-entropy loss and
    ``L_b`` a :class:`~monai_imbalance.losses.RegionWiseLoss`. The epoch is set from outside ``forward`` by
    :meth:`set_epoch`, which :class:`monai_imbalance.handlers.schedule.CombinedLossAlphaHandler` calls at the
    start of every epoch. ``weight`` and ``rw_map`` given to ``forward`` go to the losses whose ``forward``
    takes them.

    Args:
        loss_a: the loss weighted by :math:`\alpha`.
        loss_b: the loss weighted by :math:`1 - \alpha`.
        alpha: :math:`\alpha_0` in [0, 1].
        alpha_step: decrease :math:`\delta \ge 0` per epoch.
        alpha_min: floor :math:`\alpha_{min}` in [0, alpha].

    Raises:
        TypeError: when a loss is not callable or ``alpha``, ``alpha_step`` or ``alpha_min`` is not a number.
        ValueError: when ``alpha``, ``alpha_step`` or ``alpha_min`` is out of range or not finite.

    Example:
        >>> la, lb = torch.nn.L1Loss(), torch.nn.MSELoss()
        >>> loss = ScheduledCombinedLoss(la, lb, alpha=1.0, alpha_step=0.25, alpha_min=0.1)
        >>> [loss.alpha_at(e) for e in (1, 2, 5)]
        [1.0, 0.75, 0.1]
        >>> loss.set_epoch(2)
        >>> loss(torch.tensor([2.0]), torch.tensor([0.0]))  # 0.75 * 2 + 0.25 * 4
        tensor(2.5000)
    """

    def __init__(
        self,
        loss_a: torch.nn.Module,
        loss_b: torch.nn.Module,
        alpha: float = 0.5,
        alpha_step: float = 0.0,
        alpha_min: float = 0.0,
    ) -> None:
        super().__init__()
        for name, loss in (("loss_a", loss_a), ("loss_b", loss_b)):
            if not callable(loss):
                raise TypeError(f"`{name}` must be a callable loss, got {type(loss).__name__}.")
        alpha = check_number(alpha, "alpha", low=0.0, high=1.0)
        alpha_step = check_number(alpha_step, "alpha_step", low=0.0)
        alpha_min = check_number(alpha_min, "alpha_min", low=0.0, high=alpha)  # high: alpha
        self.loss_a = loss_a
        self.loss_b = loss_b
        self.alpha0 = alpha
        self.alpha_step = alpha_step
        self.alpha_min = alpha_min
        self.alpha = alpha
        self._kw = {key: (accepts_keyword(loss_a, key), accepts_keyword(loss_b, key)) for key in ("weight", "rw_map")}

    def alpha_at(self, epoch: int) -> float:
        r"""Return :math:`\alpha` at the 1-based ``epoch``.

        Raises:
            TypeError: when ``epoch`` is not an int.
            ValueError: when ``epoch < 1``.
        """
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
            raise TypeError(f"`epoch` must be an int (1-based), got {epoch!r} ({type(epoch).__name__}).")
        if epoch < 1:
            raise ValueError(f"`epoch` must be >= 1, got {epoch!r}.")
        return max(self.alpha_min, self.alpha0 - (epoch - 1) * self.alpha_step)

    def set_epoch(self, epoch: int) -> None:
        r"""Set the current :math:`\alpha` to its value at the 1-based ``epoch`` (call outside ``forward``)."""
        self.alpha = self.alpha_at(epoch)

    def forward(
        self,
        input: torch.Tensor,
        target: torch.Tensor,
        weight: torch.Tensor | None = None,
        rw_map: torch.Tensor | None = None,
    ) -> torch.Tensor:
        r"""Compute :math:`\alpha L_a + (1 - \alpha) L_b` (a loss with weight 0 is not evaluated).

        Args:
            input: network output, what both losses take.
            target: ground truth, what both losses take.
            weight: voxel weights passed to the losses whose ``forward`` has a ``weight`` argument.
            rw_map: region-wise map passed to the losses whose ``forward`` has an ``rw_map`` argument.

        Raises:
            TypeError: when ``weight`` or ``rw_map`` is given but neither loss takes it (it would be dropped).
        """
        extra = {"weight": weight, "rw_map": rw_map}
        for key, value in extra.items():
            if value is not None and not any(self._kw[key]):
                raise TypeError(
                    f"`{key}` was given but neither `loss_a` ({type(self.loss_a).__name__}) nor `loss_b` "
                    f"({type(self.loss_b).__name__}) takes a `{key}` argument in forward: it would be ignored."
                )
        total: torch.Tensor | float = 0.0
        for i, (loss, coef) in enumerate(((self.loss_a, self.alpha), (self.loss_b, 1.0 - self.alpha))):
            if coef == 0.0:
                continue
            kwargs = {k: v for k, v in extra.items() if v is not None and self._kw[k][i]}
            total = total + coef * loss(input, target, **kwargs)
        if not isinstance(total, torch.Tensor):
            return input.sum() * 0.0
        return total
