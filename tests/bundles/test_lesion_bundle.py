"""The lesion_inverse_weighting bundle: every loss fragment trains, FROC validation, evaluation report, inference,
export, resume, metadata, bad data, where files go, DDP."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import yaml
from scipy import ndimage

from tests.bundles._common import LESION_DATA_SHAPE as DATA_SHAPE
from tests.bundles._common import LESION_TINY as TINY
from tests.bundles._common import ROOT, changed, error_chain, listing, torchrun_train
from tests.bundles._common import run as _run_in
from tests.bundles._common import workflow as _workflow_in

BUNDLE = ROOT / "bundles" / "lesion_inverse_weighting"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")
TRAIN = str(CONFIGS / "train.yaml")
EVALUATE = str(CONFIGS / "evaluate.yaml")
INFER = str(CONFIGS / "inference.yaml")
BINARY = ("bce", "iw_bce", "focal", "iw_focal", "dice", "iw_dice", "asl", "iw_asl", "wce", "gdl")
FRAGMENTS = [CONFIGS / "losses" / f"{name}.yaml" for name in BINARY]

INFER_TINY = {"patch_size": TINY["patch_size"], "sw_batch_size": 4}


def _in_root(override: dict) -> dict:
    """A test's run writes into its bundle_root itself (models/, eval/, logs/) unless it names run_dir."""
    return {"run_dir": override["bundle_root"], **override} if "bundle_root" in override else override


def _workflow(config_file, workflow_type: str, configs: Path = CONFIGS, **override):
    return _workflow_in(configs, config_file, workflow_type, **_in_root(override))


def _run(config_file, workflow_type: str = "train", configs: Path = CONFIGS, **override):
    return _run_in(configs, config_file, workflow_type, **_in_root(override))


def _copy_data(src: Path, dst: Path) -> tuple[Path, dict]:
    shutil.copytree(src, dst)
    return dst, json.loads((dst / "dataset.json").read_text())


@pytest.fixture(scope="module")
def data_dir(lesion_data):
    return lesion_data


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """The default bundle trained for one tiny epoch, validated once (FROC key metric); returns (root, workflow)."""
    root = tmp_path_factory.mktemp("lesion_run")
    wf = _run(TRAIN, bundle_root=str(root), dataset_dir=str(data_dir), **TINY)
    return root, wf


def test_fragments_present():
    assert all(f.is_file() for f in FRAGMENTS)


@pytest.mark.parametrize(
    ("key_view", "rule", "threshold", "expected"),
    [
        ("strict", "iou", 0.1, "one-to-one, IoU ≥ 0.1"),
        ("strict", "dice", 0.2, "one-to-one, Dice ≥ 0.2"),
        ("paper", "iou", 0.1, "many-to-one, any overlap (paper 1)"),
    ],
)
def test_matching_is_declared_once_and_weight_clip_is_overridable(key_view, rule, threshold, expected):
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(CONFIGS / "train.yaml"))
    parser.update(
        {"key_view": key_view, "strict_hit_rule": rule, "strict_hit_threshold": threshold, "inverse_min_weight": 1.0}
    )
    key = parser.get_parsed_content("validate#key_metric#val_average_recall")
    assert key.matching.describe() == expected
    records = parser.get_parsed_content("validate#lesion_records")
    extra = parser.get_parsed_content("validate#additional_metrics")
    assert all(m.owner is records for m in [key, *extra.values()])  # one owner: every case matched once
    assert extra["val_average_recall_paper"].matching.describe() == "many-to-one, any overlap (paper 1)"
    transforms = parser.get_parsed_content("train#preprocessing").transforms
    weights = next(t for t in transforms if type(t).__name__ == "ComputeInverseWeightMapd")
    label = torch.zeros(1, 8, 8, 8)
    label[:, 2:4, 2:4, 2:4] = 1
    w = weights({"label": label})["label_weight"]
    assert float(w.min()) == 1.0  # the background weight 512 / (2 * 504) < 1 is clipped to 1
    assert float(w.max()) == pytest.approx(512 / (2 * 8))


def test_inference_network_is_the_trained_network():
    """inference.yaml builds the same network as train.yaml (it loads train's model.pt) and metadata agrees."""
    train = yaml.safe_load(Path(TRAIN).read_text())
    infer = yaml.safe_load(Path(INFER).read_text())
    assert infer["network_def"] == train["network_def"]
    assert infer["patch_size"] == train["patch_size"]
    meta = json.loads(Path(META).read_text())["network_data_format"]
    assert meta["inputs"]["image"]["spatial_shape"] == train["patch_size"]
    assert meta["outputs"]["pred"]["num_channels"] == train["network_def"]["out_channels"]


