"""Each bundle as the MONAI model zoo's unit tests run one: train, evaluate and infer through ``ConfigWorkflow``
with ``check_properties()``, on small generated data, one thread. Slow (two trainings): ``pytest -m slow``."""

from __future__ import annotations

import json

import pytest

from monai_imbalance.apps.bundle import prepare_dataset
from tests.bundles._common import LESION_TINY, MULTICLASS_TINY, ROOT, workflow

CASES = {
    "lesion_inverse_weighting": ("metastases", LESION_TINY, {"patch_size": [16, 16, 16], "sw_batch_size": 4}),
    "multiclass_region_wise": ("multiclass", MULTICLASS_TINY, {"patch_size": [32, 32], "sw_batch_size": 4}),
}
REPORT = {"lesion_inverse_weighting": "lesion_report.json", "multiclass_region_wise": "evaluation.json"}


def _run_checked(configs, files, kind, **override):
    wf = workflow(configs, [str(configs / f) for f in files], kind, **override)
    wf.initialize()
    missing = wf.check_properties()
    assert not missing, f"{files}: {kind} properties missing or wrong: {missing}"
    wf.run()
    wf.finalize()
    return wf


@pytest.mark.slow
@pytest.mark.parametrize("bundle", sorted(CASES))
def test_train_evaluate_infer_like_the_model_zoo(bundle, tmp_path, one_thread):
    preset, tiny, infer = CASES[bundle]
    configs = ROOT / "bundles" / bundle / "configs"
    data = tmp_path / "data"
    prepare_dataset(data, preset=preset, num_training=2, num_validation=2, shape=tiny["data_shape"], num_test=2)
    common = {"bundle_root": str(tmp_path), "dataset_dir": str(data)}
    _run_checked(configs, ["train.yaml"], "train", **common, **tiny)
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "models" / "model.pt").is_file()
    _run_checked(configs, ["train.yaml", "evaluate.yaml"], "train", **common, **tiny)
    report = json.loads((run / "eval" / REPORT[bundle]).read_text())
    assert report["source"].startswith("test list of ")
    _run_checked(configs, ["inference.yaml"], "infer", **common, **infer)
    assert len(list((run / "eval" / "predictions").glob("*_prob.nii.gz"))) == 2  # the validation list
