from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.data import MetaTensor, set_track_meta
from monai.transforms import Compose, MapTransform, RandCropByPosNegLabeld, Spacingd, SpatialCropd, Transform
from monai.utils import TransformBackends

from monai_imbalance.maps import inverse_weight_map
from monai_imbalance.maps.region_wise import active_contour_map, boundary_distance_map, rrw_map
from monai_imbalance.transforms import (
    ComputeBoundaryMap,
    ComputeBoundaryMapD,
    ComputeBoundaryMapd,
    ComputeBoundaryMapDict,
    ComputeInverseWeightMap,
    ComputeInverseWeightMapD,
    ComputeInverseWeightMapd,
    ComputeInverseWeightMapDict,
    ComputeInverseWeightsD,
    ComputeInverseWeightsd,
    ComputeInverseWeightsDict,
    ComputeRRWMap,
    ComputeRRWMapD,
    ComputeRRWMapd,
    ComputeRRWMapDict,
    resolve_spacing,
)
from tests._reference_maps import random_class_label, random_lesion_mask
from tests._reference_region_wise import rrw_reference

AFFINE = torch.tensor([[2.0, 0, 0, 10], [0, 1.0, 0, -5], [0, 0, 3.0, 7], [0, 0, 0, 1]], dtype=torch.float64)
SPACING = (2.0, 1.0, 3.0)


def binary_label(shape=(20, 18, 16), seed=0):
    return random_lesion_mask(shape, 8, np.random.default_rng(seed))[None].astype(np.float32)


def class_label(shape=(20, 18, 16), seed=0):
    return random_class_label(shape, 3, 10, np.random.default_rng(seed))[None].astype(np.float32)


def meta_label(label):
    return MetaTensor(torch.from_numpy(label), affine=AFFINE.clone(), meta={"filename_or_obj": "case_007.nii.gz"})


# (array transform, dict transform, default postfix, label maker, expected map from the functions)
TRANSFORMS = [
    pytest.param(
        ComputeInverseWeightMap(),
        ComputeInverseWeightMapd("label"),
        "_weight",
        binary_label,
        lambda x, sp: inverse_weight_map(x),
        id="inverse",
    ),
    pytest.param(
        ComputeRRWMap(num_classes=3),
        ComputeRRWMapd("label", num_classes=3),
        "_rrw",
        class_label,
        lambda x, sp: rrw_map(x, spacing=sp, num_classes=3),
        id="rrw",
    ),
    pytest.param(
        ComputeBoundaryMap(num_classes=3),
        ComputeBoundaryMapd("label", num_classes=3),
        "_boundary",
        class_label,
        lambda x, sp: boundary_distance_map(x, spacing=sp, num_classes=3),
        id="kervadec",
    ),
    pytest.param(
        ComputeBoundaryMap("active_contour", num_classes=3),
        ComputeBoundaryMapd("label", kind="active_contour", num_classes=3),
        "_boundary",
        class_label,
        lambda x, sp: active_contour_map(x, num_classes=3),
        id="active-contour",
    ),
]


@pytest.mark.parametrize(("array_t", "dict_t", "postfix", "make", "expected"), TRANSFORMS)
@pytest.mark.parametrize("kind", ["numpy", "tensor", "metatensor"])
def test_array_equals_dict_equals_function(array_t, dict_t, postfix, make, expected, kind):
    raw = make()
    label = {"numpy": raw, "tensor": torch.from_numpy(raw), "metatensor": meta_label(raw)}[kind]
    spacing = SPACING if kind == "metatensor" else None
    want = expected(raw, spacing)
    out_a = array_t(label)
    data = {"label": label, "image": torch.zeros(1)}
    out_d = dict_t(data)
    assert set(out_d) == {"label", "image", f"label{postfix}"}
    assert out_d["label"] is label  # untouched, not copied over
    assert set(data) == {"label", "image"}  # the input dict is not modified
    for out in (out_a, out_d[f"label{postfix}"]):
        if kind == "numpy":
            assert isinstance(out, np.ndarray)
            assert out.dtype == np.float32
        else:
            assert isinstance(out, MetaTensor)
            assert out.dtype == torch.float32
        np.testing.assert_array_equal(np.asarray(out), want)
    np.testing.assert_array_equal(np.asarray(label), raw)


