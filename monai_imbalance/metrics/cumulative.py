"""Lesion-wise metrics accumulated over batches and DDP ranks: one owner of the per-case records, and views of it.

:class:`LesionRecordsMetric` extracts and matches every case once, under every matching view it holds (by
default ``paper`` and ``strict``), and keeps the variable-length per-case records; under DDP its
:meth:`~LesionRecordsMetric.records` gathers every rank's cases once (``torch.distributed.all_gather_object``)
and caches them until the next case or reset. :class:`FROCMetric` (average recall), :class:`LesionDiceMetric`
(object Dice) and :class:`OverSegmentationMetric` (predicted / true lesion volume, merged lesions) compute their
number from one view of an owner: their own, or one shared with other metrics and the report (``records=``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from monai_imbalance.metrics.diagnostics import OverSegmentationQuantity, over_segmentation
from monai_imbalance.metrics.froc import FROCProtocol, average_recall, check_fp_rates, object_dice
from monai_imbalance.metrics.inputs import check_lesion_labels
from monai_imbalance.metrics.lesions import CaseRecords, item_lesion_records
from monai_imbalance.metrics.matching import LesionMatching, as_matchings
from monai_imbalance.utils.validation import check_connectivity, check_fraction, check_option, check_spacing_setting

__all__ = ["FROCMetric", "LesionDiceMetric", "LesionRecordsMetric", "OverSegmentationMetric", "all_gather_list"]


def all_gather_list(items: list[Any]) -> list[Any]:
    """Every rank's items (any picklable objects) on every rank, in rank order; the items themselves without DDP.

    Example:
        >>> all_gather_list([1, 2])  # no process group
        [1, 2]
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(items)
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, list(items))
    return [item for part in parts for item in part]


def _case_id(item: Any, index: int) -> str:
    meta = getattr(item, "meta", None) or {}
    filename = meta.get("filename_or_obj") if isinstance(meta, Mapping) else None
    if isinstance(filename, (list, tuple)):  # a collated batch's meta: one name per case
        filename = filename[0] if len(filename) == 1 else None
    return str(filename).replace("\\", "/").rsplit("/", 1)[-1] if filename else f"case_{index}"


