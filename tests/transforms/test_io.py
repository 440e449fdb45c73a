"""The bundles' loading checks: the array and dictionary twins agree, errors name the file and the setting."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_imbalance.transforms import (
    CheckedLoadImage,
    CheckedLoadImaged,
    CheckImageLabelShaped,
    SelectLesionLabels,
    SelectLesionLabelsD,
    SelectLesionLabelsd,
    SelectLesionLabelsDict,
)


def test_aliases():
    assert SelectLesionLabelsD is SelectLesionLabelsDict is SelectLesionLabelsd


@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("labels", [[2], [1, 2], None], ids=["tumour", "liver+tumour", "binary"])
def test_select_array_equals_dictionary(labels, as_tensor):
    label = np.array([[0, 1, 2, 2, 0]], np.uint8) if labels else np.array([[0, 1, 1, 0, 0]], np.uint8)
    x = torch.from_numpy(label) if as_tensor else label
    out = SelectLesionLabels(labels)(x)
    out_d = SelectLesionLabelsd("label", labels)({"label": x})["label"]
    assert type(out) is type(x)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(out), np.asarray(out_d))
    expected = {None: [0, 1, 1, 0, 0], (2,): [0, 0, 1, 1, 0], (1, 2): [0, 1, 1, 1, 0]}[tuple(labels or ()) or None]
    np.testing.assert_array_equal(np.asarray(out)[0], expected)


def test_select_keeps_metadata():
    label = MetaTensor(torch.tensor([[0, 2, 1]]), affine=torch.diag(torch.tensor([2.0, 1.0, 1.0, 1.0])))
    out = SelectLesionLabels([2])(label)
    assert isinstance(out, MetaTensor)
    assert torch.equal(out.affine, label.affine)
    assert out.tolist() == [[0, 1, 0]]


def test_select_errors():
    with pytest.raises(ValueError, match="`labels` must be None or a non-empty list of integer label values, got"):
        SelectLesionLabels([])
    with pytest.raises(ValueError, match="`labels` must be None"):
        SelectLesionLabelsd("label", [1.5])
    label = MetaTensor(torch.tensor([[0, 3]]))
    label.meta["filename_or_obj"] = "/data/case_1.nii.gz"
    with pytest.raises(ValueError, match=r"^label /data/case_1.nii.gz holds the values \[0, 3\], expected a binary"):
        SelectLesionLabels()(label)
    with pytest.raises(ValueError, match=r"^seg /data/case_1.nii.gz holds the values \[0, 3\]"):
        SelectLesionLabelsd("seg")({"seg": label})


def test_shape_check():
    check = CheckImageLabelShaped(["image", "label"])
    with pytest.raises(ValueError, match=r"label <in memory> has spatial shape \(4, 5\) but image <in memory> has"):
        check({"image": torch.zeros(1, 4, 4), "label": torch.zeros(1, 4, 5)})
    with pytest.raises(KeyError, match="keys 'image' and 'label' are required"):
        check({"image": torch.zeros(1, 4, 4)})
    assert CheckImageLabelShaped(["image", "label"], allow_missing_keys=True)({"image": 1}) == {"image": 1}
    with pytest.raises(ValueError, match=r"`keys` must be \(image_key, label_key\)"):
        CheckImageLabelShaped("image")


def test_loader_array_equals_dictionary_and_names_a_bad_file(tmp_path):
    good = tmp_path / "good.nii.gz"
    nib.save(nib.Nifti1Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), np.eye(4)), str(good))
    a = CheckedLoadImage(image_only=True)(str(good))
    d = CheckedLoadImaged("image", image_only=True)({"image": str(good)})["image"]
    assert torch.equal(a, d)
    assert a.shape == (2, 3, 4)
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"\x1f\x8b truncated")
    with pytest.raises(RuntimeError, match=f"^cannot read file {bad}: "):
        CheckedLoadImage(image_only=True)(str(bad))
    with pytest.raises(RuntimeError, match=f"^cannot read label file {bad}: "):
        CheckedLoadImaged(["image", "label"], image_only=True)({"image": str(good), "label": str(bad)})
