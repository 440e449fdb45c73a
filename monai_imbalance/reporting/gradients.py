r"""Gradient-sign diagnostics of Valverde & Tohka's region-wise loss (paper 2, section 3.4, Figures 2 and 3).

With softmax probabilities :math:`s = \operatorname{softmax}(x)` the gradient of a region-wise loss with respect
to the logits of voxel :math:`i` is

.. math:: \frac{\partial RW}{\partial x_{ik}} = \frac{1}{N}\, s_{ik} \Bigl(z_{ik} - \sum_j s_{ij} z_{ij}\Bigr)

(eq. 2; ``N`` the normalisation of the mean). Cross-entropy-like behaviour needs exactly one negative component
per voxel, at the true class, so that only that probability grows. A rectified map (all off-class values of a
voxel equal: RRW, active contour) guarantees it; the RW-Boundary map (Kervadec's boundary loss) with more than
two classes does not, and the voxels with several negative components are the source of the instability the
paper describes. These functions count the negative components with ``torch.autograd`` for *any* loss, and
:class:`GradientSignHandler` records them during training.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["GradientSignHandler", "logit_gradient", "negative_component_counts", "negative_component_map"]


def _check_logits(logits: Any) -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"`logits` must be a torch.Tensor, got {type(logits).__name__}.")
    if not logits.is_floating_point():
        raise TypeError(f"`logits` must be a floating tensor, got dtype {logits.dtype}.")
    if logits.ndim < 3:
        raise ValueError(f"`logits` must have shape (B, C, *spatial), got shape {tuple(logits.shape)}.")


def logit_gradient(
    loss: Callable[..., torch.Tensor],
    logits: torch.Tensor,
    target: Any,
    rw_map: torch.Tensor | None = None,
    map_arg: str = "rw_map",
) -> torch.Tensor:
    r"""Gradient of a loss with respect to the network output, by ``torch.autograd``.

    .. math:: g_{bki} = \frac{\partial\, \overline{L}}{\partial x_{bki}}

    where :math:`\overline{L}` is the mean of ``loss(logits, target)`` (the value ``SupervisedTrainer``
    back-propagates). ``logits`` is detached first: the caller's graph is never touched.

    Args:
        loss: any callable loss, e.g. :class:`~monai_imbalance.losses.RegionWiseLoss`, or
            :class:`~monai_imbalance.losses.MapBridgeLoss` with the map in ``target.meta``.
        logits: network output ``(B, C, *spatial)``, floating point.
        target: the loss's target (e.g. ``(B, 1, *spatial)`` class indices, a ``MetaTensor`` carrying a map).
        rw_map: optional map passed to the loss as ``map_arg`` (``(B, C, *spatial)`` for the RW loss).
        map_arg: keyword of ``loss`` receiving ``rw_map`` (``"weight"`` for the voxel-weighted losses).

    Returns:
        ``(B, C, *spatial)`` gradient, dtype and device of ``logits``.

    Raises:
        TypeError: when ``logits`` is not a floating tensor.
        ValueError: when ``logits`` has fewer than 3 dims or the loss does not depend on it.

    Example:
        >>> from monai_imbalance.losses import RegionWiseLoss
        >>> x = torch.zeros(1, 2, 1)  # s = (0.5, 0.5)
        >>> z = torch.tensor([[[1.0], [-1.0]]])  # the voxel is in class 1
        >>> logit_gradient(RegionWiseLoss(), x, None, z)  # s_k (z_k - 0) / 2
        tensor([[[ 0.2500],
                 [-0.2500]]])
    """
    _check_logits(logits)
    leaf = logits.detach().clone().requires_grad_(True)
    kwargs = {} if rw_map is None else {map_arg: rw_map}
    with torch.enable_grad(), torch.autocast(device_type=leaf.device.type, enabled=False):
        value = loss(leaf, target, **kwargs)
        if not isinstance(value, torch.Tensor) or not value.requires_grad:
            raise ValueError(f"`loss` returned no value depending on `logits` (got {type(value).__name__}).")
        (grad,) = torch.autograd.grad(value.mean(), leaf, allow_unused=True)
    if grad is None:
        raise ValueError("`loss` returned a value that does not depend on `logits`.")
    return grad


def _count_map(grad: torch.Tensor, tol: float) -> np.ndarray:
    return (grad < -tol).sum(dim=1).cpu().numpy().astype(np.int64)


def negative_component_map(
    loss: Callable[..., torch.Tensor],
    logits: torch.Tensor,
    target: Any,
    rw_map: torch.Tensor | None = None,
    map_arg: str = "rw_map",
    tol: float = 0.0,
) -> np.ndarray:
    r"""Number of negative components of :math:`\partial L / \partial x` at every voxel (paper 2, Figure 3).

    .. math:: n_{bi} = \#\{k : g_{bki} < -\mathrm{tol}\}, \quad g = \partial \overline{L} / \partial x

    A rectified map gives :math:`n_{bi} = 1` everywhere; voxels with :math:`n_{bi} \ge 2` push several
    probabilities up at once (Valverde & Tohka, section 3.4). Use float64 ``logits`` to keep rounding from
    flipping components that are zero in exact arithmetic.

    Args:
        loss: see :func:`logit_gradient`.
        logits: network output ``(B, C, *spatial)``.
        target: the loss's target.
        rw_map: optional map passed as ``map_arg``.
        map_arg: keyword of ``loss`` receiving ``rw_map``.
        tol: a component counts as negative when below ``-tol`` (non-negative).

    Returns:
        ``(B, *spatial)`` ``int64`` numpy array with values in ``[0, C]``.

    Raises:
        TypeError: when ``logits`` is not a floating tensor.
        ValueError: when ``tol`` is negative or see :func:`logit_gradient`.

    Example:
        >>> from monai_imbalance.losses import RegionWiseLoss
        >>> x = torch.zeros(1, 3, 2, dtype=torch.float64)  # uniform probabilities
        >>> z = torch.tensor([[[0.0, 1.0], [1.0, 1.0], [5.0, -1.0]]], dtype=torch.float64)  # not rectified, RRW
        >>> negative_component_map(RegionWiseLoss(), x, None, z)
        array([[2, 1]])
    """
    if not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"`tol` must be a non-negative number, got {tol!r}.")
    return _count_map(logit_gradient(loss, logits, target, rw_map, map_arg), float(tol))


def negative_component_counts(
    loss: Callable[..., torch.Tensor],
    logits: torch.Tensor,
    target: Any,
    rw_map: torch.Tensor | None = None,
    map_arg: str = "rw_map",
    tol: float = 0.0,
) -> np.ndarray:
    r"""Histogram over voxels of the number of negative gradient components (paper 2, Figures 2 and 3).

    .. math:: h_n = \#\{(b, i) : n_{bi} = n\}, \quad n = 0, \dots, C

    with :math:`n_{bi}` from :func:`negative_component_map`. The fraction of voxels with exactly one
    negative component is ``h[1] / h.sum()``: 1 for rectified maps (RRW, active contour).

    Args:
        loss: see :func:`logit_gradient`.
        logits: network output ``(B, C, *spatial)``.
        target: the loss's target.
        rw_map: optional map passed as ``map_arg``.
        map_arg: keyword of ``loss`` receiving ``rw_map``.
        tol: a component counts as negative when below ``-tol``.

    Returns:
        ``(C + 1,)`` ``int64`` counts.

    Raises:
        TypeError: when ``logits`` is not a floating tensor.
        ValueError: when ``tol`` is negative or see :func:`logit_gradient`.

    Example:
        >>> from monai_imbalance.losses import RegionWiseLoss
        >>> x = torch.zeros(1, 3, 2, dtype=torch.float64)
        >>> z = torch.tensor([[[0.0, 1.0], [1.0, 1.0], [5.0, -1.0]]], dtype=torch.float64)
        >>> negative_component_counts(RegionWiseLoss(), x, None, z)
        array([0, 1, 1, 0])
    """
    counts = negative_component_map(loss, logits, target, rw_map, map_arg, tol)
    return np.bincount(counts.reshape(-1), minlength=logits.shape[1] + 1).astype(np.int64)


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
