r"""FROC curve, average recall, object Dice and bootstrap over per-lesion records, under two named protocols.

``luna16`` (default; paper 1's text and the LUNA16 CPM): the curve runs over every distinct confidence of
the detected lesions and false positives (at a threshold :math:`t` a lesion counts when its confidence is
:math:`\ge t`, a false positive too), FP per image divides by the number of cases, the average recall is
the mean recall at 1/8, 1/4, 1/2, 1, 2, 4 and 8 FP per image, linearly interpolated over the curve with
the origin (0, 0) prepended and held beyond its last point; the bootstrap draws 100 times 80% of the cases
without replacement and divides the FPs by the draw's case count.

``shirokikh2020`` (the authors' evaluation code, which produced paper 1's Table 2): confidences are logits,
thresholds ``concat(linspace(-0.1, 10, 101), linspace(10, m + 1, 100))`` with ``m`` the largest finite
confidence of the detected lesions and false positives of all cases (kept for every bootstrap draw); a
lesion counts when its confidence is :math:`\ge t`, a false positive when it is :math:`> t`; FP per image
divides by the number of cases with at least one lesion or prediction; the bootstrap shuffles the case ids
(sorted as strings) in place with ``RandomState(42)`` 50 times (the shuffles accumulate), keeps the first
``int(0.8 n)`` and still divides the FPs by the full ``n``; object Dice counts the lesions detected at the
lowest threshold (confidence :math:`\ge -0.1`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from monai.utils import StrEnum

from monai_imbalance.metrics.lesions import CaseRecords
from monai_imbalance.utils.validation import check_fraction, check_int, check_option

__all__ = [
    "LUNA16_FP_RATES",
    "BootstrapResult",
    "FROCProtocol",
    "average_recall",
    "bootstrap",
    "check_bootstrap_settings",
    "check_cases",
    "check_fp_rates",
    "froc_curve",
    "object_dice",
    "recall_at_fp",
]

#: FP-per-image points of the LUNA16 competition performance metric (Setio et al., 2017)
LUNA16_FP_RATES: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
_DEFAULT_DRAWS = {"luna16": 100, "shirokikh2020": 50}
_SHIROKIKH2020_SEED = 42
_SHIROKIKH2020_LOWEST = -0.1


class FROCProtocol(StrEnum):
    """The two FROC protocols (see the module docstring)."""

    LUNA16 = "luna16"
    SHIROKIKH2020 = "shirokikh2020"


def check_cases(cases: Any) -> list[CaseRecords]:
    """The per-case records every FROC / recall / object-Dice function takes, as a list (one case is a list of one).

    Args:
        cases: a :class:`CaseRecords` or a non-empty sequence of them.

    Returns:
        ``list[CaseRecords]``.

    Raises:
        TypeError: when ``cases`` is not a sequence of ``CaseRecords``.
        ValueError: when it is empty.

    Example:
        >>> c = CaseRecords(np.array([0.9]), np.array([0.8]), np.array([5.0]), np.array([65.0]), np.array([]))
        >>> len(check_cases(c)), len(check_cases([c, c]))
        (1, 2)
    """
    if isinstance(cases, CaseRecords):
        return [cases]
    if not isinstance(cases, Sequence) or not all(isinstance(c, CaseRecords) for c in cases):
        raise TypeError(f"`cases` must be a sequence of CaseRecords, got {type(cases).__name__}.")
    if len(cases) == 0:
        raise ValueError("`cases` must hold at least one case, got an empty sequence.")
    return list(cases)


def _pool(cases: list[CaseRecords]) -> tuple[np.ndarray, np.ndarray]:
    les = np.concatenate([c.lesion_confidence for c in cases])
    fp = np.concatenate([c.fp_confidence for c in cases])
    return les, fp


def _is_nonempty(case: CaseRecords) -> bool:
    return case.n_lesions > 0 or bool(case.n_predictions)


def _thresholds(les: np.ndarray, fp: np.ndarray, protocol: FROCProtocol) -> np.ndarray:
    values = np.concatenate([les[les > -np.inf], fp[fp > -np.inf]])
    if protocol is FROCProtocol.LUNA16:
        return np.unique(values)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 10.0 - 1.0
    return np.concatenate([np.linspace(_SHIROKIKH2020_LOWEST, 10, 101), np.linspace(10, top + 1, 100)])


def _count_at(values: np.ndarray, thresholds: np.ndarray, strict: bool) -> np.ndarray:
    """Number of ``values`` >= (or > when ``strict``) each threshold, by one sort and a binary search."""
    s = np.sort(values)
    return s.size - np.searchsorted(s, thresholds, side="right" if strict else "left")


def _curve(
    les: np.ndarray, fp: np.ndarray, n_div: int, thresholds: np.ndarray, protocol: FROCProtocol
) -> tuple[np.ndarray, np.ndarray]:
    strict_fp = protocol is FROCProtocol.SHIROKIKH2020
    recall = _count_at(les, thresholds, False) / les.size if les.size else np.full(thresholds.size, np.nan)
    fp_per_image = _count_at(fp, thresholds, strict_fp) / max(n_div, 1)
    return fp_per_image, recall


def recall_at_fp(fp_per_image: np.ndarray, recall: np.ndarray, rates: np.ndarray, protocol: FROCProtocol) -> np.ndarray:
    r"""Recall of a FROC curve at given false-positive rates: :math:`R(f)` by linear interpolation.

    The curve (:func:`froc_curve`, thresholds increasing) is read from its highest threshold down, with the origin
    prepended and held beyond its last point, as the average recall reads it.

    Args:
        fp_per_image: ``(T,)`` false positives per image of each threshold.
        recall: ``(T,)`` recall of each threshold.
        rates: ``(R,)`` false-positive rates.
        protocol: the curve's protocol (the interpolation is the same for both).

    Returns:
        ``(R,)`` recall at each rate.

    Example:
        >>> recall_at_fp(np.array([2.0, 1.0, 0.0]), np.array([1.0, 0.5, 0.25]), np.array([0.5, 1.5, 9.0]),
        ...              FROCProtocol.LUNA16).tolist()
        [0.375, 0.75, 1.0]
    """
    # thresholds increase along the curve: reverse it so FP increases, and prepend the origin. The curve is
    # a polyline with vertical runs (recall rising at a constant FP level); np.interp follows it exactly:
    # between two FP levels it joins the top of one run to the bottom of the next, at a level it takes the top.
    x = np.concatenate([[0.0], fp_per_image[::-1]])
    y = np.concatenate([[0.0], recall[::-1]])
    return np.interp(rates, x, y)


def froc_curve(cases: Sequence[CaseRecords], protocol: str = "luna16") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""FROC curve: recall against false positives per image over the protocol's confidence thresholds.

    .. math:: R(t) = \frac{\#\{\text{lesions}: c \ge t\}}{\#\text{lesions}}, \qquad
              F(t) = \frac{\#\{\text{FP}: c \ge t\}}{n}

    (``shirokikh2020``: :math:`c > t` for the FPs and ``n`` the cases with a lesion or a prediction.)
    Unlike ``monai.metrics.compute_froc_curve_data``, the lowest confidence is a threshold too.

    Args:
        cases: per-case records (:func:`lesion_records`).
        protocol: ``"luna16"`` or ``"shirokikh2020"``.

    Returns:
        ``(thresholds, fp_per_image, recall)``, 1-D, thresholds increasing (so FP and recall non-increasing).
        Recall is NaN when there is no lesion.

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`CaseRecords`.
        ValueError: when it is empty or ``protocol`` is unknown.

    Example:
        >>> cases = [CaseRecords([0.9, 0.6], [0.8, 0.7], [3, 3], [14, 14], [0.7])]
        >>> t, f, r = froc_curve(cases)
        >>> t.tolist(), f.tolist(), r.tolist()
        ([0.6, 0.7, 0.9], [1.0, 1.0, 0.0], [1.0, 0.5, 0.5])
    """
    cases = check_cases(cases)
    proto = check_option(protocol, FROCProtocol, "protocol")
    les, fp = _pool(cases)
    n_div = len(cases) if proto is FROCProtocol.LUNA16 else sum(_is_nonempty(c) for c in cases)
    thresholds = _thresholds(les, fp, proto)
    fp_per_image, recall = _curve(les, fp, n_div, thresholds, proto)
    return thresholds, fp_per_image, recall


