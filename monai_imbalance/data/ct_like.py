r"""A second synthetic design: CT-like abdomen crops with faint metastases, organ context and distractors.

The built-in presets (:mod:`monai_imbalance.data.synthetic`) draw lesions a few noise standard deviations
above a flat organ. This generator is built differently, to report numbers on data that were never used to
choose settings:

* **Hounsfield-like intensities**: fat (−100 HU) and soft tissue (≈ 40 HU) around an organ (≈ 55–70 HU)
  with its own smooth texture; correlated (in-plane blurred) noise of ``noise_hu`` HU.
* **Anisotropic voxels**: ``0.9 × 0.9 × 2.0`` mm, slice axis last, written to the NIfTI affine.
* **Faint lesions in context**: lesions sit only inside the organ, hypodense (or, in some cases,
  hyperdense) by ``8–24`` HU, a contrast drawn per case: 0.7–2 noise standard deviations.
* **Metastasis-like size spread**: log-normal diameters (log-normal median 4.5 mm, log-sd 0.65, truncated
  to 2–30 mm): most lesions are 2–6 mm, a few are large.
* **Unlabelled distractors**: vessel-like tubes (bright when enhanced, dark like the lesions in other
  cases) and blobs of lesion-like size: dark cysts and bright spots in the organ, and soft-tissue nodes of
  lesion-like intensity outside it. None of them is in the label.
* **Irregular shapes** (ellipsoids thresholded with smooth noise), partial-volume blur, and a smooth
  bias field acting on the attenuation (``HU + 1000``).

Deterministic per seed (one :func:`numpy.random.default_rng` stream per case).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import ndimage

__all__ = ["CT_PRESETS", "CTLikeCase", "CTLikePreset", "make_ct_like_case", "sample_lesion_diameters"]

_AIR_HU = -1000.0  # the bias field multiplies the attenuation, proportional to HU + 1000
_FAT_HU = -100.0
_SOFT_TISSUE_HU = 40.0


@dataclass(frozen=True)
class CTLikePreset:
    """Parameters of a CT-like dataset (intensities in Hounsfield-like units, lengths in mm).

    Attributes:
        name: preset name.
        spacing: voxel spacing in mm, slice axis last.
        mean_lesions: mean number of lesions per case (Poisson, at least ``min_lesions``).
        min_lesions: fewest lesions in a case.
        diameter_median_mm: median lesion diameter (log-normal).
        diameter_log_sd: standard deviation of the natural log of the diameter.
        diameter_range_mm: ``(smallest, largest)`` diameter; the log-normal is truncated to it.
        lesion_contrast_hu: ``(low, high)`` absolute lesion − organ contrast, drawn once per case.
        hyperdense_fraction: probability that a case's lesions are brighter than the organ (else darker).
        organ_hu: ``(low, high)`` organ intensity, drawn per case.
        organ_texture_hu: standard deviation of the organ's smooth texture.
        noise_hu: standard deviation of the (correlated) image noise.
        mean_vessels: mean number of vessel-like tubes per case (Poisson).
        vessel_radius_mm: ``(low, high)`` tube radius.
        enhanced_fraction: probability that a case's vessels are enhanced (bright, +60–110 HU) rather than
            dark (−15–35 HU, like the lesions).
        mean_blobs: mean number of lesion-sized distractor blobs per case (Poisson).
        blob_diameter_mm: ``(low, high)`` blob diameter, log-uniform.
        bias: largest relative change of the attenuation by the smooth bias field.
        notes: description written to ``dataset.json``.
    """

    name: str
    spacing: tuple[float, float, float] = (0.9, 0.9, 2.0)
    mean_lesions: float = 5.0
    min_lesions: int = 1
    diameter_median_mm: float = 4.5
    diameter_log_sd: float = 0.65
    diameter_range_mm: tuple[float, float] = (2.0, 30.0)
    lesion_contrast_hu: tuple[float, float] = (8.0, 24.0)
    hyperdense_fraction: float = 0.2
    organ_hu: tuple[float, float] = (55.0, 70.0)
    organ_texture_hu: float = 6.0
    noise_hu: float = 12.0
    mean_vessels: float = 4.0
    vessel_radius_mm: tuple[float, float] = (1.0, 3.5)
    enhanced_fraction: float = 0.6
    mean_blobs: float = 5.0
    blob_diameter_mm: tuple[float, float] = (3.0, 10.0)
    bias: float = 0.015
    notes: str = field(default="", compare=False)


CT_PRESETS: dict[str, CTLikePreset] = {
    "ct_metastases": CTLikePreset(
        "ct_metastases",
        notes="CT-like abdomen crop: faint metastases (log-normal 2-30 mm) in an organ, vessels and blobs unlabelled",
    ),
}


class CTLikeCase(NamedTuple):
    """One generated case and the ground truth of how it was made.

    Attributes:
        image: ``float32`` image ``(X, Y, Z)`` in Hounsfield-like units.
        label: ``uint8`` lesion label ``(X, Y, Z)``: 1 lesion, 0 everything else.
        spacing: voxel spacing in mm.
        organ: ``bool`` organ mask (not in the label).
        vessels: ``bool`` mask of the vessel-like tubes (not in the label).
        blobs: ``bool`` mask of the distractor blobs (not in the label).
        lesion_diameters_mm: nominal diameter of each placed lesion, one per lesion in the label.
        lesion_contrast_hu: the case's lesion − organ contrast (negative: hypodense).
    """

    image: np.ndarray
    label: np.ndarray
    spacing: tuple[float, float, float]
    organ: np.ndarray
    vessels: np.ndarray
    blobs: np.ndarray
    lesion_diameters_mm: np.ndarray
    lesion_contrast_hu: float


def sample_lesion_diameters(preset: str | CTLikePreset, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw ``n`` lesion diameters (mm) from the preset's truncated log-normal.

    .. math:: \ln d \sim \mathcal{N}(\ln d_{50}, \sigma^2), \quad d_{\min} \le d \le d_{\max}

    (out-of-range draws are redrawn), so many lesions are a few mm and a few are large, as for metastases.

    Args:
        preset: a key of :data:`CT_PRESETS` or a :class:`CTLikePreset`.
        n: number of diameters.
        rng: random generator.

    Returns:
        ``float64`` array of shape ``(n,)``.

    Raises:
        KeyError: for an unknown preset name.
        ValueError: for a negative ``n``.

    Example:
        >>> d = sample_lesion_diameters("ct_metastases", 1000, np.random.default_rng(0))
        >>> bool(d.min() >= 2.0 and d.max() <= 30.0), round(float(np.median(d)), 1)
        (True, 4.8)
    """
    p = _resolve(preset)
    if n < 0:
        raise ValueError(f"`n` must be >= 0, got {n}.")
    lo, hi = p.diameter_range_mm
    out = np.empty(0)
    while out.size < n:
        d = np.exp(rng.normal(math.log(p.diameter_median_mm), p.diameter_log_sd, size=2 * (n - out.size) + 4))
        out = np.concatenate([out, d[(d >= lo) & (d <= hi)]])
    return out[:n]


