"""Lesion extraction and matching: one case's probability map and label become per-lesion records.

Paper 1 (Shirokikh et al., MICCAI 2020, section 4.3) judges a model by the lesions it finds. Ground-truth
lesions are the connected components of ``label > 0.5``, predicted lesions those of ``prob > threshold``
(fixed once: a confidence threshold keeps or drops whole components). Matching is one vectorised pass:
the pairs (ground-truth id, prediction id) of the overlapping voxels are counted with ``np.unique``, and
every Dice / IoU follows from those intersections and the component sizes.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from monai.utils import StrEnum, look_up_option

from monai_imbalance._utils import check_finite, check_spacing, to_numpy
from monai_imbalance.maps.components import label_components

__all__ = ["CaseRecords", "HitRule", "equivalent_diameter", "item_lesion_records", "lesion_records"]


class HitRule(StrEnum):
    """When a predicted lesion hits a ground-truth lesion: any overlap, or a Dice / IoU of at least a threshold."""

    OVERLAP = "overlap"
    DICE = "dice"
    IOU = "iou"


def _option(value: Any, enum: type[StrEnum], name: str) -> Any:
    """Resolve a string option with MONAI's ``look_up_option``, naming the argument in the error."""
    try:
        return enum(look_up_option(value, enum))
    except ValueError as e:
        raise ValueError(f"`{name}`: {e}".strip()) from None


