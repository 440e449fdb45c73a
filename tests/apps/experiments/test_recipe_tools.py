"""The tools of the strict-metric recipe search: fragment variants, --only, re-evaluation at thresholds, both views."""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from monai_imbalance.apps.experiments import (
    EXPERIMENTS_DIR,
    evaluate_thresholds,
    load_experiment,
    run_experiment,
    summarize_experiment,
)
from monai_imbalance.apps.experiments.__main__ import main
from monai_imbalance.metrics import CaseRecords
from tests.apps.experiments._fakes import fake_lesion_runner

ROOT = EXPERIMENTS_DIR.parents[1]
LESION_BUNDLE = ROOT / "bundles" / "lesion_inverse_weighting"


def _cfg(presets=("metastases",), **extra):
    raw = {
        "name": "tiny_views",
        "root": str(ROOT),
        "bundle": "bundles/lesion_inverse_weighting",
        "evaluate_config": ["configs/train.yaml"],
        "evaluation": {"kind": "lesion"},
        "loss_fragments": {"capped": "iw_bce_recipe"},
        "loss_overrides": {"capped": {"recipe_alpha": 0.0}},
        "grid": {"loss": ["bce", "capped"], "seed": [0, 1], "preset": list(presets)},
        "analyses": {"lesion": {"n_draws": 5, "pairs": [["bce", "capped"]]}},
    }
    raw.update(extra)
    return load_experiment(raw)


def _views(loss, seed, preset, threshold=0.5):
    """Records of one run under both views: the strict view finds a subset of what the paper view finds."""
    rng = np.random.default_rng(zlib.crc32(f"{loss}-{seed}-{preset}-{threshold}".encode()))
    paper, strict = [], []
    for i in range(4):
        k = int(rng.integers(1, 5))
        conf = np.where(rng.random(k) < 0.7, rng.random(k), -np.inf)
        keep = np.where(rng.random(k) < 0.6, conf, -np.inf)
        diam = rng.uniform(2.0, 15.0, k)
        vol = np.pi / 6 * diam**3
        fp = rng.random(int(rng.integers(0, 3)))
        common = {"case_id": f"case_{i}", "predicted_volume": float(vol.sum() * rng.uniform(0.5, 3.0))}
        paper.append(CaseRecords(conf, np.where(np.isfinite(conf), 0.5, 0.0), diam, vol, fp, matching="paper",
                                 **common))  # fmt: skip
        strict.append(CaseRecords(keep, np.where(np.isfinite(keep), 0.4, 0.0), diam, vol,
                                  np.concatenate([fp, conf[np.isfinite(conf) & ~np.isfinite(keep)]]),
                                  matching="strict", **common))  # fmt: skip
    return {"paper": paper, "strict": strict}


def _fake_runner():
    return fake_lesion_runner(lambda spec: _views(spec.loss, spec.seed, spec.preset))


def _fake_evaluate(cfg, spec, overrides):
    from monai_imbalance.reporting import save_records, write_lesion_report

    out = Path(overrides["output_dir"])
    out.mkdir(parents=True)
    views = _views(spec.loss, spec.seed, spec.preset, overrides["lesion_threshold"])
    save_records(views, out / cfg.evaluation["records"])
    write_lesion_report(views, out, n_draws=2)


def _pooled(loss, preset, threshold=0.5):
    out = {}
    for s in (0, 1):
        for view, cases in _views(loss, s, preset, threshold).items():
            out.setdefault(view, []).extend(dataclasses.replace(c, case_id=f"s{s}:{c.case_id}") for c in cases)
    return out


# --- config: variants of one fragment -------------------------------------------------------------------------------


def test_loss_fragments_name_variants_of_one_fragment():
    cfg = _cfg()
    assert cfg.loss_file("capped") == LESION_BUNDLE / "configs" / "losses" / "iw_bce_recipe.yaml"
    assert cfg.loss_file("bce") == LESION_BUNDLE / "configs" / "losses" / "bce.yaml"
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        _cfg(loss_fragments={"capped": "nope"})
    with pytest.raises(TypeError, match="loss_fragments"):
        _cfg(loss_fragments=["capped"])


def test_cli_only_runs_part_of_the_grid(capsys, tmp_path):
    path = str(EXPERIMENTS_DIR / "iw_recipe_tune.yaml")
    assert main(["run", path, "--dry_run", "--results_dir", str(tmp_path), "--only", "dice,iw_dice"]) == 0
    assert capsys.readouterr().out.startswith("2 runs, 2 to do: metastases-dice-s0, metastases-iw_dice-s0")
    with pytest.raises(SystemExit):
        main(["run", path, "--dry_run", "--results_dir", str(tmp_path), "--only", "typo"])
    assert "not in the grid" in capsys.readouterr().err


