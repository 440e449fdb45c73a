r"""Ignite handler recording the gradient signs of the training loss (Valverde & Tohka, section 3.4, Figure 3)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from monai_imbalance.reporting.gradients import negative_component_counts

__all__ = ["GradientSignHandler"]


def _batch_pred_label(output: Any) -> tuple[torch.Tensor, Any]:
    """``(pred, label)`` of a trainer's output: a dictionary, or a decollated list of dictionaries."""
    from monai.utils import CommonKeys

    if isinstance(output, Mapping):
        if CommonKeys.PRED not in output or CommonKeys.LABEL not in output:
            raise KeyError(f"engine.state.output must hold `pred` and `label`, got keys {sorted(output)}.")
        return output[CommonKeys.PRED], output[CommonKeys.LABEL]
    if isinstance(output, Sequence) and output and all(isinstance(o, Mapping) for o in output):
        preds, labels = zip(*(_batch_pred_label(o) for o in output), strict=True)
        return torch.stack(list(preds)), torch.stack(list(labels))
    raise TypeError(f"engine.state.output must be a dictionary or a list of them, got {type(output).__name__}.")


class GradientSignHandler:
    r"""Record, during training, the fraction of voxels whose loss gradient has exactly one negative component.

    .. math:: f = \frac{1}{B N}\,\#\{(b, i) : \#\{k : \partial \overline{L} / \partial x_{bki} < 0\} = 1\}

    Every ``interval`` iterations (the first one included) the handler recomputes the gradient of the
    trainer's loss with respect to the network output of the current batch (detached copy, float64 by
    default, autocast off; the training step is unaffected) and counts its negative components per voxel
    (Valverde & Tohka, section 3.4 and Figure 3: RRW maps give :math:`f = 1`, RW-Boundary maps with more
    than two classes :math:`f < 1`). It listens to MONAI's ``IterationEvents.LOSS_COMPLETED``, when
    ``engine.state.output`` holds the batch's ``pred`` and ``label`` before decollation and post-processing;
    so the map bridge works unchanged: a :class:`~monai_imbalance.losses.MapBridgeLoss` finds its map in the
    label's metadata placed there by :class:`~monai_imbalance.losses.PrepareBatchWithMap`. Engines without
    MONAI's iteration events are handled at ``ITERATION_COMPLETED``.

    The latest fraction is written to ``engine.state.metrics[metric_name]``; every record is kept in
    :attr:`history` (``iteration``, ``epoch``, ``fraction``, ``multiple_fraction``: the fraction of voxels with
    two or more negative components, the instability of the paper, and ``counts``: the histogram of
    :func:`negative_component_counts`) and, when ``output_file`` is given, written there as JSON at
    ``COMPLETED``. Voxels with no negative component are those whose gradient vanishes in floating point
    (a saturated softmax, :math:`s_{ic} = 1` exactly): late in training even RRW maps give :math:`f` slightly
    below 1 through them, never through several negative components.

    Args:
        interval: record every ``interval`` iterations (positive).
        loss_function: the loss to differentiate; None uses the engine's ``loss_function``.
        metric_name: key in ``engine.state.metrics``.
        output_file: optional JSON path written when the run completes.
        dtype: dtype of the recomputation (float64 keeps rounding from flipping signs).
        tol: a component counts as negative when below ``-tol``.

    Raises:
        ValueError: when ``interval`` is not a positive integer, ``tol`` is negative or ``metric_name`` empty;
            (when called) when there is no loss to differentiate.
        KeyError: (when called) when ``engine.state.output`` lacks ``pred`` or ``label``.
        TypeError: (when called) when ``engine.state.output`` is neither a dictionary nor a list of them.

    Example:
        >>> from ignite.engine import Engine
        >>> from monai_imbalance.losses import RegionWiseLoss
        >>> z = torch.tensor([[[1.0, 5.0], [1.0, 1.0], [-1.0, -1.0]]])  # voxel 0 rectified, voxel 1 not
        >>> engine = Engine(lambda e, b: {"pred": torch.zeros(1, 3, 2), "label": z})
        >>> handler = GradientSignHandler(loss_function=lambda x, y: RegionWiseLoss()(x, None, rw_map=y))
        >>> handler.attach(engine)
        >>> _ = engine.run([0], max_epochs=1)
        >>> handler.history[0]["counts"], engine.state.metrics["grad_one_negative_fraction"]
        ([0, 1, 1, 0], 0.5)
    """

    def __init__(
        self,
        interval: int = 1,
        loss_function: Callable[..., torch.Tensor] | None = None,
        metric_name: str = "grad_one_negative_fraction",
        output_file: str | Path | None = None,
        dtype: torch.dtype = torch.float64,
        tol: float = 0.0,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"`interval` must be a positive integer, got {interval!r}.")
        if not isinstance(tol, (int, float)) or not tol >= 0:
            raise ValueError(f"`tol` must be a non-negative number, got {tol!r}.")
        if not isinstance(metric_name, str) or not metric_name:
            raise ValueError(f"`metric_name` must be a non-empty string, got {metric_name!r}.")
        self.interval = interval
        self.loss_function = loss_function
        self.metric_name = metric_name
        self.output_file = None if output_file is None else Path(output_file)
        self.dtype = dtype
        self.tol = float(tol)
        self.history: list[dict[str, Any]] = []

    @property
    def fractions(self) -> list[float]:
        """The recorded fractions, in order."""
        return [float(r["fraction"]) for r in self.history]

    def attach(self, engine: Any) -> None:
        """Register on ``engine`` (a MONAI ``SupervisedTrainer`` or any ignite engine with dict outputs)."""
        from ignite.engine import Events
        from monai.engines import Workflow
        from monai.engines.utils import IterationEvents

        # MONAI workflows fire LOSS_COMPLETED inside their iteration, before decollation and post-processing
        event = IterationEvents.LOSS_COMPLETED if isinstance(engine, Workflow) else Events.ITERATION_COMPLETED
        engine.add_event_handler(event, self)
        if self.output_file is not None:
            engine.add_event_handler(Events.COMPLETED, self.write)

    def __call__(self, engine: Any) -> None:
        """Record the gradient-sign counts of the current batch when the iteration is due."""
        iteration = int(engine.state.iteration)
        if (iteration - 1) % self.interval:
            return
        loss = self.loss_function if self.loss_function is not None else getattr(engine, "loss_function", None)
        if loss is None:
            raise ValueError("No loss to differentiate: pass `loss_function` or use an engine with `loss_function`.")
        pred, label = _batch_pred_label(engine.state.output)
        pred = pred.as_tensor() if hasattr(pred, "as_tensor") else pred
        counts = negative_component_counts(loss, pred.detach().to(self.dtype), label, tol=self.tol)
        total = max(int(counts.sum()), 1)
        fraction = float(counts[1] / total)
        self.history.append(
            {
                "iteration": iteration,
                "epoch": int(engine.state.epoch),
                "fraction": fraction,
                "multiple_fraction": float(counts[2:].sum() / total),
                "counts": counts.tolist(),
            }
        )
        engine.state.metrics[self.metric_name] = fraction

    def write(self, engine: Any = None) -> None:
        """Write :attr:`history` to ``output_file`` as JSON (``{"metric": ..., "history": [...]}``)."""
        if self.output_file is None:
            return
        self.output_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"metric": self.metric_name, "interval": self.interval, "history": self.history}
        self.output_file.write_text(json.dumps(payload, indent=1))
