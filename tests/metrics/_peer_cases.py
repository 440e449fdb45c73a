"""Volumes and peer adapters for ``test_peer_agreement``: what picai_eval and panoptica count on a case.

Every adapter reduces a peer's output to :class:`Counts` (lesions, TP, FN, FP and, where the peer reports them,
the confidences of the detections and of the false positives), so a test compares one tuple with another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pytest
from scipy import ndimage

SHAPE = (64, 64, 48)
FULL_3D = np.ones((3, 3, 3), dtype=bool)  # picai_eval's ``label_structure``: 26-connectivity
PICAI_STRUCTURE_NOTE = "picai_eval labels y_true and y_det with a 3x3x3 structure (26-connectivity, 3D only)"


@dataclass(frozen=True)
class Counts:
    """One case's lesion-level counts; confidences sorted, ``None`` when the peer reports none."""

    n_lesions: int
    tp: int
    fn: int
    fp: int
    tp_confidence: tuple[float, ...] | None = None
    fp_confidence: tuple[float, ...] | None = None
    tp_overlap: tuple[tuple[float, float], ...] | None = field(default=None, compare=False)  # (confidence, overlap)

    @property
    def numbers(self) -> tuple[int, int, int, int]:
        return self.n_lesions, self.tp, self.fn, self.fp


def _sorted(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.sort(np.asarray(values, dtype=np.float64)))


def ours_counts(rec, hit_rule: str = "iou") -> Counts:
    """Counts of a :class:`~monai_imbalance.metrics.CaseRecords`; overlaps as IoU or Dice (from ``lesion_dice``)."""
    found = np.isfinite(rec.lesion_confidence)
    d = rec.lesion_dice[found]
    overlap = d if hit_rule == "dice" else d / (2.0 - d)
    return Counts(
        n_lesions=rec.n_lesions,
        tp=rec.n_detected,
        fn=rec.n_lesions - rec.n_detected,
        fp=int(rec.fp_confidence.size),
        tp_confidence=_sorted(rec.lesion_confidence[found]),
        fp_confidence=_sorted(rec.fp_confidence),
        tp_overlap=tuple(sorted(zip(rec.lesion_confidence[found].tolist(), overlap.tolist(), strict=True))),
    )


