"""Experiment grids: shipped configs parse, a tiny real grid runs and resumes, aggregation equals the metrics."""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import zlib

import numpy as np
import pytest

from monai_imbalance.apps.experiments import (
    EXPERIMENTS_DIR,
    load_experiment,
    plan_runs,
    run_experiment,
    summarize_experiment,
)
from monai_imbalance.apps.experiments.__main__ import main
from monai_imbalance.metrics import CaseRecords, average_recall, bootstrap, object_dice, permutation_test
from tests.apps.experiments._fakes import fake_lesion_runner
from tests.bundles._common import MULTICLASS_TINY as TINY_MC

SHIPPED = sorted(EXPERIMENTS_DIR.glob("*.yaml"))
ROOT = EXPERIMENTS_DIR.parents[1]


def _tiny_multiclass(**extra):
    raw = {
        "name": "tiny_mc",
        "root": str(ROOT),
        "bundle": "bundles/multiclass_region_wise",
        "evaluation": {"kind": "multiclass"},
        "overrides": TINY_MC,
        "grid": {"loss": ["mc_rrw", "mc_dice"], "seed": [0], "preset": ["multiclass"]},
        "gradient_signs": {"losses": ["mc_rrw"], "interval": 1},
        "analyses": {"multiclass": {"reference": "mc_rrw", "n_permutations": 100}, "gradient_signs": {},
                     "convergence": {"losses": ["mc_rrw", "mc_dice"]}},
    }  # fmt: skip
    raw.update(extra)
    return load_experiment(raw)


# --- shipped configs ----------------------------------------------------------------------------------------------


def test_every_paper_experiment_is_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"paper1_metastases", "paper1_lits", "paper2_multiclass", "paper2_convergence"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_dry_run_lists_every_run(path, tmp_path):
    cfg = load_experiment(path)
    runs = run_experiment(cfg, tmp_path, dry_run=True, progress=False)
    expected = [
        f"{p}-{loss}-s{s}" for p, s, loss in itertools.product(cfg.grid["preset"], cfg.grid["seed"], cfg.grid["loss"])
    ]
    assert [r["run_id"] for r in runs] == expected
    assert all(r["status"] == "todo" for r in runs)
    assert not (tmp_path / cfg.result_name).exists()  # a dry run writes nothing
    for loss in cfg.grid["loss"]:
        assert cfg.loss_file(loss).is_file()
    for profile in cfg.source.get("profiles", {}):
        gpu = load_experiment(path, profile=profile)
        assert gpu.result_name == f"{cfg.name}-{profile}"
        assert len(plan_runs(gpu)) >= len(runs)


def test_cli_dry_run(capsys, tmp_path):
    code = main(["run", str(EXPERIMENTS_DIR / "paper2_multiclass.yaml"), "--dry_run", "--results_dir", str(tmp_path),
                 "--set", "num_epochs=2", "--no_progress"])  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.startswith("12 runs, 12 to do: multiclass-mc_rrw-s0")


def test_convergence_runs_share_one_dataset():
    runs = plan_runs(load_experiment(EXPERIMENTS_DIR / "paper2_convergence.yaml"))
    assert {r.data_name for r in runs} == {"multiclass-s0"}
    assert len({r.seed for r in runs}) >= 10


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"grid": {"loss": ["mc_rrw"]}}, ValueError, "axes loss, preset"),
        ({"grid": {"loss": ["mc_rrw", "mc_rrw"], "preset": ["multiclass"]}}, ValueError, "duplicates"),
        ({"grid": {"loss": ["nope"], "preset": ["multiclass"]}}, FileNotFoundError, "nope.yaml"),
        ({"evaluation": {"kind": "froc"}}, ValueError, "evaluation.kind"),
        ({"data_seed": -1}, ValueError, "data_seed"),
        ({"typo": 1}, ValueError, "unknown experiment keys"),
        ({"bundle": "bundles/none"}, FileNotFoundError, "bundle folder"),
    ],
)
def test_config_errors(change, error, match):
    with pytest.raises(error, match=match):
        _tiny_multiclass(**change)


