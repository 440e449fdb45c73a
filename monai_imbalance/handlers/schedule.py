"""Ignite handler that steps the weight of a :class:`~monai_imbalance.losses.ScheduledCombinedLoss` per epoch."""

from __future__ import annotations

from typing import Any

from monai_imbalance.handlers._ignite import Engine, Events

__all__ = ["CombinedLossAlphaHandler"]


class CombinedLossAlphaHandler:
    """Set ``loss.alpha`` from ``engine.state.epoch`` at the start of every epoch (gradual contribution).

    Calls ``loss.set_epoch(engine.state.epoch)`` on ``EPOCH_STARTED``, so the value follows the epoch counter
    (also after resuming from a checkpoint) and is never changed inside the loss's ``forward``
    (Kervadec et al., MIDL 2019; Valverde & Tohka 2023, section 4.4).

    Args:
        loss: an object with ``set_epoch(epoch)``, e.g. :class:`~monai_imbalance.losses.ScheduledCombinedLoss`.
        name: optional name under which the current alpha is also written to ``engine.state.metrics``.

    Raises:
        TypeError: when ``loss`` has no ``set_epoch`` method or ``name`` is not a string.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> from monai_imbalance.losses import ScheduledCombinedLoss
        >>> loss = ScheduledCombinedLoss(torch.nn.L1Loss(), torch.nn.MSELoss(), alpha=1.0, alpha_step=0.1)
        >>> engine = Engine(lambda e, b: None)
        >>> CombinedLossAlphaHandler(loss).attach(engine)
        >>> _ = engine.run([0], max_epochs=3)
        >>> round(loss.alpha, 2)
        0.8
    """

    def __init__(self, loss: Any, name: str | None = None) -> None:
        if not callable(getattr(loss, "set_epoch", None)):
            raise TypeError(f"`loss` must have a `set_epoch(epoch)` method, got {type(loss).__name__}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be None or a string (a metric name), got {type(name).__name__}.")
        self.loss = loss
        self.name = name

    def attach(self, engine: Engine) -> None:
        """Register the handler on ``engine`` for ``Events.EPOCH_STARTED``."""
        engine.add_event_handler(Events.EPOCH_STARTED, self)

    def __call__(self, engine: Engine) -> None:
        """Set the loss's alpha for ``engine.state.epoch``."""
        self.loss.set_epoch(engine.state.epoch)
        if self.name is not None:
            engine.state.metrics[self.name] = self.loss.alpha