def check_fp_rates(fp_rates: Any, name: str = "fp_rates") -> np.ndarray:
    """False-positive rates as a float64 array: :data:`LUNA16_FP_RATES` for None, else non-empty, finite, >= 0.

    Args:
        fp_rates: a sequence of numbers, or None.
        name: the argument's name in error messages.

    Returns:
        ``(R,)`` float64 array.

    Raises:
        TypeError: when ``fp_rates`` is not a sequence of numbers.
        ValueError: when it is empty, non-finite or negative.

    Example:
        >>> check_fp_rates(None).tolist()
        [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    """
    try:
        rates = np.asarray(LUNA16_FP_RATES if fp_rates is None else fp_rates, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a sequence of numbers, got {fp_rates!r}.") from None
    if rates.size == 0 or not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"`{name}` must be non-empty, finite and non-negative, got {fp_rates!r}.")
    return rates


def check_bootstrap_settings(
    n_draws: Any = None, fraction: Any = 0.8, seed: Any = None
) -> tuple[int | None, float, int | None]:
    """Validate the settings of :func:`bootstrap`: ``(n_draws, fraction, seed)`` as ``(int | None, float, int | None)``.

    Shared by :func:`bootstrap` and the report handler, which checks them at construction (before a run is spent).

    Args:
        n_draws: number of draws, an int >= 1; ``None`` for the protocol's default.
        fraction: fraction of the cases in each draw, in ``(0, 1]``.
        seed: random seed, an int >= 0; ``None`` for the protocol's default.

    Raises:
        TypeError: when ``n_draws`` or ``seed`` is not an int (``2.5``, ``"3"``, a ``bool``), or ``fraction`` is
            not a number.
        ValueError: when ``n_draws < 1``, ``seed < 0`` or ``fraction`` is outside ``(0, 1]`` (NaN included).

    Example:
        >>> check_bootstrap_settings(10, 0.5, 0)
        (10, 0.5, 0)
        >>> check_bootstrap_settings(n_draws="3")
        Traceback (most recent call last):
            ...
        TypeError: `n_draws` must be an int, got '3' (str).
    """
    draws = None if n_draws is None else check_int(n_draws, "n_draws")
    if draws is not None and draws < 1:
        raise ValueError(f"`n_draws` must be at least 1, got {n_draws}.")
    frac = check_fraction(fraction, "fraction", low_open=True, high_open=False)
    return draws, frac, None if seed is None else check_int(seed, "seed", low=0)