def test_unknown_profile():
    with pytest.raises(KeyError, match="profile"):
        load_experiment(EXPERIMENTS_DIR / "paper2_multiclass.yaml", profile="tpu")


# --- a tiny real grid -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = tmp_path_factory.mktemp("results")
        cfg = _tiny_multiclass()
        first = run_experiment(cfg, results, progress=False)
        summarize_experiment(results / cfg.result_name)
    finally:
        torch.set_num_threads(threads)
    return cfg, results, first


def test_tiny_grid_runs_and_summarises(tiny_grid):
    cfg, results, first = tiny_grid
    exp = results / cfg.result_name
    assert [r["status"] for r in first] == ["done", "done"]
    for r in first:
        run_dir = exp / "runs" / r["run_id"]
        assert (run_dir / "done.json").is_file()
        assert (run_dir / "eval" / "evaluation.json").is_file()
        assert r["wall_time_s"] >= r["train_time_s"] > 0
        assert 0.0 <= r["metrics"]["mean_dice"] <= 1.0
    assert len(list((exp / "data").iterdir())) == 1  # one dataset shared by both losses
    summary = json.loads((exp / "summary.json").read_text())
    assert summary["n_done"] == summary["n_planned"] == 2
    assert (exp / "summary.md").read_text().startswith("# tiny_mc")
    for png in ("multiclass_scores.png", "convergence_cdf.png", "gradient_signs.png"):
        assert (exp / png).stat().st_size > 0
    assert "done in" in (exp / "log.txt").read_text()


def test_rrw_gradients_have_one_negative_component(tiny_grid):
    """The rectification principle, measured during real training: every voxel, every recorded iteration."""
    cfg, results, _ = tiny_grid
    history = json.loads(
        (results / cfg.result_name / "runs" / "multiclass-mc_rrw-s0" / "gradient_signs.json").read_text()
    )
    assert len(history["history"]) == TINY_MC["num_training_cases"]  # interval 1: every iteration of the epoch
    assert all(rec["fraction"] == 1.0 for rec in history["history"])
    assert not (results / cfg.result_name / "runs" / "multiclass-mc_dice-s0" / "gradient_signs.json").exists()


def test_multiclass_aggregation_matches_the_metrics(tiny_grid):
    cfg, results, _ = tiny_grid
    exp = results / cfg.result_name
    summary = json.loads((exp / "summary.json").read_text())["multiclass"]
    reports = {
        loss: json.loads((exp / "runs" / f"multiclass-{loss}-s0" / "eval" / "evaluation.json").read_text())
        for loss in ("mc_rrw", "mc_dice")
    }
    classes = reports["mc_rrw"]["classes"]
    for loss, c, metric in itertools.product(reports, range(len(classes)), ("dice", "hd95")):
        values = [case[metric][c] for case in reports[loss]["cases"]]
        finite = [v for v in values if v is not None]
        got = summary["losses"][loss][classes[c]][metric]
        assert got["n"] == len(finite)
        if finite:
            assert got["mean"] == pytest.approx(np.mean(finite))
            assert got["std"] == pytest.approx(np.std(finite))
        pairs = [(a[metric][c], b[metric][c]) for a, b in zip(reports["mc_rrw"]["cases"], reports[loss]["cases"],
                                                                strict=True)]  # fmt: skip
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        if loss != "mc_rrw" and len(pairs) >= 2:
            a, b = np.asarray(pairs).T
            assert got["p_value"] == pytest.approx(permutation_test(a, b, n_permutations=100, seed=0).pvalue)
        else:
            assert got["p_value"] is None
    conv = json.loads((exp / "summary.json").read_text())["convergence"]["losses"]
    for loss in reports:
        done = json.loads((exp / "runs" / f"multiclass-{loss}-s0" / "done.json").read_text())
        assert conv[loss]["values"] == [pytest.approx(done["metrics"]["mean_dice"])]


