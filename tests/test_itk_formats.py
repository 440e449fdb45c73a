"""The formats real data comes in through ITK: MetaImage (.mhd + .raw, LUNA16's format) and NRRD.

The package declares ``itk`` for MONAI's ``ITKReader``; these tests check that both readers of the package — the
bundles' ``CheckedLoadImaged`` and the evaluation command's ``read_image`` — give the array and spacing that were
written, and that a cohort stored as MetaImage is scored exactly as the same cohort stored as NIfTI.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

SPACING = (0.9, 0.8, 2.0)  # x, y, z in mm


def _itk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ITK's SWIG modules warn on their first load
        import itk

        itk.Image  # noqa: B018 - force the lazy load inside the filter
    return itk


def _write_itk(array: np.ndarray, path: Path) -> None:
    """Write an (x, y, z) array with SPACING; ITK's numpy view is (z, y, x)."""
    itk = _itk()
    image = itk.image_from_array(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing([float(s) for s in SPACING])
    itk.imwrite(image, str(path))


def _write_nifti(array: np.ndarray, path: Path) -> None:
    # the RAS affine MONAI's ITKReader gives an ITK image of identity direction and zero origin (LPS -> RAS)
    nib.save(nib.Nifti1Image(array, np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])), path)


def _case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = np.zeros((20, 18, 12), np.uint8)
    label[2:6, 3:7, 2:5] = 1
    label[12:14, 10:12, 7:8] = 1
    label[15:19, 2:5, 8:11] = 1
    prob = np.clip(label * rng.uniform(0.55, 1.0, label.shape) + rng.uniform(0, 0.3, label.shape), 0, 1)
    prob[15:19, 2:5, 8:11] *= 0.4  # a missed lesion
    prob[8:10, 14:16, 1:3] = 0.8  # a false positive
    return label, prob.astype(np.float32)


@pytest.mark.parametrize("suffix", [".mhd", ".nrrd"])
def test_bundle_loader_reads_itk_formats(tmp_path, suffix):
    from monai_imbalance.transforms import CheckedLoadImaged

    label, _ = _case(0)
    path = tmp_path / f"case{suffix}"
    _write_itk(label, path)
    if suffix == ".mhd":
        assert path.with_suffix(".raw").is_file() or path.with_suffix(".zraw").is_file()
    out = CheckedLoadImaged(keys="label", image_only=True)({"label": str(path)})["label"]
    np.testing.assert_array_equal(np.asarray(out), label)
    np.testing.assert_allclose(out.pixdim.tolist(), SPACING, rtol=1e-6)


def test_evaluation_reader_reads_metaimage(tmp_path):
    from monai_imbalance.evaluate.cases import read_image

    _, prob = _case(1)
    _write_itk(prob, tmp_path / "p.mhd")
    img = read_image(tmp_path / "p.mhd")
    np.testing.assert_allclose(np.asarray(img), prob)
    np.testing.assert_allclose(img.pixdim.tolist(), SPACING, rtol=1e-6)


def test_metaimage_cohort_scores_as_nifti(tmp_path):
    from monai_imbalance.evaluate import evaluate_folder

    dirs = {k: tmp_path / k for k in ("mhd_pred", "mhd_label", "nii_pred", "nii_label")}
    for d in dirs.values():
        d.mkdir()
    for i in range(3):
        label, prob = _case(10 + i)
        _write_itk(prob, dirs["mhd_pred"] / f"case_{i}_prob.mhd")
        _write_itk(label, dirs["mhd_label"] / f"case_{i}.mhd")
        _write_nifti(prob, dirs["nii_pred"] / f"case_{i}_prob.nii.gz")
        _write_nifti(label, dirs["nii_label"] / f"case_{i}.nii.gz")
    a = evaluate_folder(dirs["mhd_pred"], dirs["mhd_label"], tmp_path / "out_mhd", n_draws=5, progress=False)
    b = evaluate_folder(dirs["nii_pred"], dirs["nii_label"], tmp_path / "out_nii", n_draws=5, progress=False)
    assert a["n_cases"] == b["n_cases"] == 3
    assert a["inputs"]["unpaired_labels"] == []
    for view in ("strict", "paper"):
        va, vb = a["views"][view], b["views"][view]
        assert va["n_lesions"] == vb["n_lesions"] == 9
        assert va["n_detected"] == vb["n_detected"] == 6  # the faint lesion of every case is missed
        assert va["n_false_positives"] == vb["n_false_positives"]
        assert va["average_recall"] == pytest.approx(vb["average_recall"])
        assert va["object_dice"]["mean"] == pytest.approx(vb["object_dice"]["mean"])
    assert a["diagnostics"]["volume_ratio"] == pytest.approx(b["diagnostics"]["volume_ratio"])
