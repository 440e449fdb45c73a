"""The multiclass_region_wise bundle: every loss fragment trains, evaluation, inference, resume, metadata, DDP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.bundles._common import MULTICLASS_TINY as TINY
from tests.bundles._common import ROOT, error_chain, torchrun_train
from tests.bundles._common import run as _run_in
from tests.bundles._common import workflow as _workflow_in

BUNDLE = ROOT / "bundles" / "multiclass_region_wise"
CONFIGS = BUNDLE / "configs"
META = str(CONFIGS / "metadata.json")
TRAIN = str(CONFIGS / "train.yaml")
FRAGMENTS = sorted((CONFIGS / "losses").glob("mc_*.yaml"))


def _in_root(override: dict) -> dict:
    """A test's run writes into its bundle_root itself (models/, eval/, logs/) unless it names run_dir."""
    return {"run_dir": override["bundle_root"], **override} if "bundle_root" in override else override


def _workflow(config_file, workflow_type: str, **override):
    return _workflow_in(CONFIGS, config_file, workflow_type, **_in_root(override))


def _run(config_file, workflow_type: str = "train", **override):
    return _run_in(CONFIGS, config_file, workflow_type, **_in_root(override))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from monai_imbalance.apps.bundle import prepare_dataset

    d = tmp_path_factory.mktemp("mc_data")
    prepare_dataset(d, preset="multiclass", num_training=2, num_validation=2, shape=(32, 32, 12), seed=0, num_test=2)
    return d


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir):
    """The default (RRW) bundle trained for one tiny epoch."""
    root = tmp_path_factory.mktemp("mc_run")
    _run(TRAIN, bundle_root=str(root), dataset_dir=str(data_dir), **TINY)
    return root


def test_fragments_present():
    names = {f.stem for f in FRAGMENTS}
    assert names == {"mc_rrw", "mc_rw_boundary", "mc_dice", "mc_focal", "mc_wce", "mc_equal", "mc_gradual"}


def test_default_train_writes_checkpoints(trained):
    assert (trained / "models" / "model.pt").is_file()
    assert (trained / "models" / "checkpoint_final.pt").is_file()
    assert not (trained / "data").exists()  # dataset_dir was elsewhere: nothing written under bundle_root/data


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=lambda f: f.stem)
def test_every_loss_fragment_trains(fragment, tmp_path, data_dir):
    wf = _run([TRAIN, str(fragment)], bundle_root=str(tmp_path), dataset_dir=str(data_dir), **TINY)
    trainer = wf.parser.get_parsed_content("train#trainer")
    loss = trainer.state.output[0]["loss"]
    assert torch.isfinite(torch.as_tensor(loss))
    assert (tmp_path / "models" / "model.pt").is_file()


def test_rrw_map_reaches_the_loss(data_dir, tmp_path):
    """The default loss receives a cropped RRW map: on-class values in [-1, 0), off-class values 1."""
    wf = _workflow(TRAIN, "train", bundle_root=str(tmp_path), dataset_dir=str(data_dir), **TINY)
    wf.initialize()
    batch = next(iter(wf.parser.get_parsed_content("train#dataloader")))
    image, label = wf.parser.get_parsed_content("train#trainer").prepare_batch(batch, "cpu")
    z = label.meta["label_rrw"]
    assert z.shape == (TINY["num_samples"], 4, *TINY["patch_size"])
    assert image.shape == (TINY["num_samples"], 1, *TINY["patch_size"])
    onehot = torch.nn.functional.one_hot(label.as_tensor()[:, 0].long(), 4).movedim(-1, 1).bool()
    assert torch.all(z[onehot] < 0)
    assert torch.all(z[onehot] >= -1)
    assert torch.all(z[~onehot] == 1)


def test_gradual_fragment_steps_alpha(data_dir, tmp_path):
    override = {**TINY, "num_epochs": 2, "val_interval": 2, "gradual_alpha_step": 0.25}
    wf = _run([TRAIN, str(CONFIGS / "losses" / "mc_gradual.yaml")], bundle_root=str(tmp_path),
              dataset_dir=str(data_dir), **override)  # fmt: skip
    assert wf.parser.get_parsed_content("loss#loss").alpha == pytest.approx(0.75)