def test_second_invocation_skips_and_partial_run_is_redone(tiny_grid, one_thread):
    cfg, results, _ = tiny_grid
    exp = results / cfg.result_name
    kept, redone = exp / "runs" / "multiclass-mc_rrw-s0", exp / "runs" / "multiclass-mc_dice-s0"
    kept_marker = (kept / "done.json").stat().st_mtime_ns
    (redone / "done.json").unlink()  # as if killed after training: no done-marker
    (redone / "leftover.txt").write_text("partial")
    second = run_experiment(cfg, results, progress=False)
    assert [r["status"] for r in second] == ["skipped", "done"]
    assert (kept / "done.json").stat().st_mtime_ns == kept_marker
    assert (redone / "done.json").is_file()
    assert not (redone / "leftover.txt").exists()
    third = run_experiment(cfg, results, progress=False)
    assert [r["status"] for r in third] == ["skipped", "skipped"]


# --- fake runs: failures and the lesion-wise aggregation --------------------------------------------------------------


def _records(loss, seed):
    rng = np.random.default_rng(zlib.crc32(f"{loss}-{seed}".encode()))
    out = []
    for i in range(6):
        k = int(rng.integers(1, 6))
        conf = np.where(rng.random(k) < (0.8 if loss.startswith("iw") else 0.5), rng.random(k), -np.inf)
        vol = rng.integers(1, 500, k).astype(float)
        out.append(CaseRecords(conf, np.where(np.isfinite(conf), rng.random(k), 0.0), (6 * vol / np.pi) ** (1 / 3),
                               vol, rng.random(int(rng.integers(0, 4))), case_id=f"case_{i}"))  # fmt: skip
    return out


@pytest.fixture
def lesion_cfg():
    return load_experiment(
        {
            "name": "tiny_lesion",
            "root": str(ROOT),
            "bundle": "bundles/lesion_inverse_weighting",
            "evaluate_config": ["configs/train.yaml"],
            "evaluation": {"kind": "lesion"},
            "grid": {"loss": ["dice", "iw_dice"], "seed": [0, 1], "preset": ["metastases"]},
            "analyses": {"lesion": {"n_draws": 20, "pairs": [["dice", "iw_dice"]]}},
        }
    )


def test_lesion_aggregation_matches_the_metrics(lesion_cfg, tmp_path):
    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=fake_lesion_runner(lambda s: _records(s.loss, s.seed)))
    exp = tmp_path / "tiny_lesion"
    summary = summarize_experiment(exp)["lesion"]
    for loss in ("dice", "iw_dice"):
        pooled = [dataclasses.replace(c, case_id=f"s{s}:{c.case_id}") for s in (0, 1) for c in _records(loss, s)]
        report = summary["losses"][loss]["report"]
        assert report["average_recall"] == pytest.approx(average_recall(pooled))
        boot = bootstrap(pooled, n_draws=20, seed=0)
        assert report["bootstrap"]["mean"] == pytest.approx(boot.mean)
        assert report["bootstrap"]["std"] == pytest.approx(boot.std)
        assert (report["object_dice"]["mean"], report["object_dice"]["std"]) == pytest.approx(object_dice(pooled))
        assert report["n_lesions"] == sum(c.n_lesions for c in pooled)
        per_seed = summary["losses"][loss]["per_seed"]
        assert per_seed == {s: pytest.approx(average_recall(_records(loss, s))) for s in (0, 1)}
    pair = summary["pairs"][0]
    pooled = {
        loss: [dataclasses.replace(c, case_id=f"s{s}:{c.case_id}") for s in (0, 1) for c in _records(loss, s)]
        for loss in ("dice", "iw_dice")
    }
    boots = {loss: bootstrap(cases, n_draws=20, seed=0).mean for loss, cases in pooled.items()}
    assert pair["delta_average_recall"] == pytest.approx(boots["iw_dice"] - boots["dice"])
    assert pair["delta_per_seed"] == {
        s: pytest.approx(average_recall(_records("iw_dice", s)) - average_recall(_records("dice", s))) for s in (0, 1)
    }
    md = (exp / "summary.md").read_text()
    assert "| iw_dice - dice |" in md
    assert (exp / "froc.png").stat().st_size > 0
    assert (exp / "recall_by_size.png").stat().st_size > 0


