"""Slow, obvious references for the distance transforms and region-wise maps (Valverde & Tohka).

Written from the formulas in docs/design.md, independently of the package: brute-force distances over all
voxel pairs, scipy's ``distance_transform_edt`` per class (the papers' recipe), explicit loops.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage


def _coords(shape, spacing):
    spacing = np.ones(len(shape)) if spacing is None else np.asarray(spacing, float)
    return np.array(list(itertools.product(*[range(n) for n in shape])), float) * spacing


def brute_force_label_distance(labels, spacing=None):
    """For every voxel, min over all voxels with another label of the Euclidean distance (inf if none)."""
    labels = np.asarray(labels)
    pts = _coords(labels.shape, spacing)
    flat = labels.reshape(-1)
    out = np.full(flat.size, np.inf)
    for i in range(flat.size):
        other = flat != flat[i]
        if other.any():
            out[i] = np.sqrt(((pts[other] - pts[i]) ** 2).sum(1)).min()
    return out.reshape(labels.shape)


def brute_force_distance(mask, spacing=None):
    """Binary EDT: distance to the nearest False voxel inside the mask, 0 outside, inf without any False."""
    mask = np.asarray(mask, bool)
    d = brute_force_label_distance(mask, spacing)
    return np.where(mask, d, 0.0)


def scipy_class_distance(mask, spacing=None):
    """scipy's EDT with the conventions of the package: inf when the mask has no False voxel."""
    if mask.all():
        return np.full(mask.shape, np.inf)
    return ndimage.distance_transform_edt(mask, sampling=spacing)


def rrw_reference(index, num_classes, spacing=None):
    """Eq. 4 per class with scipy: -d / max d inside, 1 outside; absent 1; a class filling the image -1."""
    out = np.ones((num_classes, *index.shape))
    for c in range(num_classes):
        m = index == c
        if not m.any():
            continue
        if m.all():
            out[c] = -1.0
            continue
        d = ndimage.distance_transform_edt(m, sampling=spacing)
        dmax = d.max()
        for i in zip(*np.nonzero(m), strict=True):
            out[(c, *i)] = -d[i] / dmax
    return out


def boundary_reference(index, num_classes, spacing=None):
    """Kervadec's map as docs/design.md writes it: edt(~m)*(~m) - (edt(m) - 1)*m; zeros without a boundary."""
    out = np.zeros((num_classes, *index.shape))
    for c in range(num_classes):
        m = index == c
        if m.any() and not m.all():
            neg = ~m
            out[c] = (
                ndimage.distance_transform_edt(neg, sampling=spacing) * neg
                - (ndimage.distance_transform_edt(m, sampling=spacing) - 1) * m
            )
    return out


def active_contour_reference(index, num_classes):
    out = np.ones((num_classes, *index.shape))
    for i in np.ndindex(index.shape):
        out[(int(index[i]), *i)] = 0.0
    return out


def rw_gradient(s, z):
    """Gradient of sum_c s_c z_c w.r.t. the logits (softmax s over axis 0): s_c (z_c - sum_j s_j z_j)."""
    return s * (z - (s * z).sum(0, keepdims=True))


def softmax(logits):
    e = np.exp(logits - logits.max(0, keepdims=True))
    return e / e.sum(0, keepdims=True)


def random_labels(rng, shape, num_classes, smooth=1.0):
    """Blobby random class-index volumes (several regions per class), via smoothed noise."""
    noise = ndimage.gaussian_filter(rng.random((num_classes, *shape)), sigma=(0, *[smooth] * len(shape)))
    return noise.argmax(0).astype(np.int64)


def reference_rw_gradient(logits, z):
    """dL/dx of the mean region-wise loss over (B, C, *spatial): rw_gradient per sample over N = B*C*spatial."""
    logits, z = np.asarray(logits, np.float64), np.asarray(z, np.float64)
    return np.stack([rw_gradient(softmax(x), zz) for x, zz in zip(logits, z, strict=True)]) / logits.size


def reference_counts(grad, num_classes):
    per_voxel = (grad < 0).sum(axis=1)
    return np.array([(per_voxel == m).sum() for m in range(num_classes + 1)])
