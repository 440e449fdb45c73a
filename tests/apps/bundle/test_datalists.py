from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from monai_imbalance.apps.bundle import load_checked_datalist, prepare_dataset
from monai_imbalance.data import make_case
from monai_imbalance.data.decathlon import seed_of_test_case

SHAPE = (16, 16, 8)


@pytest.fixture
def built_in(tmp_path):
    return prepare_dataset(tmp_path / "data", num_training=2, num_validation=1, shape=SHAPE, seed=0, num_test=2)


def read_json(path):
    return json.loads(Path(path).read_text())


def rewrite(path, **lists):
    Path(path).write_text(json.dumps({**read_json(path), **lists}))


def test_prepare_dataset_writes_a_labelled_test_list(built_in):
    from monai.transforms import LoadImaged

    items = load_checked_datalist(built_in, "test", require_labels=True)
    assert len(items) == 2
    assert all(set(item) == {"image", "label"} for item in items)
    loaded = LoadImaged(keys="label", image_only=True)(items[0])
    np.testing.assert_array_equal(
        loaded["label"].numpy(), make_case(SHAPE, "metastases", seed=seed_of_test_case(0, 0))[1]
    )
    # the three lists are disjoint
    names = {
        key: {item["image"] for item in load_checked_datalist(built_in, key)} for key in ("training", "validation")
    }
    assert not names["training"] & names["validation"]
    assert not {item["image"] for item in items} & (names["training"] | names["validation"])


def test_prepare_dataset_default_has_a_test_list(tmp_path):
    path = prepare_dataset(tmp_path, num_training=1, num_validation=1, shape=SHAPE)
    assert len(load_checked_datalist(path, "test")) == 4


def test_prepare_dataset_builds_the_ct_like_preset(tmp_path):
    path = prepare_dataset(tmp_path, preset="ct_metastases", num_training=1, num_validation=1, shape=SHAPE, num_test=1)
    assert read_json(path)["preset"] == "ct_metastases"
    assert len(load_checked_datalist(path, "test", require_labels=True)) == 1


def test_existing_dataset_json_is_used_as_is(built_in, tmp_path):
    rewrite(built_in, test=[], numTest=0)  # a folder made before test lists existed, or a user's dataset
    before = Path(built_in).read_text()
    assert prepare_dataset(tmp_path / "data", num_test=4) == built_in
    assert Path(built_in).read_text() == before
    assert not list((tmp_path / "data" / "imagesTs").glob("*_test_002*"))
    with pytest.raises(ValueError, match=r"has no `test` cases \(non-empty lists it has: \['training', 'validation'"):
        load_checked_datalist(built_in, "test")


def test_missing_test_list_names_the_file_and_its_lists(built_in):
    info = read_json(built_in)
    del info["test"]
    Path(built_in).write_text(json.dumps(info))
    with pytest.raises(ValueError, match=re.escape(built_in)) as err:
        load_checked_datalist(built_in, "test")
    assert "non-empty lists it has: ['training', 'validation']" in str(err.value)
    assert "num_test" in str(err.value)


def test_official_decathlon_test_list_of_image_paths(built_in):
    images = [item["image"] for item in read_json(built_in)["test"]]
    rewrite(built_in, test=images)
    items = load_checked_datalist(built_in, "test")
    assert [set(item) for item in items] == [{"image"}, {"image"}]
    assert items[0]["image"].endswith("imagesTs/metastases_test_000.nii.gz")
    with pytest.raises(ValueError, match=r"item 0 of `test` \(.*metastases_test_000.nii.gz\) has no label"):
        load_checked_datalist(built_in, "test", require_labels=True)


@pytest.mark.parametrize(
    ("key", "items", "match"),
    [
        ("test", ["./imagesTs/metastases_test_000.nii.gz", {"image": "./imagesTs/metastases_test_001.nii.gz"}],
         r"item 0 of `test` must be an \{\"image\": ..., \"label\": ...\} dict or an image path \(one form"),
        ("validation", ["./imagesTr/metastases_000.nii.gz"], r"item 0 of `validation` must be an \{\"image\""),
        ("test", [{"label": "./labelsTs/metastases_test_000.nii.gz"}], r"item 0 of `test` must be"),
    ],
    ids=["mixed-test", "paths-in-validation", "no-image"],
)  # fmt: skip
def test_malformed_lists(built_in, key, items, match):
    rewrite(built_in, **{key: items})
    with pytest.raises(ValueError, match=match):
        load_checked_datalist(built_in, key)


def test_missing_test_file_is_named(built_in, tmp_path):
    (tmp_path / "data" / "labelsTs" / "metastases_test_001.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"label file listed in .* under `test` not found: .*test_001"):
        load_checked_datalist(built_in, "test")


def test_processes_preparing_one_folder_at_once_share_one_complete_dataset(tmp_path, monkeypatch):
    """A preparation that starts while another is half-way (the runs of a grid split with ``--only``) gets it whole."""
    import threading

    import monai_imbalance.apps.bundle.dataset as ds

    real = ds.make_dataset
    half_written, second_done = threading.Event(), threading.Event()

    def slow_make(root, **kwargs):
        if threading.current_thread().name == "first":  # half-way: some files written, no dataset.json yet
            (Path(root) / "imagesTr").mkdir(parents=True)
            (Path(root) / "imagesTr" / "partial.nii.gz").write_bytes(b"")
            half_written.set()
            second_done.wait(timeout=60)
        return real(root, **kwargs)

    monkeypatch.setattr(ds, "make_dataset", slow_make)
    root, results, errors = tmp_path / "data", {}, []

    def prepare():
        try:
            name = threading.current_thread().name
            results[name] = prepare_dataset(root, num_training=2, num_validation=1, shape=SHAPE, seed=3, num_test=1)
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            if threading.current_thread().name == "second":
                second_done.set()

    first = threading.Thread(target=prepare, name="first")
    first.start()
    assert half_written.wait(timeout=60)
    second = threading.Thread(target=prepare, name="second")
    second.start()
    second.join(timeout=60)
    first.join(timeout=60)
    assert not errors, errors
    assert results["first"] == results["second"] == str(root / "dataset.json")
    lists = ("training", "validation", "test")
    assert [len(load_checked_datalist(root / "dataset.json", k)) for k in lists] == [2, 1, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no partial copy left beside it


def test_preparation_fills_an_empty_folder_and_leaves_no_partial_copy_on_error(tmp_path, monkeypatch):
    import monai_imbalance.apps.bundle.dataset as ds

    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_dataset(empty, num_training=1, num_validation=1, shape=SHAPE, num_test=0) == str(
        empty / "dataset.json"
    )

    def broken(root, **kwargs):
        (Path(root) / "imagesTr").mkdir()
        raise OSError("disk full")

    monkeypatch.setattr(ds, "make_dataset", broken)
    with pytest.raises(OSError, match="disk full"):
        prepare_dataset(tmp_path / "other", num_training=1, num_validation=1, shape=SHAPE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # neither `other` nor a partial copy