def detection_map(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """picai_eval's input built from ``prob``: every component of ``prob > threshold`` painted with its max.

    picai_eval's candidates are the 26-connected blobs of ``y_det != 0`` with confidence ``max(y_det)`` inside
    the blob, and it refuses a map with more distinct values than blobs (a softmax map). Painting the components
    of ``prob > threshold`` with their max gives it exactly our predicted components and confidences.
    """
    comp, n = ndimage.label(prob > threshold, structure=FULL_3D)
    peak = np.zeros(n + 1, dtype=np.float32)
    if n:
        peak[1:] = ndimage.maximum(prob, comp, index=np.arange(1, n + 1))
    return peak[comp]


def picai_counts(
    label: np.ndarray,
    prob: np.ndarray,
    *,
    overlap_func: str = "IoU",
    min_overlap: float = 0.1,
    allow_unmatched_candidates_with_minimal_overlap: bool = False,
    y_det: np.ndarray | None = None,
) -> Counts:
    """picai_eval ``evaluate_case`` on ``(detection_map(prob), label > 0.5)``, its ``y_list`` tallied.

    ``y_list`` holds ``(1, confidence, overlap)`` per detection (overlap ≥ ``min_overlap`` > 0 after its
    smoothing), ``(1, 0.0, 0.0)`` per missed lesion and ``(0, confidence, 0.0)`` per false positive.
    """
    evaluate_case = pytest.importorskip("picai_eval.eval").evaluate_case
    y_true = (np.asarray(label) > 0.5).astype(np.int32)
    det = detection_map(np.asarray(prob, dtype=np.float32)) if y_det is None else y_det
    y_list, *_ = evaluate_case(
        det,
        y_true,
        min_overlap=min_overlap,
        overlap_func=overlap_func,
        allow_unmatched_candidates_with_minimal_overlap=allow_unmatched_candidates_with_minimal_overlap,
    )
    tp = [c for is_lesion, c, overlap in y_list if is_lesion and overlap > 0]
    fn = [c for is_lesion, c, overlap in y_list if is_lesion and overlap == 0]
    fp = [c for is_lesion, c, _ in y_list if not is_lesion]
    pairs = tuple(sorted((float(c), float(o)) for is_lesion, c, o in y_list if is_lesion and o > 0))
    return Counts(len(tp) + len(fn), len(tp), len(fn), len(fp), _sorted(tp), _sorted(fp), pairs)


def panoptica_counts(
    label: np.ndarray,
    prob: np.ndarray,
    matcher: str = "bipartite",
    *,
    metric: str = "IOU",
    threshold: float = 0.1,
    threshold_probability: float = 0.5,
) -> Counts:
    """panoptica's ``Panoptica_Evaluator`` on the binary masks ``(prob > 0.5, label > 0.5)``.

    ``matcher``: ``"bipartite"`` (``MaxBipartiteMatching``: optimal one-to-one, largest total score),
    ``"greedy"`` (``NaiveThresholdMatching``: pairs taken by decreasing score, one-to-one), ``"many_to_one"``
    (``NaiveThresholdMatching(allow_many_to_one=True, strict_threshold=True)`` at ``threshold=0``: every
    prediction joins the reference it overlaps most, so split predictions merge into one instance). The
    decision metric is the matching metric at the same threshold (none for ``"many_to_one"``). panoptica's
    ``fp`` is ``n_pred_instances - tp`` counted *after* matching, merged predictions counting once.
    """
    pan = pytest.importorskip("panoptica")
    from panoptica.utils.citation_reminder import disable_citation_reminder

    disable_citation_reminder()
    m = getattr(pan.Metric, metric)
    if matcher == "bipartite":
        inst = pan.MaxBipartiteMatching(matching_metric=m, matching_threshold=threshold)
    elif matcher == "greedy":
        inst = pan.NaiveThresholdMatching(matching_metric=m, matching_threshold=threshold)
    elif matcher == "many_to_one":
        inst = pan.NaiveThresholdMatching(
            matching_metric=m, matching_threshold=threshold, allow_many_to_one=True, strict_threshold=True
        )
    else:
        raise ValueError(f"`matcher` must be 'bipartite', 'greedy' or 'many_to_one', got {matcher!r}.")
    evaluator = pan.Panoptica_Evaluator(
        expected_input=pan.InputType.SEMANTIC,
        instance_approximator=pan.ConnectedComponentsInstanceApproximator(),
        instance_matcher=inst,
        instance_metrics=[pan.Metric.IOU, pan.Metric.DSC],
        global_metrics=[pan.Metric.DSC],
        decision_metric=None if matcher == "many_to_one" else m,
        decision_threshold=None if matcher == "many_to_one" else threshold,
    )
    pred = (np.asarray(prob) > threshold_probability).astype(np.uint8)
    ref = (np.asarray(label) > 0.5).astype(np.uint8)
    r = evaluator.evaluate(pred, ref, verbose=False)["ungrouped"]
    return Counts(int(r.n_ref_instances), int(r.tp), int(r.fn), int(r.fp))


def _ellipsoid(shape: tuple[int, ...], center, radii) -> np.ndarray:
    """Boolean ellipsoid, evaluated inside its bounding box only."""
    center, radii = np.asarray(center, dtype=np.float64), np.asarray(radii, dtype=np.float64)
    lo = np.clip(np.floor(center - radii), 0, shape).astype(int)
    hi = np.clip(np.ceil(center + radii) + 1, 0, shape).astype(int)
    out = np.zeros(shape, dtype=bool)
    if np.any(hi <= lo):
        return out
    axes = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = (
        sum(((ax - c) / r) ** 2 for ax, c, r in zip(axes, center, radii, strict=True)) <= 1.0
    )
    return out


@lru_cache(maxsize=64)
def random_case(seed: int, shape: tuple[int, ...] = SHAPE, merge: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 3D case: 3–7 ellipsoid lesions (touching ones merge) and a prediction made of them.

    Each lesion is detected by a moved and rescaled copy (IoU anywhere in [0, 1], many near 0.1), missed, or
    split in two by a removed slab (two candidates on one lesion); with ``merge`` one blob may cover two lesions;
    0–3 false-positive blobs. ``prob`` is float32, in (0.5, 1] on the prediction with a per-voxel spread (the
    confidence is the max) and in [0, 0.5) elsewhere. Returns ``(label, prob)`` float32, read-only (cached).
    """
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, dtype=bool)
    pred = np.zeros(shape, dtype=bool)
    centers, sizes = [], []
    for _ in range(rng.integers(3, 8)):
        c = rng.uniform(4, np.asarray(shape) - 4)
        r = rng.uniform(1.0, 6.0, size=len(shape))
        label |= _ellipsoid(shape, c, r)
        centers.append(c)
        sizes.append(r)
        kind = rng.choice(["copy", "miss", "split"], p=[0.65, 0.15, 0.2])
        if kind == "copy":
            pred |= _ellipsoid(shape, c + rng.normal(0, 1.5, len(shape)), r * rng.uniform(0.5, 1.8, len(shape)))
        elif kind == "split":
            blob = _ellipsoid(shape, c, r * 1.2)
            axis = int(np.argmax(r))
            coord = np.arange(shape[axis]).reshape([-1 if a == axis else 1 for a in range(len(shape))])
            blob &= np.abs(coord - c[axis]) >= 1.0  # removes >= 1 full plane: two 26-components
            pred |= blob
    if merge and len(centers) >= 2 and rng.random() < 0.5:
        a, b = rng.choice(len(centers), size=2, replace=False)
        mid = (centers[a] + centers[b]) / 2
        pred |= _ellipsoid(shape, mid, np.abs(centers[a] - centers[b]) / 2 + np.maximum(sizes[a], sizes[b]))
    for _ in range(rng.integers(0, 4)):
        pred |= _ellipsoid(shape, rng.uniform(0, shape), rng.uniform(1.0, 4.0, size=len(shape)))
    prob = np.where(pred, 0.5 + 0.5 * rng.uniform(0.02, 1.0, shape), rng.uniform(0.0, 0.5, shape))
    label, prob = label.astype(np.float32), prob.astype(np.float32)
    label.flags.writeable = prob.flags.writeable = False
    return label, prob


def line_case(spec: str, confidences=None) -> tuple[np.ndarray, np.ndarray]:
    """A 3D case on one row of a ``(3, 3, len(spec) + 2)`` volume, one character per voxel.

    ``.`` background, ``g`` lesion only, ``p`` prediction only, ``b`` both. The predicted runs get
    ``confidences`` in order (default 0.9 each), so a test can tell which candidate was matched.
    """
    n = len(spec)
    label = np.zeros((3, 3, n + 2), dtype=np.float32)
    prob = np.zeros_like(label)
    row_lab, row_prob = label[1, 1, 1:-1], prob[1, 1, 1:-1]
    row_lab[[ch in "gb" for ch in spec]] = 1.0
    runs, _ = ndimage.label(np.array([ch in "pb" for ch in spec]))
    conf = np.asarray([0.9] * int(runs.max()) if confidences is None else confidences, dtype=np.float32)
    if conf.size != runs.max():
        raise ValueError(f"`confidences` needs one value per predicted run ({runs.max()}), got {conf.size}.")
    row_prob[runs > 0] = conf[runs[runs > 0] - 1]
    return label, prob
