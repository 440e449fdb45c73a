"""Bad-input matrix of the bundles' data preparation: prepare_dataset, load_checked_datalist and the loading checks.

As ``tests/test_bad_inputs.py``: one call of a public entry point per case, the exact error type and the message
words asserted (the file is always named), or the value checked. Each case spoils a copy of the tiny built-in
dataset (``lesion_data``: 2 training, 2 validation, 3 test cases): a missing, truncated, empty or binary file, a
broken ``dataset.json``, wrong settings. Ids read ``<entry point>-<case>``. The command-line run that fails on
such a file (exit status 1, the file named) is tested in ``tests/bundles/test_lesion_bundle.py``.
"""

from __future__ import annotations

import copy
import json
import pickle
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_imbalance.apps.bundle import load_checked_datalist, prepare_dataset
from monai_imbalance.transforms import (
    CheckedLoadImage,
    CheckedLoadImaged,
    CheckFinite,
    CheckFinited,
    CheckImageLabelShaped,
    SelectLesionLabels,
    SelectLesionLabelsd,
)

FILE = "<the spoiled file>"  # stands for the path a case returns, in its expected words
Setup = Callable[[Path, dict], tuple[Callable[[], Any], Path | None]]
CASES: list[Any] = []


def case(entry: str, name: str, exc: type[Exception], *words: str) -> Callable[[Setup], Setup]:
    """Register ``setup(d, info) -> (call, file)``: ``call()`` raises ``exc`` with ``words`` (``FILE``: ``file``)."""

    def register(setup: Setup) -> Setup:
        CASES.append(pytest.param(setup, exc, words, id=f"{entry}-{name}"))
        return setup

    return register


def _label(d: Path, info: dict, n: int = 0, key: str = "training") -> Path:
    return d / info[key][n]["label"]


def _write_json(d: Path, doc: Any) -> Path:
    (d / "dataset.json").write_text(json.dumps(doc))
    return d / "dataset.json"


def _load(d: Path, key: str = "training", **kwargs: Any) -> Callable[[], Any]:
    return lambda: load_checked_datalist(d / "dataset.json", key, **kwargs)


def _load_item(d: Path, n: int = 0) -> Callable[[], Any]:
    item = load_checked_datalist(d / "dataset.json", "training")[n]
    return lambda: CheckedLoadImaged(keys=["image", "label"], image_only=True)(item)


# ---- prepare_dataset: settings and the folder
P_ = "prepare_dataset"
for _name, _kwargs, _exc, _words in (
    ("shape_two_sizes", {"shape": (16, 16)}, TypeError, ("`shape` must be three sizes (x, y, z)", "(16, 16)")),
    ("shape_str", {"shape": "16"}, TypeError, ("`shape` must be three sizes", "'16'")),
    ("shape_float", {"shape": (16.0, 16, 8)}, TypeError, ("`shape` must be an int, got 16.0 (float)",)),
    ("shape_too_small", {"shape": (4, 16, 8)}, ValueError, ("`shape` must be three sizes of at least 8 voxels",)),
    ("num_training_float", {"num_training": 1.5}, TypeError, ("`num_training` must be an int, got 1.5 (float)",)),
    ("num_validation_negative", {"num_validation": -1}, ValueError, ("`num_validation` must be an int >= 0, got -1",)),
    ("num_test_bool", {"num_test": True}, TypeError, ("`num_test` must be an int, got True (bool)",)),
    ("seed_str", {"seed": "a"}, TypeError, ("`seed` must be an int, got 'a' (str)",)),
    ("no_case", {"num_training": 0, "num_validation": 0}, ValueError, ("with at least one case",)),
    ("preset_typo", {"preset": "metastasis"}, KeyError, ("`preset` must be one of", "'metastasis'")),
):

    def _setup(d: Path, info: dict, kwargs: dict = _kwargs) -> tuple[Callable[[], Any], Path | None]:
        new = d.parent / "new"
        return (lambda: prepare_dataset(new, **{"shape": (16, 16, 8), "num_training": 1, **kwargs})), None

    case(P_, _name, _exc, *_words)(_setup)


@case(P_, "dataset_dir_none", TypeError, "`dataset_dir` must be a path (str or os.PathLike), got NoneType")
def _(d, info):
    return (lambda: prepare_dataset(None)), None


@case(P_, "dataset_dir_is_a_file", NotADirectoryError, FILE, "is a file, not a folder of a dataset")
def _(d, info):
    f = _label(d, info)
    return (lambda: prepare_dataset(f)), f


