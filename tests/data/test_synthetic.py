from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from monai_imbalance.data import PRESETS, dataset_exists, make_case, make_dataset
from monai_imbalance.data.__main__ import main as data_main


def lesion_count(mask: np.ndarray) -> int:
    return int(ndimage.label(mask, structure=np.ones((3, 3, 3)))[1])


def test_same_seed_same_case_and_different_seeds_differ():
    a = make_case((24, 24, 16), "metastases", seed=3)
    b = make_case((24, 24, 16), "metastases", seed=3)
    c = make_case((24, 24, 16), "metastases", seed=4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("preset", ["luna16", "metastases", "lits"])
def test_lesion_statistics_follow_the_preset(preset):
    counts, fractions = [], []
    for seed in range(12):
        _, label, spacing = make_case((64, 64, 40), preset, seed=seed)
        assert spacing == PRESETS[preset].spacing
        assert set(np.unique(label)) <= {0, 1}
        counts.append(lesion_count(label == 1))
        fractions.append(float((label == 1).mean()))
    mean = PRESETS[preset].mean_lesions
    # Poisson counts (floored at one lesion), merged when lesions touch: within a loose band of the preset mean
    assert 0.6 * mean <= np.mean(counts) <= 1.6 * mean + 0.5
    assert min(counts) >= 1
    low, high = PRESETS[preset].lesion_fraction
    assert 0.3 * low <= np.median(fractions) <= 2 * high


def test_lesions_are_brighter_than_the_organ():
    image, label, _ = make_case((48, 48, 32), "metastases", seed=1)
    organ = ndimage.binary_erosion(image > 1.0, iterations=1) & (label == 0)
    assert image[label == 1].mean() > image[organ].mean() + 1.0


def test_multiclass_tumour_inside_organ():
    for seed in range(4):
        _, label, _ = make_case((48, 48, 32), "multiclass", seed=seed)
        assert set(np.unique(label)) == {0, 1, 2, 3}
        tumour = label == 2
        grown = ndimage.binary_dilation(tumour)
        rim = label[grown & ~tumour]
        # tumours grow inside the organ: they never touch the third structure and are mostly surrounded by organ
        # (a tumour may reach the organ's surface, as subcapsular tumours do)
        assert 3 not in set(np.unique(rim))
        assert np.mean(rim == 1) > 0.5


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"preset": "nope"}, KeyError, "`preset` must be one of"),
        ({"shape": (4, 32, 32)}, ValueError, "at least 8 voxels"),
        ({"shape": (32, 32)}, ValueError, "three sizes"),
    ],
)
def test_make_case_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make_case(**kwargs)


def test_dataset_round_trip_through_monai(tmp_path):
    from monai.data import load_decathlon_datalist
    from monai.transforms import EnsureChannelFirstd, LoadImaged

    assert not dataset_exists(tmp_path)
    path = make_dataset(tmp_path, preset="lits", num_training=2, num_validation=1, shape=(20, 20, 10), progress=False)
    assert dataset_exists(tmp_path)
    info = json.loads(path.read_text())
    assert info["numTraining"] == 2
    training = load_decathlon_datalist(str(path), is_segmentation=True, data_list_key="training", base_dir=tmp_path)
    validation = load_decathlon_datalist(str(path), data_list_key="validation", base_dir=tmp_path)
    assert len(training) == 2
    assert len(validation) == 1
    loader = LoadImaged(keys=["image", "label"], image_only=True)
    item = EnsureChannelFirstd(keys=["image", "label"])(loader(training[1]))
    _, label, spacing = make_case((20, 20, 10), "lits", seed=1)
    np.testing.assert_array_equal(item["label"][0].numpy(), label)
    np.testing.assert_allclose(item["label"].pixdim.numpy(), spacing)


def test_make_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one case"):
        make_dataset(tmp_path, num_training=0, num_validation=0)
    with pytest.raises(KeyError, match="`preset` must be one of"):
        make_dataset(tmp_path, preset="brats")


def test_cli_writes_dataset(tmp_path, capsys):
    rc = data_main(["--output_dir", str(tmp_path), "--num_training", "1", "--num_validation", "1",
                    "--shape", "16", "16", "8", "--no_progress", "--preset", "multiclass"])  # fmt: skip
    assert rc == 0
    assert "dataset.json" in capsys.readouterr().out
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["labels"]["2"] == "tumour"
    assert (tmp_path / info["validation"][0]["label"]).is_file()