def _resolve(preset: str | CTLikePreset) -> CTLikePreset:
    if isinstance(preset, CTLikePreset):
        return preset
    if preset not in CT_PRESETS:
        raise KeyError(f"`preset` must be one of {sorted(CT_PRESETS)}, got {preset!r}.")
    return CT_PRESETS[preset]


def _smooth_noise(
    shape: tuple[int, ...], sigma: float | Sequence[float] | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to zero mean and unit standard deviation."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=sigma, mode="reflect")
    return (n - n.mean()) / max(float(n.std()), 1e-12)


def _irregular_blob(
    shape: tuple[int, ...], center: np.ndarray, radii: np.ndarray, roughness: float, rng: np.random.Generator
) -> np.ndarray:
    """A connected irregular blob: an ellipsoid (radii in voxels) whose surface is moved by smooth noise."""
    lo = np.maximum(np.floor(center - 1.8 * radii).astype(int), 0)
    hi = np.minimum(np.ceil(center + 1.8 * radii).astype(int) + 1, np.asarray(shape))
    mask = np.zeros(shape, dtype=bool)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
    rho = np.sqrt(sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radii, strict=True)))
    bump = np.clip(_smooth_noise(rho.shape, np.maximum(radii / 2, 0.7), rng), -2.0, 2.0) if roughness else 0.0
    inside = rho <= 1.0 + roughness * bump
    seed_voxel = tuple(np.clip(np.round(center).astype(int) - lo, 0, hi - lo - 1))
    inside[seed_voxel] = True  # never empty
    parts, _ = ndimage.label(inside)
    mask[box] = parts == parts[seed_voxel]  # one piece: one lesion is one connected component
    return mask