def test_train_validates_with_froc_and_saves_best_model(trained):
    root, wf = trained
    evaluator = wf.parser.get_parsed_content("validate#evaluator")
    metrics = evaluator.state.metrics
    assert set(metrics) == {
        "val_average_recall",
        "val_average_recall_strict",
        "val_average_recall_paper",
        "val_object_dice_strict",
        "val_object_dice_paper",
        "val_volume_ratio",
        "val_merged_lesions",
    }
    assert metrics["val_average_recall"] == metrics["val_average_recall_strict"]  # key view: strict
    assert 0.0 <= metrics["val_average_recall"] <= 1.0
    assert evaluator.state.best_metric == metrics["val_average_recall"]
    assert evaluator.state.best_metric_epoch == 1
    # CheckpointSaver(save_key_metric=True) wrote model.pt from the key metric: it is the trained network
    state = torch.load(root / "models" / "model.pt", map_location="cpu", weights_only=True)
    network = wf.parser.get_parsed_content("network")
    assert all(torch.equal(state[k], v) for k, v in network.state_dict().items())
    assert (root / "models" / "checkpoint_final.pt").is_file()
    assert list((root / "logs").iterdir())  # TensorBoard
    assert not (root / "data").exists()  # dataset_dir was elsewhere


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda f: f.stem)
def test_every_loss_fragment_trains(fragment, tmp_path, data_dir):
    wf = _run([TRAIN, str(fragment)], bundle_root=str(tmp_path), dataset_dir=str(data_dir), **TINY)
    target = yaml.safe_load(fragment.read_text())["loss"]
    loss = wf.parser.get_parsed_content("loss")
    assert type(loss).__name__ == target["_target_"].rsplit(".", 1)[-1]
    if "loss" in target:  # MapBridgeLoss: the inverse weights reach the wrapped loss
        assert type(loss.loss).__name__ == target["loss"]["_target_"].rsplit(".", 1)[-1]
    trainer = wf.parser.get_parsed_content("train#trainer")
    assert trainer.state.iteration == TINY["num_training_cases"]
    assert torch.isfinite(torch.as_tensor(trainer.state.output[0]["loss"]))
    assert (tmp_path / "models" / "model.pt").is_file()


def _reference_inverse_weights(label: np.ndarray) -> np.ndarray:
    """Paper 1, eq. 1: every voxel of component j gets N / ((K + 1) |L_j|) (full connectivity)."""
    fg = label > 0.5
    comps, k = ndimage.label(fg, structure=np.ones((3,) * fg.ndim))
    w = np.empty(fg.shape)
    if k == 0:
        return np.ones(fg.shape)
    n = fg.size
    w[~fg] = n / ((k + 1) * np.count_nonzero(~fg))
    for j in range(1, k + 1):
        w[comps == j] = n / ((k + 1) * np.count_nonzero(comps == j))
    return w


def test_inverse_weights_reach_the_loss(data_dir, tmp_path):
    """The default loss gets each patch's inverse lesion-size weights, computed after the crop."""
    wf = _workflow(TRAIN, "train", bundle_root=str(tmp_path), dataset_dir=str(data_dir), **TINY)
    wf.initialize()
    batch = next(iter(wf.parser.get_parsed_content("train#dataloader")))
    image, label = wf.parser.get_parsed_content("train#trainer").prepare_batch(batch, "cpu")
    w = label.meta["label_weight"]
    assert image.shape == w.shape == (TINY["num_samples"], 1, *TINY["patch_size"])
    assert sum(int(label[i].sum() > 0) for i in range(len(label))) >= 1  # p = 0.5 lesion-centred patches
    for i in range(len(label)):
        ref = _reference_inverse_weights(label[i, 0].numpy())
        np.testing.assert_allclose(w[i, 0].numpy(), ref, rtol=1e-5)