@case(P_, "files_but_no_dataset_json", FileExistsError, FILE, "holds files but no dataset.json")
def _(d, info):
    (d / "dataset.json").unlink()
    return (lambda: prepare_dataset(d)), d


# ---- load_checked_datalist: the dataset.json and every listed file
D_ = "load_checked_datalist"


@case(D_, "dataset_json_missing", FileNotFoundError, "dataset file not found:", FILE)
def _(d, info):
    (d / "dataset.json").unlink()
    return _load(d), d / "dataset.json"


@case(D_, "dataset_json_truncated", ValueError, "dataset file", FILE, "is not valid JSON")
def _(d, info):
    text = (d / "dataset.json").read_text()
    (d / "dataset.json").write_text(text[: len(text) // 2])
    return _load(d), d / "dataset.json"


@case(D_, "dataset_json_empty", ValueError, "dataset file", FILE, "is not valid JSON")
def _(d, info):
    (d / "dataset.json").write_text("")
    return _load(d), d / "dataset.json"


@case(D_, "dataset_json_binary", ValueError, "dataset file", FILE, "is not a UTF-8 JSON text")
def _(d, info):
    (d / "dataset.json").write_bytes(b"\x1f\x8b\x08\x00\xff\xfe")
    return _load(d), d / "dataset.json"


@case(D_, "dataset_json_a_list", ValueError, "dataset file", FILE, "must hold a JSON object, got list")
def _(d, info):
    return _load(_write_json(d, []).parent), d / "dataset.json"


@case(D_, "list_missing", ValueError, "dataset", FILE, "has no `train` cases", "['training', 'validation', 'test']")
def _(d, info):
    return _load(d, "train"), d / "dataset.json"


@case(D_, "list_empty", ValueError, "dataset", FILE, "has no `training` cases")
def _(d, info):
    return _load(_write_json(d, {**info, "training": []}).parent), d / "dataset.json"


@case(D_, "item_not_a_dict", ValueError, FILE, 'item 1 of `training` must be an {"image": ..., "label": ...} dict')
def _(d, info):
    return _load(_write_json(d, {**info, "training": [info["training"][0], "a.nii.gz"]}).parent), d / "dataset.json"


@case(D_, "image_not_a_path", ValueError, FILE, "item 0 of `training` must give `image` as a file path", "got 3")
def _(d, info):
    bad = [{**info["training"][0], "image": 3}]
    return _load(_write_json(d, {**info, "training": bad}).parent), d / "dataset.json"


@case(D_, "label_missing_file", FileNotFoundError, "label file listed in", "under `training` not found:", FILE)
def _(d, info):
    f = _label(d, info)
    f.unlink()
    return _load(d), f


@case(D_, "label_is_a_folder", IsADirectoryError, "label file listed in", "is a folder, not a file:", FILE)
def _(d, info):
    f = _label(d, info)
    f.unlink()
    f.mkdir()
    return _load(d), f


@case(D_, "test_label_required", ValueError, FILE, "item 0 of `test`", "has no label, and labels are required")
def _(d, info):
    test = [{"image": item["image"]} for item in info["test"]]
    return _load(_write_json(d, {**info, "test": test}).parent, "test", require_labels=True), d / "dataset.json"


@case(D_, "limit_negative", ValueError, "`limit` must be an int >= 0, got -1")
def _(d, info):
    return _load(d, limit=-1), None


@case(D_, "limit_str", TypeError, "`limit` must be an int, got '1' (str)")
def _(d, info):
    return _load(d, limit="1"), None


@case(D_, "key_not_str", TypeError, "`key` must be the name of a list (a string), got int")
def _(d, info):
    return _load(d, 0), None


@case(D_, "dataset_json_none", TypeError, "`dataset_json` must be a path (str or os.PathLike), got NoneType")
def _(d, info):
    return (lambda: load_checked_datalist(None)), None


# ---- the loading checks of the bundles' pipelines: a file a reader cannot read is named
L_ = "CheckedLoadImaged"


@case(L_, "label_truncated", RuntimeError, "cannot read label file", FILE)
def _(d, info):
    f = _label(d, info)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])  # the header reads, the voxels end early: gzip's EOFError
    return _load_item(d), f


@case(L_, "image_header_truncated", RuntimeError, "cannot read image file", FILE)
def _(d, info):
    f = d / info["training"][0]["image"]
    f.write_bytes(f.read_bytes()[:100])
    return _load_item(d), f