def _vessels(
    shape: tuple[int, int, int], sp: np.ndarray, organ_dist: np.ndarray, p: CTLikePreset, rng: np.random.Generator
) -> np.ndarray:
    """Tubes along smooth random paths (1 mm steps) that start inside the organ, by one distance transform."""
    dims = np.asarray(shape)
    centre = np.zeros(shape, dtype=bool)
    radius = np.zeros(shape, dtype=float)
    starts = np.argwhere(organ_dist > 3.0)
    for _ in range(int(rng.poisson(p.mean_vessels))):
        if not len(starts):
            break
        pos = starts[rng.integers(len(starts))] * sp  # mm
        direction = rng.normal(size=3)
        r0 = rng.uniform(*p.vessel_radius_mm)
        length = int(rng.uniform(40.0, 120.0))
        for step in range(length):
            direction = direction / np.linalg.norm(direction) + rng.normal(scale=0.15, size=3)
            direction /= np.linalg.norm(direction)
            pos = pos + direction
            vox = np.round(pos / sp).astype(int)
            if np.any(vox < 0) or np.any(vox >= dims):
                break
            centre[tuple(vox)] = True
            radius[tuple(vox)] = max(r0 * (1.0 - 0.4 * step / length), 0.6)  # tapering
    if not centre.any():
        return np.zeros(shape, dtype=bool)
    dist, idx = ndimage.distance_transform_edt(~centre, sampling=sp, return_indices=True)
    return np.asarray(dist <= radius[tuple(idx)])


