"""Run an experiment grid: every run trains then evaluates the bundle in this process, sequentially, resumably.

Layout under ``<results_dir>/<experiment>/``::

    experiment.json          the resolved experiment (what ``report`` re-reads)
    log.txt                  the runner's log (every run's bundle log goes to runs/<run_id>/run.log)
    data/<preset>-s<seed>/   built-in dataset shared by the runs of one preset and data seed
    runs/<run_id>/           bundle_root of one run: models/, eval/ (the evaluation report), run.log,
                             gradient_signs.json (optional), done.json (the done-marker: metrics, wall times)
    summary.json, summary.md, *.png   written by :func:`~monai_imbalance.apps.experiments.summarize_experiment`

A run with a ``done.json`` is skipped; a run folder without one (crashed or killed), or whose ``done.json``
records other bundle overrides (the experiment was edited since), is deleted and redone.
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from monai_imbalance.apps.experiments.config import ExperimentConfig, RunSpec, plan_runs

__all__ = [
    "CHOSEN_THRESHOLD",
    "DONE_MARKER",
    "choose_thresholds",
    "evaluate_thresholds",
    "lesion_f1",
    "run_experiment",
    "run_metrics",
    "write_experiment_record",
]

logger = logging.getLogger("monai_imbalance.apps.experiments")

#: file whose presence marks a finished run
DONE_MARKER = "done.json"
#: a run's threshold chosen on its validation list (:func:`choose_thresholds`), and its test evaluation's folder
CHOSEN_THRESHOLD = "threshold.json"
_CHOSEN_EVAL = "eval_tval"
_FAILED = "failed.txt"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _experiment_record(cfg: ExperimentConfig) -> dict[str, Any]:
    return {
        "name": cfg.name,
        "profile": cfg.profile,
        "bundle": str(cfg.bundle),
        "evaluation": cfg.evaluation,
        "overrides": _jsonable(cfg.overrides),
        "grid": cfg.grid,
        "analyses": _jsonable(cfg.analyses),
        "gradient_signs": _jsonable(cfg.gradient_signs),
        "runs": [r.run_id for r in plan_runs(cfg)],
        "source": _jsonable(cfg.source),
    }


def write_experiment_record(cfg: ExperimentConfig, exp_dir: str | Path) -> Path:
    """Write ``experiment.json`` (the resolved experiment that the aggregation reads) into ``exp_dir``.

    Args:
        cfg: the experiment.
        exp_dir: ``<results_dir>/<experiment>`` (created).

    Returns:
        The path written.

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR, load_experiment
        >>> cfg = load_experiment(EXPERIMENTS_DIR / "paper2_multiclass.yaml")
        >>> json.loads(write_experiment_record(cfg, tempfile.mkdtemp()).read_text())["analyses"]["multiclass"]
        {'reference': 'mc_rrw', 'n_permutations': 10000}
    """
    out = Path(exp_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "experiment.json"
    path.write_text(json.dumps(_experiment_record(cfg), indent=2))
    return path


def _read_done(run_dir: Path, expected: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The run's done-marker, or None when it is missing, unreadable or made with other overrides."""
    try:
        done = json.loads((run_dir / DONE_MARKER).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(done, dict) or "metrics" not in done:
        return None
    if expected is not None and done.get("overrides") != _jsonable(expected):
        logger.info("%s: finished with other settings, to be redone", run_dir.name)
        return None
    return done


def run_metrics(cfg: ExperimentConfig, output_dir: str | Path) -> dict[str, Any]:
    """The headline numbers of one evaluated run, read from the report its bundle wrote.

    ``lesion``: ``average_recall``, its bootstrap ``mean``/``std``, ``object_dice`` and the counts of
    ``lesion_report.json``. ``multiclass``: per class the mean Dice and HD95 of ``evaluation.json`` and
    ``mean_dice``, their mean over the classes (classes with no finite value left out).

    Args:
        cfg: the experiment (its ``evaluation`` says which report to read).
        output_dir: the run's evaluation folder.

    Returns:
        A JSON-serialisable dictionary.

    Raises:
        FileNotFoundError: when the report is missing.

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR, load_experiment
        >>> from monai_imbalance.reporting import write_multiclass_report
        >>> d = tempfile.mkdtemp()
        >>> _ = write_multiclass_report([{"case": "a", "dice": [0.5, 0.7], "hd95": [2.0, 4.0]}], ["o", "t"], d)
        >>> run_metrics(load_experiment(EXPERIMENTS_DIR / "paper2_multiclass.yaml"), d)["mean_dice"]
        0.6
    """
    report_path = Path(output_dir) / cfg.evaluation["report"]
    if not report_path.is_file():
        raise FileNotFoundError(f"the evaluation wrote no report at {str(report_path)!r}.")
    report = json.loads(report_path.read_text())
    if cfg.evaluation["kind"] == "lesion":
        boot = report.get("bootstrap") or {}
        return {
            "average_recall": report.get("average_recall"),
            "average_recall_bootstrap_mean": boot.get("mean"),
            "average_recall_bootstrap_std": boot.get("std"),
            "object_dice": (report.get("object_dice") or {}).get("mean"),
            "n_cases": report.get("n_cases"),
            "n_lesions": report.get("n_lesions"),
            "n_detected": report.get("n_detected"),
            "n_false_positives": report.get("n_false_positives"),
        }
    summary = report["summary"]
    out: dict[str, Any] = {}
    for name, s in summary.items():
        out[f"dice_{name}"] = s["dice"]["mean"]
        out[f"hd95_{name}"] = s["hd95"]["mean"]
    dice = [s["dice"]["mean"] for s in summary.values() if s["dice"]["mean"] is not None]
    out["mean_dice"] = round(sum(dice) / len(dice), 12) if dice else None
    return out


def _workflow(config_files: Sequence[Path], cfg: ExperimentConfig, overrides: dict[str, Any]) -> Any:
    from monai.bundle import ConfigWorkflow

    wf = ConfigWorkflow(
        config_file=[str(p) for p in config_files], meta_file=str(cfg.meta_file), logging_file=False, workflow_type=None
    )
    wf.parser.update(pairs=overrides)
    return wf


def _set_seed(wf: Any, seed_id: str, seed: int) -> None:
    current = wf.parser.get(seed_id)
    if not isinstance(current, int) or isinstance(current, bool):
        raise ValueError(f"`seed_id` {seed_id!r} must name the bundle's integer seed id, got {current!r}.")
    wf.parser[seed_id] = int(seed)


def _run_workflow(wf: Any) -> None:
    try:
        wf.initialize()
        wf.run()
    finally:
        wf.finalize()


def _base_overrides(cfg: ExperimentConfig, spec: RunSpec, run_dir: Path, data_dir: Path) -> dict[str, Any]:
    return {
        **cfg.overrides,
        **cfg.presets[spec.preset],
        **cfg.loss_overrides.get(spec.loss, {}),
        "bundle_root": str(run_dir),
        "run_dir": str(run_dir),  # the run's folder itself (models/, eval/, logs/), not a dated one under it
        "ckpt_dir": str(run_dir / "models"),
        "output_dir": str(run_dir / "eval"),
        "dataset_dir": str(data_dir),
        "data_seed": spec.data_seed,
    }


def _train(cfg: ExperimentConfig, spec: RunSpec, overrides: dict[str, Any], run_dir: Path) -> None:
    wf = _workflow([*cfg.train_config, cfg.loss_file(spec.loss)], cfg, overrides)
    _set_seed(wf, cfg.seed_id, spec.seed)
    grad = cfg.gradient_signs
    if grad and spec.loss in grad.get("losses", []):
        handlers = list(wf.parser.get(cfg.handlers_id) or [])
        handlers.append(
            {
                "_target_": "monai_imbalance.handlers.GradientSignHandler",
                "interval": int(grad.get("interval", 1)),
                "output_file": str(run_dir / "gradient_signs.json"),
            }
        )
        wf.parser[cfg.handlers_id] = handlers
    _run_workflow(wf)


def _evaluate(cfg: ExperimentConfig, spec: RunSpec, overrides: dict[str, Any]) -> None:
    # the loss fragment after the first (train) config, so the evaluation reads the ids it sets (e.g. the threshold)
    files = [*cfg.evaluate_config[:1], cfg.loss_file(spec.loss), *cfg.evaluate_config[1:]]
    wf = _workflow(files, cfg, {**overrides, **cfg.evaluate_overrides})
    _run_workflow(wf)


def _run_one(cfg: ExperimentConfig, spec: RunSpec, exp_dir: Path) -> dict[str, Any]:
    run_dir = exp_dir / "runs" / spec.run_id
    if run_dir.exists():
        logger.info("%s: unfinished run found, redoing it from scratch", spec.run_id)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    data_dir = exp_dir / "data" / spec.data_name
    overrides = _base_overrides(cfg, spec, run_dir, data_dir)
    handler = logging.FileHandler(run_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        t0 = time.perf_counter()
        _train(cfg, spec, overrides, run_dir)
        t1 = time.perf_counter()
        _evaluate(cfg, spec, overrides)
        t2 = time.perf_counter()
    finally:
        root.removeHandler(handler)
        handler.close()
        gc.collect()
    done = {
        "run_id": spec.run_id,
        "loss": spec.loss,
        "seed": spec.seed,
        "preset": spec.preset,
        "data_seed": spec.data_seed,
        "metrics": run_metrics(cfg, run_dir / "eval"),
        "train_time_s": round(t1 - t0, 2),
        "eval_time_s": round(t2 - t1, 2),
        "wall_time_s": round(t2 - t0, 2),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "overrides": _jsonable(overrides),
    }
    (run_dir / DONE_MARKER).write_text(json.dumps(done, indent=2))
    return done


def _configure_logging(exp_dir: Path) -> logging.Handler:
    root = logging.getLogger()
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)  # the bundles' StatsHandlers log at INFO into each run.log
    handler = logging.FileHandler(exp_dir / "log.txt")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(logging.Filter("monai_imbalance.apps.experiments"))
    root.addHandler(handler)
    return handler


def run_experiment(
    cfg: ExperimentConfig,
    results_dir: str | Path = "results",
    dry_run: bool = False,
    progress: bool = True,
    run_fn: Callable[[ExperimentConfig, RunSpec, Path], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Run every run of the grid not yet done, sequentially, in this process.

    Each run trains the bundle (``train_config`` + the loss fragment + the overrides, the training seed set
    at ``seed_id``) and evaluates it (``evaluate_config``), with ``bundle_root`` = ``runs/<run_id>`` and the
    dataset shared per preset and data seed; then it writes its done-marker (metrics and wall times). A
    failing run is logged (``runs/<run_id>/failed.txt``) and the grid goes on; it is redone next time.

    Args:
        cfg: the experiment.
        results_dir: folder holding ``<experiment>/``.
        dry_run: only list the runs (logged and returned with ``status`` ``done`` or ``todo``).
        progress: show a tqdm bar over the grid.
        run_fn: the function doing one run (tests replace it); default trains and evaluates the bundle.

    Returns:
        One dictionary per run: its done-marker (``status`` ``done``, ``skipped`` or ``todo``) or
        ``{"run_id", "status": "failed", "error"}``.

    Raises:
        KeyboardInterrupt: passed on (the interrupted run is redone next time).

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR, load_experiment
        >>> cfg = load_experiment(EXPERIMENTS_DIR / "paper2_multiclass.yaml")
        >>> runs = run_experiment(cfg, tempfile.mkdtemp(), dry_run=True, progress=False)
        >>> len(runs), runs[0]["run_id"], runs[0]["status"]
        (12, 'multiclass-mc_rrw-s0', 'todo')
    """
    exp_dir = Path(results_dir) / cfg.result_name
    specs = plan_runs(cfg)

    def finished(spec: RunSpec) -> dict[str, Any] | None:
        run_dir = exp_dir / "runs" / spec.run_id
        return _read_done(run_dir, _base_overrides(cfg, spec, run_dir, exp_dir / "data" / spec.data_name))

    todo = [s for s in specs if finished(s) is None]
    if dry_run:
        out = [{"run_id": s.run_id, "status": "todo" if s in todo else "done"} for s in specs]
        for r in out:
            logger.info("%s: %s", r["run_id"], r["status"])
        return out
    write_experiment_record(cfg, exp_dir)
    handler = _configure_logging(exp_dir)
    fn = run_fn or _run_one
    results: list[dict[str, Any]] = []
    try:
        logger.info("%s: %d runs, %d to do, results in %s", cfg.result_name, len(specs), len(todo), exp_dir)
        from tqdm.auto import tqdm

        bar = tqdm(specs, desc=cfg.result_name, disable=not progress, unit="run")
        for spec in bar:
            bar.set_postfix_str(spec.run_id)
            run_dir = exp_dir / "runs" / spec.run_id
            done = finished(spec) if spec not in todo else None
            if done is not None:
                results.append({**done, "status": "skipped"})
                continue
            logger.info("%s: start", spec.run_id)
            try:
                done = fn(cfg, spec, exp_dir)
            except Exception as err:  # a failing run must not stop the grid: logged, redone next time
                logger.error("%s: failed: %r", spec.run_id, err)
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / _FAILED).write_text(traceback.format_exc())
                results.append({"run_id": spec.run_id, "status": "failed", "error": repr(err)})
                continue
            logger.info("%s: done in %.1f s, metrics %s", spec.run_id, done["wall_time_s"], done["metrics"])
            results.append({**done, "status": "done"})
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    return results


def _check_thresholds(thresholds: Sequence[float]) -> list[float]:
    values = [float(t) for t in thresholds]
    bad = [t for t in values if not 0.0 < t < 1.0]
    if bad or not values:
        raise ValueError(f"`thresholds` must be a non-empty list of probabilities in (0, 1), got {list(thresholds)}.")
    return values


def _finished_runs(cfg: ExperimentConfig, results_dir: str | Path) -> Any:
    """``(spec, run_dir, base overrides)`` of every finished run of the grid, in grid order."""
    exp_dir = Path(results_dir) / cfg.result_name
    for spec in plan_runs(cfg):
        run_dir = exp_dir / "runs" / spec.run_id
        base = _base_overrides(cfg, spec, run_dir, exp_dir / "data" / spec.data_name)
        if _read_done(run_dir, base) is not None:
            yield spec, run_dir, base


def lesion_f1(report: dict[str, Any], view: str = "strict") -> float:
    r"""Lesion-wise F1 of one lesion report under one matching view: every predicted component counts.

    .. math:: F_1 = \frac{2\,TP}{2\,TP + FP + FN}

    with ``TP`` the lesions found, ``FN`` the lesions missed and ``FP`` the predicted components matching no lesion
    (``n_detected``, ``n_lesions - n_detected``, ``n_false_positives`` of ``report["views"][view]``). Under the
    strict view (one-to-one, IoU >= 0.1) a blob over many lesions is one match and the rest are misses, and every
    spurious component is a false positive, so neither over- nor under-segmentation scores well. 0 when there is
    nothing to find and nothing found.

    Args:
        report: a lesion report (``lesion_report.json`` of an evaluation) with a ``views`` entry.
        view: the matching view, ``"strict"`` by default.

    Returns:
        F1 in [0, 1].

    Raises:
        KeyError: when the report has no such view.

    Example:
        >>> lesion_f1({"views": {"strict": {"n_lesions": 8, "n_detected": 6, "n_false_positives": 2}}})
        0.75
    """
    views = report.get("views", {})
    if view not in views:
        raise KeyError(f"the lesion report has no view {view!r}; it has {sorted(views)}.")
    v = views[view]
    tp, fn, fp = int(v["n_detected"]), int(v["n_lesions"]) - int(v["n_detected"]), int(v["n_false_positives"])
    return 2.0 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def choose_thresholds(
    cfg: ExperimentConfig,
    results_dir: str | Path = "results",
    thresholds: Sequence[float] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9),
    evaluate_fn: Callable[[ExperimentConfig, RunSpec, dict[str, Any]], None] | None = None,
    choose_list: str = "validation",
) -> list[dict[str, Any]]:
    """Choose every finished run's probability threshold on its validation list, then evaluate its test list there.

    For each finished run, the evaluation (``evaluate_config`` + the loss fragment) runs on ``choose_list``
    (``eval_list: validation``: the list that chose the model, never the reported one) at every threshold ``t``
    into ``runs/<run_id>/val_t<t>/``; the threshold of the highest strict lesion F1 (:func:`lesion_f1`) is kept
    (ties: the one nearest 0.5, then the higher), written with every score to ``runs/<run_id>/threshold.json``,
    and the reported list (the evaluation's own ``eval_list``, ``test`` in the lesion bundle) is evaluated at it
    into ``runs/<run_id>/eval_tval/``, which the summary lists as ``loss @ val``. Evaluations already written
    are kept (a rerun only does what is missing).

    Args:
        cfg: the experiment.
        results_dir: folder holding ``<experiment>/``.
        thresholds: the candidate probabilities, in (0, 1).
        evaluate_fn: the function doing one evaluation (tests replace it); default the bundle's evaluation.
        choose_list: the datalist the threshold is chosen on (default ``validation``).

    Returns:
        One ``{"run_id", "threshold", "scores", "status"}`` per finished run (``status`` ``done`` when its test
        evaluation was written now, ``skipped`` when it was there).

    Raises:
        ValueError: when ``thresholds`` is empty or holds a value outside (0, 1), or the evaluation is not lesion-wise.

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR, load_experiment
        >>> choose_thresholds(load_experiment(EXPERIMENTS_DIR / "iw_recipe_tune.yaml"), tempfile.mkdtemp())
        []
    """
    values = _check_thresholds(thresholds)
    if cfg.evaluation.get("kind") != "lesion":
        raise ValueError(
            f"choose_thresholds needs a lesion evaluation, got `evaluation.kind` {cfg.evaluation.get('kind')!r}."
        )
    fn = evaluate_fn or _evaluate
    report_name = cfg.evaluation["report"]
    out: list[dict[str, Any]] = []
    for spec, run_dir, base in _finished_runs(cfg, results_dir):
        scores: dict[str, float] = {}
        for t in values:
            folder = run_dir / f"val_t{t:g}"
            if not (folder / report_name).is_file():
                fn(cfg, spec, {**base, "lesion_threshold": t, "eval_list": choose_list, "output_dir": str(folder)})
            scores[f"{t:g}"] = lesion_f1(json.loads((folder / report_name).read_text()))
        best = max(values, key=lambda t: (scores[f"{t:g}"], -abs(t - 0.5), t))
        (run_dir / CHOSEN_THRESHOLD).write_text(
            json.dumps({"threshold": best, "criterion": "strict lesion F1", "list": choose_list, "scores": scores})
        )
        folder = run_dir / _CHOSEN_EVAL
        done = json.loads((folder / CHOSEN_THRESHOLD).read_text()) if (folder / CHOSEN_THRESHOLD).is_file() else {}
        status = "skipped"
        if done.get("threshold") != best or not (folder / report_name).is_file():
            shutil.rmtree(folder, ignore_errors=True)
            fn(cfg, spec, {**base, "lesion_threshold": best, "output_dir": str(folder)})
            (folder / CHOSEN_THRESHOLD).write_text(json.dumps({"threshold": best}))
            status = "done"
        logger.info("%s: threshold %g chosen on the %s list (strict F1 %s)", spec.run_id, best, choose_list, scores)
        out.append({"run_id": spec.run_id, "threshold": best, "scores": scores, "status": status})
    return out


def evaluate_thresholds(
    cfg: ExperimentConfig,
    results_dir: str | Path = "results",
    thresholds: Sequence[float] = (),
    evaluate_fn: Callable[[ExperimentConfig, RunSpec, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every finished run again at other probability thresholds (the model is not retrained).

    For each finished run and threshold ``t``, the evaluation (``evaluate_config`` + the loss fragment) runs
    with ``lesion_threshold: t`` into ``runs/<run_id>/eval_t<t>/``; the summary lists these evaluations next to
    the run's own (``loss @ t``). Which threshold to keep is chosen on a list that chooses (the validation
    list), never on the test list. An evaluation already written is kept.

    Args:
        cfg: the experiment.
        results_dir: folder holding ``<experiment>/``.
        thresholds: probabilities in (0, 1).
        evaluate_fn: the function doing one evaluation (tests replace it); default the bundle's evaluation.

    Returns:
        One ``{"run_id", "threshold", "status"}`` per (finished run, threshold): ``done`` or ``skipped``.

    Raises:
        ValueError: when a threshold is not in (0, 1).

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import EXPERIMENTS_DIR, load_experiment
        >>> evaluate_thresholds(load_experiment(EXPERIMENTS_DIR / "iw_recipe_tune.yaml"), tempfile.mkdtemp(), [0.9])
        []
    """
    values = _check_thresholds(thresholds)
    fn = evaluate_fn or _evaluate
    out: list[dict[str, Any]] = []
    for spec, run_dir, base in _finished_runs(cfg, results_dir):
        for t in values:
            folder = run_dir / f"eval_t{t:g}"
            if (folder / cfg.evaluation["report"]).is_file():
                out.append({"run_id": spec.run_id, "threshold": t, "status": "skipped"})
                continue
            fn(cfg, spec, {**base, "lesion_threshold": t, "output_dir": str(folder)})
            out.append({"run_id": spec.run_id, "threshold": t, "status": "done"})
            logger.info("%s: evaluated at threshold %g", spec.run_id, t)
    return out
