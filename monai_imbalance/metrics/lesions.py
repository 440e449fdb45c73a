"""Lesion extraction and matching: one case's probability map and label become per-lesion records.

Paper 1 (Shirokikh et al., MICCAI 2020, section 4.3) judges a model by the lesions it finds. Ground-truth
lesions are the connected components of the binary label, predicted lesions those of ``prob > threshold``
(fixed once: a confidence threshold keeps or drops whole components). Extraction is one vectorised pass: the
pairs (ground-truth id, prediction id) of the overlapping voxels are counted with ``np.unique``, every Dice /
IoU follows from those intersections and the component sizes, and each matching rule
(:class:`~monai_imbalance.metrics.LesionMatching`) is applied to the same pairs, so the paper's view and the
strict view of a case cost one labelling.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monai_imbalance.maps.components import label_image
from monai_imbalance.metrics.inputs import check_affine, check_case, lesion_mask
from monai_imbalance.metrics.matching import LesionMatching, as_matchings, match_pairs
from monai_imbalance.utils.validation import check_connectivity, check_int, check_spacing

__all__ = [
    "CaseRecords",
    "case_lesion_records",
    "equivalent_diameter",
    "item_lesion_records",
    "lesion_mask",
    "lesion_records",
]  # lesion_mask is re-exported from metrics.inputs


def _as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a flat float64 array; strings, complex values, ``None`` items and ragged rows refused by name."""
    try:
        arr = np.asarray(x)
        real = arr.dtype.kind in "biuf"  # not strings, complex values, objects (None items)
    except ValueError:  # ragged rows
        real = False
    if not real:
        raise TypeError(f"`{name}` must be a sequence of numbers, got {x!r:.80} ({type(x).__name__}).")
    return np.asarray(arr, dtype=np.float64).reshape(-1)


def _as_rows(x: Any, n: int, name: str) -> np.ndarray | None:
    if x is None:
        return None
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 0)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise ValueError(f"`{name}` must have one row per entry ({n}), got shape {arr.shape}.")
    return arr