def test_failed_run_is_logged_and_redone(lesion_cfg, tmp_path):
    good = fake_lesion_runner(lambda s: _records(s.loss, s.seed))

    def flaky(cfg, spec, exp_dir):
        if spec.run_id == "metastases-iw_dice-s0":
            (exp_dir / "runs" / spec.run_id).mkdir(parents=True)
            raise RuntimeError("out of memory")
        return good(cfg, spec, exp_dir)

    first = run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=flaky)
    assert [r["status"] for r in first] == ["done", "failed", "done", "done"]
    failed_dir = tmp_path / "tiny_lesion" / "runs" / "metastases-iw_dice-s0"
    assert "out of memory" in (failed_dir / "failed.txt").read_text()
    assert "failed" in (tmp_path / "tiny_lesion" / "log.txt").read_text()
    calls = []

    def counting(cfg, spec, exp_dir):
        calls.append(spec.run_id)
        shutil.rmtree(exp_dir / "runs" / spec.run_id, ignore_errors=True)  # the real runner clears a partial run
        return good(cfg, spec, exp_dir)

    second = run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=counting)
    assert calls == ["metastases-iw_dice-s0"]
    assert [r["status"] for r in second] == ["skipped", "done", "skipped", "skipped"]


def test_report_before_run_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the experiment first"):
        summarize_experiment(tmp_path)


def test_cli_report(tmp_path, lesion_cfg, capsys, monkeypatch):
    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=fake_lesion_runner(lambda s: _records(s.loss, s.seed)))
    assert not (tmp_path / "tiny_lesion" / "summary.md").exists()  # run_experiment runs; the CLI also reports
    yaml_path = tmp_path / "tiny_lesion.yaml"
    import yaml

    yaml_path.write_text(yaml.safe_dump(lesion_cfg.source))
    assert main(["report", str(yaml_path), "--results_dir", str(tmp_path)]) == 0
    assert (tmp_path / "tiny_lesion" / "summary.md").is_file()


def test_run_with_other_settings_is_redone(lesion_cfg, tmp_path):
    calls = []
    fake = fake_lesion_runner(lambda s: _records(s.loss, s.seed))

    def counting(cfg, spec, exp_dir):
        calls.append(spec.run_id)
        shutil.rmtree(exp_dir / "runs" / spec.run_id, ignore_errors=True)
        return fake(cfg, spec, exp_dir)

    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=counting)
    assert len(calls) == 4
    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=counting)
    assert len(calls) == 4  # same settings: every run skipped
    edited = load_experiment(lesion_cfg.source, overrides={"num_epochs": 3})
    statuses = [r["status"] for r in run_experiment(edited, tmp_path, progress=False, run_fn=counting)]
    assert statuses == ["done"] * 4
    assert len(calls) == 8


def test_run_metrics_reads_the_lesion_report(lesion_cfg, tmp_path):
    from monai_imbalance.apps.experiments import run_metrics
    from monai_imbalance.reporting import write_lesion_report

    cases = _records("dice", 0)
    write_lesion_report(cases, tmp_path, n_draws=10)
    metrics = run_metrics(lesion_cfg, tmp_path)
    assert metrics["average_recall"] == pytest.approx(average_recall(cases))
    assert metrics["object_dice"] == pytest.approx(object_dice(cases)[0])
    assert metrics["n_lesions"] == sum(c.n_lesions for c in cases)
    with pytest.raises(FileNotFoundError, match="no report"):
        run_metrics(lesion_cfg, tmp_path / "missing")