@case(L_, "label_empty_file", RuntimeError, "cannot read label file", FILE, "Empty file")
def _(d, info):
    f = _label(d, info)
    f.write_bytes(b"")
    return _load_item(d), f


@case(L_, "label_deleted_after_listing", RuntimeError, "cannot read label file", FILE, "FileNotFoundError")
def _(d, info):
    call = _load_item(d)
    f = _label(d, info)
    f.unlink()
    return call, f


@case(L_, "not_a_dict", TypeError, "`data` of CheckedLoadImaged must be a dictionary", "got str")
def _(d, info):
    f = d / info["training"][0]["image"]
    return (lambda: CheckedLoadImaged(keys="image")(str(f))), None


@case(L_, "key_missing", KeyError, "Key `label` of transform `CheckedLoadImaged` was missing")
def _(d, info):
    f = d / info["training"][0]["image"]
    return (lambda: CheckedLoadImaged(keys=["image", "label"])({"image": str(f)})), None


@case("CheckedLoadImage", "truncated", RuntimeError, "cannot read file", FILE)
def _(d, info):
    f = _label(d, info)
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    return (lambda: CheckedLoadImage(image_only=True)(str(f))), f


@case("CheckFinited", "image_with_nan", ValueError, "image", FILE, "holds 3 NaN and 1 infinite values of")
def _(d, info):
    import nibabel as nib

    f = d / info["training"][0]["image"]
    img = nib.load(f)
    data = np.asarray(img.dataobj, dtype=np.float32).copy()
    data.flat[[0, 5, 7]] = np.nan
    data.flat[9] = -np.inf
    nib.save(nib.Nifti1Image(data, img.affine), f)
    loader = CheckedLoadImaged(keys=["image", "label"], image_only=True, ensure_channel_first=True)
    item = load_checked_datalist(d / "dataset.json")[0]
    return (lambda: CheckFinited(["image", "label"])(loader(item))), f


@pytest.mark.parametrize(("setup", "exc", "words"), CASES)
def test_bad_data_raises_named_error(setup, exc, words, lesion_data, tmp_path):
    d = tmp_path / "data"
    shutil.copytree(lesion_data, d)
    info = json.loads((d / "dataset.json").read_text())
    call, file = setup(d, info)
    pattern = ".*".join(re.escape(str(file) if w == FILE else w) for w in words)
    with pytest.raises(exc) as raised:
        call()
    message = str(raised.value.args[0]) if exc is KeyError else str(raised.value)
    assert type(raised.value) is exc, f"{type(raised.value).__name__}: {message}"
    assert re.search(pattern, message, re.DOTALL), message


# ---- values: what a good input gives, and the array transforms' edge inputs
def test_valid_dataset_lists_and_limits(lesion_data):
    p = lesion_data / "dataset.json"
    assert [len(load_checked_datalist(p, k)) for k in ("training", "validation", "test")] == [2, 2, 3]
    assert len(load_checked_datalist(p, limit=0)) == 0
    assert len(load_checked_datalist(p, limit=np.int64(1))) == 1
    assert prepare_dataset(lesion_data, shape=np.array([24, 24, 16])) == str(p)  # reused, settings still checked


def test_loaders_survive_pickle_and_deepcopy(lesion_data):
    item = load_checked_datalist(lesion_data / "dataset.json")[0]
    loader = CheckedLoadImaged(keys=["image", "label"], image_only=True)
    expected = loader(item)["label"]
    for clone in (pickle.loads(pickle.dumps(loader)), copy.deepcopy(loader)):
        torch.testing.assert_close(clone(item)["label"], expected)
    check = CheckImageLabelShaped()
    for clone in (pickle.loads(pickle.dumps(check)), copy.deepcopy(check)):
        assert clone({"image": expected, "label": expected})["label"] is expected
    assert copy.deepcopy(SelectLesionLabels([2])).labels == [2]
    for finite in (pickle.loads(pickle.dumps(CheckFinited("image"))), copy.deepcopy(CheckFinited("image"))):
        assert finite({"image": expected})["image"] is expected


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8, torch.bool]
)
def test_check_finite_passes_finite_images_unchanged(dtype):
    img = MetaTensor(torch.arange(6).reshape(1, 2, 3).to(dtype), meta={"filename_or_obj": "x.nii.gz"})
    assert CheckFinite()(img) is img
    assert CheckFinited("image", allow_missing_keys=True)({"label": img}) == {"label": img}
    if dtype.is_floating_point:
        img[0, 1, 2] = float("nan")
        with pytest.raises(ValueError, match=r"image x\.nii\.gz holds 1 NaN and 0 infinite values of 6"):
            CheckFinite()(img)


