"""Re-aggregate the finished runs of an experiment folder: summary.json, summary.md and the plots."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.apps.experiments.plots import plot_convergence_cdf, plot_gradient_signs, plot_multiclass_scores
from monai_imbalance.apps.experiments.runner import DONE_MARKER
from monai_imbalance.apps.experiments.summary import (
    convergence_summary,
    gradient_sign_summary,
    lesion_summary,
    multiclass_summary,
)

__all__ = ["load_done_runs", "summarize_experiment"]

_Runs = list[dict[str, Any]]


def load_done_runs(exp_dir: str | Path) -> list[dict[str, Any]]:
    """The done-markers of the finished runs of an experiment folder, in run-id order.

    Args:
        exp_dir: ``<results_dir>/<experiment>``.

    Returns:
        One dictionary per finished run, with ``run_dir`` added.

    Example:
        >>> import tempfile
        >>> load_done_runs(tempfile.mkdtemp())
        []
    """
    out = []
    for marker in sorted(Path(exp_dir).glob(f"runs/*/{DONE_MARKER}")):
        try:
            done = json.loads(marker.read_text())
        except ValueError:
            continue
        out.append({**done, "run_dir": str(marker.parent)})
    return out


def _fmt(x: Any, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _pm(mean: Any, std: Any, digits: int = 3) -> str:
    return "n/a" if mean is None else f"{mean:.{digits}f} ± {_fmt(std, digits)}"


def _p(p: Any) -> str:
    return "" if p is None else (" (p<0.001)" if p < 0.001 else f" (p={p:.3f})")


def _lesion(runs: _Runs, exp: dict[str, Any], opts: dict[str, Any], out_dir: Path) -> tuple[Any, str]:
    """The lesion-wise analysis, one per preset of the grid (never pooling two datasets)."""
    presets = [p for p in exp["grid"]["preset"] if any(r.get("preset", p) == p for r in runs)]
    if len(presets) <= 1:
        s, md = _lesion_preset(runs, exp, opts, out_dir, "")
        strict, strict_md = _views_table(runs, exp, opts, presets[0] if presets else "")
        s["views_table"] = strict
        return s, strict_md + "\n\n" + md
    out: dict[str, Any] = {"presets": {}}
    parts = []
    for preset in presets:
        sub = [r for r in runs if r.get("preset") == preset]
        s, md = _lesion_preset(sub, exp, opts, out_dir, f"_{preset}")
        strict, strict_md = _views_table(sub, exp, opts, preset)
        s["views_table"] = strict
        out["presets"][preset] = s
        parts += [f"# Preset `{preset}`", "", strict_md, "", md, ""]
    return out, "\n".join(parts).rstrip()


def _eval_dirs(run: dict[str, Any]) -> list[tuple[str | None, Path]]:
    """The run's evaluation folders: ``eval``, ``eval_t<threshold>`` and ``eval_tval``, if any.

    ``eval`` is at the bundle's threshold, ``eval_t<t>`` at ``t`` (:func:`evaluate_thresholds`), ``eval_tval`` at the
    threshold chosen on the validation list (:func:`choose_thresholds`).
    """
    root = Path(run["run_dir"])
    out: list[tuple[str | None, Path]] = [(None, root / "eval")]
    for d in sorted(root.glob("eval_t*")):
        out.append((d.name[len("eval_t") :], d))
    return out


def _chosen_thresholds(runs: _Runs) -> list[float | None]:
    """Per run (seed order), the threshold its validation list chose (``threshold.json``), None where not chosen."""
    out: list[float | None] = []
    for r in runs:
        path = Path(r["run_dir"]) / "threshold.json"
        out.append(float(json.loads(path.read_text())["threshold"]) if path.is_file() else None)
    return out


def _views_table(runs: _Runs, exp: dict[str, Any], opts: dict[str, Any], preset: str) -> tuple[Any, str]:
    """Per loss (and evaluation threshold): both views side by side, pooled over the seeds of the preset.

    The strict view (one-to-one, IoU >= 0.1) first: lesions found (in all and by each seed), found among the small
    ones (below the first of ``size_thresholds``, default 5 mm), its average recall with the standard deviation over
    ``n_draws`` bootstrap draws of the cases (default 200), its object Dice and false positives; then the paper
    view's average recall and the predicted / true lesion volume (independent of the view).
    """
    from monai_imbalance.reporting import lesion_report, load_record_views

    thresholds = opts.get("size_thresholds", [5.0, 10.0])
    rows: dict[str, Any] = {}
    for loss in exp["grid"]["loss"]:
        mine = sorted((r for r in runs if r["loss"] == loss), key=lambda r: r["seed"])
        if not mine:
            continue
        by_threshold: dict[str | None, dict[str, list[Any]]] = {}
        per_seed: dict[str | None, list[int]] = {}
        for r in mine:
            for t, folder in _eval_dirs(r):
                path = folder / exp["evaluation"]["records"]
                if not path.is_file():
                    continue
                views_of_run = load_record_views(path)
                if "strict" in views_of_run:
                    found = sum(int(np.isfinite(c.lesion_confidence).sum()) for c in views_of_run["strict"])
                    per_seed.setdefault(t, []).append(found)
                for view, cases in views_of_run.items():
                    pooled = by_threshold.setdefault(t, {}).setdefault(view, [])
                    pooled += [dataclasses.replace(c, case_id=f"s{r['seed']}:{c.case_id}") for c in cases]
        for t, views in by_threshold.items():
            if "strict" not in views or "paper" not in views:
                continue
            rep = lesion_report(
                views,
                protocol=opts.get("protocol", "luna16"),
                size_thresholds=thresholds,
                n_draws=int(opts.get("n_draws", 200)),
                seed=int(opts.get("seed", 0)),
            )
            st, pa, diag = rep["views"]["strict"], rep["views"]["paper"], rep["diagnostics"]
            small = st["size_groups"][0] if st["size_groups"] else {"n_lesions": 0, "n_detected": 0}
            rows[loss if t is None else f"{loss} @ {t}"] = {
                "loss": loss,
                "threshold": None if t is None or t == "val" else float(t),
                "chosen_thresholds": _chosen_thresholds(mine) if t == "val" else None,
                "seeds": [r["seed"] for r in mine],
                "n_cases": rep["n_cases"],
                "n_lesions": st["n_lesions"],
                "strict_detected": st["n_detected"],
                "strict_small_detected": small["n_detected"],
                "n_small": small["n_lesions"],
                "strict_detected_per_seed": per_seed.get(t, []),
                "strict_average_recall": st["average_recall"],
                "strict_average_recall_std": st["bootstrap"]["std"],
                "paper_average_recall": pa["average_recall"],
                "paper_detected": pa["n_detected"],
                "strict_object_dice": st["object_dice"]["mean"],
                "strict_false_positives": st["n_false_positives"],
                "volume_ratio": diag.get("volume_ratio"),
                "merged_lesions": diag.get("merged_lesions"),
            }
    small_name = f"< {thresholds[0]:g} mm" if thresholds else "small"
    md = [
        f"## Both matching views{f' on `{preset}`' if preset else ''} (strict: one-to-one, IoU >= 0.1; paper: any "
        "overlap)",
        "",
        "Records of every seed pooled per loss (`[per seed]`: lesions found strictly by each seed; ± the standard "
        "deviation of the strict average recall over bootstrap draws of the cases, `n_draws`); "
        "`loss @ t`: evaluated at probability threshold t (`thresholds`); "
        "`loss @ val`: at each run's threshold chosen on its validation list (`choose-thresholds`, the chosen "
        "thresholds in brackets). "
        f"Small: equivalent-sphere diameter {small_name}. FP: unmatched predicted components under the strict "
        "rule, all cases. Volume: predicted / true lesion volume.",
        "",
        f"| loss | found strictly (of N) [per seed] | small {small_name} found (of n) | strict avg recall ± "
        "bootstrap sd | paper avg recall | object Dice (strict) | FP | predicted / true volume | merged lesions |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in rows.items():
        ratio = v["volume_ratio"]
        ratio_text = ratio if isinstance(ratio, str) else _fmt(ratio, 2)
        seeds = ", ".join(map(str, v["strict_detected_per_seed"]))
        chosen = v.get("chosen_thresholds")
        if chosen:
            name = f"{name} ({', '.join('-' if t is None else f'{t:g}' for t in chosen)})"
        md.append(
            f"| {name} | {v['strict_detected']} / {v['n_lesions']} [{seeds}] | "
            f"{v['strict_small_detected']} / {v['n_small']} | "
            f"{_fmt(v['strict_average_recall'])} ± {_fmt(v['strict_average_recall_std'])} | "
            f"{_fmt(v['paper_average_recall'])} | "
            f"{_fmt(v['strict_object_dice'])} | {v['strict_false_positives']} | {ratio_text} | "
            f"{v['merged_lesions']} |"
        )
    return rows, "\n".join(md)


RULES = {"strict": "strict one-to-one rule (IoU >= 0.1)", "paper": "paper's any-overlap rule"}


def _lesion_preset(
    runs: _Runs, exp: dict[str, Any], opts: dict[str, Any], out_dir: Path, suffix: str
) -> tuple[Any, str]:
    from monai_imbalance.reporting import load_records, plot_froc, plot_recall_by_size

    chosen = opts.get("view")  # None: a file's only view, or `strict` in a file of both
    if chosen is not None and chosen not in RULES:
        raise ValueError(f"`analyses.lesion.view` must be one of {sorted(RULES)}, got {chosen!r}.")
    view = chosen or "strict"
    losses = [loss for loss in exp["grid"]["loss"] if any(r["loss"] == loss for r in runs)]
    seeds = [set(r["seed"] for r in runs if r["loss"] == loss) for loss in losses]
    common = sorted(set.intersection(*seeds)) if seeds else []
    records: dict[str, dict[int, list[Any]]] = {}
    for loss in losses:  # in the grid's order
        for r in runs:
            if r["loss"] == loss and r["seed"] in common:
                path = Path(r["run_dir"]) / "eval" / exp["evaluation"]["records"]
                records.setdefault(loss, {})[r["seed"]] = load_records(path, view=chosen)
    pairs = [p for p in opts.get("pairs", []) if p[0] in records and p[1] in records]
    s = lesion_summary(records, pairs, protocol=opts.get("protocol", "luna16"), n_draws=opts.get("n_draws"))
    s["seeds"] = common
    reports = {loss: v["report"] for loss, v in s["losses"].items()}
    if reports:
        rule = "strict rule" if view == "strict" else "paper's rule"
        plot_froc(reports, out_dir / f"froc{suffix}.png", title=f"{exp['name']}: FROC, {rule} (seeds {common} pooled)")
        plot_recall_by_size(
            reports, out_dir / f"recall_by_size{suffix}.png", title=f"{exp['name']}: average recall by size, {rule}"
        )
    groups = next(iter(reports.values()))["size_groups"] if reports else []
    names = [g["name"] for g in groups]
    md = [
        f"## Lesion-wise comparison (paper 1, Table 2 / Figure 3 analogue; protocol `{s['protocol']}`, view `{view}`)",
        "",
        f"Matching: the {RULES[view]} (`analyses.lesion.view`). Records of seeds {common} pooled per loss. "
        "Average recall: mean recall at 1/8…8 FP per image "
        "(point value), bootstrap mean ± std over draws of 80% of the cases; object Dice: mean ± std over the "
        "detected lesions; size groups: tertiles of ground-truth lesion volume (voxels or mm³), average recall "
        "± bootstrap std.",
        "",
        "| loss | avg recall | avg recall (bootstrap) | per seed | object Dice | detected / lesions | FP / case | "
        + " | ".join(f"recall {n}" for n in names)
        + " |",
        "|---|---|---|---|---|---|---|" + "---|" * len(names),
    ]
    for loss, v in s["losses"].items():
        rep = v["report"]
        per_seed = ", ".join(_fmt(x) for x in v["per_seed"].values())
        size = " | ".join(_pm(g["bootstrap"]["mean"], g["bootstrap"]["std"]) for g in rep["size_groups"])
        fp = rep["n_false_positives"] / max(rep["n_cases"], 1)
        md.append(
            f"| {loss} | {_fmt(rep['average_recall'])} | {_pm(rep['bootstrap']['mean'], rep['bootstrap']['std'])} | "
            f"{per_seed} | {_pm(rep['object_dice']['mean'], rep['object_dice']['std'])} | "
            f"{rep['n_detected']} / {rep['n_lesions']} | {fp:.1f} | {size} |"
        )
    if groups:
        ranges = ", ".join(f"{g['name']} [{_fmt(g['range'][0], 1)}, {_fmt(g['range'][1], 1)})" for g in groups)
        md += ["", f"Size groups by {reports[losses[0]]['size_groups_by']}: {ranges}."]
    if s["pairs"]:
        md += [
            "",
            "Inverse weighting minus plain (positive: the weighted loss is higher; average recall: bootstrap means, "
            "per seed: each seed's average recall):",
            "",
            "| pair | Δ avg recall | Δ per seed | Δ object Dice | " + " | ".join(f"Δ recall {n}" for n in names) + " |",
            "|---|---|---|---|" + "---|" * len(names),
        ]
        for p in s["pairs"]:
            per_seed = ", ".join(f"{x:+.3f}" if x is not None else "n/a" for x in p["delta_per_seed"].values())
            size = " | ".join(
                "n/a" if p["delta_size_groups"].get(n) is None else f"{p['delta_size_groups'][n]:+.3f}" for n in names
            )
            d_rec, d_dice = p["delta_average_recall"], p["delta_object_dice"]
            md.append(
                f"| {p['weighted']} - {p['plain']} | {'n/a' if d_rec is None else f'{d_rec:+.3f}'} | {per_seed} | "
                f"{'n/a' if d_dice is None else f'{d_dice:+.3f}'} | {size} |"
            )
    return s, "\n".join(md)


def _case_scores(run: dict[str, Any], exp: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    report = json.loads((Path(run["run_dir"]) / "eval" / exp["evaluation"]["report"]).read_text())
    cases = {f"s{run['seed']}:{c['case']}": {"dice": c["dice"], "hd95": c["hd95"]} for c in report["cases"]}
    return report["classes"], cases


def _multiclass(
    runs: list[dict[str, Any]], exp: dict[str, Any], opts: dict[str, Any], out_dir: Path
) -> tuple[Any, str]:
    scores: dict[str, dict[str, Any]] = {}
    classes: list[str] = []
    for r in runs:
        classes, cases = _case_scores(r, exp)
        scores.setdefault(r["loss"], {}).update(cases)
    reference = opts.get("reference", exp["grid"]["loss"][0])
    order = [loss for loss in exp["grid"]["loss"] if loss in scores]
    s = multiclass_summary(
        {loss: scores[loss] for loss in order}, classes, reference, n_permutations=opts.get("n_permutations", 10_000)
    )
    plot_multiclass_scores(s, out_dir / "multiclass_scores.png", title=f"{exp['name']} (* p < 0.05 vs {reference})")
    md = [
        "## Per-class Dice and HD95 (paper 2, Tables 2-4 analogue)",
        "",
        "Mean ± std over (seed, evaluated image) pairs (the images of the evaluated list, `test` by default); "
        f"p: paired permutation test against `{reference}` "
        f"(statistic |mean difference|, {opts.get('n_permutations', 10_000)} permutations or exact). "
        "HD95 in mm; images where a class is absent, or never predicted (HD95), are left out (n = images counted).",
        "",
        "| loss | "
        + " | ".join(f"Dice {c}" for c in classes)
        + " | "
        + " | ".join(f"HD95 {c}" for c in classes)
        + " |",
        "|---|" + "---|" * (2 * len(classes)),
    ]
    for loss, entry in s["losses"].items():
        cells = [
            f"{_pm(entry[c][m]['mean'], entry[c][m]['std'], 3 if m == 'dice' else 2)}{_p(entry[c][m]['p_value'])}"
            f" n={entry[c][m]['n']}"
            for m in ("dice", "hd95")
            for c in classes
        ]
        md.append(f"| {loss} | " + " | ".join(cells) + " |")
    return s, "\n".join(md)


def _convergence(
    runs: list[dict[str, Any]], exp: dict[str, Any], opts: dict[str, Any], out_dir: Path
) -> tuple[Any, str]:
    losses = opts.get("losses", exp["grid"]["loss"])
    final = {loss: [r["metrics"]["mean_dice"] for r in runs if r["loss"] == loss] for loss in losses}
    final = {k: v for k, v in final.items() if any(x is not None for x in v)}
    s = convergence_summary(final, fail_below=opts.get("fail_below", 0.5))
    plot_convergence_cdf(s, out_dir / "convergence_cdf.png", title=f"{exp['name']}: CDF of the final Dice")
    md = [
        "## Convergence over seeds (paper 2, Figure 5 analogue)",
        "",
        "Final mean foreground Dice of each run (the evaluated images, the `test` list by default); "
        f"'failed': below {s['fail_below']}.",
        "",
        "| loss | runs | mean ± std | min | median | max | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for loss, v in s["losses"].items():
        md.append(
            f"| {loss} | {v['n']} | {_pm(v['mean'], v['std'])} | {_fmt(v['min'])} | {_fmt(v['median'])} | "
            f"{_fmt(v['max'])} | {v['n_failed']} |"
        )
    return s, "\n".join(md)


def _gradient_signs(
    runs: list[dict[str, Any]], exp: dict[str, Any], opts: dict[str, Any], out_dir: Path
) -> tuple[Any, str]:
    histories: dict[str, list[Any]] = {}
    for r in runs:
        path = Path(r["run_dir"]) / "gradient_signs.json"
        if path.is_file():
            histories.setdefault(r["loss"], []).append(json.loads(path.read_text())["history"])
    if not histories:
        return None, "## Gradient signs\n\nNo run recorded gradient signs."
    s = gradient_sign_summary(histories)
    plot_gradient_signs(histories, out_dir / "gradient_signs.png", title=f"{exp['name']}: gradient signs")
    md = [
        "## Gradient signs during training (paper 2, Figure 3 analogue)",
        "",
        "Fraction of voxels whose loss gradient w.r.t. the logits has exactly one negative component (the "
        "rectification principle wants 1), on the training batches, mean over runs; 'multi': mean share of "
        "voxels with two or more negative components.",
        "",
        "| loss | runs | first | last | mean | min | multi |",
        "|---|---|---|---|---|---|---|",
    ]
    for loss, v in s.items():
        md.append(
            f"| {loss} | {v['n_runs']} | {_fmt(v['first'])} | {_fmt(v['last'])} | {_fmt(v['mean'])} | "
            f"{_fmt(v['min'])} | {_fmt(v['multi_negative_share'])} |"
        )
    return s, "\n".join(md)


_ANALYSES: dict[str, Callable[[list[dict[str, Any]], dict[str, Any], dict[str, Any], Path], tuple[Any, str]]] = {
    "lesion": _lesion,
    "multiclass": _multiclass,
    "convergence": _convergence,
    "gradient_signs": _gradient_signs,
}


def _runs_table(runs: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    lines = ["| run | train s | eval s | " + " | ".join(keys) + " |", "|---|---|---|" + "---|" * len(keys)]
    for r in runs:
        m = r["metrics"]
        vals = " | ".join(_fmt(m.get(k)) if not isinstance(m.get(k), int) else str(m[k]) for k in keys)
        lines.append(f"| {r['run_id']} | {r['train_time_s']:.0f} | {r['eval_time_s']:.0f} | {vals} |")
    return "\n".join(lines)


def summarize_experiment(exp_dir: str | Path) -> dict[str, Any]:
    """Aggregate the finished runs of ``exp_dir`` into ``summary.json``, ``summary.md`` and PNG plots there.

    The analyses named in the experiment (``lesion``, ``multiclass``, ``convergence``, ``gradient_signs``)
    run on whatever runs have finished, so a partial grid gives a partial summary.

    Args:
        exp_dir: ``<results_dir>/<experiment>`` written by :func:`~monai_imbalance.apps.experiments.run_experiment`.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        FileNotFoundError: when ``exp_dir`` holds no ``experiment.json``.
        ValueError: when an analysis is unknown.

    Example:
        >>> import tempfile
        >>> summarize_experiment(tempfile.mkdtemp())  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: ...experiment.json: run the experiment first.
    """
    exp_dir = Path(exp_dir)
    exp_file = exp_dir / "experiment.json"
    if not exp_file.is_file():
        raise FileNotFoundError(f"{exp_file}: run the experiment first.")
    exp = json.loads(exp_file.read_text())
    unknown = set(exp["analyses"]) - set(_ANALYSES)
    if unknown:
        raise ValueError(f"unknown analyses {sorted(unknown)}; expected some of {sorted(_ANALYSES)}.")
    planned = set(exp["runs"])
    runs = [r for r in load_done_runs(exp_dir) if r["run_id"] in planned]
    wall = sum(r["wall_time_s"] for r in runs)
    summary: dict[str, Any] = {
        "name": exp["name"],
        "profile": exp["profile"],
        "n_planned": len(planned),
        "n_done": len(runs),
        "wall_time_s": round(wall, 1),
        "overrides": exp["overrides"],
        "runs": {r["run_id"]: {k: r[k] for k in ("loss", "seed", "metrics", "wall_time_s")} for r in runs},
    }
    md = [
        f"# {exp['name']}" + (f" ({exp['profile']})" if exp["profile"] else ""),
        "",
        f"{len(runs)} of {len(planned)} runs finished; run wall time {wall / 60:.1f} min in total "
        f"(training + evaluation, sequential). Bundle `{Path(exp['bundle']).name}`, overrides "
        f"`{json.dumps(exp['overrides'])}`.",
    ]
    for name, opts in exp["analyses"].items():
        if not runs:
            break
        result, text = _ANALYSES[name](runs, exp, dict(opts or {}), exp_dir)
        summary[name] = result
        md += ["", text]
    if runs:
        keys = [k for k, v in runs[0]["metrics"].items() if isinstance(v, (int, float)) or v is None][:8]
        md += ["", "## Runs", "", _runs_table(runs, keys)]
    (exp_dir / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False, default=float))
    (exp_dir / "summary.md").write_text("\n".join(md) + "\n")
    return summary