def test_evaluate_writes_report(trained, data_dir):
    root, _ = trained
    out = root / "report"
    before = listing(root, data_dir)
    wf = _run([TRAIN, EVALUATE], bundle_root=str(root), dataset_dir=str(data_dir), output_dir=str(out), **TINY)
    assert all(p.startswith(str(out)) for p in changed(before, listing(root, data_dir)))
    names = {p.name for p in out.iterdir()}
    assert {"lesion_report.json", "lesion_report.md", "lesion_report_froc.png", "lesion_report_recall_by_size.png",
            "lesion_report_records.json"} <= names  # fmt: skip
    report = json.loads((out / "lesion_report.json").read_text())
    test_list = json.loads((data_dir / "dataset.json").read_text())["test"]
    assert report["n_cases"] == len(test_list) == 3  # the test list is reported, not the validation list (2)
    assert report["source"].startswith("test list of ")
    assert report["key_view"] == "strict"
    assert report["matching"] == "one-to-one, IoU ≥ 0.1"
    metrics = wf.parser.get_parsed_content("validate#evaluator").state.metrics
    # two routes to the same figure, one rule: the key metric (logged by StatsHandler) and the report
    assert report["average_recall"] == pytest.approx(metrics["val_average_recall"])
    assert report["views"]["paper"]["average_recall"] == pytest.approx(metrics["val_average_recall_paper"])
    if report["object_dice"]["mean"] is not None:
        assert report["object_dice"]["mean"] == pytest.approx(metrics["val_object_dice_strict"])
    md = (out / "lesion_report.md").read_text()
    assert "`strict`: one-to-one, IoU ≥ 0.1" in md
    assert "`paper`: many-to-one, any overlap (paper 1)" in md
    assert report["size_groups_by"] == "diameter"
    assert [g["range"] for g in report["size_groups"]] == [[None, 5.0], [5.0, 10.0], [10.0, None]]
    labels = [np.asarray(nib.load(data_dir / c["label"]).dataobj) for c in test_list]
    n_lesions = sum(ndimage.label(lab > 0.5, structure=np.ones((3, 3, 3)))[1] for lab in labels)
    assert report["n_lesions"] == n_lesions
    for name in ("lesion_report_froc.png", "lesion_report_recall_by_size.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_model_selection_never_keeps_a_blob_model():
    """The bundle's key metric on a model that predicts one blob per volume vs a good model, in either order."""
    from monai.bundle import ConfigParser
    from monai.engines import SupervisedEvaluator

    from tests.metrics._volumes import blob_batch

    blob, y = blob_batch(n=2)
    good = y * 0.9
    for order, best_epoch in (((blob, good), 2), ((good, blob), 1)):
        parser = ConfigParser()
        parser.read_config(TRAIN)
        data = [{"image": order[0], "label": y}]
        evaluator = SupervisedEvaluator(
            device=torch.device("cpu"),
            val_data_loader=data,
            network=torch.nn.Identity(),
            key_val_metric=parser.get_parsed_content("validate#key_metric"),
            additional_metrics=parser.get_parsed_content("validate#additional_metrics"),
        )
        evaluator.run(global_epoch=1)
        first = dict(evaluator.state.metrics)
        data[0] = {"image": order[1], "label": y}
        evaluator.run(global_epoch=2)
        assert evaluator.state.best_metric_epoch == best_epoch
        blob_metrics = first if order[0] is blob else evaluator.state.metrics
        assert blob_metrics["val_average_recall_paper"] == 1.0  # the paper's rule would not tell them apart
        assert blob_metrics["val_average_recall"] < 0.05
        assert blob_metrics["val_volume_ratio"] > 10


def _validation(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "dataset.json").read_text())["validation"]


def test_inference_writes_probabilities(trained, data_dir):
    root, _ = trained
    out = root / "infer"
    _run(INFER, "infer", bundle_root=str(root), dataset_dir=str(data_dir), output_dir=str(out), **INFER_TINY)
    files = sorted((out / "predictions").glob("*_prob.nii.gz"))
    assert [f.name for f in files] == sorted(Path(c["image"]).name.replace(".nii.gz", "_prob.nii.gz")
                                             for c in _validation(data_dir))  # fmt: skip
    prob = np.asarray(nib.load(files[0]).dataobj).squeeze()
    assert prob.shape == tuple(DATA_SHAPE)
    assert prob.dtype == np.float32
    assert prob.min() >= 0.0
    assert prob.max() <= 1.0
    assert np.unique(prob).size > 2  # probabilities, not a thresholded mask


@pytest.mark.parametrize(("config", "kind"), [(TRAIN, "train"), (INFER, "infer")])
def test_check_properties(config, kind, tmp_path, data_dir):
    wf = _workflow(config, kind, bundle_root=str(tmp_path), dataset_dir=str(data_dir))
    wf.initialize()
    assert not wf.check_properties()


