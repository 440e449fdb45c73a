r"""Lesion-wise evaluation report: every figure of paper 1's evaluation with its bootstrap spread.

:func:`lesion_report` turns per-case records into one JSON-serialisable dictionary (non-finite numbers are
``None``): average recall over the FROC curve, recall at each FP-per-image rate, object Dice, the FROC
curve with its bootstrap band, and the same figures per lesion-size group. :func:`write_lesion_report`
writes it as JSON, a Markdown table and two PNG plots, with the records themselves for later re-scoring.
Every number comes from :mod:`monai_imbalance.metrics` (:func:`~monai_imbalance.metrics.froc_curve`,
:func:`~monai_imbalance.metrics.average_recall`, :func:`~monai_imbalance.metrics.bootstrap`,
:func:`~monai_imbalance.metrics.object_dice`, :func:`~monai_imbalance.metrics.size_groups`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.metrics.diagnostics import MAX_VOLUME_RATIO, over_segmentation
from monai_imbalance.metrics.froc import (
    FROCProtocol,
    bootstrap,
    check_cases,
    check_fp_rates,
    froc_curve,
    object_dice,
    recall_at_fp,
)
from monai_imbalance.metrics.groups import size_groups
from monai_imbalance.metrics.lesions import CaseRecords
from monai_imbalance.metrics.matching import default_key_view, option
from monai_imbalance.reporting.plots import plot_froc, plot_recall_by_size
from monai_imbalance.reporting.records import save_records
from monai_imbalance.utils.conversion import finite_or_none
from monai_imbalance.utils.validation import check_increasing

__all__ = ["lesion_markdown", "lesion_report", "write_lesion_report"]

logger = logging.getLogger(__name__)

#: log-spaced FP-per-image points of the band grid (the FP rates themselves are added)
_GRID_POINTS = 121


def _floats(values: Any) -> list[float | None]:
    return [finite_or_none(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]


def _band_grid(rates: np.ndarray) -> np.ndarray:
    """Log-spaced FP-per-image grid around the rates (for a log-x plot), holding every rate exactly."""
    positive = rates[rates > 0]
    lo = float(positive.min()) / 4 if positive.size else 1 / 32
    hi = max(float(rates.max()), 4 * lo) * 2
    return np.unique(np.concatenate([np.geomspace(lo, hi, _GRID_POINTS), rates]))


def _counts(cases: list[CaseRecords]) -> dict[str, int]:
    return {
        "n_lesions": sum(c.n_lesions for c in cases),
        "n_detected": sum(c.n_detected for c in cases),
        "n_false_positives": sum(int(c.fp_confidence.size) for c in cases),
    }


def _figures(
    cases: list[CaseRecords],
    protocol: FROCProtocol,
    rates: np.ndarray,
    grid: np.ndarray,
    n_draws: int | None,
    fraction: float,
    seed: int | None,
) -> tuple[dict[str, Any], Any]:
    """Average recall, recall at each rate (point values and bootstrap spread) of one set of cases."""
    _, fp_per_image, recall = froc_curve(cases, protocol)
    at_rates = recall_at_fp(fp_per_image, recall, rates, protocol)
    boot = bootstrap(cases, protocol, n_draws=n_draws, fraction=fraction, seed=seed, fp_rates=rates, fp_grid=grid)
    if not any(c.n_lesions for c in cases):
        # recall is undefined without lesions; the core reads an empty curve (no lesion, no prediction)
        # as recall 0, so every recall and its spread is set undefined here
        at_rates = np.full(rates.size, np.nan)
        boot.mean = boot.std = math.nan
        boot.recall_mean = np.full_like(boot.recall_mean, np.nan)
        boot.recall_std = np.full_like(boot.recall_std, np.nan)
    idx = np.searchsorted(grid, rates)  # the grid holds every rate exactly
    keys = [str(float(r)) for r in rates]
    figures = {
        "average_recall": finite_or_none(np.mean(at_rates)),
        "bootstrap": {
            "mean": finite_or_none(boot.mean),
            "std": finite_or_none(boot.std),
            "n_draws": int(boot.values.size),
            "fraction": float(fraction),
        },
        "recall_at_fp": dict(zip(keys, _floats(at_rates), strict=True)),
        "recall_at_fp_std": dict(zip(keys, _floats(boot.recall_std[idx]), strict=True)),
    }
    return figures, (fp_per_image, recall, boot)


def _view_figures(
    cases: list[CaseRecords],
    proto: FROCProtocol,
    rates: np.ndarray,
    grid: np.ndarray,
    size_thresholds: Any,
    n_draws: int | None,
    seed: int | None,
    fraction: float,
) -> dict[str, Any]:
    """Every figure of one matching view."""
    figures, (fp_per_image, recall, boot) = _figures(cases, proto, rates, grid, n_draws, fraction, seed)
    thresholds = froc_curve(cases, proto)[0]
    dice_mean, dice_std = object_dice(cases, proto)
    n_dice = sum(c.n_detected for c in cases)

    if size_thresholds is None:
        by = "volume"
        volumes = np.concatenate([c.lesion_volume for c in cases])
        edges = np.quantile(volumes, [1 / 3, 2 / 3]) if volumes.size else np.zeros(2)  # as size_groups
        groups = size_groups(cases, None)
    else:
        by = "diameter"
        groups = size_groups(cases, size_thresholds, by="diameter")
        edges = np.asarray(size_thresholds, dtype=np.float64).reshape(-1)
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    group_entries = []
    for g, (name, group) in enumerate(groups.items()):
        group_figures, _ = _figures(group, proto, rates, grid, n_draws, fraction, seed)
        group_entries.append(
            {
                "name": name,
                "range": [finite_or_none(bounds[g]), finite_or_none(bounds[g + 1])],
                **_counts(group),
                **group_figures,
            }
        )

    lower = np.clip(boot.recall_mean - boot.recall_std, 0, 1)
    upper = np.clip(boot.recall_mean + boot.recall_std, 0, 1)
    return {
        **_counts(cases),
        **figures,
        "object_dice": {"mean": finite_or_none(dice_mean), "std": finite_or_none(dice_std), "n": n_dice},
        "froc": {
            "thresholds": _floats(thresholds[::-1]),
            "fp_per_image": _floats(fp_per_image[::-1]),
            "recall": _floats(recall[::-1]),
            "band": {
                "fp_per_image": _floats(grid),
                "mean": _floats(boot.recall_mean),
                "lower": _floats(lower),
                "upper": _floats(upper),
            },
        },
        "size_groups_by": by,
        "size_groups": group_entries,
    }


def _as_views(cases: Any) -> dict[str, list[CaseRecords]]:
    if isinstance(cases, Mapping):
        if not cases:
            raise ValueError("`cases` must hold at least one view, got an empty mapping.")
        views = {str(k): check_cases(v) for k, v in cases.items()}
    else:
        views = {"records": check_cases(cases)}
    ids = [[c.case_id for c in v] for v in views.values()]
    if any(len(i) != len(ids[0]) for i in ids):
        raise ValueError(f"every view must hold the same cases, got {[len(i) for i in ids]} cases.")
    return views


def lesion_report(
    cases: Sequence[CaseRecords] | Mapping[str, Sequence[CaseRecords]],
    protocol: str = "luna16",
    fp_rates: Any = None,
    size_thresholds: Any = None,
    n_draws: int | None = None,
    seed: int | None = 0,
    fraction: float = 0.8,
    key_view: str | None = None,
    max_volume_ratio: float = MAX_VOLUME_RATIO,
    source: str | None = None,
) -> dict[str, Any]:
    r"""Every lesion-wise figure of a set of cases, under each matching view, with its spread, as a dictionary.

    .. math:: \bar R = \frac{1}{|\mathcal F|} \sum_{f \in \mathcal F} R(f), \qquad
              \mathrm{oDSC} = \frac{1}{|\mathcal D|} \sum_{i \in \mathcal D} D_{i,m(i)}

    (Shirokikh et al., MICCAI 2020, section 4.3). ``cases`` is one list of records, or ``{view name: list}``
    with the same cases under several matching rules (e.g. ``paper`` and ``strict`` from
    :class:`~monai_imbalance.metrics.LesionRecordsMetric`). Each view gets every figure: point values from all
    cases; the spread from the bootstrap of :func:`~monai_imbalance.metrics.bootstrap` (``n_draws`` draws of
    ``fraction`` of the cases): mean and standard deviation of the average recall, and the FROC band (mean ±
    one standard deviation of the recall over the draws, clipped to [0, 1], on a log-spaced FP-per-image grid
    holding every rate). Size groups: tertiles of the ground-truth lesion volume when ``size_thresholds`` is
    ``None``, else equivalent-sphere diameter thresholds (mm when the records were made with a spacing). The
    over-segmentation diagnostics (:func:`~monai_imbalance.metrics.over_segmentation`) do not depend on the
    view; their warning is in ``warnings``. Non-finite numbers are ``None``.

    Keys: ``protocol``, ``fp_rates``, ``seed``, ``source``, ``n_cases``, ``n_lesions``, ``views`` (per view:
    ``matching`` (the rule in words), ``n_detected``, ``n_false_positives``, ``average_recall``, ``bootstrap``
    (``mean``, ``std``, ``n_draws``, ``fraction``), ``recall_at_fp`` and ``recall_at_fp_std``
    (``{str(rate): value}``), ``object_dice`` (``mean``, ``std``, ``n``), ``froc`` (``thresholds``,
    ``fp_per_image``, ``recall``; ``band``), ``size_groups_by``, ``size_groups``), ``key_view`` and, at the top
    level, the same figures of the key view (the one that selects models: ``strict`` when present, else the
    first), ``matching`` (the key view's rule), ``diagnostics``, ``warnings``, ``cases`` (per case: ``case_id``,
    ``n_lesions``, per view ``n_detected`` and ``n_false_positives``, ``predicted_volume``,
    ``n_merged_lesions``).

    Args:
        cases: per-case records (:func:`~monai_imbalance.metrics.lesion_records`), or a mapping of views.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points of the average recall; default 1/8, 1/4, ..., 8.
        size_thresholds: increasing diameter thresholds (e.g. ``[10.0]`` for lung nodules), or ``None``.
        n_draws: bootstrap draws; ``None`` for the protocol's default (100; ``shirokikh2020``: 50).
        seed: bootstrap seed (``shirokikh2020``: pass ``None`` for the authors' ``RandomState(42)``).
        fraction: fraction of the cases in each bootstrap draw, in ``(0, 1]``.
        key_view: the view of the top-level figures; default ``strict`` when present, else the first view.
        max_volume_ratio: predicted / true lesion volume above which the report warns.
        source: where the cases come from (e.g. ``"test list of data/dataset.json"``), printed in the report.

    Returns:
        The report dictionary (``json.dumps(report, allow_nan=False)`` succeeds).

    Raises:
        TypeError: when ``cases`` is not a sequence (or mapping of sequences) of
            :class:`~monai_imbalance.metrics.CaseRecords`.
        ValueError: when ``cases`` is empty, views differ in cases, ``key_view`` is unknown, or on an unknown
            ``protocol``, bad ``fp_rates``, ``size_thresholds``, ``n_draws`` or ``fraction``.

    Example:
        >>> a = CaseRecords([0.9, 0.6], [0.8, 0.6], [3, 9], [14, 380], [0.7])
        >>> cases = [a, CaseRecords([-np.inf], [0.0], [5], [65], [])]
        >>> r = lesion_report(cases, n_draws=10)
        >>> r["n_lesions"], r["n_detected"], round(r["recall_at_fp"]["1.0"], 4), r["object_dice"]["mean"]
        (3, 2, 0.6667, 0.7)
        >>> [(g["name"], g["n_lesions"]) for g in r["size_groups"]]
        [('small', 1), ('medium', 1), ('large', 1)]
    """
    views = _as_views(cases)
    proto = option(protocol, FROCProtocol, "protocol")
    rates = check_fp_rates(fp_rates)
    if size_thresholds is not None:
        check_increasing(size_thresholds, "size_thresholds")
    grid = _band_grid(rates)
    if key_view is None:
        key_view = default_key_view(views)
    if key_view not in views:
        raise ValueError(f"`key_view` {key_view!r} is not one of the views {sorted(views)}.")
    per_view = {}
    for name, view in views.items():
        rule = next((c.matching for c in view if c.matching), None)
        per_view[name] = {
            "matching": rule,
            **_view_figures(view, proto, rates, grid, size_thresholds, n_draws, seed, fraction),
        }
    key_cases = views[key_view]
    diag = over_segmentation(key_cases, max_volume_ratio)
    diagnostics = {k: (finite_or_none(v) if isinstance(v, float) else v) for k, v in diag.items() if k != "warning"}
    if diag["volume_ratio"] == math.inf:
        diagnostics["volume_ratio"] = "inf"
    return {
        "protocol": proto.value,
        "fp_rates": [float(r) for r in rates],
        "seed": seed,
        "source": source,
        "n_cases": len(key_cases),
        "key_view": key_view,
        **per_view[key_view],
        "views": per_view,
        "diagnostics": diagnostics,
        "warnings": [diag["warning"]] if diag["warning"] else [],
        "cases": [
            {
                "case_id": c.case_id,
                "n_lesions": c.n_lesions,
                **{
                    f"{key}_{name}": value
                    for name, view in views.items()
                    for key, value in (
                        ("n_detected", view[i].n_detected),
                        ("n_false_positives", int(view[i].fp_confidence.size)),
                    )
                },
                "n_detected": c.n_detected,
                "n_false_positives": int(c.fp_confidence.size),
                "predicted_volume": finite_or_none(c.predicted_volume),
                "n_merged_lesions": c.n_merged_lesions,
            }
            for i, c in enumerate(key_cases)
        ],
    }


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _spread(mean: float | None, std: float | None) -> str:
    return "n/a" if mean is None or std is None else f"{mean:.3f} ± {std:.3f}"


def _range_text(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return "all"
    if lo is None:
        return f"< {hi:.4g}"
    if hi is None:
        return f"≥ {lo:.4g}"
    return f"[{lo:.4g}, {hi:.4g})"


def _size_table(view: dict[str, Any]) -> list[str]:
    rates = list(view["recall_at_fp"])[:8] if len(view["recall_at_fp"]) <= 8 else []
    lines = [
        "| group | range | lesions | detected | FPs | average recall | bootstrap |"
        + "".join(f" R@{float(r):g} |" for r in rates),
        "|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(rates),
    ]
    for g in view["size_groups"]:
        cells = "".join(f" {_fmt(g['recall_at_fp'][r])} ± {_fmt(g['recall_at_fp_std'][r])} |" for r in rates)
        lines.append(
            f"| {g['name']} | {_range_text(*g['range'])} | {g['n_lesions']} | {g['n_detected']} | "
            f"{g['n_false_positives']} | {_fmt(g['average_recall'])} | "
            f"{_spread(g['bootstrap']['mean'], g['bootstrap']['std'])} |{cells}"
        )
    return lines


def lesion_markdown(report: dict[str, Any], title: str | None = None) -> str:
    """Markdown of a :func:`lesion_report`: the warnings first, then every figure of every view side by side.

    Args:
        report: the dictionary of :func:`lesion_report`.
        title: heading; default ``"Lesion-wise evaluation"``.

    Returns:
        The Markdown text (ends with a newline).

    Example:
        >>> r = lesion_report([CaseRecords([0.9], [0.8], [3], [14], [])], n_draws=2)
        >>> print(lesion_markdown(r).splitlines()[6])
        | average recall (7 FP rates) | 1.000 (bootstrap 1.000 ± 0.000) |
    """
    views = report.get("views") or {"records": report}
    key = report.get("key_view", next(iter(views)))
    order = [key, *[v for v in views if v != key]]
    lines = [f"# {title or 'Lesion-wise evaluation'}", ""]
    for warning in report.get("warnings", []):
        lines += [f"> **Warning** — {warning}.", ""]
    source = report.get("source")
    lines += [
        f"Protocol `{report['protocol']}`: {report['n_cases']} cases"
        + (f" ({source})" if source else "")
        + f", {report['n_lesions']} lesions. Model selection and the headline figures use the view `{key}`.",
        "",
        "| figure | " + " | ".join(f"`{v}`: {views[v].get('matching') or 'rule not recorded'}" for v in order) + " |",
        "|---|" + "---:|" * len(order),
    ]

    def row(name: str, cell: Any) -> None:
        lines.append(f"| {name} | " + " | ".join(cell(views[v]) for v in order) + " |")

    row(
        f"average recall ({len(report['fp_rates'])} FP rates)",
        lambda v: f"{_fmt(v['average_recall'])} (bootstrap {_spread(v['bootstrap']['mean'], v['bootstrap']['std'])})",
    )
    for rate in views[key]["recall_at_fp"]:
        row(
            f"recall at {float(rate):g} FP/image",
            lambda v, r=rate: f"{_fmt(v['recall_at_fp'][r])} ± {_fmt(v['recall_at_fp_std'][r])}",
        )
    row("lesions detected (any confidence)", lambda v: f"{v['n_detected']} of {report['n_lesions']}")
    row("false positives (all confidences)", lambda v: str(v["n_false_positives"]))
    row(
        "object Dice (detected lesions)",
        lambda v: f"{_fmt(v['object_dice']['mean'])} ± {_fmt(v['object_dice']['std'])} (n = {v['object_dice']['n']})",
    )
    boot = views[key]["bootstrap"]
    lines += [
        "",
        f"Spread: bootstrap mean ± std over {boot['n_draws']} draws of {boot['fraction']:.0%} of the cases "
        "(recall at a rate: std over the draws); object Dice: ± std over the detected lesions.",
        "",
    ]
    diag = report.get("diagnostics")
    if diag:
        ratio = diag.get("volume_ratio")
        ratio_text = ratio if isinstance(ratio, str) else _fmt(ratio, 2)
        lines += [
            "## Over-segmentation",
            "",
            "| predicted lesion volume | true lesion volume | predicted / true | components merging lesions | "
            "lesions merged |",
            "|---:|---:|---:|---:|---:|",
            f"| {_fmt(diag.get('predicted_volume'), 1)} | {_fmt(diag.get('true_volume'), 1)} | {ratio_text} | "
            f"{_count(diag.get('merging_predictions'))} | {_count(diag.get('merged_lesions'))} |",
            "",
            f"A warning is raised above {diag.get('max_volume_ratio', MAX_VOLUME_RATIO):g}x or when any predicted "
            "component covers two or more lesions (volumes in mm³, voxels for records made without a spacing).",
            "",
        ]
    by = views[key]["size_groups_by"]
    how = (
        "tertiles of the ground-truth volume, mm³" if by == "volume" else "equivalent-sphere diameter thresholds, mm"
    ) + " (voxels for records made without a spacing)"
    lines += [f"## By lesion size ({how})", ""]
    for v in order:
        lines += [f"View `{v}` ({views[v].get('matching') or 'rule not recorded'}):", "", *_size_table(views[v]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _plot_views(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{legend label: view}`` of a report for the plots, the key view first."""
    views = report.get("views") or {"records": report}
    key = report.get("key_view", next(iter(views)))
    order = [key, *[v for v in views if v != key]]
    return {
        (f"{v}: {views[v]['matching']}" if views[v].get("matching") else v): {
            **views[v],
            "fp_rates": report["fp_rates"],
        }
        for v in order
    }


def write_lesion_report(
    cases: Sequence[CaseRecords] | Mapping[str, Sequence[CaseRecords]],
    output_dir: str | Path,
    name: str = "lesion_report",
    title: str | None = None,
    **lesion_report_kwargs: Any,
) -> dict[str, Any]:
    """Write the lesion-wise report of a set of cases: JSON, Markdown, two PNG plots and the records.

    Files in ``output_dir`` (created): ``<name>.json`` (:func:`lesion_report`), ``<name>.md``
    (:func:`lesion_markdown`, its warnings at the top), ``<name>_froc.png``
    (:func:`~monai_imbalance.reporting.plot_froc`: one FROC curve per view with its bootstrap band, log
    FP-per-image axis over the whole measured range, the FP rates marked, the warning printed on the plot),
    ``<name>_recall_by_size.png`` (:func:`~monai_imbalance.reporting.plot_recall_by_size`, one bar per view)
    and ``<name>_records.json`` (:func:`~monai_imbalance.reporting.save_records`, every view). The warnings
    are also logged (logger ``monai_imbalance.reporting.lesion``).

    Args:
        cases: per-case records, or ``{view name: records}``.
        output_dir: folder of the report.
        name: file name stem.
        title: heading of the Markdown and the plots.
        lesion_report_kwargs: ``protocol``, ``fp_rates``, ``size_thresholds``, ``n_draws``, ``seed``,
            ``fraction``, ``key_view``, ``max_volume_ratio``, ``source`` of :func:`lesion_report`.

    Returns:
        The report dictionary written to ``<name>.json``.

    Raises:
        TypeError: when ``cases`` is not a sequence (or mapping of sequences) of
            :class:`~monai_imbalance.metrics.CaseRecords`.
        ValueError: as :func:`lesion_report`.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     r = write_lesion_report([CaseRecords([0.9], [0.8], [3], [14], [0.6])], d, n_draws=5)
        ...     names = sorted(p.name for p in pathlib.Path(d).iterdir())
        >>> names[:3], names[3:]
        (['lesion_report.json', 'lesion_report.md', 'lesion_report_froc.png'],
         ['lesion_report_recall_by_size.png', 'lesion_report_records.json'])
    """
    views = _as_views(cases)
    checked = views if isinstance(cases, Mapping) else views["records"]  # validated once, lists
    report = lesion_report(checked, **lesion_report_kwargs)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, allow_nan=False))
    (out / f"{name}.md").write_text(lesion_markdown(report, title))
    warning = "; ".join(report["warnings"]) or None
    for w in report["warnings"]:
        logger.warning(f"{out / name}: {w}")
    curves = _plot_views(report)
    plot_froc(curves, out / f"{name}_froc.png", title=title, warning=warning)
    plot_recall_by_size(curves, out / f"{name}_recall_by_size.png", title=title)
    save_records(checked, out / f"{name}_records.json")
    return report
