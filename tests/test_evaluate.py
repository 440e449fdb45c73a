"""``python -m monai_imbalance.evaluate``: the bundle's report from its own saved predictions, MetaImage / NRRD
folders read with ITK (spacing, RAS world centroids), pairing, errors, hard masks, workers, overwrite, CLI."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import itk
import nibabel as nib
import numpy as np
import pytest

from monai_imbalance.evaluate import evaluate_folder, pair_files
from monai_imbalance.evaluate.cli import main
from monai_imbalance.evaluate.pairing import case_name
from tests.bundles._common import LESION_TINY as TINY
from tests.bundles._common import ROOT
from tests.bundles._common import run as _run_in

# ITK's SWIG modules warn on their lazy first load, and that warning made an error crashes the interpreter
pytestmark = pytest.mark.filterwarnings("ignore:builtin type .* has no __module__ attribute:DeprecationWarning")

CONFIGS = ROOT / "bundles" / "lesion_inverse_weighting" / "configs"
TRAIN, EVALUATE, INFER = (str(CONFIGS / f"{n}.yaml") for n in ("train", "evaluate", "inference"))
# the bundle's report settings (train.yaml + evaluate.yaml)
BUNDLE_SETTINGS = {"protocol": "luna16", "threshold": 0.5, "key_view": "strict", "size_thresholds": [5.0, 10.0]}


# ---------------------------------------------------------------- the bundle's own predictions


@pytest.fixture(scope="module")
def bundle_run(tmp_path_factory, lesion_data):
    """Train the tiny lesion bundle, run evaluate.yaml (report of the test list) and inference.yaml on the same
    list (``infer_key=test``: probabilities saved as ``*_prob.nii.gz``); returns (data dir, run root)."""
    data = lesion_data
    root = tmp_path_factory.mktemp("run")
    common = {"bundle_root": str(root), "dataset_dir": str(data)}
    _run_in(CONFIGS, TRAIN, "train", **common, **TINY)
    _run_in(CONFIGS, [TRAIN, EVALUATE], "train", **common, output_dir=str(root / "report"), **TINY)
    _run_in(CONFIGS, INFER, "infer", **common, output_dir=str(root / "infer"), infer_key="test",
            patch_size=TINY["patch_size"], sw_batch_size=TINY["val_sw_batch_size"])  # fmt: skip
    return data, root


def test_reproduces_the_bundle_report_from_its_saved_predictions(bundle_run, tmp_path):
    data, root = bundle_run
    preds = root / "infer" / "predictions"
    assert len(list(preds.glob("*_prob.nii.gz"))) == 3
    bundle = json.loads((root / "report" / "lesion_report.json").read_text())
    assert bundle["n_cases"] == 3
    assert bundle["n_lesions"] > 0
    ours = evaluate_folder(preds, data / "labelsTs", tmp_path, progress=False, source=bundle["source"],
                           **BUNDLE_SETTINGS)  # fmt: skip
    inputs = ours.pop("inputs")
    assert ours == bundle  # every figure, curve, band, size group and per-case entry, exactly
    assert json.loads((tmp_path / "lesion_report.json").read_text()) == {**bundle, "inputs": inputs}
    # the records (confidences, Dice, volumes, centroids, boxes, affine) are identical too
    assert (tmp_path / "lesion_report_records.json").read_text() == (
        root / "report" / "lesion_report_records.json"
    ).read_text()
    assert inputs["n_pairs"] == 3
    assert inputs["unpaired_predictions"] == inputs["unpaired_labels"] == inputs["hard_mask_cases"] == []
    md = (tmp_path / "lesion_report.md").read_text()
    assert md.startswith((root / "report" / "lesion_report.md").read_text())  # the bundle's, plus inputs
    assert "## Inputs" in md


# ---------------------------------------------------------------- MetaImage / NRRD written with itk

SPACING = (0.7, 0.8, 2.5)  # x, y, z (mm)
ORIGIN = (10.0, -20.0, 30.0)
DIRECTION = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90 degrees about z


def _write_itk(array_xyz: np.ndarray, path: Path) -> None:
    """Write an (x, y, z) array with the test geometry (itk arrays are (z, y, x))."""
    zyx = np.ascontiguousarray(array_xyz.transpose(2, 1, 0))  # kept alive: the itk image is a view of it
    img = itk.image_from_array(zyx)
    direction = itk.matrix_from_array(DIRECTION)
    img.SetSpacing(SPACING)
    img.SetOrigin(ORIGIN)
    img.SetDirection(direction)
    itk.imwrite(img, str(path))


def _lesions(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = np.zeros((20, 18, 10), np.uint8)
    label[2:6, 3:8, 1:4] = 1
    label[12:15, 10:16, 5:9] = 1
    prob = (rng.random(label.shape) * 0.3).astype(np.float32)
    prob[2:6, 3:7, 1:4] = 0.9
    prob[16:19, 1:3, 1:3] = 0.7  # a false positive
    return label, prob


@pytest.fixture(scope="module")
def itk_folders(tmp_path_factory):
    pred, label = tmp_path_factory.mktemp("itk_pred"), tmp_path_factory.mktemp("itk_label")
    for i, ext in enumerate([".mhd", ".mhd", ".nrrd"]):
        y, p = _lesions(i)
        _write_itk(y, label / f"case{i}{ext}")
        _write_itk(p, pred / f"case{i}_pred{ext}")
    return pred, label


def test_mhd_folder_spacing_and_world_centroids(itk_folders, tmp_path):
    pred, label = itk_folders
    report = evaluate_folder(pred, label, tmp_path, n_draws=5, progress=False)
    assert report["n_cases"] == 3
    assert report["n_lesions"] == 6
    assert report["views"]["strict"]["n_detected"] == 3
    records = json.loads((tmp_path / "lesion_report_records.json").read_text())["views"]["strict"]["cases"]
    assert [c["case_id"] for c in records] == ["case0.mhd", "case1.mhd", "case2.nrrd"]
    voxel = float(np.prod(SPACING))
    for i, case in enumerate(records):
        y, _ = _lesions(i)
        assert case["lesion_volume"] == pytest.approx([4 * 5 * 3 * voxel, 3 * 6 * 4 * voxel], rel=1e-12)
        img = itk.imread(str(label / f"case{i}{'.nrrd' if i == 2 else '.mhd'}"))
        for centroid, mm in zip(case["lesion_centroid"], case["lesion_centroid_mm"], strict=True):
            index = itk.ContinuousIndex[itk.D, 3]()
            for d, v in enumerate(centroid):  # MONAI's voxel order (x, y, z) is ITK's index order
                index.SetElement(d, v)
            lps = np.array(img.TransformContinuousIndexToPhysicalPoint(index))
            np.testing.assert_allclose(mm, lps * [-1, -1, 1], atol=1e-9)  # records are RAS: x, y negated
        # the voxel centroid is the mean voxel index of the label's first lesion
        np.testing.assert_allclose(case["lesion_centroid"][0], np.argwhere(y[:6, :9, :5]).mean(0))
        assert case["lesion_bbox"][0] == [2, 3, 1, 6, 8, 4]


def test_workers_give_the_records_of_one_process(itk_folders, tmp_path):
    pred, label = itk_folders
    one = evaluate_folder(pred, label, tmp_path / "one", n_draws=5, progress=False, workers=1)
    two = evaluate_folder(pred, label, tmp_path / "two", n_draws=5, progress=False, workers=2)
    assert one == two
    records = [(tmp_path / d / "lesion_report_records.json").read_text() for d in ("one", "two")]
    assert records[0] == records[1]


def test_auto_start_method_forks_where_it_is_safe(monkeypatch):
    from monai_imbalance.evaluate.folder import start_method

    assert [start_method(m) for m in ("fork", "forkserver", "spawn")] == ["fork", "forkserver", "spawn"]
    if sys.platform.startswith("linux"):
        assert start_method() == "fork"  # the workers are copies of this process: no second MONAI import
        import torch

        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
        assert start_method() == "forkserver"  # a CUDA context does not survive a fork
        monkeypatch.undo()
    monkeypatch.setattr(sys, "platform", "darwin")
    assert start_method() in ("forkserver", "spawn")


@pytest.mark.slow
@pytest.mark.parametrize("mp_context", ["fork", "forkserver", "spawn"])
def test_every_start_method_gives_the_records_of_one_process(folders, tmp_path, mp_context):
    pred, label = folders
    one = evaluate_folder(pred, label, tmp_path / "one", n_draws=5, progress=False, workers=1)
    two = evaluate_folder(pred, label, tmp_path / "two", n_draws=5, progress=False, workers=2, mp_context=mp_context)
    assert {k: v for k, v in one.items() if k != "inputs"} == {k: v for k, v in two.items() if k != "inputs"}


# ---------------------------------------------------------------- pairing, errors, notes (NIfTI)


def _nifti(path: Path, array: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> None:
    nib.save(nib.Nifti1Image(array, np.diag([*spacing, 1.0])), path)


def _case() -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros((10, 10, 6), np.uint8)
    y[1:4, 1:4, 1:3] = 1
    y[6:9, 6:9, 3:5] = 1
    return y, (y * np.float32(0.8))


@pytest.fixture
def folders(tmp_path):
    pred, label = tmp_path / "pred", tmp_path / "label"
    pred.mkdir()
    label.mkdir()
    y, p = _case()
    for c in ("a", "b"):
        _nifti(label / f"{c}.nii.gz", y)
        _nifti(pred / f"{c}_prob.nii.gz", p)
    return pred, label


@pytest.mark.parametrize(
    ("name", "case"),
    [
        ("case_007_prob.nii.gz", "case_007"),
        ("case_007.nii", "case_007"),
        ("LIDC_1.3.6.1.mhd", "LIDC_1.3.6.1"),
        ("x_seg_pred.MHA", "x"),
        ("x.nrrd", "x"),
        ("img_0000.nii.gz", "img_0000"),  # nnU-Net's channel suffix is not a prediction suffix
        ("_prob.nii.gz", "_prob"),  # a suffix alone is the name
    ],
    ids=lambda v: v,
)
def test_case_name(name, case):
    assert case_name(name) == case


def test_unpaired_files_are_logged_and_listed(folders, tmp_path, caplog):
    pred, label = folders
    y, p = _case()
    _nifti(pred / "orphan_pred.nii.gz", p)
    _nifti(label / "lonely.nii.gz", y)
    (pred / "plans.json").write_text("{}")  # not an image: skipped
    with caplog.at_level(logging.WARNING, logger="monai_imbalance.evaluate"):
        report = evaluate_folder(pred, label, tmp_path / "out", n_draws=5, progress=False)
    assert report["n_cases"] == 2
    assert report["inputs"]["unpaired_predictions"] == [str(pred / "orphan_pred.nii.gz")]
    assert report["inputs"]["unpaired_labels"] == [str(label / "lonely.nii.gz")]
    assert "prediction without a label (not evaluated): " + str(pred / "orphan_pred.nii.gz") in caplog.text
    assert "label without a prediction (not evaluated): " + str(label / "lonely.nii.gz") in caplog.text
    md = (tmp_path / "out" / "lesion_report.md").read_text()
    assert "Predictions without a label: 1 — `orphan_pred.nii.gz`." in md
    assert "Labels without a prediction: 1 — `lonely.nii.gz`." in md


def test_glob_selects_predictions(folders, tmp_path):
    pred, label = folders
    report = evaluate_folder(str(pred / "a_*.nii.gz"), label, tmp_path / "out", n_draws=5, progress=False)
    assert [c["case_id"] for c in report["cases"]] == ["a.nii.gz"]
    assert report["inputs"]["unpaired_labels"] == [str(label / "b.nii.gz")]


def test_zero_pairs_names_both_folders(folders, tmp_path):
    pred, label = folders
    for f in label.iterdir():
        f.rename(label / f"z{f.name}")
    message = f"no prediction in {pred} has a label in {label}: prediction cases a, b, label cases za, zb"
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_folder(pred, label, tmp_path / "out", progress=False)


def test_empty_folder_and_bad_glob(folders, tmp_path):
    pred, label = folders
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"`pred` folder .*empty holds no image file"):
        evaluate_folder(tmp_path / "empty", label, tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match="neither a folder nor a glob"):
        evaluate_folder(tmp_path / "missing", label, tmp_path / "out", progress=False)
    with pytest.raises(FileNotFoundError, match="`label` must be a folder"):
        evaluate_folder(pred, tmp_path / "missing", tmp_path / "out", progress=False)


def test_two_files_of_one_case_are_refused(folders, tmp_path):
    pred, label = folders
    _nifti(pred / "a.nii.gz", _case()[1])
    with pytest.raises(ValueError, match="`pred` holds two files of the case 'a'"):
        pair_files(pred, label)


def test_shape_mismatch_names_both_files(folders, tmp_path):
    pred, label = folders
    _nifti(pred / "b_prob.nii.gz", np.zeros((10, 10, 5), np.float32))
    with pytest.raises(ValueError, match=r"prediction .*b_prob.nii.gz and label .*b.nii.gz differ in shape"):
        evaluate_folder(pred, label, tmp_path / "out", progress=False)


def test_spacing_mismatch_names_both_files(folders, tmp_path):
    pred, label = folders
    _nifti(pred / "b_prob.nii.gz", _case()[1], spacing=(1.0, 1.0, 2.0))
    with pytest.raises(ValueError, match=r"prediction .*b_prob.nii.gz and label .*b.nii.gz differ in spacing"):
        evaluate_folder(pred, label, tmp_path / "out", progress=False)


def test_different_origin_is_noted(folders, tmp_path):
    pred, label = folders
    nib.save(nib.Nifti1Image(_case()[1], np.array([[1, 0, 0, 5.0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])),
             pred / "b_prob.nii.gz")  # fmt: skip
    report = evaluate_folder(pred, label, tmp_path / "out", n_draws=5, progress=False)
    assert report["inputs"]["notes"] == [
        f"prediction {pred / 'b_prob.nii.gz'} and label {label / 'b.nii.gz'} differ in origin or direction; the "
        "label's geometry is used"
    ]


def test_bad_values_name_both_files(folders, tmp_path):
    pred, label = folders
    _nifti(pred / "b_prob.nii.gz", _case()[1] * 2)
    with pytest.raises(ValueError, match=r"b_prob.nii.gz and label .*: `prob` must hold probabilities in \[0, 1\]"):
        evaluate_folder(pred, label, tmp_path / "out", progress=False)


def test_hard_masks_are_accepted_with_a_note(folders, tmp_path, caplog):
    pred, label = folders
    y, _ = _case()
    _nifti(pred / "b_prob.nii.gz", y)  # a 0/1 mask
    with caplog.at_level(logging.WARNING, logger="monai_imbalance.evaluate"):
        report = evaluate_folder(pred, label, tmp_path / "out", n_draws=5, progress=False)
    assert report["inputs"]["hard_mask_cases"] == ["b.nii.gz"]
    assert "1 of 2 predictions are a hard 0/1 mask (b.nii.gz)" in caplog.text
    assert "one operating point" in report["inputs"]["notes"][0]
    assert "> **Note** — 1 of 2 predictions are a hard 0/1 mask" in (tmp_path / "out" / "lesion_report.md").read_text()
    assert report["n_detected"] == 4


def test_label_map_predictions_need_lesion_labels(folders, tmp_path):
    pred, label = folders
    y, _ = _case()
    for c in ("a", "b"):  # nnU-Net-style label maps: organ 1, lesion 2
        _nifti(pred / f"{c}_prob.nii.gz", (y * 2).astype(np.uint8))
        _nifti(label / f"{c}.nii.gz", (y * 2).astype(np.uint8))
    with pytest.raises(ValueError, match=r"is a label map .* pass `lesion_labels`"):
        evaluate_folder(pred, label, tmp_path / "out", progress=False)
    report = evaluate_folder(pred, label, tmp_path / "out", lesion_labels=[2], n_draws=5, progress=False)
    assert report["n_detected"] == 4
    assert report["inputs"]["hard_mask_cases"] == ["a.nii.gz", "b.nii.gz"]
    assert report["inputs"]["notes"][-1].startswith("every prediction is a hard 0/1 mask")


def test_refuses_to_overwrite_a_report(folders, tmp_path):
    pred, label = folders
    out = tmp_path / "out"
    evaluate_folder(pred, label, out, n_draws=5, progress=False)
    with pytest.raises(FileExistsError, match=r"already holds a report lesion_report\.json.*--overwrite"):
        evaluate_folder(pred, label, out, progress=False)
    evaluate_folder(pred, label, out, name="other", n_draws=5, progress=False)  # another name is fine
    report = evaluate_folder(pred, label, out, n_draws=5, progress=False, overwrite=True, key_view="paper")
    assert json.loads((out / "lesion_report.json").read_text())["key_view"] == report["key_view"] == "paper"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"protocol": "lidc"}, ValueError, "`protocol`"),
        ({"key_view": "loose"}, ValueError, "`key_view` must be one of"),
        ({"strict_hit_rule": "overlapp"}, ValueError, "`hit_rule`"),
        ({"strict_hit_threshold": 0.0}, ValueError, "`hit_threshold` must be"),
        ({"threshold": 1.0}, ValueError, "`threshold` must be in"),
        ({"connectivity": 4}, ValueError, "connectivity"),
        ({"workers": 0}, ValueError, "`workers` must be at least 1"),
        ({"workers": 1.5}, TypeError, "`workers` must be an integer"),
        ({"mp_context": "thread"}, ValueError, "`mp_context` must be one of"),
        ({"size_thresholds": [10.0, 5.0]}, ValueError, "strictly increasing"),
        ({"n_draws": 0}, ValueError, "n_draws"),
        ({"lesion_labels": [0]}, ValueError, "`lesion_labels` must be positive"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_bad_settings_stop_before_reading(folders, tmp_path, kwargs, error, match):
    pred, label = folders
    with pytest.raises(error, match=match):
        evaluate_folder(pred, label, tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- command line


def test_cli_main_writes_the_report(folders, tmp_path, capsys, caplog):
    pred, label = folders
    out = tmp_path / "cli"
    argv = ["--pred", str(pred), "--label", str(label), "--output_dir", str(out), "--n_draws", "5", "--no_progress",
            "--size_thresholds", "2,4", "--strict_hit_rule", "dice", "--strict_hit_threshold", "0.2"]  # fmt: skip
    assert main(argv) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["lesion_report.json", "lesion_report.md", "lesion_report_froc.png",
                     "lesion_report_recall_by_size.png", "lesion_report_records.json"]  # fmt: skip
    report = json.loads((out / "lesion_report.json").read_text())
    assert report["matching"] == "one-to-one, Dice ≥ 0.2"
    assert report["size_groups_by"] == "diameter"
    assert "2 cases, 4 lesions" in capsys.readouterr().out
    with caplog.at_level(logging.ERROR, logger="monai_imbalance.evaluate"):
        assert main(argv) == 1  # an earlier report: refused, the error logged without a traceback
    assert "FileExistsError: `output_dir` " in caplog.text
    assert main([*argv, "--overwrite"]) == 0
    assert main(["--pred", str(tmp_path / "none"), "--label", str(label), "--output_dir", str(out)]) == 1


def test_cli_help_runs_without_importing_monai():
    code = (
        "import sys; from monai_imbalance.evaluate.cli import parser; parser().format_help(); "
        "print('monai' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False"]
    helptext = subprocess.run(
        [sys.executable, "-m", "monai_imbalance.evaluate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--pred" in helptext
    assert "--workers" in helptext


@pytest.mark.parametrize(
    ("lesion_labels", "exc", "words"),
    [
        ("23", TypeError, "`lesion_labels`"),
        ([2.5], ValueError, "`lesion_labels`"),
        ([0], ValueError, "`lesion_labels`"),
    ],
    ids=["str", "fraction", "zero"],
)
def test_lesion_labels_checked_before_any_case_is_read(folders, tmp_path, lesion_labels, exc, words):
    pred, label = folders
    with pytest.raises(exc, match=re.escape(words)):
        evaluate_folder(pred, label, tmp_path / "out", progress=False, lesion_labels=lesion_labels)
    assert not (tmp_path / "out").exists()