LABEL = torch.tensor([[0, 1, 2, 2]])
BINARY = torch.tensor([[0, 0, 1, 1]])
SELECT: list[Any] = [
    pytest.param(lambda: SelectLesionLabels([2])(LABEL), torch.tensor([[0, 0, 1, 1]]), id="torch"),
    pytest.param(lambda: SelectLesionLabels([2])(LABEL.numpy()), np.array([[0, 0, 1, 1]]), id="numpy"),
    pytest.param(lambda: SelectLesionLabels([2])(LABEL.to(torch.uint8)), BINARY.to(torch.uint8), id="uint8"),
    pytest.param(lambda: SelectLesionLabels()(LABEL.clamp(max=1).bool()), LABEL.clamp(max=1).bool(), id="bool"),
    pytest.param(lambda: SelectLesionLabels([1, 2])(MetaTensor(LABEL.float())).as_tensor(), (LABEL > 0).float(),
                 id="metatensor"),
    pytest.param(lambda: pickle.loads(pickle.dumps(SelectLesionLabelsd("label", [2])))({"label": LABEL})["label"],
                 torch.tensor([[0, 0, 1, 1]]), id="pickle"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "expected"), SELECT)
def test_select_lesion_labels_value(call, expected):
    got = call()
    assert type(got) is type(expected)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize(
    ("call", "exc", "pattern"),
    [
        pytest.param(lambda: SelectLesionLabels([2])(LABEL.tolist()), TypeError,
                     r"`label` must be a channel-first numpy array or torch tensor, got list", id="list"),
        pytest.param(lambda: SelectLesionLabels([2])(LABEL * float("nan")), ValueError,
                     r"label <in memory> holds NaN or infinite values", id="nan"),
        pytest.param(lambda: SelectLesionLabels([1])(LABEL.bool()), ValueError,
                     r"`labels` selects label values, but label <in memory> is boolean", id="bool_with_labels"),
        pytest.param(lambda: SelectLesionLabels()(LABEL), ValueError,
                     r"label <in memory> holds the values \[0, 1, 2\], expected a binary", id="not_binary"),
        pytest.param(lambda: SelectLesionLabels("2"), ValueError, r"`labels` must be None or a non-empty", id="str"),
        pytest.param(lambda: SelectLesionLabelsd("label")(LABEL), TypeError,
                     r"`data` of SelectLesionLabelsd must be a dictionary", id="d_not_a_dict"),
        pytest.param(lambda: CheckFinite()([[1.0]]), TypeError,
                     r"`image` must be a channel-first numpy array or torch tensor, got list", id="finite_list"),
        pytest.param(lambda: CheckFinite()(np.array([[1.0, np.inf]])), ValueError,
                     r"image <in memory> holds 0 NaN and 1 infinite values of 2, expected finite", id="finite_inf"),
        pytest.param(lambda: CheckFinited("image")({"img": torch.ones(1)}), KeyError, r"image",
                     id="finite_key_missing"),
        pytest.param(lambda: CheckFinited("image")(torch.ones(1)), TypeError,
                     r"`data` of CheckFinited must be a dictionary", id="finite_d_not_a_dict"),
        pytest.param(lambda: CheckImageLabelShaped()(torch.zeros(1, 2, 2)), TypeError,
                     r"`data` of CheckImageLabelShaped must be a dictionary", id="shape_not_a_dict"),
        pytest.param(lambda: CheckImageLabelShaped()({"image": [[1]], "label": [[1]]}), TypeError,
                     r"`image` must be a channel-first numpy array or torch tensor, got list", id="shape_list"),
        pytest.param(lambda: CheckImageLabelShaped()({"image": np.zeros((1, 2, 2)), "label": np.zeros((1, 2, 3))}),
                     ValueError, r"label <in memory> has spatial shape \(2, 3\) but image <in memory> has \(2, 2\)",
                     id="shape_mismatch_numpy"),
    ],
)  # fmt: skip
def test_loading_checks_raise_named_error(call, exc, pattern):
    with pytest.raises(exc, match=pattern) as raised:
        call()
    assert type(raised.value) is exc


def test_matrix_size():
    assert len(CASES) >= 35