def test_metadata_and_net_in_out():
    from monai.bundle import verify_net_in_out

    from monai_imbalance.apps.bundle import verify_metadata_offline

    verify_metadata_offline(META)
    verify_net_in_out(net_id="network_def", meta_file=META, config_file=INFER)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_ckpt_export_gives_a_loadable_torchscript(trained, tmp_path):
    from monai.bundle import ckpt_export

    root, wf = trained
    ts = tmp_path / "model.ts"
    ckpt_export(net_id="network_def", filepath=str(ts), ckpt_file=str(root / "models" / "model.pt"),
                meta_file=META, config_file=INFER, bundle_root=str(root))  # fmt: skip
    scripted = torch.jit.load(str(ts), map_location="cpu")
    network = wf.parser.get_parsed_content("network").eval()
    x = torch.randn(1, 1, *TINY["patch_size"])
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), network(x))


def test_resume_continues_the_epoch_count(trained, tmp_path, data_dir):
    from ignite.engine import Events

    root, _ = trained
    shutil.copytree(root / "models", tmp_path / "models")
    wf = _workflow(TRAIN, "train", bundle_root=str(tmp_path), dataset_dir=str(data_dir),
                   **{**TINY, "num_epochs": 2, "resume": True})  # fmt: skip
    wf.initialize()
    trainer = wf.parser.get_parsed_content("train#trainer")
    epochs_run: list[int] = []
    trainer.add_event_handler(Events.EPOCH_STARTED, lambda e: epochs_run.append(e.state.epoch))
    wf.run()
    wf.finalize()
    assert epochs_run == [2]  # epoch 1 came from the checkpoint
    assert trainer.state.epoch == 2
    assert trainer.state.iteration == 2 * TINY["num_training_cases"]


def test_resume_without_checkpoint_says_so(tmp_path, data_dir):
    with pytest.raises(Exception) as info:  # noqa: PT011 - the config parser wraps the error
        _run(TRAIN, bundle_root=str(tmp_path), dataset_dir=str(data_dir), **{**TINY, "resume": True})
    assert "holds no checkpoint" in error_chain(info.value)


def _corrupt_image(d: Path, info: dict) -> Path:
    f = d / info["training"][1]["image"]
    f.write_bytes(b"this is not a NIfTI file")
    return f


def _truncated_label(d: Path, info: dict) -> Path:
    f = d / info["training"][0]["label"]
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])  # a .nii.gz cut short: gzip's EOFError, named with the file
    return f


def _missing_image(d: Path, info: dict) -> Path:
    f = d / info["training"][1]["image"]
    f.unlink()
    return f


def _image_with_nan(d: Path, info: dict) -> Path:
    f = d / info["training"][1]["image"]
    img = nib.load(str(f))
    data = np.asarray(img.dataobj, np.float32).copy()
    data[0, 0, 0] = np.nan  # one NaN voxel: without the check every loss of the run is NaN, no file named
    nib.save(nib.Nifti1Image(data, img.affine), str(f))
    return f


def _label_wrong_shape(d: Path, info: dict) -> Path:
    f = d / info["training"][0]["label"]
    nib.save(nib.Nifti1Image(np.zeros([*DATA_SHAPE[:-1], DATA_SHAPE[-1] - 1], np.uint8), np.eye(4)), str(f))
    return f


def _to_task03_style(f: Path) -> None:
    """Relabel a binary lesion label as Decathlon Task03 Liver: an organ (1) around the lesions (2)."""
    img = nib.load(str(f))
    lesion = np.asarray(img.dataobj) > 0
    organ = ndimage.binary_dilation(lesion, iterations=2)
    nib.save(nib.Nifti1Image((organ.astype(np.uint8) + lesion.astype(np.uint8)), img.affine), str(f))


def _multi_valued_label(d: Path, info: dict) -> Path:
    f = d / info["training"][1]["label"]
    _to_task03_style(f)
    return f


def _empty_training_list(d: Path, info: dict) -> Path:
    (d / "dataset.json").write_text(json.dumps({**info, "training": []}))
    return d / "dataset.json"


def _broken_dataset_json(d: Path, info: dict) -> Path:
    (d / "dataset.json").write_text("{not json")
    return d / "dataset.json"


def _files_without_dataset_json(d: Path, info: dict) -> Path:
    (d / "dataset.json").unlink()
    return d


