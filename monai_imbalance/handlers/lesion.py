"""Ignite handlers for lesion-wise validation: FROC average recall (usable as the key metric) and object Dice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monai.handlers import IgniteMetricHandler

from monai_imbalance.metrics.cumulative import FROCMetric, LesionDiceMetric

__all__ = ["FROCHandler", "LesionDiceHandler"]


class _LesionMetricHandler(IgniteMetricHandler):
    """An ignite metric handing the evaluator's per-case items to its metric as they are.

    Ignite unrolls a ``(list, list)`` output into one single-item batch per case (a new tensor each time); with
    unrolling off the metric receives the items themselves, so the lesion records of a case are matched once
    for every lesion metric and :class:`~monai_imbalance.reporting.LesionReportHandler` of the evaluator
    (:func:`~monai_imbalance.metrics.item_lesion_records`), and nothing is copied.
    """

    def __init__(self, metric_fn: Any, output_transform: Callable, save_details: bool) -> None:
        super().__init__(metric_fn=metric_fn, output_transform=output_transform, save_details=save_details)
        self._skip_unrolling = True


class FROCHandler(_LesionMetricHandler):
    """Average recall over the FROC curve of every validation case, as an ignite metric.

    Wraps :class:`~monai_imbalance.metrics.FROCMetric`; attach it to an evaluator (or list it in a bundle's
    ``val_handlers`` / ``key_val_metric``) so the average recall can select the best checkpoint. The
    evaluator's output must give ``(y_pred, y)``: probabilities ``(B, 1, *spatial)`` and the label.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points; default 1/8 ... 8.
        output_transform: maps ``engine.state.output`` to ``(y_pred, y)`` (MONAI's convention).
        save_details: store the packed per-case rows in ``engine.state.metric_details``.
        kwargs: the other arguments of :class:`~monai_imbalance.metrics.FROCMetric` (``threshold``,
            ``connectivity``, ``hit_rule``, ``hit_threshold``, ``spacing``, ``max_lesions``, ``max_fps``).

    Raises:
        ValueError: on an invalid metric argument.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> engine = Engine(lambda e, b: (b * 0.9, b))
        >>> FROCHandler(save_details=False).attach(engine, "avg_recall")
        >>> engine.run([y], max_epochs=1).metrics["avg_recall"]
        1.0
    """

    def __init__(
        self,
        protocol: str = "luna16",
        fp_rates: Any = None,
        output_transform: Callable = lambda x: x,
        save_details: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            metric_fn=FROCMetric(protocol=protocol, fp_rates=fp_rates, **kwargs),
            output_transform=output_transform,
            save_details=save_details,
        )


class LesionDiceHandler(_LesionMetricHandler):
    """Object Dice (mean Dice of the detected lesions with their match) of every validation case.

    Wraps :class:`~monai_imbalance.metrics.LesionDiceMetric`.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        output_transform: maps ``engine.state.output`` to ``(y_pred, y)``.
        save_details: store the packed per-case rows in ``engine.state.metric_details``.
        kwargs: the other arguments of :class:`~monai_imbalance.metrics.LesionDiceMetric`.

    Raises:
        ValueError: on an invalid metric argument.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> engine = Engine(lambda e, b: (b * 0.9, b))
        >>> LesionDiceHandler(save_details=False).attach(engine, "object_dice")
        >>> engine.run([y], max_epochs=1).metrics["object_dice"]
        1.0
    """

    def __init__(
        self,
        protocol: str = "luna16",
        output_transform: Callable = lambda x: x,
        save_details: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            metric_fn=LesionDiceMetric(protocol=protocol, **kwargs),
            output_transform=output_transform,
            save_details=save_details,
        )