@pytest.mark.parametrize(("array_t", "dict_t", "postfix", "make", "expected"), TRANSFORMS)
def test_metatensor_meta_and_affine_carried(array_t, dict_t, postfix, make, expected):
    label = meta_label(make())
    label.applied_operations.append({"class": "LoadImage"})
    out = dict_t({"label": label})[f"label{postfix}"]
    assert isinstance(out, MetaTensor)
    torch.testing.assert_close(out.affine, AFFINE)
    assert out.meta["filename_or_obj"] == "case_007.nii.gz"
    assert out.applied_operations == [{"class": "LoadImage"}]
    np.testing.assert_allclose(out.pixdim, SPACING)
    # a copy: changing the map's meta leaves the label's alone
    out.affine[0, 0] = 99.0
    out.meta["filename_or_obj"] = "other"
    out.applied_operations.append({"class": "X"})
    torch.testing.assert_close(label.affine, AFFINE)
    assert label.meta["filename_or_obj"] == "case_007.nii.gz"
    assert label.applied_operations == [{"class": "LoadImage"}]


def test_track_meta_off_gives_plain_tensor():
    label = meta_label(binary_label())
    set_track_meta(False)
    try:
        out = ComputeInverseWeightMap()(label)
    finally:
        set_track_meta(True)
    assert type(out) is torch.Tensor
    assert out.dtype == torch.float32


def test_conventions_and_aliases():
    for cls in (ComputeInverseWeightMap, ComputeRRWMap, ComputeBoundaryMap):
        assert issubclass(cls, Transform)
        assert set(cls.backend) == {TransformBackends.TORCH, TransformBackends.NUMPY}
    for cls in (ComputeInverseWeightMapd, ComputeRRWMapd, ComputeBoundaryMapd):
        assert issubclass(cls, MapTransform)
        assert set(cls.backend) == {TransformBackends.TORCH, TransformBackends.NUMPY}
    assert ComputeInverseWeightMapD is ComputeInverseWeightMapDict is ComputeInverseWeightMapd
    assert ComputeInverseWeightsd is ComputeInverseWeightsD is ComputeInverseWeightsDict is ComputeInverseWeightMapd
    assert ComputeRRWMapD is ComputeRRWMapDict is ComputeRRWMapd
    assert ComputeBoundaryMapD is ComputeBoundaryMapDict is ComputeBoundaryMapd


def test_inverse_settings_are_passed():
    label = binary_label()
    out = ComputeInverseWeightMapd("label", connectivity=1, threshold=0.3, min_weight=1, max_weight=50)(
        {"label": label}
    )
    want = inverse_weight_map(label, connectivity=1, threshold=0.3, min_weight=1, max_weight=50)
    np.testing.assert_array_equal(out["label_weight"], want)


def test_postfix_and_several_keys():
    a, b = binary_label(seed=1), binary_label(seed=2)
    out = ComputeInverseWeightMapd(["a", "b"], postfix="_w")({"a": a, "b": b})
    assert sorted(out) == ["a", "a_w", "b", "b_w"]
    np.testing.assert_array_equal(out["b_w"], inverse_weight_map(b))


# ---------------------------------------------------------------- spacing


