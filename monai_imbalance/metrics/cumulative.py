"""MONAI ``CumulativeIterationMetric`` wrappers of the lesion-wise evaluation (thin classes, same functional core).

Per batch, every case's :class:`CaseRecords` is packed into one fixed-length float row so that MONAI's
buffers (and their all-gather under DDP) work; ``aggregate()`` unpacks every row and runs the functional
code (:func:`average_recall`, :func:`object_dice`) on all cases at once. Row layout, with ``L =
max_lesions`` and ``F = max_fps`` (NaN pads the unused slots)::

    [n_lesions, n_fps_kept, n_predictions, n_fps_total,
     lesion_confidence (L), lesion_dice (L), lesion_volume (L), fp_confidence (F), fp_volume (F)]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from monai.data import MetaTensor
from monai.metrics import CumulativeIterationMetric

from monai_imbalance._utils import check_spacing, to_numpy
from monai_imbalance.metrics.froc import FROCProtocol, average_recall, object_dice
from monai_imbalance.metrics.lesions import (
    CaseRecords,
    HitRule,
    _option,
    equivalent_diameter,
    item_lesion_records,
    lesion_records,
)

__all__ = ["FROCMetric", "LesionDiceMetric", "pack_records", "unpack_records"]

_HEAD = 4


def pack_records(records: CaseRecords, max_lesions: int, max_fps: int) -> np.ndarray:
    """Pack one case's records into a fixed-length float64 row (layout in the module docstring).

    Lesions beyond ``max_lesions`` raise; false positives beyond ``max_fps`` keep the most confident ones
    (the FROC is then exact above the ``max_fps``-th highest FP confidence of the case) with a warning.

    Args:
        records: one case's records.
        max_lesions: lesion slots.
        max_fps: false-positive slots.

    Returns:
        ``(4 + 3 * max_lesions + 2 * max_fps,)`` float64 row.

    Raises:
        ValueError: when the case has more than ``max_lesions`` lesions.

    Example:
        >>> row = pack_records(CaseRecords([0.9], [0.5], [3.0], [14.0], [0.7], [2.0], [4.0]), 2, 1)
        >>> row.tolist()
        [1.0, 1.0, 2.0, 1.0, 0.9, nan, 0.5, nan, 14.0, nan, 0.7, 4.0]
    """
    nl, nf = records.n_lesions, records.fp_confidence.size
    if nl > max_lesions:
        raise ValueError(f"a case has {nl} ground-truth lesions, more than `max_lesions` ({max_lesions}): raise it.")
    keep = np.argsort(-records.fp_confidence, kind="stable")[:max_fps]
    if nf > max_fps:
        warnings.warn(
            f"a case has {nf} false positives, more than `max_fps` ({max_fps}): the {max_fps} most confident are "
            "kept, so the FROC is exact only above their lowest confidence.",
            stacklevel=2,
        )
    row = np.full(_HEAD + 3 * max_lesions + 2 * max_fps, np.nan)
    row[:_HEAD] = [nl, keep.size, records.n_predictions, nf]
    o = _HEAD
    for values, size in (
        (records.lesion_confidence, max_lesions),
        (records.lesion_dice, max_lesions),
        (records.lesion_volume, max_lesions),
        (records.fp_confidence[keep], max_fps),
        (records.fp_volume[keep], max_fps),
    ):
        row[o : o + values.size] = values
        o += size
    return row


def unpack_records(rows: Any, max_lesions: int, max_fps: int) -> list[CaseRecords]:
    """Inverse of :func:`pack_records` for a ``(N, row)`` array; diameters follow from the volumes.

    Args:
        rows: ``(N, 4 + 3 * max_lesions + 2 * max_fps)`` array or tensor.
        max_lesions: lesion slots.
        max_fps: false-positive slots.

    Returns:
        ``N`` :class:`CaseRecords` with ``case_id`` the row index as a string.

    Raises:
        ValueError: when the row length does not match the slots.

    Example:
        >>> rows = np.stack([pack_records(CaseRecords([0.9], [0.5], [3.0], [14.0], []), 2, 1)])
        >>> unpack_records(rows, 2, 1)[0].lesion_confidence.tolist()
        [0.9]
    """
    arr = to_numpy(rows).astype(np.float64)
    width = _HEAD + 3 * max_lesions + 2 * max_fps
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"`rows` must have shape (N, {width}), got {arr.shape}.")
    out = []
    n_les, n_fp = max_lesions, max_fps
    for i, row in enumerate(arr):
        nl, nf, npred = int(row[0]), int(row[1]), int(row[2])
        o = _HEAD
        les_vol = row[o + 2 * n_les : o + 2 * n_les + nl]
        fp_vol = row[o + 3 * n_les + n_fp : o + 3 * n_les + n_fp + nf]
        out.append(
            CaseRecords(
                lesion_confidence=row[o : o + nl],
                lesion_dice=row[o + n_les : o + n_les + nl],
                lesion_diameter=equivalent_diameter(les_vol),
                lesion_volume=les_vol,
                fp_confidence=row[o + 3 * n_les : o + 3 * n_les + nf],
                fp_diameter=equivalent_diameter(fp_vol),
                fp_volume=fp_vol,
                n_predictions=npred,
                case_id=str(i),
            )
        )
    return out


class _LesionRecordsMetric(CumulativeIterationMetric):
    """Shared buffer logic: per case one packed row of :func:`lesion_records`."""

    def __init__(
        self,
        threshold: float = 0.5,
        connectivity: int | None = None,
        hit_rule: str = "overlap",
        hit_threshold: float = 0.5,
        spacing: Any = None,
        max_lesions: int = 512,
        max_fps: int = 1024,
    ) -> None:
        super().__init__()
        _option(hit_rule, HitRule, "hit_rule")
        if max_lesions < 1 or max_fps < 1:
            raise ValueError(f"`max_lesions` and `max_fps` must be positive, got {max_lesions} and {max_fps}.")
        self.threshold = threshold
        self.connectivity = connectivity
        self.hit_rule = hit_rule
        self.hit_threshold = hit_threshold
        self.spacing = spacing
        self.max_lesions = max_lesions
        self.max_fps = max_fps

    def _case_spacing(self, y: Any, b: int, spacing: Any) -> Any:
        if spacing is not None:
            if isinstance(spacing, (list, tuple)) and spacing and isinstance(spacing[0], (list, tuple, np.ndarray)):
                return spacing[b]
            return spacing
        if self.spacing is not None:
            return self.spacing
        if isinstance(y, MetaTensor):
            pixdim = y.pixdim
            return pixdim[b] if isinstance(pixdim, list) else pixdim
        return None

    def _compute_list(self, y_pred: Any, y: Any = None, **kwargs: Any) -> torch.Tensor:
        """Records of a list of channel-first items (MONAI's decollated evaluator output).

        Each case is matched once for every metric and handler reading the same items with the same settings
        (:func:`~monai_imbalance.metrics.lesions.item_lesion_records`).
        """
        if y is None:
            raise ValueError("`y` (the ground truth) is required.")
        if not isinstance(y_pred, (list, tuple)) or not isinstance(y, (list, tuple)) or len(y_pred) != len(y):
            raise ValueError(
                "`y_pred` and `y` must be two lists of channel-first items of the same length, got "
                f"{type(y_pred).__name__} and {type(y).__name__}."
            )
        if kwargs.get("confidence") is not None:
            return super()._compute_list(y_pred, y, **kwargs)  # type: ignore[return-value]
        rows = []
        for p, y_ in zip(y_pred, y, strict=True):
            self._check_batch(p.unsqueeze(0), y_.unsqueeze(0))
            sp = self._case_spacing(y_.unsqueeze(0), 0, kwargs.get("spacing"))
            rows.append(self._row(p, y_, sp, None))  # the items themselves: the memo keys on them
        return torch.as_tensor(np.stack(rows), dtype=torch.float64)

    def _compute_tensor(self, y_pred: torch.Tensor, y: torch.Tensor | None = None, **kwargs: Any) -> torch.Tensor:
        """Records of every case of the batch: ``y_pred`` ``(B, 1, *spatial)`` probabilities, ``y`` the label.

        Keyword ``spacing``: one spacing, or one per case; default the constructor's, else the MetaTensor's.
        Keyword ``confidence``: optional ``(B, 1, *spatial)`` per-voxel confidence (e.g. logits).
        """
        if y is None:
            raise ValueError("`y` (the ground truth) is required.")
        self._check_batch(y_pred, y)
        confidence = kwargs.get("confidence")
        rows = [
            self._row(
                y_pred[b],
                y[b],
                self._case_spacing(y, b, kwargs.get("spacing")),
                None if confidence is None else confidence[b, 0],
            )
            for b in range(y_pred.shape[0])
        ]
        return torch.as_tensor(np.stack(rows), dtype=torch.float64)

    @staticmethod
    def _check_batch(y_pred: Any, y: Any) -> None:
        if y_pred.ndim < 3 or y_pred.shape[1] != 1 or tuple(y.shape) != tuple(y_pred.shape):
            raise ValueError(
                f"`y_pred` and `y` must both be (B, 1, *spatial), got {tuple(y_pred.shape)} and {tuple(y.shape)}."
            )

    def _row(self, pred: Any, label: Any, spacing: Any, confidence: Any) -> np.ndarray:
        """One case's packed row: ``pred`` and ``label`` channel-first ``(1, *spatial)``."""
        sp = check_spacing(to_numpy(spacing).tolist() if isinstance(spacing, torch.Tensor) else spacing, pred.ndim - 1)
        if confidence is None:
            rec = item_lesion_records(
                pred,
                label,
                spacing=sp,
                threshold=self.threshold,
                connectivity=self.connectivity,
                hit_rule=self.hit_rule,
                hit_threshold=self.hit_threshold,
            )
        else:
            rec = lesion_records(
                label[0],
                pred[0],
                confidence=confidence,
                spacing=sp,
                threshold=self.threshold,
                connectivity=self.connectivity,
                hit_rule=self.hit_rule,
                hit_threshold=self.hit_threshold,
            )
        return pack_records(rec, self.max_lesions, self.max_fps)

    def records(self) -> list[CaseRecords]:
        """Every case's records gathered so far (across ranks under DDP)."""
        buffer = self.get_buffer()
        if not isinstance(buffer, torch.Tensor) or buffer.numel() == 0:
            return []
        return unpack_records(buffer, self.max_lesions, self.max_fps)


class FROCMetric(_LesionRecordsMetric):
    r"""Average recall over the FROC curve (paper 1), accumulated over batches and ranks.

    .. math:: \bar R = \frac{1}{|\mathcal F|} \sum_{f \in \mathcal F} R(f)

    ``aggregate()`` runs :func:`average_recall` on every case seen since the last ``reset()``.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points; default 1/8 ... 8.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        hit_rule: ``"overlap"``, ``"dice"`` or ``"iou"``.
        hit_threshold: the Dice / IoU a hit needs under the stricter rules.
        spacing: voxel spacing for every case (else the MetaTensor's ``pixdim``, else voxels).
        max_lesions: lesion slots per case in the buffer (a case with more raises). The default, 512, is far
            above real data (the LiTS benchmark reports up to 75 tumours per volume; the paper-1 authors'
            records reach 34 lesions per case) at 12 kB of float64 per case.
        max_fps: false-positive slots per case in the buffer; beyond them the most confident are kept with a
            warning. The default, 1024, is above the authors' records (up to 294 false positives in one case,
            WCE on metastases) and over-segmenting early models (hundreds per case).

    Raises:
        ValueError: on an unknown ``protocol`` / ``hit_rule`` or non-positive slots.

    Example:
        >>> y = torch.zeros(2, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> p = y * 0.9; p[1, 0, 6, 6] = 0.8
        >>> metric = FROCMetric()
        >>> _ = metric(p[:1], y[:1]); _ = metric(p[1:], y[1:])
        >>> metric.aggregate().item()
        1.0
    """

    def __init__(self, protocol: str = "luna16", fp_rates: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.protocol = _option(protocol, FROCProtocol, "protocol").value
        self.fp_rates = fp_rates

    def aggregate(self) -> torch.Tensor:
        """Average recall of all cases so far (NaN when none)."""
        cases = self.records()
        if not cases:
            return torch.tensor(float("nan"))
        return torch.tensor(average_recall(cases, self.protocol, self.fp_rates))


class LesionDiceMetric(_LesionRecordsMetric):
    r"""Object Dice (mean Dice of the detected lesions with their match, paper 1), over batches and ranks.

    .. math:: \mathrm{oDSC} = \frac{1}{|\mathcal D|} \sum_{i \in \mathcal D} D_{i,m(i)}

    Args:
        protocol: ``"luna16"`` (every detected lesion) or ``"shirokikh2020"`` (detected at confidence ≥ -0.1).
        kwargs: as :class:`FROCMetric`.

    Raises:
        ValueError: on an unknown ``protocol`` / ``hit_rule`` or non-positive slots.

    Example:
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> p = torch.zeros(1, 1, 8, 8); p[:, :, 2:4, 2:3] = 0.9
        >>> metric = LesionDiceMetric()
        >>> _ = metric(p, y)
        >>> round(metric.aggregate().item(), 4)
        0.6667
    """

    def __init__(self, protocol: str = "luna16", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.protocol = _option(protocol, FROCProtocol, "protocol").value

    def aggregate(self) -> torch.Tensor:
        """Object Dice mean of all cases so far (NaN when no lesion is detected)."""
        cases = self.records()
        if not cases:
            return torch.tensor(float("nan"))
        return torch.tensor(object_dice(cases, self.protocol)[0])
