from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, stats

from monai_imbalance.data import CT_PRESETS, PRESET_NAMES, make_case, make_dataset
from monai_imbalance.data.ct_like import make_ct_like_case, sample_lesion_diameters

SHAPE = (64, 64, 48)
PRESET = CT_PRESETS["ct_metastases"]
FULL = np.ones((3, 3, 3), dtype=bool)


def components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    return ndimage.label(mask, structure=FULL)


def equivalent_diameters_mm(mask: np.ndarray, spacing) -> np.ndarray:
    lab, n = components(mask)
    volumes = np.bincount(lab.ravel(), minlength=n + 1)[1:] * float(np.prod(spacing))
    return (6 * volumes / np.pi) ** (1 / 3)


@pytest.fixture(scope="module")
def cases():
    return [make_ct_like_case(SHAPE, seed=s) for s in range(24)]


def test_preset_is_listed_with_the_built_in_ones():
    assert "ct_metastases" in PRESET_NAMES
    assert {"metastases", "lits", "luna16", "multiclass"} <= set(PRESET_NAMES)


@pytest.mark.parametrize("seed", [0, 7, [3, 1, 2]], ids=["int-0", "int-7", "sequence"])
def test_same_seed_same_case(seed):
    a, b = make_ct_like_case((32, 32, 24), seed=seed), make_ct_like_case((32, 32, 24), seed=seed)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_differ():
    a, b = make_ct_like_case((32, 32, 24), seed=0), make_ct_like_case((32, 32, 24), seed=1)
    assert not np.array_equal(a.image, b.image)
    assert not np.array_equal(a.label, b.label)


def test_make_case_dispatches_on_the_preset_name():
    image, label, spacing = make_case((32, 32, 24), "ct_metastases", seed=5)
    case = make_ct_like_case((32, 32, 24), "ct_metastases", seed=5)
    np.testing.assert_array_equal(image, case.image)
    np.testing.assert_array_equal(label, case.label)
    assert spacing == case.spacing == (0.9, 0.9, 2.0)
    # a CTLikePreset object is accepted as well as its name
    np.testing.assert_array_equal(make_case((32, 32, 24), PRESET, seed=5)[1], label)


def test_shapes_dtypes_and_spacing(cases):
    for case in cases[:4]:
        assert case.image.shape == case.label.shape == case.organ.shape == SHAPE
        assert case.image.dtype == np.float32
        assert case.label.dtype == np.uint8
        assert set(np.unique(case.label)) <= {0, 1}
        assert case.spacing == PRESET.spacing == (0.9, 0.9, 2.0)
        assert np.isfinite(case.image).all()


def test_spacing_and_dtypes_read_back_with_monai(tmp_path):
    from monai.transforms import LoadImage

    path = make_dataset(
        tmp_path, preset="ct_metastases", num_training=1, num_validation=1, num_test=1, shape=(24, 24, 16), seed=2,
        progress=False,
    )  # fmt: skip
    assert path.is_file()
    loader = LoadImage(image_only=True, dtype=None)
    image = loader(str(tmp_path / "imagesTr" / "ct_metastases_001.nii.gz"))
    label = loader(str(tmp_path / "labelsTr" / "ct_metastases_001.nii.gz"))
    expected = make_case((24, 24, 16), "ct_metastases", seed=2 * 100_003 + 1)
    assert image.dtype == np.float32 or str(image.dtype) == "torch.float32"
    assert str(label.dtype) in ("uint8", "torch.uint8")
    np.testing.assert_array_equal(np.asarray(image), expected[0])
    np.testing.assert_array_equal(np.asarray(label), expected[1])
    np.testing.assert_allclose(image.pixdim.numpy(), (0.9, 0.9, 2.0), rtol=1e-6)
    np.testing.assert_allclose(label.affine.numpy()[:3, :3], np.diag((0.9, 0.9, 2.0)), rtol=1e-6)


def test_distractors_are_not_in_the_label(cases):
    for case in cases:
        lesion = case.label.astype(bool)
        assert not (lesion & case.vessels).any()
        assert not (lesion & case.blobs).any()
    # the distractors exist: tubes and blobs in most cases, blobs of lesion-like size
    assert sum(c.vessels.any() for c in cases) >= len(cases) // 2
    assert sum(c.blobs.any() for c in cases) >= len(cases) // 2
    blob_d = np.concatenate([equivalent_diameters_mm(c.blobs, c.spacing) for c in cases])
    assert np.median(blob_d) < 10.0
    # vessels are elongated: their bounding box is much longer than their volume-equivalent diameter
    elongated = 0
    for c in cases:
        lab, _ = components(c.vessels)
        for sl in ndimage.find_objects(lab):
            extent = max((s.stop - s.start) * sp for s, sp in zip(sl, c.spacing, strict=True))
            volume = (lab[sl] > 0).sum() * float(np.prod(c.spacing))
            elongated += extent > 2 * (6 * volume / np.pi) ** (1 / 3)
    assert elongated >= len(cases) // 2


def test_every_lesion_is_one_component_inside_the_organ(cases):
    for case in cases:
        _, n = components(case.label)
        assert n == len(case.lesion_diameters_mm) >= PRESET.min_lesions
        assert case.organ[case.label.astype(bool)].all()