def test_pixdim_spacing_changes_rrw_as_expected():
    classes = class_label()
    label = meta_label(classes)
    out = ComputeRRWMapd("label", num_classes=3)({"label": label})["label_rrw"]
    np.testing.assert_allclose(out.numpy(), rrw_reference(classes[0], 3, SPACING), atol=1e-5)
    unit = rrw_reference(classes[0], 3)
    assert np.abs(out.numpy() - unit).max() > 0.05  # the anisotropic affine matters
    # an explicit spacing overrides pixdim; spacing=1 gives the authors' unspaced map
    np.testing.assert_allclose(ComputeRRWMap(spacing=1, num_classes=3)(label).numpy(), unit, atol=1e-5)
    np.testing.assert_allclose(ComputeRRWMap(num_classes=3)(label, spacing=1).numpy(), unit, atol=1e-5)
    np.testing.assert_allclose(ComputeRRWMap(num_classes=3)(classes).astype(np.float64), unit, atol=1e-5)


def test_pixdim_spacing_for_kervadec():
    label = meta_label(class_label())
    out = ComputeBoundaryMap(num_classes=3)(label)
    np.testing.assert_array_equal(out.numpy(), boundary_distance_map(class_label(), SPACING, num_classes=3))


def test_resolve_spacing():
    assert resolve_spacing(meta_label(class_label())) == SPACING
    assert resolve_spacing(meta_label(class_label()), (1, 1, 1)) == (1.0, 1.0, 1.0)
    assert resolve_spacing(np.zeros((1, 4, 4))) is None
    assert resolve_spacing(torch.zeros(1, 4, 4), 2) == (2.0, 2.0)
    # a 2D MetaTensor keeps the in-plane spacing of its affine
    assert resolve_spacing(MetaTensor(torch.zeros(1, 4, 4), affine=AFFINE.clone())) == (2.0, 1.0)
    with pytest.raises(ValueError, match="`spacing` must have one value per spatial dimension"):
        resolve_spacing(np.zeros((1, 4, 4)), (1, 2, 3))


# ---------------------------------------------------------------- composition with crops


def coordinate_image(shape):
    """An image whose voxels hold their own flat index: a crop of it says where the patch came from."""
    return MetaTensor(torch.arange(int(np.prod(shape)), dtype=torch.float64).reshape(1, *shape), affine=AFFINE.clone())


def test_compose_rand_crop_rrw_before_inverse_after():
    shape, patch = (24, 22, 20), (10, 12, 8)
    raw = binary_label(shape, seed=3)  # lesion (1) vs background (0): RRW with 2 classes
    label = meta_label(raw)
    whole_rrw = rrw_map(raw, spacing=SPACING, num_classes=2)
    pipeline = Compose(
        [
            ComputeRRWMapd("label", num_classes=2),
            RandCropByPosNegLabeld(["image", "label", "label_rrw"], "label", patch, num_samples=4),
            ComputeInverseWeightMapd("label"),
        ]
    )
    pipeline.set_random_state(seed=0)
    samples = pipeline({"image": coordinate_image(shape), "label": label})
    assert len(samples) == 4
    for s in samples:
        index = s["image"][0].numpy().astype(np.int64)
        assert s["label_rrw"].shape == (2, *patch)
        # RRW: the whole-image map at the patch's voxels (not the map of the patch)
        np.testing.assert_array_equal(s["label_rrw"].numpy(), whole_rrw.reshape(2, -1)[:, index])
        # ... and at the crop recorded in the applied operations
        crop = s["label_rrw"].applied_operations[-1]["extra_info"]["extra_info"]["cropped"]
        box = tuple(slice(lo, lo + p) for lo, p in zip(crop[::2], patch, strict=True))
        np.testing.assert_array_equal(s["label_rrw"].numpy(), whole_rrw[(slice(None), *box)])
        torch.testing.assert_close(s["label_rrw"].affine, s["label"].affine)
        # inverse weights: computed on the patch, summing to the patch voxel count
        weight = s["label_weight"]
        assert isinstance(weight, MetaTensor)
        assert weight.shape == (1, *patch)
        np.testing.assert_array_equal(weight.numpy(), inverse_weight_map(s["label"].numpy()))
        assert float(weight.double().sum()) == pytest.approx(np.prod(patch), rel=1e-5)
        torch.testing.assert_close(weight.affine, s["label"].affine)
    # the whole-image map differs from a map of the patch (so the order of the pipeline is what is tested)
    assert any(not np.allclose(rrw_map(s["label"].numpy(), SPACING, 2), s["label_rrw"].numpy()) for s in samples)


