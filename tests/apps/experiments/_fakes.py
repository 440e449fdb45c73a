"""Fake experiment runs shared by the experiment tests."""

from __future__ import annotations

import json
from pathlib import Path


def fake_lesion_runner(records_for):
    """A ``run_fn`` for ``run_experiment`` that trains nothing: it saves ``records_for(spec)`` as the run's lesion
    records and writes the run's ``done.json`` as a real run does."""
    from monai_imbalance.apps.experiments.runner import _base_overrides
    from monai_imbalance.reporting import save_records

    def run(cfg, spec, exp_dir):
        run_dir = exp_dir / "runs" / spec.run_id
        (run_dir / "eval").mkdir(parents=True)
        overrides = _base_overrides(cfg, spec, run_dir, exp_dir / "data" / spec.data_name)
        save_records(records_for(spec), run_dir / "eval" / cfg.evaluation["records"])
        done = {"run_id": spec.run_id, "loss": spec.loss, "seed": spec.seed, "preset": spec.preset,
                "data_seed": spec.data_seed, "metrics": {"average_recall": 0.0}, "train_time_s": 1.0,
                "eval_time_s": 1.0, "wall_time_s": 2.0, "overrides": {k: str(v) if isinstance(v, Path) else v
                                                                      for k, v in overrides.items()}}  # fmt: skip
        (run_dir / "done.json").write_text(json.dumps(done))
        return done

    return run
