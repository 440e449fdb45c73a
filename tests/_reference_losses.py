"""Slow references written from the formulas of docs/design.md (numpy float64, explicit loops)."""

from __future__ import annotations

import itertools

import numpy as np


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