@dataclass
class CaseRecords:
    r"""One case's per-lesion records under one matching rule, the input of every FROC / recall / object-Dice function.

    Attributes:
        lesion_confidence: ``(K,)`` the confidence at which each ground-truth lesion is detected (the
            confidence of its match), ``-inf`` when missed.
        lesion_dice: ``(K,)`` Dice of each lesion with its match, 0 when missed.
        lesion_diameter: ``(K,)`` equivalent-sphere diameter :math:`(6V/\pi)^{1/3}` (mm when the spacing
            is known, else voxels).
        lesion_volume: ``(K,)`` volume (mm³ when the spacing is known, else voxels).
        fp_confidence: ``(F,)`` confidences of the predicted lesions counted as false positives.
        fp_diameter: ``(F,)`` their equivalent-sphere diameters (same unit as ``lesion_diameter``).
        fp_volume: ``(F,)`` their volumes.
        n_predictions: number of predicted lesions in the case (hits and false positives).
        case_id: optional identifier (the ``shirokikh2020`` bootstrap sorts the cases by it as strings).
        matching: the rule in words (:meth:`~monai_imbalance.metrics.LesionMatching.describe`), or ``None``
            for records of unknown origin (e.g. the authors' published records).
        predicted_volume: total volume of the predicted lesions (same unit as ``lesion_volume``); NaN unknown.
        n_merging_predictions: predicted components overlapping two or more lesions; ``None`` unknown.
        n_merged_lesions: lesions overlapped by such a component; ``None`` unknown.
        lesion_centroid: ``(K, D)`` centroids in voxel coordinates, or ``None``.
        lesion_bbox: ``(K, 2D)`` bounding boxes ``[start..., stop...)`` in voxels, or ``None``.
        fp_centroid: ``(F, D)`` centroids of the false positives, or ``None``.
        fp_bbox: ``(F, 2D)`` their bounding boxes, or ``None``.
        affine: ``(D + 1, D + 1)`` voxel-to-world matrix of the case (the image's affine), or ``None``.

    Raises:
        TypeError: when a per-lesion or per-false-positive field is not numbers, or a count is not an int.
        ValueError: when the fields do not have one value per lesion / false positive, a confidence is NaN, a
            Dice is outside [0, 1] (NaN included) or a count is negative.

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
    matching: str | None = None
    predicted_volume: float = math.nan
    n_merging_predictions: int | None = None
    n_merged_lesions: int | None = None
    lesion_centroid: np.ndarray | None = None
    lesion_bbox: np.ndarray | None = None
    fp_centroid: np.ndarray | None = None
    fp_bbox: np.ndarray | None = None
    affine: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("lesion_confidence", "lesion_dice", "lesion_diameter", "lesion_volume", "fp_confidence"):
            setattr(self, name, _as_float_array(getattr(self, name), name))
        n_les, n_fp = self.lesion_confidence.size, self.fp_confidence.size
        for name in ("lesion_dice", "lesion_diameter", "lesion_volume"):
            if getattr(self, name).size != n_les:
                raise ValueError(f"`{name}` must have one value per lesion ({n_les}), got {getattr(self, name).size}.")
        for name in ("fp_diameter", "fp_volume"):
            value = _as_float_array(getattr(self, name), name)
            if value.size == 0 and n_fp:  # sizes unknown: NaN keeps them out of every size group
                value = np.full(n_fp, np.nan)
            if value.size != n_fp:
                raise ValueError(f"`{name}` must have one value per false positive ({n_fp}), got {value.size}.")
            setattr(self, name, value)
        if np.isnan(self.lesion_confidence).any() or np.isnan(self.fp_confidence).any():
            raise ValueError("`lesion_confidence` and `fp_confidence` must not hold NaN.")
        not_dice = ~((self.lesion_dice >= 0) & (self.lesion_dice <= 1))  # NaN included
        if not_dice.any():
            raise ValueError(
                f"`lesion_dice` must hold Dice values in [0, 1] (0 for a missed lesion), got "
                f"{self.lesion_dice[not_dice][:5].tolist()}."
            )
        if self.n_predictions is None:
            self.n_predictions = int(n_fp + np.isfinite(self.lesion_confidence).sum())
        else:
            self.n_predictions = check_int(self.n_predictions, "n_predictions", low=0)
        for name in ("n_merging_predictions", "n_merged_lesions"):
            if getattr(self, name) is not None:
                setattr(self, name, check_int(getattr(self, name), name, low=0))
        for name, n in (("lesion_centroid", n_les), ("lesion_bbox", n_les), ("fp_centroid", n_fp), ("fp_bbox", n_fp)):
            setattr(self, name, _as_rows(getattr(self, name), n, name))
        if self.affine is not None:
            self.affine = np.asarray(self.affine, dtype=np.float64)
        self.predicted_volume = float(self.predicted_volume)

    @property
    def n_lesions(self) -> int:
        """Number of ground-truth lesions."""
        return int(self.lesion_confidence.size)

    @property
    def n_detected(self) -> int:
        """Number of ground-truth lesions detected (matched to a prediction)."""
        return int((self.lesion_confidence > -np.inf).sum())

    @property
    def true_volume(self) -> float:
        """Total volume of the ground-truth lesions."""
        return float(self.lesion_volume.sum())


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


def _component_stats(
    flat_ids: np.ndarray, fg_mask: np.ndarray, n: int, shape: tuple[int, ...], values: np.ndarray | None
) -> tuple:
    """Per component ``1..n`` of a flat label: size, max of ``values``, centroid and bounding box.

    One pass over the volume (the foreground of the boolean ``fg_mask``), then one sort of the foreground
    voxels by component: sizes, maxima, centroids and boxes are reductions over the sorted runs.
    """
    fg = np.flatnonzero(fg_mask)
    size = np.zeros(n + 1)
    size[0] = flat_ids.size - fg.size
    peak = np.full(n + 1, -np.inf)
    centroid = np.zeros((n + 1, len(shape)))
    bbox = np.zeros((n + 1, 2 * len(shape)))
    if fg.size == 0:
        return size, peak, centroid, bbox, fg
    ids = flat_ids[fg]
    order = np.argsort(ids, kind="stable")
    ids_sorted = ids[order]
    starts = np.flatnonzero(np.r_[True, ids_sorted[1:] != ids_sorted[:-1]])
    present = ids_sorted[starts]
    counts = np.diff(np.r_[starts, ids_sorted.size])
    size[present] = counts
    if values is not None:
        peak[present] = np.maximum.reduceat(values[fg][order].astype(np.float64), starts)
    coords = np.unravel_index(fg[order], shape)
    for d, c in enumerate(coords):
        centroid[present, d] = np.add.reduceat(c.astype(np.float64), starts) / counts
        bbox[present, d] = np.minimum.reduceat(c, starts)
        bbox[present, len(shape) + d] = np.maximum.reduceat(c, starts) + 1
    return size, peak, centroid, bbox, fg


@dataclass
class _Extraction:
    """One case's components and overlapping pairs, from which every matching's records follow."""

    n_gt: int
    n_pr: int
    gt_size: np.ndarray
    pr_size: np.ndarray
    pr_conf: np.ndarray
    gt_centroid: np.ndarray
    gt_bbox: np.ndarray
    pr_centroid: np.ndarray
    pr_bbox: np.ndarray
    gi: np.ndarray
    pj: np.ndarray
    inter: np.ndarray
    voxel_volume: float
    affine: np.ndarray | None


def _extract(
    label: Any,
    prob: Any,
    confidence: Any,
    spacing: Any,
    threshold: float,
    connectivity: int | None,
    sigmoid: bool,
    lesion_labels: Any,
    affine: Any,
) -> _Extraction:
    mask, pr, conf, thr = check_case(label, prob, confidence, threshold, sigmoid, lesion_labels)
    sp = check_spacing(spacing, mask.ndim)
    aff = check_affine(affine, mask.ndim)
    voxel_volume = float(np.prod(sp)) if sp is not None else 1.0
    conn = check_connectivity(connectivity, mask.ndim)
    pr_mask = pr > thr
    gt_lab, n_gt = label_image(mask, conn)  # cc3d's labels as they come (no int32 copy)
    pr_lab, n_pr = label_image(pr_mask, conn)
    gt_flat, pr_flat = gt_lab.reshape(-1), pr_lab.reshape(-1)
    gt_size, _, gt_centroid, gt_bbox, _ = _component_stats(gt_flat, mask.reshape(-1), n_gt, mask.shape, None)
    pr_size, pr_conf, pr_centroid, pr_bbox, fg = _component_stats(
        pr_flat, pr_mask.reshape(-1), n_pr, mask.shape, conf.reshape(-1)
    )
    both = fg[gt_flat[fg] > 0]  # intersections of every overlapping (lesion, prediction) pair in one pass
    pair_key = gt_flat[both].astype(np.int64) * (n_pr + 1) + pr_flat[both]
    keys, inter = np.unique(pair_key, return_counts=True)
    return _Extraction(
        n_gt=int(n_gt),
        n_pr=int(n_pr),
        gt_size=gt_size,
        pr_size=pr_size,
        pr_conf=pr_conf,
        gt_centroid=gt_centroid,
        gt_bbox=gt_bbox,
        pr_centroid=pr_centroid,
        pr_bbox=pr_bbox,
        gi=keys // (n_pr + 1),
        pj=keys % (n_pr + 1),
        inter=inter.astype(np.float64),
        voxel_volume=voxel_volume,
        affine=aff,
    )


def _records(ext: _Extraction, m: LesionMatching, case_id: str | None) -> CaseRecords:
    gi, pj, dice, credited = match_pairs(ext.gi, ext.pj, ext.inter, ext.gt_size, ext.pr_size, m)
    les_conf = np.full(ext.n_gt, -np.inf)
    les_dice = np.zeros(ext.n_gt)
    les_conf[gi - 1] = ext.pr_conf[pj]
    les_dice[gi - 1] = dice
    is_fp = np.ones(ext.n_pr + 1, dtype=bool)
    is_fp[0] = False
    is_fp[credited] = False
    fp_ids = np.flatnonzero(is_fp)
    # over-segmentation: components overlapping two or more lesions (any overlap), and the lesions they cover
    lesions_per_pred = np.bincount(ext.pj, minlength=ext.n_pr + 1)
    merging = lesions_per_pred >= 2
    les_vol = ext.gt_size[1:] * ext.voxel_volume
    fp_vol = ext.pr_size[fp_ids] * ext.voxel_volume
    return CaseRecords(
        lesion_confidence=les_conf,
        lesion_dice=les_dice,
        lesion_diameter=equivalent_diameter(les_vol),
        lesion_volume=les_vol,
        fp_confidence=ext.pr_conf[fp_ids],
        fp_diameter=equivalent_diameter(fp_vol),
        fp_volume=fp_vol,
        n_predictions=ext.n_pr,
        case_id=case_id,
        matching=m.describe(),
        predicted_volume=float(ext.pr_size[1:].sum() * ext.voxel_volume),
        n_merging_predictions=int(merging.sum()),
        n_merged_lesions=int(np.unique(ext.gi[merging[ext.pj]]).size),
        lesion_centroid=ext.gt_centroid[1:],
        lesion_bbox=ext.gt_bbox[1:],
        fp_centroid=ext.pr_centroid[fp_ids],
        fp_bbox=ext.pr_bbox[fp_ids],
        affine=ext.affine,
    )


def case_lesion_records(
    y_pred: Any,
    y: Any,
    matchings: Mapping[str, Any] | None = None,
    confidence: Any = None,
    spacing: Any = None,
    threshold: float = 0.5,
    connectivity: int | None = None,
    sigmoid: bool = False,
    lesion_labels: Sequence[int] | None = None,
    affine: Any = None,
    case_id: str | None = None,
) -> dict[str, CaseRecords]:
    r"""The records of one case under several matching rules at once, from one extraction.

    Ground-truth lesions :math:`G_i` are the components of the binary label (or of the ``lesion_labels``
    values), predicted lesions :math:`P_j` those of ``prob > threshold`` (full connectivity by default). A
    prediction's confidence is the max of ``confidence`` (default the probability) inside it. Each rule of
    ``matchings`` (:class:`~monai_imbalance.metrics.LesionMatching`) decides the detections and false
    positives; the overlapping pairs are computed once for all of them.

    .. math:: D_{ij} = \frac{2\,|G_i \cap P_j|}{|G_i| + |P_j|}

    Arguments come in MONAI's order, prediction first.

    Args:
        y_pred: probabilities in ``[0, 1]`` of one case, spatial only ``(*spatial)`` (1 to 3 dims, no
            channel), numpy or torch (logits with ``sigmoid=True``); float16 and bfloat16 are read as float32.
        y: ground truth of the same shape: 0/1 or boolean, or any non-negative label with ``lesion_labels``.
        matchings: ``{view name: LesionMatching | "paper" | "strict" | dict}``; default the two views
            ``paper`` and ``strict``.
        confidence: optional per-voxel confidence of the same shape (e.g. logits); default the probability.
        spacing: voxel spacing (one number or one per dimension); volumes in mm³ and diameters in mm when
            given, else in voxels.
        threshold: probability above which a voxel is predicted foreground, in ``[0, 1)``.
        connectivity: orthogonal hops in ``[1, ndim]``; ``None`` for full connectivity.
        sigmoid: apply a sigmoid to ``prob`` first (it holds logits).
        lesion_labels: label values that are lesion; ``None`` for a binary label.
        affine: optional ``(D + 1, D + 1)`` voxel-to-world matrix, kept in the records (world centroids).
        case_id: stored in the records.

    Returns:
        ``{view name: CaseRecords}``.

    Raises:
        TypeError: when an input is not an array or a tensor, or a number argument is not a number.
        ValueError: on mismatched shapes, a batch or channel dimension, a non-binary, negative or NaN label,
            probabilities outside ``[0, 1]`` (without ``sigmoid``), NaN ``confidence``, a ``threshold``
            outside ``[0, 1)``, a bad ``spacing``, ``affine``, ``connectivity`` or matching.

    Example:
        >>> label = np.array([1, 1, 0, 1, 0, 0, 0, 0])
        >>> prob = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.0, 0.0])  # one blob over both lesions
        >>> views = case_lesion_records(prob, label)
        >>> views["paper"].n_detected, views["strict"].n_detected, views["strict"].n_merged_lesions
        (2, 1, 2)
    """
    views = as_matchings(matchings)
    ext = _extract(y, y_pred, confidence, spacing, threshold, connectivity, sigmoid, lesion_labels, affine)
    return {name: _records(ext, m, case_id) for name, m in views.items()}


def lesion_records(
    label: Any,
    prob: Any,
    confidence: Any = None,
    spacing: Any = None,
    threshold: float = 0.5,
    connectivity: int | None = None,
    hit_rule: str | None = None,
    hit_threshold: float | None = None,
    case_id: str | None = None,
    matching: Any = None,
    sigmoid: bool = False,
    lesion_labels: Sequence[int] | None = None,
    affine: Any = None,
) -> CaseRecords:
    r"""Extract and match the lesions of one case under one rule: the per-lesion records of paper 1's evaluation.

    The matching is ``matching`` (a :class:`~monai_imbalance.metrics.LesionMatching`, ``"paper"`` or
    ``"strict"``), or the many-to-one rule with ``hit_rule`` / ``hit_threshold``; default paper 1's rule
    (many-to-one, any overlap): a lesion is hit by every overlapping prediction, matched to the one of
    highest Dice (lowest id on ties) and detected at its confidence; a prediction hitting no lesion is a false
    positive, one that hits only lesions matched to another prediction is neither (Shirokikh et al., MICCAI
    2020, 4.3). :func:`case_lesion_records` gives several rules from one extraction. The argument order
    ``(label, prob)`` is the one this function has always had, kept so existing calls stay correct; the
    functions and metrics added since take MONAI's ``(y_pred, y)``.

    .. math:: D_{ij} = \frac{2\,|G_i \cap P_j|}{|G_i| + |P_j|}

    Args:
        label: ground truth of one case ``(*spatial)``, as :func:`case_lesion_records`.
        prob: probabilities of the same shape.
        confidence: optional per-voxel confidence of the same shape (e.g. logits); default ``prob``.
        spacing: voxel spacing; volumes in mm³ and diameters in mm when given, else in voxels.
        threshold: probability above which a voxel is predicted foreground, in ``[0, 1)``.
        connectivity: orthogonal hops in ``[1, ndim]``; ``None`` for full connectivity.
        hit_rule: many-to-one shorthand: ``"overlap"``, ``"dice"`` or ``"iou"`` (not with ``matching``).
        hit_threshold: the Dice / IoU a hit needs under ``"dice"`` / ``"iou"`` (default 0.5).
        case_id: stored in the records.
        matching: the matching rule (not with ``hit_rule``).
        sigmoid: apply a sigmoid to ``prob`` first.
        lesion_labels: label values that are lesion; ``None`` for a binary label.
        affine: optional voxel-to-world matrix kept in the records.

    Returns:
        :class:`CaseRecords`.

    Raises:
        TypeError: as :func:`case_lesion_records`.
        ValueError: as :func:`case_lesion_records`, or when both ``matching`` and ``hit_rule`` are given.

    Example:
        >>> label = np.array([1, 1, 0, 0, 1, 0, 0, 0])
        >>> prob = np.array([0.9, 0.6, 0.0, 0.0, 0.0, 0.0, 0.7, 0.0])
        >>> r = lesion_records(label, prob)
        >>> r.lesion_confidence.tolist(), r.lesion_dice.tolist(), r.fp_confidence.tolist()
        ([0.9, -inf], [1.0, 0.0], [0.7])
    """
    if matching is not None and (hit_rule is not None or hit_threshold is not None):
        raise ValueError("pass either `matching` or `hit_rule` / `hit_threshold`, not both.")
    if matching is None:
        rule = "overlap" if hit_rule is None else hit_rule
        matching = LesionMatching("many_to_one", rule, 0.5 if hit_threshold is None else hit_threshold)
    views = case_lesion_records(
        prob,
        label,
        {"records": matching},
        confidence=confidence,
        spacing=spacing,
        threshold=threshold,
        connectivity=connectivity,
        sigmoid=sigmoid,
        lesion_labels=lesion_labels,
        affine=affine,
        case_id=case_id,
    )
    return views["records"]


def item_lesion_records(
    pred: Any,
    label: Any,
    matchings: Mapping[str, Any] | None = None,
    spacing: Any = None,
    threshold: float = 0.5,
    connectivity: int | None = None,
    sigmoid: bool = False,
    lesion_labels: Sequence[int] | None = None,
    case_id: str | None = None,
    confidence: Any = None,
) -> dict[str, CaseRecords]:
    """:func:`case_lesion_records` of one channel-first item (MONAI's decollated evaluator output).

    The foreground is the last channel of ``pred`` and of ``label`` (channel 0 of a 1-channel map, channel 1
    of a 2-channel background/foreground one). A MetaTensor label gives the spacing (``pixdim``) and the
    affine when ``spacing`` is not given.

    Args:
        pred: ``(1 or 2, *spatial)`` probabilities (tensor or array).
        label: ``(1 or 2, *spatial)`` label.
        matchings: as :func:`case_lesion_records`.
        spacing: voxel spacing of the case; default the MetaTensor's, else voxel units.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        sigmoid: ``pred`` holds logits.
        lesion_labels: label values that are lesion; ``None`` for a binary label.
        case_id: identifier stored in the records.
        confidence: optional channel-first per-voxel confidence (e.g. logits); its last channel is read.

    Returns:
        ``{view name: CaseRecords}``.

    Raises:
        ValueError: when an item is not channel-first with 1 or 2 channels, or as :func:`case_lesion_records`.

    Example:
        >>> import torch
        >>> label = torch.zeros(1, 6, 6); label[0, 1:3, 1:3] = 1
        >>> views = item_lesion_records(label * 0.9, label)
        >>> views["strict"].lesion_confidence.tolist()
        [0.8999999761581421]
    """
    for name, x in (("pred", pred), ("label", label)):
        if getattr(x, "ndim", 0) < 2 or x.shape[0] not in (1, 2):
            raise ValueError(
                f"`{name}` items must be channel-first with 1 channel (or 2: background, foreground), "
                f"got shape {tuple(getattr(x, 'shape', ()))}."
            )
    affine = None
    meta = getattr(label, "meta", None)
    if spacing is None and meta is not None and hasattr(label, "pixdim"):
        spacing = [float(v) for v in label.pixdim][: label.ndim - 1]
    if meta is not None and hasattr(label, "affine") and label.affine.shape[-1] == label.ndim:
        affine = label.affine
    return case_lesion_records(
        pred[pred.shape[0] - 1],
        label[label.shape[0] - 1],
        matchings,
        confidence=None if confidence is None else confidence[confidence.shape[0] - 1],
        spacing=spacing,
        threshold=threshold,
        connectivity=connectivity,
        sigmoid=sigmoid,
        lesion_labels=lesion_labels,
        affine=affine,
        case_id=case_id,
    )