def _resample_crop_pipeline(lazy, overrides=None):
    return Compose(
        [
            Spacingd(["image", "label"], pixdim=(1.25, 1.25, 1.25), mode=("bilinear", "nearest")),
            ComputeRRWMapd("label", num_classes=2),
            RandCropByPosNegLabeld(["image", "label", "label_rrw"], "label", (12, 10, 8), pos=1, neg=1, num_samples=2),
            ComputeInverseWeightMapd("label"),
        ],
        lazy=lazy,
        overrides=overrides,
    )


def test_lazy_compose_with_nearest_override_equals_eager():
    shape = (24, 22, 20)
    affine = torch.diag(torch.tensor([1.0, 1.0, 2.5, 1.0], dtype=torch.float64))

    def data():
        raw = torch.from_numpy(binary_label(shape, seed=5)).float()
        return {
            "image": MetaTensor(torch.randn(1, *shape, generator=torch.Generator().manual_seed(0)), affine=affine),
            "label": MetaTensor(raw, affine=affine),
        }

    eager = _resample_crop_pipeline(lazy=False)
    lazy = _resample_crop_pipeline(lazy=True, overrides={"label": {"mode": "nearest"}})
    eager.set_random_state(seed=1)
    lazy.set_random_state(seed=1)
    for a, b in zip(eager(data()), lazy(data()), strict=True):
        for key in ("label", "label_rrw", "label_weight"):
            torch.testing.assert_close(b[key].as_tensor(), a[key].as_tensor())
        torch.testing.assert_close(b["label_rrw"].pixdim, a["label"].pixdim)
    # without the override MONAI interpolates the pending label bilinearly: the transform refuses it, loudly
    with pytest.raises(RuntimeError, match="ComputeRRWMapd") as info:
        _resample_crop_pipeline(lazy=True)(data())
    assert "integer class indices" in str(info.value.__cause__)


def test_compose_spatial_crop_deterministic():
    shape = (24, 22, 20)
    raw = binary_label(shape, seed=4)
    roi = {"roi_start": (3, 5, 2), "roi_end": (19, 17, 14)}
    box = tuple(slice(a, b) for a, b in zip(roi["roi_start"], roi["roi_end"], strict=True))
    whole = rrw_map(raw, spacing=SPACING, num_classes=2)
    out = Compose(
        [
            ComputeRRWMapd("label", num_classes=2),
            ComputeBoundaryMapd("label", kind="kervadec", num_classes=2),
            SpatialCropd(["label", "label_rrw", "label_boundary"], **roi),
            ComputeInverseWeightMapd("label", min_weight=1, max_weight=2e5),
        ]
    )({"label": meta_label(raw)})
    np.testing.assert_array_equal(out["label_rrw"].numpy(), whole[(slice(None), *box)])
    want_boundary = boundary_distance_map(raw, spacing=SPACING, num_classes=2)[(slice(None), *box)]
    np.testing.assert_array_equal(out["label_boundary"].numpy(), want_boundary)
    want_weight = inverse_weight_map(raw[(slice(None), *box)], min_weight=1, max_weight=2e5)
    np.testing.assert_array_equal(out["label_weight"].numpy(), want_weight)


def test_list_input_from_multi_sample_crop_per_patch_sums():
    shape, patch = (30, 30), (12, 12)
    raw = binary_label(shape, seed=5)
    samples = RandCropByPosNegLabeld(["label"], "label", patch, num_samples=3)({"label": meta_label2d(raw)})
    out = [ComputeInverseWeightsd("label")(s) for s in samples]
    for s in out:
        assert float(s["label_weight"].sum()) == pytest.approx(np.prod(patch), rel=1e-5)