def _as_float_array(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


@dataclass
class CaseRecords:
    r"""One case's per-lesion records, the input of every FROC / recall / object-Dice function.

    Attributes:
        lesion_confidence: ``(K,)`` the confidence at which each ground-truth lesion is detected (the
            confidence of its match), ``-inf`` when missed.
        lesion_dice: ``(K,)`` Dice of each lesion with its match, 0 when missed.
        lesion_diameter: ``(K,)`` equivalent-sphere diameter :math:`(6V/\\pi)^{1/3}` (mm when the spacing
            is known, else voxels).
        lesion_volume: ``(K,)`` volume (mm³ when the spacing is known, else voxels).
        fp_confidence: ``(F,)`` confidences of the predicted lesions touching no ground-truth lesion.
        fp_diameter: ``(F,)`` their equivalent-sphere diameters (same unit as ``lesion_diameter``).
        fp_volume: ``(F,)`` their volumes.
        n_predictions: number of predicted lesions in the case (hits and false positives).
        case_id: optional identifier (the ``shirokikh2020`` bootstrap sorts the cases by it as strings).

    Example:
        >>> r = CaseRecords([0.9, -np.inf], [0.8, 0.0], [3.0, 2.0], [14.1, 4.2], [0.7])
        >>> r.n_lesions, r.n_detected, r.fp_confidence.tolist(), r.fp_diameter.tolist()
        (2, 1, [0.7], [nan])
    """

    lesion_confidence: np.ndarray
    lesion_dice: np.ndarray
    lesion_diameter: np.ndarray
    lesion_volume: np.ndarray
    fp_confidence: np.ndarray
    fp_diameter: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fp_volume: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_predictions: int | None = None
    case_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("lesion_confidence", "lesion_dice", "lesion_diameter", "lesion_volume", "fp_confidence"):
            setattr(self, name, _as_float_array(getattr(self, name)))
        n_les, n_fp = self.lesion_confidence.size, self.fp_confidence.size
        for name in ("lesion_dice", "lesion_diameter", "lesion_volume"):
            if getattr(self, name).size != n_les:
                raise ValueError(f"`{name}` must have one value per lesion ({n_les}), got {getattr(self, name).size}.")
        for name in ("fp_diameter", "fp_volume"):
            value = _as_float_array(getattr(self, name))
            if value.size == 0 and n_fp:  # sizes unknown: NaN keeps them out of every size group
                value = np.full(n_fp, np.nan)
            if value.size != n_fp:
                raise ValueError(f"`{name}` must have one value per false positive ({n_fp}), got {value.size}.")
            setattr(self, name, value)
        if np.isnan(self.lesion_confidence).any() or np.isnan(self.fp_confidence).any():
            raise ValueError("`lesion_confidence` and `fp_confidence` must not hold NaN.")
        if self.n_predictions is None:
            self.n_predictions = int(n_fp + np.isfinite(self.lesion_confidence).sum())

    @property
    def n_lesions(self) -> int:
        """Number of ground-truth lesions."""
        return int(self.lesion_confidence.size)

    @property
    def n_detected(self) -> int:
        """Number of ground-truth lesions hit by a prediction."""
        return int((self.lesion_confidence > -np.inf).sum())


def equivalent_diameter(volume: Any) -> np.ndarray:
    r"""Diameter of the sphere of the given volume.

    .. math:: d = (6 V / \pi)^{1/3}

    Args:
        volume: volumes, any shape (voxels or mm³).

    Returns:
        float64 array of the same shape (voxels or mm).

    Example:
        >>> equivalent_diameter([np.pi / 6, 1.0]).round(4)
        array([1.    , 1.2407])
    """
    return np.cbrt(6.0 * np.asarray(volume, dtype=np.float64) / math.pi)


def _check_pair(label: Any, prob: Any, confidence: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, x in (("label", label), ("prob", prob), ("confidence", confidence)):
        if x is not None and not isinstance(x, np.ndarray) and not hasattr(x, "detach"):
            raise TypeError(f"`{name}` must be a numpy array or a torch tensor, got {type(x).__name__}.")
    lab, pr = to_numpy(label), to_numpy(prob)
    conf = pr if confidence is None else to_numpy(confidence)
    if lab.shape != pr.shape:
        raise ValueError(f"`label` and `prob` must have the same shape, got {lab.shape} and {pr.shape}.")
    if conf.shape != pr.shape:
        raise ValueError(f"`confidence` must have the shape of `prob` {pr.shape}, got {conf.shape}.")
    if lab.ndim == 0:
        raise ValueError("`label` must have at least one spatial dimension, got a scalar.")
    check_finite(lab, "label")
    check_finite(pr, "prob")
    if conf is not pr and np.issubdtype(conf.dtype, np.floating) and np.isnan(conf).any():
        raise ValueError("`confidence` must not hold NaN values.")
    return lab, pr, conf


def _segment_max(ids: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Max of ``values`` per id in ``1..n`` (ids > 0), by one sort and ``np.maximum.reduceat``."""
    out = np.full(n + 1, -np.inf)
    if ids.size == 0:
        return out
    order = np.argsort(ids, kind="stable")
    ids_sorted = ids[order]
    starts = np.flatnonzero(np.r_[True, ids_sorted[1:] != ids_sorted[:-1]])
    out[ids_sorted[starts]] = np.maximum.reduceat(values[order].astype(np.float64), starts)
    return out


def lesion_records(
    label: Any,
    prob: Any,
    confidence: Any = None,
    spacing: Any = None,
    threshold: float = 0.5,
    connectivity: int | None = None,
    hit_rule: str = "overlap",
    hit_threshold: float = 0.5,
    case_id: str | None = None,
) -> CaseRecords:
    r"""Extract and match the lesions of one case: the per-lesion records of paper 1's evaluation.

    Ground-truth lesions :math:`G_i` are the components of ``label > 0.5``, predicted lesions :math:`P_j`
    those of ``prob > threshold`` (full connectivity by default). A prediction's confidence is the max of
    ``confidence`` (default ``prob``; pass logits to rank by logit as the authors did) inside it.
    :math:`P_j` hits :math:`G_i` when they overlap (``hit_rule="overlap"``, the paper's rule) or when
    their Dice / IoU is at least ``hit_threshold`` (``"dice"`` / ``"iou"``). A lesion's match is the
    hitting prediction of highest Dice (lowest id on ties)

    .. math:: D_{ij} = \frac{2\,|G_i \cap P_j|}{|G_i| + |P_j|}

    and it is detected at its match's confidence. A prediction hitting no lesion is a false positive; one
    that hits only lesions matched to another prediction is neither (Shirokikh et al., MICCAI 2020, 4.3).

    Args:
        label: ground truth, spatial only ``(*spatial)`` (no channel), numpy or torch; binarised at 0.5.
        prob: probabilities of the same shape.
        confidence: optional per-voxel confidence of the same shape (e.g. logits); default ``prob``.
        spacing: voxel spacing (one number or one per dimension); volumes in mm³ and diameters in mm
            when given, else in voxels.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops in ``[1, ndim]``; ``None`` for full connectivity.
        hit_rule: ``"overlap"``, ``"dice"`` or ``"iou"``.
        hit_threshold: the Dice / IoU a hit needs under the ``"dice"`` and ``"iou"`` rules.
        case_id: stored in the records.

    Returns:
        :class:`CaseRecords`.

    Raises:
        TypeError: when an input is not an array or a tensor.
        ValueError: on mismatched shapes, NaN or infinite ``label`` / ``prob``, NaN ``confidence``, a bad
            ``spacing`` or ``connectivity``, or an unknown ``hit_rule``.

    Example:
        >>> label = np.array([1, 1, 0, 0, 1, 0, 0, 0])
        >>> prob = np.array([0.9, 0.6, 0.0, 0.0, 0.0, 0.0, 0.7, 0.0])
        >>> r = lesion_records(label, prob)
        >>> r.lesion_confidence.tolist(), r.lesion_dice.tolist(), r.fp_confidence.tolist()
        ([0.9, -inf], [1.0, 0.0], [0.7])
    """
    lab, pr, conf = _check_pair(label, prob, confidence)
    rule = _option(hit_rule, HitRule, "hit_rule")
    sp = check_spacing(spacing, lab.ndim)
    voxel_volume = float(np.prod(sp)) if sp is not None else 1.0

    gt_lab, n_gt = label_components(lab > 0.5, connectivity)
    pr_lab, n_pr = label_components(pr > threshold, connectivity)
    gt_flat, pr_flat = gt_lab.reshape(-1), pr_lab.reshape(-1)
    gt_size = np.bincount(gt_flat, minlength=n_gt + 1).astype(np.float64)
    pr_size = np.bincount(pr_flat, minlength=n_pr + 1).astype(np.float64)

    # prediction confidence: max over its voxels (only the predicted voxels are visited)
    fg = np.flatnonzero(pr_flat)
    pr_conf = _segment_max(pr_flat[fg], conf.reshape(-1)[fg], n_pr)

    # intersections of every overlapping (lesion, prediction) pair in one pass
    both = fg[gt_flat[fg] > 0]
    pair_key = gt_flat[both].astype(np.int64) * (n_pr + 1) + pr_flat[both]
    keys, inter = np.unique(pair_key, return_counts=True)
    gi, pj = keys // (n_pr + 1), keys % (n_pr + 1)
    inter = inter.astype(np.float64)
    dice = 2.0 * inter / (gt_size[gi] + pr_size[pj])
    if rule is HitRule.OVERLAP:
        hit = np.ones(keys.size, dtype=bool)
    elif rule is HitRule.DICE:
        hit = dice >= hit_threshold
    else:
        hit = inter / (gt_size[gi] + pr_size[pj] - inter) >= hit_threshold
    gi, pj, dice = gi[hit], pj[hit], dice[hit]

    # best match per lesion: sort by (lesion, -dice, prediction id) and take the first of every lesion
    les_conf = np.full(n_gt, -np.inf)
    les_dice = np.zeros(n_gt)
    if gi.size:
        order = np.lexsort((pj, -dice, gi))
        first = order[np.r_[True, gi[order][1:] != gi[order][:-1]]]
        les_conf[gi[first] - 1] = pr_conf[pj[first]]
        les_dice[gi[first] - 1] = dice[first]
    is_fp = np.ones(n_pr + 1, dtype=bool)
    is_fp[0] = False
    is_fp[pj] = False
    fp_ids = np.flatnonzero(is_fp)

    les_vol = gt_size[1:] * voxel_volume
    fp_vol = pr_size[fp_ids] * voxel_volume
    return CaseRecords(
        lesion_confidence=les_conf,
        lesion_dice=les_dice,
        lesion_diameter=equivalent_diameter(les_vol),
        lesion_volume=les_vol,
        fp_confidence=pr_conf[fp_ids],
        fp_diameter=equivalent_diameter(fp_vol),
        fp_volume=fp_vol,
        n_predictions=int(n_pr),
        case_id=case_id,
    )


class _ItemRecordsMemo:
    """The records of the case items an evaluator iteration produced, shared by every reader with one setting.

    The metrics and the report handler of a bundle read the same ``engine.state.output`` items (MONAI's
    ``from_engine`` hands each the same tensors) and would each extract and match every case's lesions; the
    memo lets the first compute them and the others reuse them. An entry is valid while both item tensors are
    alive (weak references: the memo never keeps a volume alive, and a new tensor that reuses a freed
    tensor's ``id`` is a different object) and unchanged (their in-place version counters); non-tensor items
    and inference-mode tensors (which have no version counter) are never memoised.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()

    def get(self, pred: Any, label: Any, settings: tuple, compute: Callable[[], CaseRecords]) -> CaseRecords:
        """``compute()``'s records, or those of an earlier call on the same live, unchanged tensors."""
        if not (isinstance(pred, torch.Tensor) and isinstance(label, torch.Tensor)):
            return compute()
        if pred.is_inference() or label.is_inference():  # no version counter: a change could not be seen
            return compute()
        key = (id(pred), id(label), settings)
        entry = self._entries.get(key)
        if entry is not None:
            pred_ref, label_ref, pred_version, label_version, records = entry
            if (
                pred_ref() is pred
                and label_ref() is label
                and pred._version == pred_version
                and label._version == label_version
            ):
                self._entries.move_to_end(key)
                return records
        records = compute()
        self._entries[key] = (weakref.ref(pred), weakref.ref(label), pred._version, label._version, records)
        for k in [k for k, e in self._entries.items() if e[0]() is None or e[1]() is None]:
            del self._entries[k]
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return records

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()


_ITEM_MEMO = _ItemRecordsMemo()


def item_lesion_records(
    pred: Any,
    label: Any,
    spacing: Any = None,
    threshold: float = 0.5,
    connectivity: int | None = None,
    hit_rule: str = "overlap",
    hit_threshold: float = 0.5,
    case_id: str | None = None,
) -> CaseRecords:
    """:func:`lesion_records` of one channel-first item, computed once per item for every caller.

    The foreground is the last channel of ``pred`` and of ``label`` (channel 0 of a 1-channel map, channel 1
    of a 2-channel background/foreground one). Handlers and metrics that read the same evaluator output items
    with the same settings share one extraction and matching per case: the records are memoised on the item
    tensors while they are alive and unchanged (see ``_ItemRecordsMemo``), so a FROC metric, an object-Dice
    metric and a report handler attached to one evaluator match every case once.

    Args:
        pred: ``(1 or 2, *spatial)`` probabilities (tensor or array).
        label: ``(1 or 2, *spatial)`` label.
        spacing: voxel spacing of the case, or None for voxel units.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        hit_rule: ``"overlap"``, ``"dice"`` or ``"iou"``.
        hit_threshold: the Dice / IoU a hit needs under the stricter rules.
        case_id: identifier stored in the returned records.

    Returns:
        The case's :class:`CaseRecords` (a fresh object per call; the arrays are shared with the memo and must
        not be modified in place).

    Raises:
        ValueError: when an item is not channel-first with 1 or 2 channels, or as :func:`lesion_records`.

    Example:
        >>> label = torch.zeros(1, 6, 6); label[0, 1:3, 1:3] = 1
        >>> pred = label * 0.9
        >>> item_lesion_records(pred, label).lesion_confidence.tolist()
        [0.8999999761581421]
        >>> item_lesion_records(pred, label) is item_lesion_records(pred, label)  # fresh objects, one matching
        False
    """
    for name, x in (("pred", pred), ("label", label)):
        if getattr(x, "ndim", 0) < 2 or x.shape[0] not in (1, 2):
            raise ValueError(
                f"`{name}` items must be channel-first with 1 channel (or 2: background, foreground), "
                f"got shape {tuple(getattr(x, 'shape', ()))}."
            )
    sp = check_spacing(spacing, label.ndim - 1)
    settings = (
        pred.shape[0],
        label.shape[0],
        None if sp is None else tuple(sp),
        float(threshold),
        connectivity,
        str(hit_rule),
        float(hit_threshold),
    )

    def compute() -> CaseRecords:
        return lesion_records(
            to_numpy(label[label.shape[0] - 1]),
            to_numpy(pred[pred.shape[0] - 1]),
            spacing=sp,
            threshold=threshold,
            connectivity=connectivity,
            hit_rule=hit_rule,
            hit_threshold=hit_threshold,
        )

    return replace(_ITEM_MEMO.get(pred, label, settings, compute), case_id=case_id)