def make_ct_like_case(
    shape: tuple[int, int, int] = (64, 64, 48),
    preset: str | CTLikePreset = "ct_metastases",
    seed: int | Sequence[int] | None = None,
    noise: float = 1.0,
) -> CTLikeCase:
    """Generate one CT-like case with faint lesions in an organ, unlabelled distractors and its ground truth.

    The organ is a large irregular ellipsoid (it may leave the field of view) in fat and soft tissue; lesions
    are placed inside it, largest first, apart from each other so that every lesion is one connected
    component of the label; vessels and blobs avoid the lesions and are never labelled. The image is
    blurred (partial volume, 0.5 mm), multiplied on the attenuation by a smooth bias field and given
    correlated noise.

    Args:
        shape: spatial shape ``(X, Y, Z)`` in voxels (slice axis last), each at least 8.
        preset: a key of :data:`CT_PRESETS` or a :class:`CTLikePreset`.
        seed: seed of the case (an int or a sequence of ints; the same seed gives the same case).
        noise: factor on the preset's noise standard deviation ``noise_hu``.

    Returns:
        A :class:`CTLikeCase`: ``float32`` image and ``uint8`` label of ``shape``, spacing in mm, and the
        organ, vessel and blob masks, lesion diameters and contrast it was made with.

    Raises:
        KeyError: for an unknown preset name.
        ValueError: for a shape that is not three sizes of at least 8 voxels, or a negative ``noise``.

    Example:
        >>> case = make_ct_like_case((32, 32, 24), seed=0)
        >>> case.image.shape, case.image.dtype, case.label.dtype, case.spacing
        ((32, 32, 24), dtype('float32'), dtype('uint8'), (0.9, 0.9, 2.0))
        >>> len(case.lesion_diameters_mm), round(case.lesion_contrast_hu, 1)
        (5, -19.6)
        >>> bool((case.label.astype(bool) & (case.vessels | case.blobs)).any())  # distractors are unlabelled
        False
    """
    p = _resolve(preset)
    if len(shape) != 3 or any(int(s) < 8 for s in shape):
        raise ValueError(f"`shape` must be three sizes of at least 8 voxels, got {tuple(shape)}.")
    if noise < 0:
        raise ValueError(f"`noise` must be >= 0, got {noise}.")
    shape = (int(shape[0]), int(shape[1]), int(shape[2]))
    rng = np.random.default_rng(seed)
    sp = np.asarray(p.spacing, dtype=float)
    dims = np.asarray(shape, dtype=float)

    # body: fat and soft tissue, then the organ (a large irregular ellipsoid) with its own texture
    tissue = _smooth_noise(shape, 6.0 / sp, rng) > rng.uniform(-0.3, 0.5)
    image = np.where(tissue, _SOFT_TISSUE_HU, _FAT_HU) + 4.0 * _smooth_noise(shape, 2.0 / sp, rng)
    organ_center = dims * rng.uniform(0.4, 0.6, size=3)
    rho = np.sqrt(sum(((g - c) / r) ** 2 for g, c, r in zip(
        np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), organ_center,
        dims * rng.uniform(0.4, 0.55, size=3), strict=True)))  # fmt: skip
    organ = rho <= 1.0 + 0.12 * _smooth_noise(shape, dims / 6, rng)
    rim = ndimage.binary_dilation(organ, iterations=2) & ~organ  # a fat plane along part of the organ's surface
    image[rim & (_smooth_noise(shape, 4.0 / sp, rng) > 0.0)] = _FAT_HU
    organ_hu = rng.uniform(*p.organ_hu)
    image[organ] = organ_hu + p.organ_texture_hu * _smooth_noise(shape, 1.5 / sp, rng)[organ]
    organ_dist = ndimage.distance_transform_edt(organ, sampling=sp)  # mm to the organ's surface

    # lesions: log-normal diameters, placed in the organ largest first, at least their size apart
    contrast = rng.uniform(*p.lesion_contrast_hu) * (1.0 if rng.random() < p.hyperdense_fraction else -1.0)
    wanted = np.sort(sample_lesion_diameters(p, max(p.min_lesions, int(rng.poisson(p.mean_lesions))), rng))[::-1]
    label = np.zeros(shape, dtype=bool)
    placed: list[tuple[np.ndarray, float]] = []  # (centre in mm, diameter)
    lesion_delta = np.zeros(shape)
    candidates = np.argwhere(organ_dist > 1.0)
    for d_mm in wanted:
        for _ in range(50 if len(candidates) else 0):
            c = candidates[rng.integers(len(candidates))]
            if organ_dist[tuple(c)] < 0.4 * d_mm:
                continue
            if all(np.linalg.norm(c * sp - q) > 0.9 * (d_mm + e) + 3.0 for q, e in placed):
                break
        else:
            continue  # no room left for this lesion: it is dropped (and not reported)
        radii = np.maximum((d_mm / 2) / sp * rng.uniform(0.8, 1.2, size=3), 0.5)
        blob = _irregular_blob(shape, c.astype(float), radii, roughness=rng.uniform(0.1, 0.25), rng=rng) & organ
        label |= blob
        lesion_delta[blob] = contrast * rng.uniform(0.8, 1.2)
        placed.append((c * sp, float(d_mm)))
    near_lesion = ndimage.binary_dilation(label, iterations=2) if placed else label

    # distractors (never labelled): vessels, then cysts / bright spots in the organ and nodes outside it
    vessels = _vessels(shape, sp, organ_dist, p, rng) & ~near_lesion
    enhanced = rng.random() < p.enhanced_fraction
    image[vessels] = organ_hu + (rng.uniform(60.0, 110.0) if enhanced else -rng.uniform(15.0, 35.0))
    blobs = np.zeros(shape, dtype=bool)
    pools = (np.argwhere(organ_dist > 2.0), np.argwhere(~organ & tissue))
    for _ in range(int(rng.poisson(p.mean_blobs))):
        kind = int(rng.integers(3))  # 0 cyst, 1 bright spot (both in the organ), 2 node outside the organ
        pool = pools[kind // 2]
        if not len(pool):
            continue
        c = pool[rng.integers(len(pool))]
        d_mm = math.exp(rng.uniform(*np.log(p.blob_diameter_mm)))
        if any(np.linalg.norm(c * sp - q) < 0.9 * (d_mm + e) + 3.0 for q, e in placed):
            continue
        blob = _irregular_blob(shape, c.astype(float), np.maximum(d_mm / 2 / sp, 0.5), 0.05, rng) & ~near_lesion
        blobs |= blob
        value = (rng.uniform(0.0, 15.0), organ_hu + rng.uniform(40.0, 80.0), organ_hu + contrast)[kind]
        image[blob] = value
    image = image + lesion_delta

    # partial volume (0.5 mm blur), bias field on the attenuation, correlated noise
    image = ndimage.gaussian_filter(image, sigma=0.5 / sp)
    coords = np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij")
    field_ = sum(rng.uniform(-1, 1) * c for c in coords) + rng.uniform(-1, 1) * sum(c * c for c in coords)
    field_ = field_ / max(float(np.abs(field_).max()), 1e-12)  # in [-1, 1]
    image = (image - _AIR_HU) * (1.0 + p.bias * field_) + _AIR_HU
    image = image + noise * p.noise_hu * _smooth_noise(shape, (0.6, 0.6, 0.0), rng)
    return CTLikeCase(
        image=image.astype(np.float32),
        label=label.astype(np.uint8),
        spacing=(float(sp[0]), float(sp[1]), float(sp[2])),
        organ=organ,
        vessels=vessels,
        blobs=blobs & ~label,
        lesion_diameters_mm=np.asarray([e for _, e in placed]),
        lesion_contrast_hu=float(contrast),
    )
