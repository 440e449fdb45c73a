r"""Over-segmentation diagnostics of a set of cases: the signs of a model that wins a lenient metric with blobs.

Paper 1's any-overlap rule credits a predicted blob with every lesion it touches, so an over-segmenting model
can score a high recall. These numbers show it whatever the matching: the predicted against the true lesion
volume, the predicted components that overlap two or more lesions, and the lesions they merge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from monai.utils import StrEnum

from monai_imbalance.metrics.lesions import CaseRecords
from monai_imbalance.utils.validation import check_number

__all__ = ["MAX_VOLUME_RATIO", "OverSegmentationQuantity", "check_max_volume_ratio", "over_segmentation"]

#: predicted / true lesion volume above which a report warns of over-segmentation
MAX_VOLUME_RATIO = 2.0


class OverSegmentationQuantity(StrEnum):
    """The diagnostics :class:`~monai_imbalance.metrics.OverSegmentationMetric` can log."""

    VOLUME_RATIO = "volume_ratio"
    MERGING_PREDICTIONS = "merging_predictions"
    MERGED_LESIONS = "merged_lesions"


def check_max_volume_ratio(max_volume_ratio: Any) -> float:
    """Validate the predicted / true lesion volume above which the diagnostics warn, and return it as a float.

    Shared by :func:`over_segmentation` and the handlers, which check it at construction.

    Raises:
        TypeError: when it is not a real number (a string such as ``"2"``, a ``bool``).
        ValueError: when it is not a positive finite number.

    Example:
        >>> check_max_volume_ratio(3)
        3.0
        >>> check_max_volume_ratio(-1)
        Traceback (most recent call last):
            ...
        ValueError: `max_volume_ratio` must be a positive finite number, got -1.
    """
    try:
        return check_number(max_volume_ratio, "max_volume_ratio", low=0, low_open=True)
    except ValueError:  # NaN, infinite or not positive: one message for all
        raise ValueError(f"`max_volume_ratio` must be a positive finite number, got {max_volume_ratio!r}.") from None


def over_segmentation(cases: Sequence[CaseRecords], max_volume_ratio: float = MAX_VOLUME_RATIO) -> dict[str, Any]:
    r"""Predicted vs true lesion volume and merged lesions over all cases, with a warning when they look wrong.

    .. math:: \rho = \frac{\sum_\text{cases} V_\text{predicted}}{\sum_\text{cases} V_\text{true}}

    A warning is set when :math:`\rho` exceeds ``max_volume_ratio`` or any predicted component overlaps two
    or more lesions. Records without these fields (e.g. loaded from the authors' published records) give
    ``None`` for the unknown numbers and no warning.

    Args:
        cases: per-case records (any matching: the diagnostics do not depend on it).
        max_volume_ratio: the ratio above which to warn.

    Returns:
        ``predicted_volume``, ``true_volume``, ``volume_ratio`` (NaN without lesions; ``inf`` for predictions
        without lesions), ``merging_predictions``, ``merged_lesions``, ``n_lesions``, ``max_volume_ratio`` and
        ``warning`` (the text, or ``None``).

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`~monai_imbalance.metrics.CaseRecords`, or
            ``max_volume_ratio`` is not a number.
        ValueError: when ``max_volume_ratio`` is not a positive finite number.

    Example:
        >>> a = CaseRecords([0.9, 0.9], [0.2, 0.0], [2, 2], [4.0, 4.0], [], predicted_volume=40.0,
        ...                 n_merging_predictions=1, n_merged_lesions=2)
        >>> d = over_segmentation([a])
        >>> d["volume_ratio"], d["merged_lesions"]
        (5.0, 2)
        >>> print(d["warning"])
        over-segmentation: predicted lesion volume 5x the true volume (warning above 2x); 1 component(s) merge 2 lesions
    """
    if isinstance(cases, CaseRecords) or not all(isinstance(c, CaseRecords) for c in cases):
        raise TypeError(f"`cases` must be a sequence of CaseRecords, got {type(cases).__name__}.")
    max_volume_ratio = check_max_volume_ratio(max_volume_ratio)
    true = sum(c.true_volume for c in cases)
    known_volume = all(math.isfinite(c.predicted_volume) for c in cases)
    predicted = sum(c.predicted_volume for c in cases) if known_volume else math.nan
    if not known_volume:
        ratio = math.nan
    elif true > 0:
        ratio = predicted / true
    else:
        ratio = math.inf if predicted > 0 else math.nan
    known_merge = all(c.n_merging_predictions is not None for c in cases)
    merging = sum(int(c.n_merging_predictions or 0) for c in cases) if known_merge else None
    merged = sum(int(c.n_merged_lesions or 0) for c in cases) if known_merge else None
    problems = []
    if known_volume and true > 0 and ratio > max_volume_ratio:
        problems.append(f"predicted lesion volume {ratio:.3g}x the true volume (warning above {max_volume_ratio:g}x)")
    if merging:
        problems.append(f"{merging} component(s) merge {merged} lesions")
    return {
        "predicted_volume": predicted,
        "true_volume": true,
        "volume_ratio": ratio,
        "merging_predictions": merging,
        "merged_lesions": merged,
        "n_lesions": sum(c.n_lesions for c in cases),
        "max_volume_ratio": float(max_volume_ratio),
        "warning": "over-segmentation: " + "; ".join(problems) if problems else None,
    }