def meta_label2d(raw):
    return MetaTensor(torch.from_numpy(raw), affine=torch.diag(torch.tensor([0.5, 0.7, 1.0, 1.0], dtype=torch.float64)))


# ---------------------------------------------------------------- GPU


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("array_t", "dict_t", "postfix", "make", "expected"), TRANSFORMS)
def test_cuda_metatensor(array_t, dict_t, postfix, make, expected):
    raw = make()
    label = meta_label(raw).cuda()
    out = dict_t({"label": label})[f"label{postfix}"]
    assert isinstance(out, MetaTensor)
    assert out.device == label.device
    np.testing.assert_allclose(out.cpu().numpy(), expected(raw, SPACING), rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- errors


def test_missing_key():
    with pytest.raises(KeyError, match=r"'seg' is not in the data of ComputeInverseWeightMapd; keys present: \['image"):
        ComputeInverseWeightMapd("seg")({"image": np.zeros((1, 2)), "label": np.zeros((1, 2))})
    with pytest.raises(KeyError, match="'seg' is not in the data of ComputeRRWMapd"):
        ComputeRRWMapd(["label", "seg"])({"label": np.zeros((1, 2))})
    out = ComputeRRWMapd(["label", "seg"], allow_missing_keys=True)({"label": np.zeros((1, 2))})
    assert sorted(out) == ["label", "label_rrw"]


@pytest.mark.parametrize(
    ("factory", "error", "match"),
    [
        pytest.param(
            lambda: ComputeInverseWeightMapd("l", postfix=""), ValueError, "`postfix` must be a non-empty", id="pf"
        ),
        pytest.param(
            lambda: ComputeInverseWeightMap(connectivity=0), ValueError, "`connectivity` must be None", id="c0"
        ),
        pytest.param(
            lambda: ComputeInverseWeightMap(connectivity="full"), TypeError, "`connectivity` must be", id="ct"
        ),
        pytest.param(
            lambda: ComputeInverseWeightMap(threshold=2), ValueError, r"`threshold` must be in \[0, 1\)", id="t"
        ),
        pytest.param(
            lambda: ComputeInverseWeightMap(min_weight=5, max_weight=1), ValueError, "must not exceed", id="mm"
        ),
        pytest.param(lambda: ComputeRRWMap(spacing=-1), ValueError, "`spacing` must hold finite positive", id="sp"),
        pytest.param(lambda: ComputeRRWMap(spacing="1"), TypeError, "`spacing` must be a number or a", id="spt"),
        pytest.param(lambda: ComputeRRWMap(num_classes=0), ValueError, "`num_classes` must be a positive int", id="nc"),
        pytest.param(lambda: ComputeBoundaryMap(num_classes=2.0), TypeError, "`num_classes` must be None", id="nct"),
        pytest.param(lambda: ComputeBoundaryMap(kind="kervadek"), ValueError, "kervadec", id="kind"),
    ],
)
def test_setting_errors(factory, error, match):
    with pytest.raises(error, match=match):
        factory()


def test_data_errors():
    with pytest.raises(ValueError, match=r"`connectivity` .* \[1, 2\]"):
        ComputeInverseWeightMap(connectivity=3)(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="`label` must hold finite values"):
        ComputeInverseWeightMapd("label")({"label": np.full((1, 3, 3), np.nan)})
    with pytest.raises(ValueError, match="`spacing` must have one value per spatial dimension"):
        ComputeRRWMap(spacing=(1, 2))(np.zeros((1, 4, 4, 4)))


def test_active_contour_warns_on_spacing():
    with pytest.warns(UserWarning, match="`spacing` is ignored with kind='active_contour'"):
        ComputeBoundaryMap("active_contour", spacing=2)