class LesionRecordsMetric:
    r"""The per-case lesion records of an evaluation, under every matching view at once (one owner).

    Every case given to ``__call__`` is extracted once (components of the label and of ``prob > threshold``)
    and matched under each view of ``matchings``
    (:func:`~monai_imbalance.metrics.case_lesion_records`); the records are kept per case, of any length (no
    fixed slots). :meth:`records` returns every case of every DDP rank, gathered once and cached until the next
    case or :meth:`reset`. FROC, object Dice, over-segmentation metrics and the report are views of it.

    Args:
        matchings: ``{view name: LesionMatching | "paper" | "strict" | dict}``; default ``paper`` and ``strict``.
        threshold: probability above which a voxel is predicted foreground, in ``[0, 1)``.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        spacing: voxel spacing of every case (else each label's MetaTensor ``pixdim``, else voxels).
        sigmoid: the predictions are logits (a sigmoid is applied); else they must be probabilities in [0, 1].
        lesion_labels: label values that are lesion (e.g. ``[2]``); ``None``: labels must be 0/1.

    Raises:
        TypeError / ValueError: on an invalid setting (at construction) or input (per call), naming it.

    Example:
        >>> y = torch.zeros(1, 1, 8, 8); y[..., 1:3, 1:3] = 1; y[..., 5:7, 5:7] = 1
        >>> blob = torch.full((1, 1, 8, 8), 0.9)  # one blob over the whole image
        >>> records = LesionRecordsMetric()
        >>> records(blob, y)
        >>> [c.n_detected for c in records.records("paper")], [c.n_detected for c in records.records("strict")]
        ([2], [0])
    """

    def __init__(
        self,
        matchings: Mapping[str, Any] | None = None,
        threshold: float = 0.5,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool = False,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        self.matchings = as_matchings(matchings)
        self.threshold = check_fraction(threshold, "threshold")
        self.connectivity = check_connectivity(connectivity)  # at most the data's dimensions: checked per case
        self.spacing = check_spacing_setting(spacing)  # its length is checked against each case
        self.sigmoid = bool(sigmoid)
        self.lesion_labels = check_lesion_labels(lesion_labels)
        self._local: list[dict[str, CaseRecords]] = []
        self._gathered: list[dict[str, CaseRecords]] | None = None

    def reset(self) -> None:
        """Forget every case."""
        self._local = []
        self._gathered = None

    def __len__(self) -> int:
        """Number of cases on this rank."""
        return len(self._local)

    def matching(self, view: str) -> LesionMatching:
        """The matching of a view, with an error listing the views for an unknown name."""
        if view not in self.matchings:
            raise KeyError(f"`view` {view!r} is not one of this evaluation's matchings {sorted(self.matchings)}.")
        return self.matchings[view]

    def add(self, views: Mapping[str, CaseRecords]) -> None:
        """Add one case's records computed elsewhere (``{view name: CaseRecords}`` with every view of this owner)."""
        if set(views) != set(self.matchings):
            raise ValueError(f"`views` must hold the views {sorted(self.matchings)}, got {sorted(views)}.")
        self._local.append(dict(views))
        self._gathered = None

    def __call__(
        self,
        y_pred: Any,
        y: Any,
        spacing: Any = None,
        confidence: Any = None,
        case_ids: Sequence[str] | None = None,
    ) -> None:
        """Add the cases of a batch ``(B, 1 or 2, *spatial)`` or of two lists of channel-first items.

        Args:
            y_pred: probabilities (logits with ``sigmoid=True``), a batch tensor / array or a list of items.
            y: the labels, of the same form.
            spacing: one spacing for every case, or one per case; default the constructor's, else each label's.
            confidence: optional per-voxel confidence of the batch's shape (e.g. logits).
            case_ids: one id per case; default each label's file name, else ``case_<index>``.

        Raises:
            TypeError: when ``y_pred`` / ``y`` are not tensors, arrays or lists of them.
            ValueError: on mismatched lengths or shapes, a per-case ``spacing`` or ``case_ids`` without one entry
                per case, or an invalid case (as :func:`~monai_imbalance.metrics.case_lesion_records`).
        """
        preds, labels = self._items(y_pred, "y_pred"), self._items(y, "y")
        if len(preds) != len(labels):
            raise ValueError(
                f"`y_pred` and `y` must hold the same number of cases, got {len(preds)} and {len(labels)}."
            )
        confs = None if confidence is None else self._items(confidence, "confidence")
        if case_ids is not None and len(case_ids) != len(preds):
            raise ValueError(f"`case_ids` must hold one id per case ({len(preds)}), got {len(case_ids)}.")
        spacings = self._spacings(spacing, len(preds))
        for b, (p, lab) in enumerate(zip(preds, labels, strict=True)):
            if tuple(p.shape) != tuple(lab.shape):
                raise ValueError(
                    f"`y_pred` and `y` items must have the same shape, got {tuple(p.shape)} and {tuple(lab.shape)}."
                )
            sp = spacings[b]
            case_id = case_ids[b] if case_ids is not None else _case_id(lab, len(self._local))
            views = item_lesion_records(
                p,
                lab,
                self.matchings,
                spacing=sp,
                threshold=self.threshold,
                connectivity=self.connectivity,
                sigmoid=self.sigmoid,
                lesion_labels=self.lesion_labels,
                case_id=case_id,
                confidence=None if confs is None else confs[b],
            )
            self._local.append(views)
        self._gathered = None

    @staticmethod
    def _items(x: Any, name: str) -> list[Any]:
        if isinstance(x, (list, tuple)):
            if not all(isinstance(i, (torch.Tensor, np.ndarray)) for i in x):
                raise TypeError(
                    f"`{name}` must be a list of tensors / arrays, got items {[type(i).__name__ for i in x]}."
                )
            return list(x)
        if isinstance(x, (torch.Tensor, np.ndarray)):
            if x.ndim < 3:
                raise ValueError(f"`{name}` must be a batch (B, C, *spatial), got shape {tuple(x.shape)}.")
            return list(x)
        raise TypeError(f"`{name}` must be a tensor, an array or a list of them, got {type(x).__name__}.")

    def _spacings(self, spacing: Any, n: int) -> list[Any]:
        """The spacing of each of ``n`` cases: the call's (one for all, or one per case), else the constructor's."""
        if spacing is None:
            return [self.spacing] * n
        if isinstance(spacing, (torch.Tensor, np.ndarray)):
            spacing = spacing.tolist()
        per_case = (list, tuple, np.ndarray, torch.Tensor)
        if isinstance(spacing, (list, tuple)) and spacing and isinstance(spacing[0], per_case):
            if len(spacing) != n:
                raise ValueError(
                    f"`spacing` given per case must hold one per case ({n}), got {len(spacing)}: pass one spacing "
                    "for every case, or one sequence per case."
                )
            return list(spacing)
        return [spacing] * n

    def local_records(self, view: str) -> list[CaseRecords]:
        """This rank's cases of one view (no gathering)."""
        self.matching(view)
        return [case[view] for case in self._local]

    def records(self, view: str | None = None) -> Any:
        """Every case of every rank: ``{view: [CaseRecords, ...]}``, or the list of one view.

        Collective under DDP the first time after a change (every rank must call it); cached after that.
        """
        if self._gathered is None:
            self._gathered = all_gather_list(self._local)
        if view is not None:
            self.matching(view)
            return [case[view] for case in self._gathered]
        return {name: [case[name] for case in self._gathered] for name in self.matchings}

    def aggregate(self) -> dict[str, list[CaseRecords]]:
        """:meth:`records` of every view (MONAI's metric interface)."""
        return self.records()


def refuse_view_settings(**settings: Any) -> None:
    """Refuse extraction settings given to a view of shared records: the records owner holds them.

    Args:
        settings: the view's own settings by name (``threshold``, ``connectivity``, ...); None is "not given".

    Raises:
        ValueError: naming every setting that is not None.

    Example:
        >>> refuse_view_settings(threshold=None, spacing=None)
        >>> refuse_view_settings(threshold=0.3, spacing=None)
        Traceback (most recent call last):
        ...
        ValueError: ['threshold'] belong to the shared `records`: set them there, not on its views.
    """
    clash = sorted(k for k, v in settings.items() if v is not None)
    if clash:
        raise ValueError(f"{clash} belong to the shared `records`: set them there, not on its views.")


class RecordsView:
    """A number computed from one view of a :class:`LesionRecordsMetric`, its own or a shared one."""

    def __init__(
        self,
        matching: Any,
        records: LesionRecordsMetric | None,
        threshold: float | None,
        connectivity: int | None,
        spacing: Any,
        sigmoid: bool | None,
        lesion_labels: Sequence[int] | None,
    ) -> None:
        if records is not None:
            if not isinstance(records, LesionRecordsMetric):
                raise TypeError(f"`records` must be a LesionRecordsMetric, got {type(records).__name__}.")
            refuse_view_settings(
                threshold=threshold,
                connectivity=connectivity,
                spacing=spacing,
                sigmoid=sigmoid,
                lesion_labels=lesion_labels,
            )
            self.view = self._view_of(records, matching)
            self.shared = True
        else:
            m = LesionMatching.coerce(matching)
            self.view = matching if isinstance(matching, str) else "custom"
            records = LesionRecordsMetric(
                {self.view: m},
                threshold=0.5 if threshold is None else threshold,
                connectivity=connectivity,
                spacing=spacing,
                sigmoid=bool(sigmoid),
                lesion_labels=lesion_labels,
            )
            self.shared = False
        self.records_metric = records

    @staticmethod
    def _view_of(records: LesionRecordsMetric, matching: Any) -> str:
        if isinstance(matching, str) and matching in records.matchings:
            return matching
        m = LesionMatching.coerce(matching)
        for name, mm in records.matchings.items():
            if mm == m:
                return name
        raise ValueError(
            f"`matching` {matching!r} is not a view of the shared `records` (views: {sorted(records.matchings)})."
        )

    @property
    def matching(self) -> LesionMatching:
        """The matching rule this number is computed under."""
        return self.records_metric.matching(self.view)

    def __call__(self, y_pred: Any, y: Any = None, **kwargs: Any) -> None:
        """Add a batch (as :meth:`LesionRecordsMetric.__call__`); a view of shared records refuses."""
        if self.shared:
            raise RuntimeError("this metric reads shared `records`: give the cases to that LesionRecordsMetric.")
        if y is None:
            raise ValueError("`y` (the ground truth) is required.")
        self.records_metric(y_pred, y, **kwargs)

    def reset(self) -> None:
        """Forget the cases (of its own records; shared records are reset by their owner)."""
        if not self.shared:
            self.records_metric.reset()

    def cases(self) -> list[CaseRecords]:
        """The records of this view (every rank)."""
        return self.records_metric.records(self.view)

    def aggregate(self) -> torch.Tensor:
        """The number over every case so far (each view defines it)."""
        raise NotImplementedError


class FROCMetric(RecordsView):
    r"""Average recall over the FROC curve (paper 1), accumulated over batches and ranks.

    .. math:: \bar R = \frac{1}{|\mathcal F|} \sum_{f \in \mathcal F} R(f)

    ``aggregate()`` runs :func:`~monai_imbalance.metrics.average_recall` on every case of its view. The
    default matching is the strict one (one-to-one, IoU ≥ 0.1), which a blob over the whole volume cannot
    pass; ``matching="paper"`` gives paper 1's many-to-one any-overlap rule.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points; default 1/8 ... 8.
        matching: the view (``"strict"``, ``"paper"``, a :class:`~monai_imbalance.metrics.LesionMatching` or a
            dict); with shared ``records``, one of its view names or matchings.
        records: a shared :class:`LesionRecordsMetric` to read (its owner is fed the cases); ``None`` for its
            own, made with the settings below.
        threshold: probability above which a voxel is predicted foreground (default 0.5; own records only).
        connectivity: orthogonal hops; ``None`` for full connectivity (own records only).
        spacing: voxel spacing for every case (own records only).
        sigmoid: the predictions are logits (own records only).
        lesion_labels: label values that are lesion (own records only).

    Raises:
        TypeError / ValueError: on an unknown ``protocol`` or matching, invalid ``fp_rates``, or settings given
            beside shared ``records``.

    Example:
        >>> y = torch.zeros(2, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> p = y * 0.9; p[1, 0, 6, 6] = 0.8
        >>> metric = FROCMetric()
        >>> metric(p[:1], y[:1]); metric(p[1:], y[1:])
        >>> metric.aggregate().item()
        1.0
    """

    def __init__(
        self,
        protocol: str = "luna16",
        fp_rates: Any = None,
        matching: Any = "strict",
        records: LesionRecordsMetric | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        super().__init__(matching, records, threshold, connectivity, spacing, sigmoid, lesion_labels)
        self.protocol = check_option(protocol, FROCProtocol, "protocol").value
        self.fp_rates = None if fp_rates is None else check_fp_rates(fp_rates).tolist()

    def aggregate(self) -> torch.Tensor:
        """Average recall of all cases so far; NaN when there is no case or no lesion (recall undefined)."""
        cases = self.cases()
        if not cases:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return torch.tensor(average_recall(cases, self.protocol, self.fp_rates), dtype=torch.float64)


class LesionDiceMetric(RecordsView):
    r"""Object Dice (mean Dice of the detected lesions with their match, paper 1), over batches and ranks.

    .. math:: \mathrm{oDSC} = \frac{1}{|\mathcal D|} \sum_{i \in \mathcal D} D_{i,m(i)}

    Args:
        protocol: ``"luna16"`` (every detected lesion) or ``"shirokikh2020"`` (detected at confidence ≥ -0.1).
        matching: the view, as :class:`FROCMetric` (default ``"strict"``).
        records: a shared :class:`LesionRecordsMetric`, or ``None`` for its own, made with the settings below.
        threshold: probability above which a voxel is predicted foreground (default 0.5; own records only).
        connectivity: orthogonal hops; ``None`` for full connectivity (own records only).
        spacing: voxel spacing for every case (own records only).
        sigmoid: the predictions are logits (own records only).
        lesion_labels: label values that are lesion (own records only).

    Raises:
        TypeError / ValueError: as :class:`FROCMetric`.

    Example:
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> p = torch.zeros(1, 1, 8, 8); p[:, :, 2:4, 2:3] = 0.9
        >>> metric = LesionDiceMetric()
        >>> metric(p, y)
        >>> round(metric.aggregate().item(), 4)
        0.6667
    """

    def __init__(
        self,
        protocol: str = "luna16",
        matching: Any = "strict",
        records: LesionRecordsMetric | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        super().__init__(matching, records, threshold, connectivity, spacing, sigmoid, lesion_labels)
        self.protocol = check_option(protocol, FROCProtocol, "protocol").value

    def aggregate(self) -> torch.Tensor:
        """Object Dice mean of all cases so far; NaN when no lesion is detected (no Dice to average)."""
        cases = self.cases()
        if not cases:
            return torch.tensor(float("nan"), dtype=torch.float64)
        return torch.tensor(object_dice(cases, self.protocol)[0], dtype=torch.float64)


class OverSegmentationMetric(RecordsView):
    r"""An over-segmentation diagnostic of all cases: predicted / true lesion volume, or merging components.

    .. math:: \rho = \frac{\sum_\text{cases} |\{p > t\}|}{\sum_\text{cases} |\{y = 1\}|}

    Quantities (:func:`~monai_imbalance.metrics.over_segmentation`): ``"volume_ratio"`` (:math:`\rho`, NaN
    without lesions), ``"merging_predictions"`` (predicted components overlapping two or more lesions),
    ``"merged_lesions"`` (the lesions they cover). They do not depend on the matching.

    Args:
        quantity: one of the above.
        records: a shared :class:`LesionRecordsMetric`, or ``None`` for its own, made with the settings below.
        threshold: probability above which a voxel is predicted foreground (default 0.5; own records only).
        connectivity: orthogonal hops; ``None`` for full connectivity (own records only).
        spacing: voxel spacing for every case (own records only).
        sigmoid: the predictions are logits (own records only).
        lesion_labels: label values that are lesion (own records only).

    Raises:
        ValueError: on an unknown ``quantity``, or as :class:`FROCMetric`.

    Example:
        >>> y = torch.zeros(1, 1, 8, 8); y[..., 1:3, 1:3] = 1; y[..., 5:7, 5:7] = 1
        >>> metric = OverSegmentationMetric("volume_ratio")
        >>> metric(torch.full((1, 1, 8, 8), 0.9), y)
        >>> metric.aggregate().item()
        8.0
    """

    def __init__(
        self,
        quantity: str = "volume_ratio",
        records: LesionRecordsMetric | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        # a shared owner's first view (the quantities do not depend on it); anything else is refused by the view
        matching = next(iter(records.matchings)) if isinstance(records, LesionRecordsMetric) else "strict"
        super().__init__(matching, records, threshold, connectivity, spacing, sigmoid, lesion_labels)
        self.quantity = check_option(quantity, OverSegmentationQuantity, "quantity").value

    def aggregate(self) -> torch.Tensor:
        """The quantity over all cases so far (NaN with no case; the volume ratio is NaN without lesions)."""
        cases = self.cases()
        if not cases:
            return torch.tensor(math.nan, dtype=torch.float64)
        return torch.tensor(float(over_segmentation(cases)[self.quantity]), dtype=torch.float64)
