"""Slow references for lesion-wise evaluation, written from the definitions (docs/evaluation.md, paper 1 §4.3).

Independent of the package: scipy.ndimage.label for the components, one boolean mask per lesion and per
prediction, Python loops over thresholds, a hand-written linear interpolation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

LUNA16_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def ref_components(mask, connectivity=None):
    structure = ndimage.generate_binary_structure(mask.ndim, mask.ndim if connectivity is None else connectivity)
    lab, n = ndimage.label(mask, structure=structure)
    return lab, n


def ref_lesion_records(
    label, prob, confidence=None, spacing=None, threshold=0.5, connectivity=None, hit_rule="overlap", hit_threshold=0.5
):
    """Return dict of lists: lesion_confidence, lesion_dice, lesion_volume, fp_confidence, fp_volume."""
    label, prob = np.asarray(label), np.asarray(prob)
    conf = prob if confidence is None else np.asarray(confidence)
    vox = 1.0 if spacing is None else float(np.prod(spacing))
    gl, ng = ref_components(label > 0.5, connectivity)
    pl, npred = ref_components(prob > threshold, connectivity)
    gmasks = [gl == i for i in range(1, ng + 1)]
    pmasks = [pl == j for j in range(1, npred + 1)]
    pconf = [float(conf[m].max()) for m in pmasks]
    hit_any_pred = [False] * npred
    les_conf, les_dice = [], []
    for g in gmasks:
        best = None
        for j, p in enumerate(pmasks):
            inter = float(np.logical_and(g, p).sum())
            if inter == 0:
                continue
            dice = 2 * inter / (g.sum() + p.sum())
            iou = inter / np.logical_or(g, p).sum()
            ok = {"overlap": True, "dice": dice >= hit_threshold, "iou": iou >= hit_threshold}[hit_rule]
            if not ok:
                continue
            hit_any_pred[j] = True
            if best is None or dice > best[0]:
                best = (dice, j)
        if best is None:
            les_conf.append(-math.inf)
            les_dice.append(0.0)
        else:
            les_conf.append(pconf[best[1]])
            les_dice.append(best[0])
    return {
        "lesion_confidence": les_conf,
        "lesion_dice": les_dice,
        "lesion_volume": [float(g.sum()) * vox for g in gmasks],
        "fp_confidence": [pconf[j] for j in range(npred) if not hit_any_pred[j]],
        "fp_volume": [float(pmasks[j].sum()) * vox for j in range(npred) if not hit_any_pred[j]],
    }


def ref_interp(x_points, xs, ys):
    """Linear interpolation over (xs, ys) (xs non-decreasing), the last y of a run of equal xs wins,
    held constant beyond both ends."""
    out = []
    for x in x_points:
        if x >= xs[-1]:
            out.append(ys[-1])
            continue
        if x < xs[0]:
            out.append(ys[0])
            continue
        k = max(i for i in range(len(xs)) if xs[i] <= x)
        x0, y0, x1, y1 = xs[k], ys[k], xs[k + 1], ys[k + 1]
        out.append(y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0))
    return out


def ref_luna16_average_recall(cases, rates=LUNA16_RATES, n_cases=None):
    """cases: list of (lesion_confidences, fp_confidences)."""
    les = [c for case in cases for c in case[0]]
    fps = [c for case in cases for c in case[1]]
    n = len(cases) if n_cases is None else n_cases
    thresholds = sorted({c for c in les + fps if c > -math.inf}, reverse=True)  # FP increasing
    xs, ys = [0.0], [0.0]
    for t in thresholds:
        xs.append(sum(f >= t for f in fps) / n)
        ys.append(sum(c >= t for c in les) / len(les))
    return float(np.mean(ref_interp(rates, xs, ys)))


def ref_shirokikh2020_average_recall(cases, rates=LUNA16_RATES):
    """cases: list of (lesion_confidences, fp_confidences, has_prediction); the authors' thresholds."""
    keep = [c for c in cases if len(c[0]) or c[2]]
    les = [c for case in keep for c in case[0]]
    fps = [c for case in keep for c in case[1]]
    finite = [c for c in les + fps if math.isfinite(c)]
    top = max(finite)
    thresholds = [-0.1 + i * 10.1 / 100 for i in range(101)] + [10 + i * (top - 9) / 99 for i in range(100)]
    xs, ys = [0.0], [0.0]
    for t in reversed(thresholds):
        xs.append(sum(f > t for f in fps) / len(keep))
        ys.append(sum(c >= t for c in les) / len(les))
    return float(np.mean(ref_interp(rates, xs, ys)))


def ref_one_to_one_records(label, prob, hit_rule="iou", hit_threshold=0.1, threshold=0.5):
    """One-to-one matching by exhaustive search: the pairs of maximal number of matches plus total overlap.

    Masks per lesion and per prediction (scipy.ndimage.label, full connectivity), the IoU (or Dice) of every
    pair, pairs below ``hit_threshold`` or without overlap not allowed, then every matching enumerated
    recursively (each lesion takes one free prediction or none). Returns lesion confidences (-inf missed),
    lesion Dice and false-positive confidences (every unmatched prediction).
    """
    label, prob = np.asarray(label), np.asarray(prob)
    gl, ng = ref_components(label > 0.5)
    pl, npred = ref_components(prob > threshold)
    gmasks = [gl == i for i in range(1, ng + 1)]
    pmasks = [pl == j for j in range(1, npred + 1)]
    pconf = [float(prob[m].max()) for m in pmasks]
    score = np.zeros((ng, npred))
    dice = np.zeros((ng, npred))
    for i, g in enumerate(gmasks):
        for j, p in enumerate(pmasks):
            inter = float(np.logical_and(g, p).sum())
            if inter == 0:
                continue
            d = 2 * inter / (g.sum() + p.sum())
            iou = inter / np.logical_or(g, p).sum()
            s = d if hit_rule == "dice" else iou
            dice[i, j] = d
            score[i, j] = s if (hit_rule == "overlap" or s >= hit_threshold) else 0.0

    best = (-1.0, ())

    def search(i, used, total, pairs):
        nonlocal best
        if i == ng:
            if total > best[0] + 1e-12:
                best = (total, pairs)
            return
        search(i + 1, used, total, pairs)
        for j in range(npred):
            if j not in used and score[i, j] > 0:
                search(i + 1, used | {j}, total + 1.0 + score[i, j], (*pairs, (i, j)))

    search(0, frozenset(), 0.0, ())
    les_conf, les_dice = [-math.inf] * ng, [0.0] * ng
    matched = set()
    for i, j in best[1]:
        les_conf[i], les_dice[i] = pconf[j], dice[i, j]
        matched.add(j)
    return {
        "lesion_confidence": les_conf,
        "lesion_dice": les_dice,
        "lesion_volume": [float(g.sum()) for g in gmasks],
        "fp_confidence": [pconf[j] for j in range(npred) if j not in matched],
        "fp_volume": [float(pmasks[j].sum()) for j in range(npred) if j not in matched],
        "n_merging": sum(int((np.array([np.logical_and(g, p).any() for g in gmasks])).sum() >= 2) for p in pmasks),
    }
