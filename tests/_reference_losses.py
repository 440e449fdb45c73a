"""Slow references written from the formulas of docs/design.md (numpy float64, explicit loops)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage


def _np(x):
    return x.detach().cpu().double().numpy() if hasattr(x, "detach") else np.asarray(x, dtype=np.float64)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_bce(x, y, w=None):
    """mean_i -w_i (y_i log p_i + (1 - y_i) log(1 - p_i)), p = sigmoid(x); mean over all elements."""
    x, y = _np(x), _np(y)
    w = np.ones_like(x) if w is None else np.broadcast_to(_np(w), x.shape)
    total = 0.0
    for idx in np.ndindex(x.shape):
        p = sigmoid(x[idx])
        total += -w[idx] * (y[idx] * np.log(p) + (1 - y[idx]) * np.log(1 - p))
    return total / x.size


def ref_focal(x, y, w=None, gamma=2.0, alpha=None):
    """mean_i -w_i a_t (1 - p_t)^gamma log p_t with a_t = alpha (y = 1) / 1 - alpha (y = 0); hard labels."""
    x, y = _np(x), _np(y)
    w = np.ones_like(x) if w is None else np.broadcast_to(_np(w), x.shape)
    total = 0.0
    for idx in np.ndindex(x.shape):
        p = sigmoid(x[idx])
        pt = p if y[idx] == 1 else 1 - p
        at = 1.0 if alpha is None else (alpha if y[idx] == 1 else 1 - alpha)
        total += -w[idx] * at * (1 - pt) ** gamma * np.log(pt)
    return total / x.size


def _per_bc(p, y, w, fn):
    p, y = _np(p), _np(y)
    w = np.ones_like(p) if w is None else np.broadcast_to(_np(w), p.shape)
    b, c = p.shape[:2]
    out = np.zeros((b, c))
    for i, j in itertools.product(range(b), range(c)):
        out[i, j] = fn(p[i, j].ravel(), y[i, j].ravel(), w[i, j].ravel())
    return out


def ref_dice(p, y, w=None, squared=True, smooth_nr=1e-5, smooth_dr=1e-5):
    """Per sample and channel 1 - (2 sum w p y + s) / (sum w (p^k + y^k) + s), averaged."""
    k = 2 if squared else 1

    def f(p, y, w):
        num = sum(wi * pi * yi for pi, yi, wi in zip(p, y, w, strict=True)) * 2 + smooth_nr
        den = sum(wi * (pi**k + yi**k) for pi, yi, wi in zip(p, y, w, strict=True)) + smooth_dr
        return 1 - num / den

    return _per_bc(p, y, w, f).mean()


def ref_asl(p, y, w=None, beta=1.5, squared=False, smooth_nr=1e-5, smooth_dr=1e-5):
    """Per sample and channel 1 - ((1 + b^2) sum w p y + s) / (sum w (b^2 y^k + p^k) + s), averaged."""
    k = 2 if squared else 1
    b2 = beta**2

    def f(p, y, w):
        num = (1 + b2) * sum(wi * pi * yi for pi, yi, wi in zip(p, y, w, strict=True)) + smooth_nr
        den = sum(wi * (b2 * yi**k + pi**k) for pi, yi, wi in zip(p, y, w, strict=True)) + smooth_dr
        return 1 - num / den

    return _per_bc(p, y, w, f).mean()


def ref_wce(x, y, mode="probability", smooth_dr=1e-5):
    """mean -(w_c y log p + (1 - y) log(1 - p)), w_c = (n - sum q) / (sum q + s) per channel over the batch."""
    x, y = _np(x), _np(y)
    p = sigmoid(x)
    total = 0.0
    for c in range(x.shape[1]):
        q = p[:, c] if mode == "probability" else y[:, c]
        n = q.size
        wc = (n - q.sum()) / (q.sum() + smooth_dr)
        for idx in np.ndindex(x[:, c].shape):
            pc, yc = p[:, c][idx], y[:, c][idx]
            total += -(wc * yc * np.log(pc) + (1 - yc) * np.log(1 - pc))
    return total / x.size


def ref_rrw_map(label, num_classes, spacing=None):
    """RRW map (C, *spatial) of an index label (*spatial): -d_c/max d_c inside class c, 1 elsewhere."""
    label = np.asarray(label)
    z = np.ones((num_classes, *label.shape))
    for c in range(num_classes):
        m = label == c
        if not m.any():
            continue
        d = ndimage.distance_transform_edt(m, sampling=spacing)
        z[c][m] = -d[m] / d.max()
    return z


def ref_boundary_map(label, num_classes, spacing=None):
    """Kervadec's signed map per class: edt(~m)*(~m) - (edt(m) - 1)*m; zeros for an empty class."""
    label = np.asarray(label)
    z = np.zeros((num_classes, *label.shape))
    for c in range(num_classes):
        m = label == c
        if not m.any():
            continue
        out = ndimage.distance_transform_edt(~m, sampling=spacing) if (~m).any() else np.zeros(m.shape)
        z[c] = out * (~m) - (ndimage.distance_transform_edt(m, sampling=spacing) - 1) * m
    return z


def ref_inverse_weights(mask, connectivity=None):
    """w_v = N / ((K + 1) |L_j(v)|) for a binary spatial mask, components with full connectivity by default."""
    mask = np.asarray(mask) > 0.5
    structure = ndimage.generate_binary_structure(mask.ndim, mask.ndim if connectivity is None else connectivity)
    labels, k = ndimage.label(mask, structure=structure)
    n = mask.size
    w = np.empty(mask.shape)
    for j in range(k + 1):
        region = labels == j
        if region.any():
            w[region] = n / ((k + 1) * region.sum())
    return w
