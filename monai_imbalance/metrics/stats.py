"""Per-case overlap and surface scores in mm (MONAI's metrics) and a paired permutation test (paper 2)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from monai.metrics import compute_dice, compute_hausdorff_distance
from scipy import stats as sps

from monai_imbalance.utils.validation import check_spacing

__all__ = ["PermutationResult", "permutation_test", "segmentation_scores"]


def segmentation_scores(
    y_pred: Any, y: Any, spacing: Any = None, include_background: bool = False, percentile: float = 95.0
) -> dict[str, torch.Tensor]:
    r"""Dice, Hausdorff distance at a percentile (HD95) and maximum Hausdorff distance per case and class.

    .. math:: \mathrm{DSC} = \frac{2|P \cap Y|}{|P| + |Y|}, \qquad
              \mathrm{HD}_q = \max\bigl(q\text{-th pct}_{p \in \partial P} d(p, \partial Y),\;
              q\text{-th pct}_{y \in \partial Y} d(y, \partial P)\bigr)

    Computed by MONAI's ``compute_dice`` and ``compute_hausdorff_distance`` with the voxel ``spacing``, so
    distances are in mm (Valverde & Tohka, "Region-wise loss", evaluation in mm per class and 3D image).
    A class absent from the ground truth gives NaN (MONAI's convention).

    Args:
        y_pred: binarised one-hot prediction ``(B, C, *spatial)``.
        y: one-hot ground truth of the same shape.
        spacing: ``None`` (voxel units), one number, one value per spatial dimension, or a list of those
            (one per case).
        include_background: whether channel 0 is scored.
        percentile: the Hausdorff percentile (95 for HD95).

    Returns:
        ``{"dice": (B, C'), "hd95": (B, C'), "hd": (B, C')}`` float tensors (the ``hd95`` key holds the
        given percentile).

    Raises:
        ValueError: when the shapes differ, the input is not ``(B, C, *spatial)``, a value is not 0 or 1 (soft
            or NaN), ``spacing`` is invalid or ``percentile`` is outside ``[0, 100]``.

    Example:
        >>> y = torch.zeros(1, 2, 8, 8); y[0, 1, 2:6, 2:6] = 1; y[0, 0] = 1 - y[0, 1]
        >>> p = torch.zeros(1, 2, 8, 8); p[0, 1, 2:6, 3:7] = 1; p[0, 0] = 1 - p[0, 1]
        >>> s = segmentation_scores(p, y, spacing=(1.0, 2.0))
        >>> round(s["dice"].item(), 4), s["hd95"].item(), s["hd"].item()
        (0.75, 2.0, 2.0)
    """
    yp, yt = torch.as_tensor(y_pred), torch.as_tensor(y)
    if yp.shape != yt.shape:
        raise ValueError(f"`y_pred` and `y` must have the same shape, got {tuple(yp.shape)} and {tuple(yt.shape)}.")
    if yp.ndim < 3:
        raise ValueError(f"`y_pred` must be (B, C, *spatial), got shape {tuple(yp.shape)}.")
    if not 0 <= percentile <= 100:
        raise ValueError(f"`percentile` must be in [0, 100], got {percentile}.")
    for name, t in (("y_pred", yp), ("y", yt)):
        if t.numel() and not bool(((t == 0) | (t == 1)).all()):  # soft values give a wrong Dice and no distance
            lo, hi = float(t.min()), float(t.max())
            raise ValueError(
                f"`{name}` must be binarised one-hot (values 0 and 1), got values in [{lo:g}, {hi:g}]: threshold or "
                "argmax the probabilities first (e.g. AsDiscrete(argmax=True, to_onehot=C))."
            )
    ndim = yp.ndim - 2
    sp: Any
    if isinstance(spacing, (list, tuple)) and spacing and isinstance(spacing[0], (list, tuple, np.ndarray)):
        if len(spacing) != yp.shape[0]:
            raise ValueError(f"`spacing` must hold one entry per case ({yp.shape[0]}), got {len(spacing)}.")
        sp = [list(check_spacing(s, ndim) or ()) for s in spacing]
    else:
        checked = check_spacing(spacing, ndim)
        sp = None if checked is None else list(checked)
    yp, yt = yp.float(), yt.float()
    dice = compute_dice(yp, yt, include_background=include_background)
    with warnings.catch_warnings():  # MONAI 1.5-1.6 warns about its own internal call of get_mask_edges
        warnings.filterwarnings("ignore", message=".*always_return_as_numpy.*", category=FutureWarning)
        hd_q = compute_hausdorff_distance(
            yp, yt, include_background=include_background, percentile=percentile, spacing=sp
        )
        hd = compute_hausdorff_distance(yp, yt, include_background=include_background, spacing=sp)
    return {"dice": dice.float(), "hd95": hd_q.float(), "hd": hd.float()}


@dataclass
class PermutationResult:
    r"""Result of :func:`permutation_test`.

    Attributes:
        statistic: the observed :math:`|\\bar d|`.
        pvalue: the probability, under exchangeability within pairs, of a statistic at least as large.
        n_permutations: number of sign patterns used (``2**n`` when the test is exact).
        exact: whether every sign pattern was enumerated.
    """

    statistic: float
    pvalue: float
    n_permutations: int
    exact: bool


def _abs_mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.abs(np.mean(x - y, axis=axis))


def permutation_test(a: Any, b: Any, n_permutations: int = 10_000, seed: int | None = None) -> PermutationResult:
    r"""Paired permutation test of two methods scored on the same cases (paper 2's comparison).

    The statistic is the absolute value of the mean paired difference,

    .. math:: T = \Bigl|\frac{1}{n}\sum_{i=1}^n (a_i - b_i)\Bigr|,

    (the "mean absolute difference" between the two methods; note it is not the mean of :math:`|a_i - b_i|`,
    which no within-pair swap changes). Under the null hypothesis the two scores of a case are exchangeable,
    so the null distribution swaps ``a_i`` and ``b_i`` independently per case, i.e. flips the sign of
    :math:`d_i`. ``scipy.stats.permutation_test(permutation_type="samples", alternative="greater")`` does
    the resampling: exact over all :math:`2^n` sign patterns when :math:`2^n \le` ``n_permutations``
    (:math:`p = \#\{T^* \ge T\} / 2^n`), else ``n_permutations`` random patterns with
    :math:`p = (\#\{T^* \ge T\} + 1) / (\text{n\_permutations} + 1)`.

    Args:
        a: ``(n,)`` scores of method A (e.g. per-case Dice).
        b: ``(n,)`` scores of method B on the same cases.
        n_permutations: number of random sign patterns (10,000 in paper 2).
        seed: random seed.

    Returns:
        :class:`PermutationResult`.

    Raises:
        ValueError: when ``a`` and ``b`` differ in shape, hold fewer than 2 values or non-finite values,
            or ``n_permutations < 1``.

    Example:
        >>> r = permutation_test([0.9, 0.8, 0.85, 0.7], [0.8, 0.7, 0.8, 0.6])
        >>> round(r.statistic, 4), r.pvalue, r.exact
        (0.0875, 0.125, True)
    """
    x, y = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"`a` and `b` must have the same length, got {x.size} and {y.size}.")
    if x.size < 2:
        raise ValueError(f"`a` and `b` must hold at least 2 paired values, got {x.size}.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("`a` and `b` must hold finite values.")
    if n_permutations < 1:
        raise ValueError(f"`n_permutations` must be at least 1, got {n_permutations}.")
    res = sps.permutation_test(
        (x, y),
        _abs_mean_difference,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_permutations,
        alternative="greater",
        random_state=np.random.default_rng(seed),
    )
    exact = 2**x.size <= n_permutations
    return PermutationResult(
        statistic=float(res.statistic),
        pvalue=float(res.pvalue),
        n_permutations=2**x.size if exact else n_permutations,
        exact=exact,
    )