@pytest.mark.parametrize(
    "spoil",
    [
        _corrupt_image,
        _truncated_label,
        _missing_image,
        _image_with_nan,
        _label_wrong_shape,
        _multi_valued_label,
        _empty_training_list,
        _broken_dataset_json,
        _files_without_dataset_json,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_bad_data_stops_naming_the_file(spoil, tmp_path, data_dir):
    d, info = _copy_data(data_dir, tmp_path / "data")
    bad = spoil(d, info)
    before = listing(d)
    with pytest.raises(Exception) as exc:  # noqa: PT011 - the config parser / MONAI wrap the error
        _run(TRAIN, bundle_root=str(tmp_path / "root"), dataset_dir=str(d), **TINY)
    assert str(bad) in error_chain(exc.value)
    assert not changed(before, listing(d))  # nothing generated over a user's folder


def test_multi_valued_labels_need_lesion_labels_and_then_train_as_binary(trained, tmp_path, data_dir):
    d, info = _copy_data(data_dir, tmp_path / "task03")
    for item in info["training"] + info["validation"]:
        _to_task03_style(d / item["label"])
    with pytest.raises(Exception) as exc:  # noqa: PT011 - the config parser / MONAI wrap the error
        _run(TRAIN, bundle_root=str(tmp_path / "refused"), dataset_dir=str(d), **TINY)
    assert "lesion_labels" in error_chain(exc.value)
    assert "[0, 1, 2]" in error_chain(exc.value)
    # with the tumour value named, the run sees the same binary labels as the original data: same model, same metric
    wf = _run(TRAIN, bundle_root=str(tmp_path / "root"), dataset_dir=str(d), lesion_labels=[2], **TINY)
    item = wf.parser.get_parsed_content("validate#dataset")[0]
    original = np.asarray(nib.load(str(data_dir / info["validation"][0]["label"])).dataobj)
    np.testing.assert_array_equal(item["label"][0].numpy(), original)
    _, reference = trained
    ours = wf.parser.get_parsed_content("validate#evaluator").state.metrics
    assert ours == pytest.approx(reference.parser.get_parsed_content("validate#evaluator").state.metrics, nan_ok=True)


def _copy_bundle(dst: Path) -> Path:
    bundle = dst / "bundles" / BUNDLE.name
    shutil.copytree(CONFIGS, bundle / "configs")
    return bundle


@pytest.mark.parametrize("where", ["repo_root", "bundle_folder", "explicit_dirs"])
def test_run_writes_only_under_its_folders(where, tmp_path, monkeypatch):
    """From the repository root (``--bundle_root bundles/...``), from the bundle folder (defaults: the data in
    data/, the run in runs/<date-time>/), or with ``--dataset_dir D --output_dir O --ckpt_dir C --log_dir L``:
    every file written lies under those folders."""
    repo = tmp_path / "repo"
    bundle = _copy_bundle(repo)
    configs = bundle / "configs"
    tiny = {**TINY, "val_interval": 1}
    if where == "repo_root":
        monkeypatch.chdir(repo)
        args, dirs = {"bundle_root": f"bundles/{BUNDLE.name}"}, [bundle / "data", bundle / "runs"]
        config = f"bundles/{BUNDLE.name}/configs/train.yaml"
    elif where == "bundle_folder":
        monkeypatch.chdir(bundle)
        args, dirs = {}, [bundle / "data", bundle / "runs"]
        config = "configs/train.yaml"
    else:
        (tmp_path / "cwd").mkdir()
        monkeypatch.chdir(tmp_path / "cwd")
        dirs = [tmp_path / "D", tmp_path / "O", tmp_path / "C", tmp_path / "L"]
        args = dict(zip(("dataset_dir", "output_dir", "ckpt_dir", "log_dir"), map(str, dirs), strict=True))
        config = str(configs / "train.yaml")
    before = listing(tmp_path, BUNDLE)
    _run_in(configs, config, "train", **args, **tiny)
    written = changed(before, listing(tmp_path, BUNDLE))
    assert written
    assert [p for p in written if not any(p.startswith(str(d) + "/") for d in dirs)] == []
    assert (dirs[0] / "dataset.json").is_file()
    if where == "explicit_dirs":
        assert (dirs[2] / "model.pt").is_file()
        assert list(dirs[3].iterdir())  # TensorBoard
    else:
        (run,) = (bundle / "runs").iterdir()  # one run, named after its start: YYYYmmdd-HHMMSS
        assert re.fullmatch(r"\d{8}-\d{6}", run.name)
        assert (run / "models" / "model.pt").is_file()
        assert list((run / "logs").iterdir())


def test_runs_never_overwrite_each_other(tmp_path, data_dir):
    """Two trainings in one bundle_root: two run folders; evaluate / infer use the latest run or the named one,
    and every workflow logs where it wrote its model, report or predictions."""
    common = {"bundle_root": str(tmp_path), "dataset_dir": str(data_dir)}
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("monai_imbalance.bundle")  # logging.conf replaces the root's handlers: listen here
    logger.addHandler(handler)
    try:
        _run_in(CONFIGS, TRAIN, "train", **common, **TINY)
        _run_in(CONFIGS, TRAIN, "train", **common, **TINY)
        first, second = sorted((tmp_path / "runs").iterdir())  # the second start is a later second, or "-2"
        models = {r.name: (r / "models" / "model.pt").read_bytes() for r in (first, second)}
        _run_in(CONFIGS, [TRAIN, EVALUATE], "train", **common, **TINY)  # the latest run
        _run_in(CONFIGS, [TRAIN, EVALUATE], "train", **common, **TINY, run_name=first.name)
        _run_in(CONFIGS, INFER, "infer", **common, **INFER_TINY, run_name=first.name)
    finally:
        logger.removeHandler(handler)
    assert {r.name for r in (tmp_path / "runs").iterdir()} == {first.name, second.name}
    assert {r.name: (r / "models" / "model.pt").read_bytes() for r in (first, second)} == models  # untouched
    assert (second / "eval" / "lesion_report.json").is_file()
    assert (first / "eval" / "lesion_report.json").is_file()
    assert len(list((first / "eval" / "predictions").glob("*_prob.nii.gz"))) == len(_validation(data_dir))
    assert not (second / "eval" / "predictions").exists()
    assert lines[0] == (f"training wrote: model {first / 'models' / 'model.pt'}, checkpoints {first / 'models'}, "
                        f"tensorboard {first / 'logs'}")  # fmt: skip
    assert lines[2].startswith(f"evaluation wrote: report {second / 'eval' / 'lesion_report.md'}, model ")
    assert lines[3].startswith(f"evaluation wrote: report {first / 'eval' / 'lesion_report.md'}, model ")
    assert lines[4].startswith(f"inference wrote: predictions {first / 'eval' / 'predictions'}, model ")


def test_evaluate_names_the_runs_it_knows(tmp_path, data_dir):
    common = {"bundle_root": str(tmp_path), "dataset_dir": str(data_dir)}
    with pytest.raises(Exception) as exc:  # noqa: PT011 - MONAI wraps the error
        _run_in(CONFIGS, [TRAIN, EVALUATE], "train", **common, **TINY)
    assert f"no trained run in {tmp_path / 'runs'} nor a model at " in error_chain(exc.value)
    assert "train first (configs/train.yaml), or pass --run_name" in error_chain(exc.value)
    with pytest.raises(Exception) as exc:  # noqa: PT011
        _run_in(CONFIGS, INFER, "infer", **common, **INFER_TINY, run_name="nope")
    assert "run 'nope' has no trained model" in error_chain(exc.value)


@pytest.mark.slow
def test_multi_gpu_train_torchrun_gloo(tmp_path):
    """Two CPU processes (gloo), the built-in data generated on the fly by rank 0 while rank 1 waits."""
    res = torchrun_train(CONFIGS, tmp_path, tmp_path / "data", {**TINY, "num_epochs": 2})
    assert res.returncode == 0, res.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()  # both ranks wrote into the one run folder rank 0 named
    assert (run / "models" / "checkpoint_final.pt").is_file()
    assert (run / "models" / "model.pt").is_file()
    ckpt = torch.load(run / "models" / "checkpoint_final.pt", map_location="cpu", weights_only=False)
    # each rank trained on its own half of the cases: 1 iteration per epoch, 2 epochs
    assert ckpt["trainer"]["max_epochs"] == 2
    assert ckpt["trainer"]["epoch_length"] == 1
    assert ckpt["trainer"]["iteration"] == 2


def test_cli_run_on_a_truncated_file_exits_cleanly_naming_it(tmp_path, data_dir):
    """`python -m monai.bundle run` on a dataset with a truncated .nii.gz: a non-zero exit (no abort) naming it."""
    import subprocess
    import sys

    from tests.bundles._common import cli_overrides

    d, info = _copy_data(data_dir, tmp_path / "data")
    bad = _truncated_label(d, info)
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", TRAIN, "--meta_file", META,
           "--bundle_root", str(tmp_path / "root"), "--dataset_dir", str(d), *cli_overrides(TINY)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1  # a Python error exit, not a signal (-6: "terminate called ...")
    assert f"cannot read label file {bad}" in done.stderr
    assert "terminate called" not in done.stderr