def average_recall(cases: Sequence[CaseRecords], protocol: str = "luna16", fp_rates: Any = None) -> float:
    r"""Mean recall at given FP-per-image rates (LUNA16's competition performance metric by default).

    .. math:: \bar R = \frac{1}{|\mathcal F|} \sum_{f \in \mathcal F} R(f), \quad
              \mathcal F = \{1/8, 1/4, 1/2, 1, 2, 4, 8\}

    :math:`R(f)` interpolates the FROC curve linearly with the origin prepended, held beyond its last point.

    Args:
        cases: per-case records.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points; default :data:`LUNA16_FP_RATES`. The authors' notebook used
            ``np.linspace(0, 5, 501)``.

    Returns:
        The average recall (NaN when there is no lesion).

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`CaseRecords`.
        ValueError: when it is empty, ``protocol`` is unknown or ``fp_rates`` is invalid.

    Example:
        >>> average_recall([CaseRecords([0.9, 0.6], [0.8, 0.7], [3, 3], [14, 14], [])])
        1.0
    """
    cases = check_cases(cases)
    proto = check_option(protocol, FROCProtocol, "protocol")
    rates = check_fp_rates(fp_rates)
    if sum(c.n_lesions for c in cases) == 0:
        return float("nan")
    _, fp_per_image, recall = froc_curve(cases, proto)
    return float(np.mean(recall_at_fp(fp_per_image, recall, rates, proto)))


def object_dice(cases: Sequence[CaseRecords], protocol: str = "luna16") -> tuple[float, float]:
    r"""Object Dice: mean and standard deviation (ddof 0) of the Dice of the detected lesions with their match.

    .. math:: \mathrm{oDSC} = \frac{1}{|\mathcal D|} \sum_{i \in \mathcal D} D_{i,m(i)}

    Missed lesions are excluded, so delineation is judged apart from detection (paper 1, section 4.3).
    ``shirokikh2020`` counts the lesions detected at its lowest threshold (confidence :math:`\ge -0.1`).

    Args:
        cases: per-case records.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.

    Returns:
        ``(mean, std)``; ``(nan, nan)`` when no lesion is detected.

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`CaseRecords`.
        ValueError: when it is empty or ``protocol`` is unknown.

    Example:
        >>> object_dice([CaseRecords([0.9, 0.6, -np.inf], [0.75, 0.25, 0.0], [3, 3, 3], [14, 14, 14], [])])
        (0.5, 0.25)
    """
    cases = check_cases(cases)
    proto = check_option(protocol, FROCProtocol, "protocol")
    conf = np.concatenate([c.lesion_confidence for c in cases])
    dice = np.concatenate([c.lesion_dice for c in cases])
    lowest = -np.inf if proto is FROCProtocol.LUNA16 else _SHIROKIKH2020_LOWEST
    found = dice[conf > lowest] if proto is FROCProtocol.LUNA16 else dice[conf >= lowest]
    if found.size == 0:
        return float("nan"), float("nan")
    return float(found.mean()), float(found.std())


@dataclass
class BootstrapResult:
    """Bootstrap of the average recall and of the FROC curve.

    Attributes:
        mean: mean average recall over the draws.
        std: its standard deviation over the draws (ddof 0).
        values: ``(n_draws,)`` the average recall of every draw.
        fp_grid: ``(G,)`` FP-per-image points of the band.
        recall_mean: ``(G,)`` mean recall over the draws at ``fp_grid``.
        recall_std: ``(G,)`` its standard deviation.
    """

    mean: float
    std: float
    values: np.ndarray
    fp_grid: np.ndarray
    recall_mean: np.ndarray
    recall_std: np.ndarray


