from __future__ import annotations

import hashlib
import json

import nibabel as nib
import numpy as np
import pytest

from monai_imbalance.data import make_case, make_dataset
from monai_imbalance.data.__main__ import main as data_main
from monai_imbalance.data.decathlon import seed_of_test_case

SHAPE = (24, 24, 16)

# sha256 (first 16 hex digits) of the label and float64 sum of the image of training/validation cases 0-4,
# computed with the code before the test split existed (commit 4be1356): the split must leave them unchanged
BEFORE_TEST_SPLIT = {
    ("metastases", 0): [
        ("0175e47fcb326356", 4491.090238376535),
        ("a4393475af6f3760", 4681.819191329869),
        ("09ea3354b7b72402", 3962.781160903207),
        ("c8ba485dd6aeb02f", 2767.616096537977),
        ("7de1cb430ef7e4d5", 4658.569913806779),
    ],
    ("lits", 1): [
        ("25e44c3f52ede277", 4456.251147636591),
        ("f5ccfe33c5b72e88", 5242.485168004583),
        ("8548ee6ca6f237bf", 4418.6914663481),
        ("d1e8ed6d24cab355", 4494.248103713318),
        ("45f0099fe1e87f0b", 4191.890118260424),
    ],
    ("multiclass", 2): [
        ("813fe067537d67f6", 5531.177293360961),
        ("734b981f0e3534b6", 4760.625947903936),
        ("2c9c87bfd5952112", 5095.8961601606825),
        ("4ecfd9c08205d9b4", 3984.4536886746064),
        ("f72752e0d8349705", 4686.660430720454),
    ],
}


def read(path):
    return np.asarray(nib.load(str(path)).dataobj)


def dataset(root, **kwargs):
    args = {"num_training": 3, "num_validation": 2, "shape": SHAPE, "progress": False, **kwargs}
    path = make_dataset(root, **args)
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(("preset", "seed"), list(BEFORE_TEST_SPLIT), ids=[p for p, _ in BEFORE_TEST_SPLIT])
def test_training_and_validation_cases_are_unchanged_by_the_test_split(tmp_path, preset, seed):
    _, info = dataset(tmp_path, preset=preset, seed=seed, num_test=3)
    entries = info["training"] + info["validation"]
    assert len(entries) == 5
    for entry, (label_hash, image_sum) in zip(entries, BEFORE_TEST_SPLIT[preset, seed], strict=True):
        label = read(tmp_path / entry["label"])
        assert hashlib.sha256(label.tobytes()).hexdigest()[:16] == label_hash
        assert float(read(tmp_path / entry["image"]).astype(np.float64).sum()) == pytest.approx(image_sum, rel=1e-7)


def test_num_test_leaves_training_and_validation_files_byte_identical(tmp_path):
    _, without = dataset(tmp_path / "a", num_test=0)
    _, with_test = dataset(tmp_path / "b", num_test=3)
    assert without["training"] == with_test["training"]
    assert without["validation"] == with_test["validation"]
    assert without["test"] == []
    assert len(with_test["test"]) == with_test["numTest"] == 3
    for entry in without["training"] + without["validation"]:
        for key in ("image", "label"):
            assert (tmp_path / "a" / entry[key]).read_bytes() == (tmp_path / "b" / entry[key]).read_bytes()


def test_test_cases_have_their_own_seed_stream(tmp_path):
    _, small = dataset(tmp_path / "a", num_training=1, num_validation=1, num_test=2)
    _, large = dataset(tmp_path / "b", num_training=4, num_validation=3, num_test=2)
    assert small["test"] == large["test"]
    for entry in small["test"]:
        assert (tmp_path / "a" / entry["image"]).read_bytes() == (tmp_path / "b" / entry["image"]).read_bytes()
    # no test case repeats a training or validation case
    train_labels = [read(tmp_path / "b" / e["label"]).tobytes() for e in large["training"] + large["validation"]]
    for entry in large["test"]:
        assert read(tmp_path / "b" / entry["label"]).tobytes() not in train_labels


@pytest.mark.parametrize("preset", ["metastases", "ct_metastases"])
def test_test_list_round_trip_through_monai(tmp_path, preset):
    from monai.data import load_decathlon_datalist
    from monai.transforms import LoadImaged

    path, info = dataset(tmp_path, preset=preset, seed=3, num_test=2)
    assert info["test"][1] == {
        "image": f"./imagesTs/{preset}_test_001.nii.gz",
        "label": f"./labelsTs/{preset}_test_001.nii.gz",
    }
    items = load_decathlon_datalist(str(path), is_segmentation=True, data_list_key="test", base_dir=tmp_path)
    assert len(items) == 2
    loaded = LoadImaged(keys=["image", "label"], image_only=True)(items[1])
    image, label, spacing = make_case(SHAPE, preset, seed=seed_of_test_case(3, 1))
    np.testing.assert_array_equal(loaded["image"].numpy(), image)
    np.testing.assert_array_equal(loaded["label"].numpy(), label)
    np.testing.assert_allclose(loaded["label"].pixdim.numpy(), spacing, rtol=1e-6)


def test_ct_like_dataset_json(tmp_path):
    _, info = dataset(tmp_path, preset="ct_metastases", num_training=1, num_validation=1, num_test=1)
    assert info["preset"] == "ct_metastases"
    assert info["labels"] == {"0": "background", "1": "lesion"}
    assert "faint" in info["description"]


def test_seed_of_test_case():
    assert seed_of_test_case(5, 2) == [5, 1, 2]


def test_cli_exposes_the_ct_like_preset_and_num_test(tmp_path, capsys):
    with pytest.raises(SystemExit):
        data_main(["--help"])
    out = capsys.readouterr().out
    assert "ct_metastases" in out
    assert "--num_test" in out
    args = "--preset ct_metastases --num_training 1 --num_validation 1 --num_test 2 --shape 16 16 8 --no_progress"
    rc = data_main(["--output_dir", str(tmp_path), *args.split()])
    assert rc == 0
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["numTest"] == 2
    assert all((tmp_path / e["label"]).is_file() for e in info["test"])


def test_num_test_error(tmp_path):
    with pytest.raises(ValueError, match="`num_test` must be >= 0, got -1"):
        make_dataset(tmp_path, num_test=-1)
