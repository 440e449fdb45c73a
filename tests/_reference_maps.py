"""Slow, obvious references for the weight maps, written from the papers' formulas, and test volumes."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def _lesions_and_background(label, connectivity=None, threshold=0.5):
    """The lesion masks (components of each foreground channel, scipy.ndimage.label) and the background mask."""
    label = np.asarray(label, dtype=np.float64)
    ndim = label.ndim - 1
    structure = ndimage.generate_binary_structure(ndim, ndim if connectivity is None else connectivity)
    foreground = [label[0] > threshold] if label.shape[0] == 1 else [label[c] > threshold for c in range(1, len(label))]
    lesions = []
    for mask in foreground:
        labels, k = ndimage.label(mask, structure=structure)
        lesions.extend(labels == j for j in range(1, k + 1))
    return lesions, ~np.any(foreground, axis=0)


def reference_inverse_weight_map(label, connectivity=None, threshold=0.5):
    """Paper 1, eq. 1: w = N / ((K + 1) |L_j|), one component at a time (scipy.ndimage.label + a loop).

    The background counts as a component, ``K + 1`` in every case: an all-lesion patch (empty background) of
    one lesion gives 0.5 everywhere, where the package's documented choice (docs/design.md, "Inverse weights")
    drops the empty background and gives 1 (tests/maps/test_inverse.py names that difference).
    ``label`` is (1, *spatial) binary/soft or (C, *spatial) one-hot; returns float64 (1, *spatial).
    """
    lesions, background = _lesions_and_background(label, connectivity, threshold)
    n, k = background.size, len(lesions)
    weights = np.zeros(background.shape)
    for comp in [*lesions, background]:
        if comp.any():
            weights[comp] = n / ((k + 1) * comp.sum())
    return weights[None]


def reference_components(label, connectivity=None, threshold=0.5):
    """List of boolean masks, one per component (background last when non-empty), as the reference uses."""
    lesions, background = _lesions_and_background(label, connectivity, threshold)
    return [*lesions, background] if background.any() else lesions


def random_lesion_mask(shape, num_lesions, rng, max_radius=None):
    """Boolean mask with ``num_lesions`` random balls and boxes (they may touch, overlap or hit the border)."""
    shape = tuple(shape)
    grid = np.indices(shape, dtype=np.float32)
    mask = np.zeros(shape, dtype=bool)
    max_radius = max_radius or max(1, min(shape) // 6)
    for _ in range(num_lesions):
        centre = [rng.integers(0, s) for s in shape]
        radius = rng.integers(0, max_radius + 1)
        if rng.random() < 0.5:
            dist2 = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))
            mask |= dist2 <= radius**2
        else:
            half = [rng.integers(0, radius + 1) for _ in shape]
            box = tuple(slice(max(0, c - h), c + h + 1) for c, h in zip(centre, half, strict=True))
            mask[box] = True
    return mask


def random_class_label(shape, num_classes, num_lesions, rng):
    """Class-index image (*spatial) int64: lesions of random classes 1..num_classes-1 painted in turn."""
    out = np.zeros(tuple(shape), dtype=np.int64)
    for _ in range(num_lesions):
        out[random_lesion_mask(shape, 1, rng)] = rng.integers(1, num_classes)
    return out


def one_hot(classes, num_classes):
    """(C, *spatial) float32 one-hot of a class-index image."""
    return (np.arange(num_classes).reshape(-1, *([1] * classes.ndim)) == classes[None]).astype(np.float32)
