"""Command line: ``python -m monai_imbalance.apps.experiments {run,report,thresholds,choose-thresholds} CONFIG``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from monai_imbalance.apps.experiments.config import load_experiment
from monai_imbalance.apps.experiments.report import summarize_experiment
from monai_imbalance.apps.experiments.runner import (
    choose_thresholds,
    evaluate_thresholds,
    run_experiment,
    write_experiment_record,
)


def _pair(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects KEY=VALUE, got {text!r}.")
    return key, yaml.safe_load(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Run or re-aggregate an experiment grid.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 when every run finished (``run``) or the summary was written (``report``), 1 when a run failed.

    Example:
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR
        >>> import tempfile
        >>> main(["run", str(EXPERIMENTS_DIR / "paper2_convergence.yaml"), "--dry_run", "--results_dir",
        ...       tempfile.mkdtemp(), "--no_progress"])
        20 runs, 20 to do: multiclass-mc_rrw-s0, multiclass-mc_rw_boundary-s0, ...
        0
    """
    parser = argparse.ArgumentParser(prog="python -m monai_imbalance.apps.experiments", description=__doc__)
    parser.add_argument("command", choices=["run", "report", "thresholds", "choose-thresholds"],
                        help="run the grid, re-aggregate finished runs, evaluate them at --thresholds, or choose "
                             "each run's threshold among --thresholds on its validation list and evaluate the "
                             "test list there")  # fmt: skip
    parser.add_argument("config", help="experiment YAML (configs/experiments/*.yaml)")
    parser.add_argument("--results_dir", default="results", help="folder of <experiment>/ (default: results)")
    parser.add_argument("--profile", default=None, help="a `profiles` entry of the YAML, e.g. gpu")
    parser.add_argument("--set", dest="overrides", action="append", type=_pair, default=[], metavar="KEY=VALUE",
                        help="bundle id set in every run (YAML value), repeatable")  # fmt: skip
    parser.add_argument("--only", default=None, metavar="LOSS[,LOSS...]",
                        help="run only these losses of the grid (e.g. half of it in a second process)")  # fmt: skip
    parser.add_argument("--thresholds", default=None, metavar="T[,T...]",
                        help="probability thresholds of the `thresholds` command (default 0.5,0.7,0.9) or the "
                             "candidates of `choose-thresholds` (default 0.1,0.2,0.3,0.5,0.7,0.9)")  # fmt: skip
    parser.add_argument("--dry_run", action="store_true", help="list the runs and exit")
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    parser.add_argument("--num_threads", type=int, default=None,
                        help="torch CPU threads (1 is much faster on a CPU shared with other jobs)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.num_threads is not None:
        import torch

        torch.set_num_threads(args.num_threads)
    cfg = load_experiment(args.config, profile=args.profile, overrides=dict(args.overrides))
    exp_dir = Path(args.results_dir) / cfg.result_name
    if args.only is not None and args.command in ("run", "thresholds", "choose-thresholds"):
        only = [x for x in args.only.split(",") if x]
        unknown = sorted(set(only) - set(cfg.grid["loss"]))
        if unknown:
            parser.error(f"--only names losses not in the grid: {unknown}; the grid has {cfg.grid['loss']}.")
        cfg.grid["loss"] = [loss for loss in cfg.grid["loss"] if loss in only]
    if args.command == "report":
        if exp_dir.is_dir():  # the analyses of the current YAML (they may have been edited since the run)
            write_experiment_record(cfg, exp_dir)
        summarize_experiment(exp_dir)
        print(f"wrote {exp_dir / 'summary.md'}")
        return 0
    if args.command in ("thresholds", "choose-thresholds"):
        default = "0.5,0.7,0.9" if args.command == "thresholds" else "0.1,0.2,0.3,0.5,0.7,0.9"
        try:
            values = [float(t) for t in (args.thresholds or default).split(",") if t]
        except ValueError:
            parser.error(f"--thresholds expects comma-separated probabilities, got {args.thresholds!r}.")
        run = evaluate_thresholds if args.command == "thresholds" else choose_thresholds
        done = run(cfg, args.results_dir, values)
        write_experiment_record(cfg, exp_dir) if exp_dir.is_dir() else None
        summarize_experiment(exp_dir)
        print(
            f"{len(done)} evaluations ({sum(d['status'] == 'done' for d in done)} new); wrote {exp_dir / 'summary.md'}"
        )
        return 0
    results = run_experiment(cfg, args.results_dir, dry_run=args.dry_run, progress=not args.no_progress)
    if args.dry_run:
        todo = [r["run_id"] for r in results if r["status"] == "todo"]
        names = ", ".join(todo[:2]) + (", ..." if len(todo) > 2 else "")
        print(f"{len(results)} runs, {len(todo)} to do: {names}")
        return 0
    summarize_experiment(exp_dir)
    failed = [r["run_id"] for r in results if r["status"] == "failed"]
    print(f"wrote {exp_dir / 'summary.md'}" + (f"; failed runs: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
