r"""Gradient-sign diagnostics of Valverde & Tohka's region-wise loss (paper 2, section 3.4, Figures 2 and 3).

With softmax probabilities :math:`s = \operatorname{softmax}(x)` the gradient of a region-wise loss with respect
to the logits of voxel :math:`i` is

.. math:: \frac{\partial RW}{\partial x_{ik}} = \frac{1}{N}\, s_{ik} \Bigl(z_{ik} - \sum_j s_{ij} z_{ij}\Bigr)

(eq. 2; ``N`` the normalisation of the mean). Cross-entropy-like behaviour needs exactly one negative component
per voxel, at the true class, so that only that probability grows. A rectified map (all off-class values of a
voxel equal: RRW, active contour) guarantees it; the RW-Boundary map (Kervadec's boundary loss) with more than
two classes does not, and the voxels with several negative components are the source of the instability the
paper describes. These functions count the negative components with ``torch.autograd`` for *any* loss;
:class:`~monai_imbalance.handlers.GradientSignHandler` records them during training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from monai_imbalance.utils.deprecation import moved_names

__all__ = ["logit_gradient", "negative_component_counts", "negative_component_map"]


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


# deprecated: the handler moved to monai_imbalance.handlers.gradients
__getattr__ = moved_names(__name__, {"GradientSignHandler": "monai_imbalance.handlers.gradients"})