def bootstrap(
    cases: Sequence[CaseRecords],
    protocol: str = "luna16",
    n_draws: int | None = None,
    fraction: float = 0.8,
    seed: int | None = None,
    fp_rates: Any = None,
    fp_grid: Any = None,
) -> BootstrapResult:
    r"""Bootstrap the average recall and the FROC curve over subsets of the cases (paper 1, section 4.3).

    Each draw keeps ``int(fraction * n)`` cases without replacement and computes its FROC curve and
    average recall; the result is the mean and standard deviation (ddof 0) over the draws. A draw without
    any lesion has no recall: it is NaN in ``values`` and left out of the mean, the std and the band (all NaN
    when no draw has a lesion).
    ``luna16``: ``n_draws=100`` by default, draws from ``np.random.default_rng(seed)``, FP divided by the
    draw's case count. ``shirokikh2020``: ``n_draws=50`` and ``RandomState(42)`` by default (``seed``
    overrides 42), the cases with a lesion or a prediction sorted by ``case_id`` as strings (their index
    when ``None``) and shuffled in place every draw, FP divided by their full count, thresholds of all cases.

    Args:
        cases: per-case records.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        n_draws: number of draws; ``None`` for the protocol's default.
        fraction: fraction of the cases in each draw, in ``(0, 1]``.
        seed: random seed.
        fp_rates: FP-per-image points of the average recall; default :data:`LUNA16_FP_RATES`.
        fp_grid: FP-per-image points of the band; default ``np.linspace(0, 8, 161)``.

    Returns:
        :class:`BootstrapResult`.

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`CaseRecords`, or ``n_draws``, ``fraction`` or
            ``seed`` has the wrong type (:func:`check_bootstrap_settings`).
        ValueError: when it is empty, ``protocol`` is unknown, ``n_draws < 1``, ``seed < 0`` or ``fraction`` is
            out of range.

    Example:
        >>> cases = [CaseRecords([0.9], [0.8], [3], [14], [0.5 + 0.1 * i]) for i in range(4)]
        >>> res = bootstrap(cases, n_draws=5, seed=0)
        >>> res.values.shape, bool(0 <= res.mean <= 1)
        ((5,), True)
    """
    cases = check_cases(cases)
    proto = check_option(protocol, FROCProtocol, "protocol")
    rates = check_fp_rates(fp_rates)
    grid = np.linspace(0, 8, 161) if fp_grid is None else check_fp_rates(fp_grid, "fp_grid")
    n_draws, fraction, seed = check_bootstrap_settings(n_draws, fraction, seed)
    draws = _DEFAULT_DRAWS[proto.value] if n_draws is None else n_draws

    if proto is FROCProtocol.SHIROKIKH2020:
        pool = [c for c in cases if _is_nonempty(c)] or cases
        names = [str(i) if c.case_id is None else str(c.case_id) for i, c in enumerate(pool)]
        order = sorted(range(len(pool)), key=lambda i: names[i])
        ids = np.asarray(order)
        les_all, fp_all = _pool(pool)
        thresholds = _thresholds(les_all, fp_all, proto)
        rs = np.random.RandomState(_SHIROKIKH2020_SEED if seed is None else seed)
    else:
        pool = cases
        rng = np.random.default_rng(seed)
    n = len(pool)
    k = max(1, int(n * fraction))

    values, band = np.empty(draws), np.empty((draws, grid.size))
    for d in range(draws):
        if proto is FROCProtocol.SHIROKIKH2020:
            rs.shuffle(ids)
            subset = [pool[i] for i in ids[:k]]
            n_div = n
        else:
            subset = [pool[i] for i in rng.choice(n, size=k, replace=False)]
            n_div = k
        les, fp = _pool(subset)
        if les.size == 0:  # no lesion in this draw: recall undefined
            values[d], band[d] = np.nan, np.nan
            continue
        if proto is FROCProtocol.LUNA16:
            thresholds = _thresholds(les, fp, proto)
        fp_per_image, recall = _curve(les, fp, n_div, thresholds, proto)
        values[d] = np.mean(recall_at_fp(fp_per_image, recall, rates, proto))
        band[d] = recall_at_fp(fp_per_image, recall, grid, proto)
    kept = ~np.isnan(values)
    if not kept.any():
        nan_band = np.full(grid.size, np.nan)
        return BootstrapResult(float("nan"), float("nan"), values, grid, nan_band, nan_band.copy())
    return BootstrapResult(
        mean=float(values[kept].mean()),
        std=float(values[kept].std()),
        values=values,
        fp_grid=grid,
        recall_mean=band[kept].mean(axis=0),
        recall_std=band[kept].std(axis=0),
    )