def test_tiny_lesion_grid_runs(tmp_path, one_thread):
    """The lesion bundle end to end through the runner (train, evaluate.yaml, records, summary)."""
    raw = {
        "name": "tiny_lesion_real",
        "root": str(ROOT),
        "bundle": "bundles/lesion_inverse_weighting",
        "evaluation": {"kind": "lesion"},
        "overrides": {"num_training_cases": 2, "num_validation_cases": 2, "num_test_cases": 2,
                      "data_shape": [32, 32, 32], "patch_size": [16, 16, 16], "num_samples": 2, "num_epochs": 1,
                      "val_interval": 1,
                      "network_def#channels": [4, 8, 16, 32], "network_def#num_res_units": 1},
        "grid": {"loss": ["dice", "iw_dice"], "seed": [0], "preset": ["metastases"]},
        "analyses": {"lesion": {"n_draws": 10, "pairs": [["dice", "iw_dice"]]}},
    }  # fmt: skip
    cfg = load_experiment(raw)
    runs = run_experiment(cfg, tmp_path, progress=False)
    assert [r["status"] for r in runs] == ["done", "done"]
    summary = summarize_experiment(tmp_path / cfg.result_name)
    from monai_imbalance.reporting import load_records

    for loss in ("dice", "iw_dice"):
        cases = load_records(tmp_path / cfg.result_name / "runs" / f"metastases-{loss}-s0" / "eval" /
                             "lesion_report_records.json")  # fmt: skip
        assert len(cases) == 2
        report = summary["lesion"]["losses"][loss]["report"]
        assert report["n_lesions"] == sum(c.n_lesions for c in cases)


@pytest.mark.parametrize(("value", "ok"), [(0, True), ("$monai.utils.set_determinism(seed=0)", False), (True, False)])
def test_seed_id_must_name_an_integer_id(value, ok):
    from types import SimpleNamespace

    from monai.bundle import ConfigParser

    from monai_imbalance.apps.experiments.runner import _set_seed

    wf = SimpleNamespace(parser=ConfigParser({"seed": value}))
    if ok:
        _set_seed(wf, "seed", 3)
        assert wf.parser["seed"] == 3
    else:
        with pytest.raises(ValueError, match="integer seed id"):
            _set_seed(wf, "seed", 3)


@pytest.mark.parametrize("view", ["strict", "paper"])
def test_lesion_comparison_reads_the_chosen_view(lesion_cfg, tmp_path, view):
    """`analyses.lesion.view` picks which matching rule's records the comparison pools (strict by default)."""
    two_views = fake_lesion_runner(
        lambda s: {"strict": _records(s.loss, s.seed), "paper": _records(s.loss + "-paper", s.seed)}
    )
    lesion_cfg.analyses["lesion"]["view"] = view
    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=two_views)
    summary = summarize_experiment(tmp_path / "tiny_lesion")["lesion"]
    suffix = "" if view == "strict" else "-paper"
    for loss in ("dice", "iw_dice"):
        pooled = [
            dataclasses.replace(c, case_id=f"s{s}:{c.case_id}") for s in (0, 1) for c in _records(loss + suffix, s)
        ]
        assert summary["losses"][loss]["report"]["average_recall"] == pytest.approx(average_recall(pooled))
    assert f"view `{view}`" in (tmp_path / "tiny_lesion" / "summary.md").read_text()


def test_unknown_lesion_view_is_named(lesion_cfg, tmp_path):
    lesion_cfg.analyses["lesion"]["view"] = "lenient"
    run_experiment(lesion_cfg, tmp_path, progress=False, run_fn=fake_lesion_runner(lambda s: _records(s.loss, s.seed)))
    with pytest.raises(ValueError, match=r"`analyses.lesion.view` must be one of \['paper', 'strict'\], got 'lenient'"):
        summarize_experiment(tmp_path / "tiny_lesion")
