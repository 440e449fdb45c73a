"""Seeded synthetic 3D multi-lesion volumes with the lesion statistics of the papers' datasets.

Real datasets (LUNA16, LiTS, BraTS metastases, ACDC) cannot be downloaded here, so the package ships a
generator of realistic stand-ins: irregular lesions whose diameters span more than an order of magnitude,
contrast, noise, partial-volume blur, a bias field, lesion-like distractors and anisotropic voxels.
:func:`make_case` also builds the presets of the second, CT-like design (:mod:`monai_imbalance.data.ct_like`,
e.g. ``"ct_metastases"``), so one function and one preset name choose any built-in dataset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from monai_imbalance.data.ct_like import CT_PRESETS, CTLikePreset, make_ct_like_case

__all__ = ["PRESETS", "PRESET_NAMES", "LesionPreset", "make_case"]


@dataclass(frozen=True)
class LesionPreset:
    """Statistics of one synthetic dataset.

    Attributes:
        name: preset name.
        mean_lesions: mean number of lesions per case (Poisson, at least ``min_lesions``); paper 1 reports
            ≈ 1.3 nodules per LUNA16 case, ≈ 4.8 brain metastases and ≈ 6.9 LiTS tumours.
        min_lesions: fewest lesions in a case.
        diameter_mm: ``(smallest, largest)`` lesion diameter in mm, sampled log-uniformly.
        lesion_fraction: ``(low, high)`` fraction of the volume that lesions occupy (paper 1: 0.1–1 %).
        contrast: lesion intensity above the organ, in units of the noise standard deviation.
        distractors: mean number of lesion-like bright blobs that are not lesions (invite false positives).
        spacing: voxel spacing in mm (anisotropic, slice axis last).
        organ_classes: for multi-class presets, the number of extra structures (organ + third structure);
            0 for binary lesion presets.
    """

    name: str
    mean_lesions: float
    min_lesions: int = 1
    diameter_mm: tuple[float, float] = (2.0, 40.0)
    lesion_fraction: tuple[float, float] = (0.001, 0.01)
    contrast: float = 2.5
    distractors: float = 2.0
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.5)
    organ_classes: int = 0
    notes: str = field(default="", compare=False)


PRESETS: dict[str, LesionPreset] = {
    "luna16": LesionPreset("luna16", mean_lesions=1.3, diameter_mm=(3.0, 30.0), spacing=(0.8, 0.8, 1.5),
                           notes="lung nodules: ≈1.3 per case"),
    "metastases": LesionPreset("metastases", mean_lesions=4.8, diameter_mm=(1.5, 40.0), spacing=(1.0, 1.0, 1.0),
                               notes="brain metastases: ≈4.8 per case, many tiny ones"),
    "lits": LesionPreset("lits", mean_lesions=6.9, diameter_mm=(3.0, 75.0), spacing=(0.8, 0.8, 2.5),
                         notes="liver tumours: ≈6.9 per case, strongly anisotropic voxels"),
    "multiclass": LesionPreset("multiclass", mean_lesions=2.0, diameter_mm=(6.0, 30.0), lesion_fraction=(0.005, 0.03),
                               spacing=(1.0, 1.0, 2.0), organ_classes=2,
                               notes="organ (1) + tumour (2) inside it + a third structure (3)"),
}  # fmt: skip

#: Every preset name :func:`make_case` and :func:`~monai_imbalance.data.make_dataset` accept: the lesion presets
#: above and the CT-like ones of :data:`monai_imbalance.data.ct_like.CT_PRESETS`.
PRESET_NAMES: tuple[str, ...] = tuple(sorted([*PRESETS, *CT_PRESETS]))


def _blob(shape: tuple[int, ...], center: np.ndarray, radii_vox: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An irregular blob: an ellipsoid whose radius is modulated by smooth angular noise."""
    lo = np.maximum(np.floor(center - 1.6 * radii_vox).astype(int), 0)
    hi = np.minimum(np.ceil(center + 1.6 * radii_vox).astype(int) + 1, np.array(shape))
    mask = np.zeros(shape, dtype=bool)
    if np.any(hi <= lo):
        return mask
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
    rel = [(g - c) / r for g, c, r in zip(grids, center, radii_vox, strict=True)]
    rho = np.sqrt(sum(x * x for x in rel))
    # smooth irregularity: a few random low-order harmonics of the direction
    unit = [x / np.maximum(rho, 1e-6) for x in rel]
    bump = np.zeros_like(rho)
    for _ in range(3):
        w = rng.normal(size=3)
        bump += 0.12 * np.cos(2.0 * sum(wi * ui for wi, ui in zip(w, unit, strict=True)) + rng.uniform(0, 2 * np.pi))
    mask[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = rho <= 1.0 + bump
    mask[tuple(np.clip(np.round(center).astype(int), 0, np.array(shape) - 1))] = True  # never empty
    return mask


def _sample_diameters(preset: LesionPreset, n: int, volume_mm3: float, rng: np.random.Generator) -> np.ndarray:
    lo, hi = preset.diameter_mm
    d = np.exp(rng.uniform(math.log(lo), math.log(hi), size=n))
    # keep the total lesion volume inside the preset's fraction by shrinking / growing all lesions together
    target = rng.uniform(*preset.lesion_fraction) * volume_mm3
    total = float(np.sum(np.pi / 6 * d**3))
    if total > 0:
        d = d * (target / total) ** (1 / 3)
    return np.clip(d, min(lo, 1.0), None)


def make_case(
    shape: tuple[int, int, int] = (64, 64, 48),
    preset: str | LesionPreset | CTLikePreset = "metastases",
    seed: int | Sequence[int] | None = None,
    noise: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """Generate one synthetic case: image, label and voxel spacing.

    The image is a smooth organ on a dark background with lesions brighter by ``preset.contrast`` noise
    standard deviations, then a multiplicative bias field, partial-volume blur and Gaussian noise; a few
    bright distractor blobs that are not lesions invite false positives. Binary presets label lesions 1;
    the ``multiclass`` preset labels the organ 1, tumours 2 (inside the organ) and a third structure 3.
    A CT-like preset (``"ct_metastases"``) is made by :func:`~monai_imbalance.data.ct_like.make_ct_like_case`
    (Hounsfield-like intensities, faint lesions, unlabelled vessels and blobs; binary label).

    Args:
        shape: spatial shape ``(X, Y, Z)`` in voxels.
        preset: a name of :data:`PRESET_NAMES`, a :class:`LesionPreset` or a
            :class:`~monai_imbalance.data.ct_like.CTLikePreset`.
        seed: seed of the case, an int or a sequence of ints (the same seed gives the same case).
        noise: noise standard deviation (intensities are in units of it); for a CT-like preset, a factor on
            its ``noise_hu``.

    Returns:
        ``(image, label, spacing)``: ``float32`` image and ``uint8`` label of ``shape``, spacing in mm.

    Raises:
        KeyError: for an unknown preset name.
        ValueError: for a shape that is not three positive sizes of at least 8 voxels.

    Example:
        >>> image, label, spacing = make_case((32, 32, 24), "metastases", seed=0)
        >>> image.shape, image.dtype, label.dtype, spacing
        ((32, 32, 24), dtype('float32'), dtype('uint8'), (1.0, 1.0, 1.0))
        >>> bool(label.any())
        True
        >>> make_case((32, 32, 24), "ct_metastases", seed=0)[2]  # anisotropic CT-like voxels
        (0.9, 0.9, 2.0)
    """
    if isinstance(preset, CTLikePreset) or (isinstance(preset, str) and preset in CT_PRESETS):
        case = make_ct_like_case(shape, preset, seed=seed, noise=noise)
        return case.image, case.label, case.spacing
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise KeyError(f"`preset` must be one of {list(PRESET_NAMES)}, got {preset!r}.")
        preset = PRESETS[preset]
    if len(shape) != 3 or any(int(s) < 8 for s in shape):
        raise ValueError(f"`shape` must be three sizes of at least 8 voxels, got {tuple(shape)}.")
    shape = (int(shape[0]), int(shape[1]), int(shape[2]))
    rng = np.random.default_rng(seed)
    spacing = preset.spacing
    sp = np.asarray(spacing, dtype=float)
    dims = np.asarray(shape, dtype=float)
    label = np.zeros(shape, dtype=np.uint8)

    # the organ: a large irregular ellipsoid holding the lesions
    organ_center = dims / 2 + rng.normal(scale=dims / 20)
    organ = _blob(shape, organ_center, dims * rng.uniform(0.33, 0.42, size=3), rng)
    image = np.where(organ, 2.0, 0.0)
    inside = np.argwhere(ndimage.binary_erosion(organ, iterations=2))
    if preset.organ_classes:
        label[organ] = 1
        third_center = np.array([dims[0] * 0.85, dims[1] * 0.2, dims[2] / 2])
        third = _blob(shape, third_center, dims * np.array([0.1, 0.12, 0.3]), rng) & ~organ
        label[third] = 3
        image[third] = 4.0
    lesion_value = 2 if preset.organ_classes else 1

    n = max(preset.min_lesions, int(rng.poisson(preset.mean_lesions)))
    organ_volume_mm3 = float(organ.sum() * sp.prod())
    for d_mm in _sample_diameters(
        preset, n, float(dims.prod() * sp.prod()) if not preset.organ_classes else organ_volume_mm3, rng
    ):
        center = inside[rng.integers(len(inside))] if len(inside) else dims / 2
        radii = (d_mm / 2) / sp * rng.uniform(0.75, 1.25, size=3)
        blob = _blob(shape, center.astype(float), np.maximum(radii, 0.5), rng)
        label[blob & (organ if preset.organ_classes else True)] = lesion_value
    lesion = label == lesion_value
    image[lesion] = 2.0 + preset.contrast * rng.uniform(0.8, 1.2)

    # distractors: bright blobs outside the lesions
    for _ in range(int(rng.poisson(preset.distractors))):
        center = inside[rng.integers(len(inside))] if len(inside) else dims / 2
        radii = np.full(3, rng.uniform(1.0, 3.0)) / sp
        blob = _blob(shape, center.astype(float), radii, rng) & ~lesion
        image[blob] = 2.0 + 0.7 * preset.contrast

    # bias field (smooth multiplicative), partial-volume blur, noise
    coords = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    bias = 1.0 + sum(rng.uniform(-0.15, 0.15) * c for c in coords)
    image = ndimage.gaussian_filter(image * bias, sigma=0.6 / sp)
    image = image + rng.normal(scale=noise, size=shape)
    return image.astype(np.float32), label, (float(sp[0]), float(sp[1]), float(sp[2]))