def test_lesion_diameters_follow_a_truncated_log_normal():
    lo, hi = PRESET.diameter_range_mm
    d = sample_lesion_diameters(PRESET, 5000, np.random.default_rng(0))
    assert d.min() >= lo
    assert d.max() <= hi
    mu, sd = np.log(PRESET.diameter_median_mm), PRESET.diameter_log_sd
    a, b = (np.log(lo) - mu) / sd, (np.log(hi) - mu) / sd
    result = stats.kstest(np.log(d), stats.truncnorm(a, b, loc=mu, scale=sd).cdf)
    assert result.pvalue > 0.01


def test_lesion_sizes_in_the_labels_spread_like_metastases(cases):
    measured = [np.sort(equivalent_diameters_mm(c.label, c.spacing)) for c in cases]
    nominal = [np.sort(c.lesion_diameters_mm) for c in cases]
    all_measured = np.concatenate(measured)
    assert len(all_measured) == sum(map(len, nominal)) >= 80
    # many small lesions, few large ones, an order of magnitude between them
    assert np.mean(all_measured < 6.0) >= 0.5
    assert 0 < np.mean(all_measured > 12.0) <= 0.2
    assert all_measured.max() > 15.0
    assert np.percentile(all_measured, 95) / np.percentile(all_measured, 5) > 3.5
    # the label follows the nominal diameters (matched by rank within each case)
    assert stats.spearmanr(np.concatenate(nominal), all_measured).statistic > 0.9


def organ_background(case) -> np.ndarray:
    lesion = ndimage.binary_dilation(case.label.astype(bool), iterations=3)
    distractors = ndimage.binary_dilation(case.vessels | case.blobs, iterations=2)
    return ndimage.binary_erosion(case.organ, iterations=2) & ~lesion & ~distractors


def contrast_to_noise(image: np.ndarray, lesion: np.ndarray, organ: np.ndarray) -> float:
    """|mean(lesion) - mean(organ)| in units of the organ's standard deviation (texture, bias and noise)."""
    return float(abs(image[lesion].mean() - image[organ].mean()) / image[organ].std())


def test_lesions_are_faint_against_the_organ(cases):
    lo, hi = PRESET.lesion_contrast_hu
    cnr = []
    for case in cases:
        lesion = case.label.astype(bool)
        assert lo <= abs(case.lesion_contrast_hu) <= hi
        if lesion.sum() < 30:
            continue
        organ = organ_background(case)
        cnr.append(contrast_to_noise(case.image, lesion, organ))
        diff = case.image[lesion].mean() - case.image[organ].mean()
        assert np.sign(diff) == np.sign(case.lesion_contrast_hu)  # visible on average, on the right side
    assert len(cnr) >= 10
    # faint: below two standard deviations of the organ in every case ...
    assert max(cnr) < 2.0
    # ... and the contrast varies from case to case (drawn per case)
    assert max(cnr) - min(cnr) > 0.5
    # ... well below the built-in design's, measured the same way
    built_in = []
    for seed in range(6):
        image, label, _ = make_case(SHAPE, "metastases", seed=seed)
        organ = ndimage.binary_erosion(image > 1.0, iterations=2) & ~ndimage.binary_dilation(label == 1, iterations=3)
        built_in.append(contrast_to_noise(image, label == 1, organ))
    assert np.median(cnr) < 0.75 * np.median(built_in)


def test_intensities_are_hounsfield_like(cases):
    for case in cases[:6]:
        organ = organ_background(case)
        assert PRESET.organ_hu[0] - 15 < np.median(case.image[organ]) < PRESET.organ_hu[1] + 15
        assert np.percentile(case.image, 2) < -60  # fat


def test_a_case_takes_well_under_a_second():
    make_ct_like_case(SHAPE, seed=0)
    start = time.perf_counter()
    for s in range(3):
        make_ct_like_case(SHAPE, seed=s)
    assert (time.perf_counter() - start) / 3 < 0.8


@settings(max_examples=12, deadline=None)
@given(
    shape=st.tuples(st.integers(8, 24), st.integers(8, 24), st.integers(8, 16)),
    seed=st.integers(0, 2**31),
)
def test_any_small_case_is_valid(shape, seed):
    case = make_ct_like_case(shape, seed=seed)
    assert case.image.shape == shape
    assert set(np.unique(case.label)) <= {0, 1}
    assert not (case.label.astype(bool) & (case.vessels | case.blobs)).any()
    assert components(case.label)[1] == len(case.lesion_diameters_mm)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**31))
def test_sampled_diameters_stay_in_range(n, seed):
    d = sample_lesion_diameters("ct_metastases", n, np.random.default_rng(seed))
    assert d.shape == (n,)
    assert ((d >= 2.0) & (d <= 30.0)).all()


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: make_ct_like_case(preset="nope"), KeyError, r"`preset` must be one of \['ct_metastases'\]"),
        (lambda: make_case(preset="nope"), KeyError, "`preset` must be one of .*'ct_metastases'"),
        (lambda: make_ct_like_case((4, 32, 32)), ValueError, "at least 8 voxels"),
        (lambda: make_ct_like_case((32, 32)), ValueError, "three sizes"),
        (lambda: make_ct_like_case((16, 16, 8), noise=-1.0), ValueError, "`noise` must be >= 0"),
        (lambda: sample_lesion_diameters(PRESET, -1, np.random.default_rng(0)), ValueError, "`n` must be >= 0"),
    ],
    ids=["preset", "preset-make_case", "small", "2d", "noise", "n"],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
