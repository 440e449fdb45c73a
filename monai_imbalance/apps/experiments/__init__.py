"""Comparison grids of the papers, run through the bundles: config, sequential resumable runner, aggregation, plots.

``python -m monai_imbalance.apps.experiments run configs/experiments/<name>.yaml [--results_dir results] [--dry_run]``
trains and evaluates every run of the grid in this process and writes ``results/<name>/summary.{json,md}``;
``python -m monai_imbalance.apps.experiments report configs/experiments/<name>.yaml`` re-aggregates the finished runs;
``python -m monai_imbalance.apps.experiments thresholds configs/experiments/<name>.yaml --thresholds 0.5,0.9`` evaluates
the finished runs again at other probability thresholds (``runs/<run_id>/eval_t<t>/``, listed in the summary);
``python -m monai_imbalance.apps.experiments choose-thresholds configs/experiments/<name>.yaml`` chooses each run's
threshold on its validation list by the strict lesion F1 and evaluates the test list there (``loss @ val``).
"""

from __future__ import annotations

from monai_imbalance.apps.experiments.config import (
    EVALUATION_KINDS,
    EXPERIMENTS_DIR,
    ExperimentConfig,
    RunSpec,
    load_experiment,
    plan_runs,
)
from monai_imbalance.apps.experiments.plots import plot_convergence_cdf, plot_gradient_signs, plot_multiclass_scores
from monai_imbalance.apps.experiments.report import load_done_runs, summarize_experiment
from monai_imbalance.apps.experiments.runner import (
    CHOSEN_THRESHOLD,
    DONE_MARKER,
    choose_thresholds,
    evaluate_thresholds,
    lesion_f1,
    run_experiment,
    run_metrics,
    write_experiment_record,
)
from monai_imbalance.apps.experiments.summary import (
    convergence_summary,
    gradient_sign_summary,
    lesion_summary,
    multiclass_summary,
)

__all__ = [
    "CHOSEN_THRESHOLD",
    "DONE_MARKER",
    "EVALUATION_KINDS",
    "EXPERIMENTS_DIR",
    "ExperimentConfig",
    "RunSpec",
    "choose_thresholds",
    "convergence_summary",
    "evaluate_thresholds",
    "gradient_sign_summary",
    "lesion_f1",
    "lesion_summary",
    "load_done_runs",
    "load_experiment",
    "multiclass_summary",
    "plan_runs",
    "plot_convergence_cdf",
    "plot_gradient_signs",
    "plot_multiclass_scores",
    "run_experiment",
    "run_metrics",
    "summarize_experiment",
    "write_experiment_record",
]