def test_evaluate_writes_report(trained, data_dir):
    out = trained / "report"
    _run([TRAIN, str(CONFIGS / "evaluate.yaml")], bundle_root=str(trained), dataset_dir=str(data_dir),
         output_dir=str(out), **TINY)  # fmt: skip
    report = json.loads((out / "evaluation.json").read_text())
    assert report["classes"] == ["organ", "tumour", "third_structure"]
    test_list = json.loads((data_dir / "dataset.json").read_text())["test"]
    assert len(report["cases"]) == len(test_list) == 2  # the test list is reported
    assert report["source"].startswith("test list of ")
    assert {c["case"] for c in report["cases"]} == {Path(t["label"]).name for t in test_list}
    for case in report["cases"]:
        assert all(d is None or 0.0 <= d <= 1.0 for d in case["dice"])
        assert all(h is None or h >= 0.0 for h in case["hd95"])
    assert (out / "evaluation.md").read_text().startswith("# Evaluation")
    assert (out / "evaluation.png").stat().st_size > 0


def test_inference_writes_probabilities(trained, data_dir):
    import nibabel as nib

    out = trained / "infer"
    _run(str(CONFIGS / "inference.yaml"), "infer", bundle_root=str(trained), dataset_dir=str(data_dir),
         output_dir=str(out), patch_size=TINY["patch_size"])  # fmt: skip
    files = sorted((out / "predictions").glob("*_prob.nii.gz"))
    assert len(files) == TINY["num_validation_cases"]
    prob = torch.as_tensor(nib.load(files[0]).get_fdata()).squeeze()
    assert prob.shape == (32, 32, 12, 4)
    assert torch.allclose(prob.sum(-1), torch.ones(()).double(), atol=1e-4)


@pytest.mark.parametrize(("config", "kind"), [(TRAIN, "train"), (str(CONFIGS / "inference.yaml"), "infer")])
def test_check_properties(config, kind, tmp_path, data_dir):
    wf = _workflow(config, kind, bundle_root=str(tmp_path), dataset_dir=str(data_dir))
    wf.initialize()
    assert not wf.check_properties()


def test_metadata_and_net_in_out():
    from monai.bundle import verify_net_in_out

    from monai_imbalance.apps.bundle import verify_metadata_offline

    verify_metadata_offline(META)
    verify_net_in_out(net_id="network_def", meta_file=META, config_file=str(CONFIGS / "inference.yaml"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_ckpt_export_gives_a_loadable_torchscript(trained, tmp_path):
    from monai.bundle import ConfigParser, ckpt_export

    infer = str(CONFIGS / "inference.yaml")
    ts = tmp_path / "model.ts"
    ckpt_export(net_id="network_def", filepath=str(ts), ckpt_file=str(trained / "models" / "model.pt"),
                meta_file=META, config_file=infer, bundle_root=str(trained))  # fmt: skip
    scripted = torch.jit.load(str(ts), map_location="cpu")
    parser = ConfigParser()
    parser.read_config(infer)
    network = parser.get_parsed_content("network_def")
    network.load_state_dict(torch.load(trained / "models" / "model.pt", map_location="cpu", weights_only=True))
    network.eval()
    x = torch.randn(1, parser["network_def"]["in_channels"], 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), network(x))


def test_resume(trained, data_dir):
    wf = _run(TRAIN, bundle_root=str(trained), dataset_dir=str(data_dir), **{**TINY, "num_epochs": 2, "resume": True})
    assert wf.parser.get_parsed_content("train#trainer").state.epoch == 2


@pytest.mark.slow
def test_multi_gpu_train_torchrun_gloo(tmp_path, data_dir):
    res = torchrun_train(CONFIGS, tmp_path, data_dir, TINY)
    assert res.returncode == 0, res.stderr[-3000:]
    (run,) = (tmp_path / "runs").iterdir()  # both ranks wrote into the one run folder rank 0 named
    assert (run / "models" / "checkpoint_final.pt").is_file()


@pytest.mark.parametrize("spoil", ["corrupt_image", "label_wrong_shape"])
def test_bad_data_stops_naming_the_file(spoil, tmp_path, data_dir):
    import shutil

    import nibabel as nib
    import numpy as np

    d = tmp_path / "data"
    shutil.copytree(data_dir, d)
    info = json.loads((d / "dataset.json").read_text())
    if spoil == "corrupt_image":
        bad = d / info["training"][1]["image"]
        bad.write_bytes(b"this is not a NIfTI file")
    else:
        bad = d / info["training"][0]["label"]
        nib.save(nib.Nifti1Image(np.zeros((32, 32, 11), np.uint8), np.eye(4)), str(bad))
    with pytest.raises(Exception) as exc:  # noqa: PT011 - the config parser / MONAI wrap the error
        _run(TRAIN, bundle_root=str(tmp_path / "root"), dataset_dir=str(d), **TINY)
    assert str(bad) in error_chain(exc.value)