# --- the recipe fragments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iw_bce_recipe", "iw_dice_recipe"])
def test_recipe_fragment_is_the_documented_mix(name):
    """alpha * plain + (1 - alpha) * inverse-weighted (paper weights clipped), the alpha handler appended."""
    from monai.bundle import ConfigParser

    from monai_imbalance.handlers.schedule import CombinedLossAlphaHandler
    from monai_imbalance.losses import VoxelWeightedBCELoss, VoxelWeightedDiceLoss
    from monai_imbalance.maps import inverse_weight_map

    parser = ConfigParser()
    parser.read_config(
        [str(LESION_BUNDLE / "configs" / "train.yaml"), str(LESION_BUNDLE / "configs" / "losses" / f"{name}.yaml")]
    )
    handlers = parser["train"]["handlers"]
    assert handlers[-1]["_target_"].endswith("CombinedLossAlphaHandler")
    assert len(handlers) == 6  # the bundle's five, extended (not replaced)
    loss = parser.get_parsed_content("loss")
    CombinedLossAlphaHandler(loss).__call__(type("E", (), {"state": type("S", (), {"epoch": 1})()})())
    alpha = parser["recipe_alpha"]
    lo, hi = parser["recipe_min_weight"], parser["recipe_max_weight"]
    torch.manual_seed(0)
    x = torch.randn(2, 1, 12, 12, 8, dtype=torch.float64)
    y = torch.zeros_like(x)
    y[0, 0, 2, 2, 2] = 1
    y[0, 0, 6:9, 6:9, 3:6] = 1
    y[1, 0, 1:3, 1:3, 1:3] = 1
    w = torch.as_tensor(np.stack([inverse_weight_map(y[i].numpy()) for i in range(2)])).clamp(lo, hi)
    plain = VoxelWeightedBCELoss() if "bce" in name else VoxelWeightedDiceLoss(sigmoid=True, squared_pred=True)
    expected = alpha * plain(x, y) + (1 - alpha) * plain(x, y, weight=w)
    assert float(loss(x, y)) == pytest.approx(float(expected), rel=1e-6)


# --- re-evaluation at other thresholds and both views in the summary -------------------------------------------------


def test_views_table_pools_seeds_and_lists_thresholds(tmp_path):
    from monai_imbalance.reporting import lesion_report

    cfg = _cfg()
    run_experiment(cfg, tmp_path, progress=False, run_fn=_fake_runner())
    calls = []

    def counting(c, spec, overrides):
        calls.append((spec.run_id, overrides["lesion_threshold"]))
        _fake_evaluate(c, spec, overrides)

    done = evaluate_thresholds(cfg, tmp_path, [0.9], evaluate_fn=counting)
    assert [d["status"] for d in done] == ["done"] * 4
    assert calls[0] == ("metastases-bce-s0", 0.9)
    again = evaluate_thresholds(cfg, tmp_path, [0.9], evaluate_fn=counting)
    assert [d["status"] for d in again] == ["skipped"] * 4
    assert len(calls) == 4
    summary = summarize_experiment(tmp_path / "tiny_views")["lesion"]["views_table"]
    assert list(summary) == ["bce", "bce @ 0.9", "capped", "capped @ 0.9"]
    for name, threshold in (("capped", 0.5), ("capped @ 0.9", 0.9)):
        expected = lesion_report(_pooled("capped", "metastases", threshold), size_thresholds=[5.0, 10.0], n_draws=1)
        row = summary[name]
        strict = expected["views"]["strict"]
        assert row["strict_detected"] == strict["n_detected"]
        assert row["paper_detected"] == expected["views"]["paper"]["n_detected"]
        assert row["strict_detected"] <= row["paper_detected"]
        assert row["strict_small_detected"] == strict["size_groups"][0]["n_detected"]
        assert row["strict_average_recall"] == pytest.approx(strict["average_recall"])
        assert row["paper_average_recall"] == pytest.approx(expected["views"]["paper"]["average_recall"])
        assert row["strict_false_positives"] == strict["n_false_positives"]
        assert row["volume_ratio"] == pytest.approx(expected["diagnostics"]["volume_ratio"])
    md = (tmp_path / "tiny_views" / "summary.md").read_text()
    assert "| capped @ 0.9 |" in md
    assert "found strictly (of N)" in md
    with pytest.raises(ValueError, match="thresholds"):
        evaluate_thresholds(cfg, tmp_path, [1.0])


def test_two_presets_are_never_pooled(tmp_path):
    cfg = _cfg(presets=("metastases", "ct_metastases"))
    run_experiment(cfg, tmp_path, progress=False, run_fn=_fake_runner())
    lesion = summarize_experiment(tmp_path / "tiny_views")["lesion"]
    assert set(lesion["presets"]) == {"metastases", "ct_metastases"}
    for preset in ("metastases", "ct_metastases"):
        row = lesion["presets"][preset]["views_table"]["bce"]
        assert row["n_lesions"] == len(np.concatenate([c.lesion_volume for c in _pooled("bce", preset)["strict"]]))
        assert lesion["presets"][preset]["losses"]["bce"]["report"]["n_cases"] == 8
    md = (tmp_path / "tiny_views" / "summary.md").read_text()
    assert "# Preset `ct_metastases`" in md
    assert (tmp_path / "tiny_views" / "froc_ct_metastases.png").stat().st_size > 0
