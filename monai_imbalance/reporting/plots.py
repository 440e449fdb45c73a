"""PNG plots of lesion-wise reports: FROC curves with bootstrap bands, recall by lesion-size group.

Headless: figures are :class:`matplotlib.figure.Figure` objects drawn on their own Agg canvas, so neither
pyplot's global state nor the session's backend is touched. Constrained layout keeps every label inside the
figure; legends and warnings sit outside the axes, so they never cover a curve or a bar.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_froc", "plot_recall_by_size"]

_DPI = 100


def _check_reports(reports: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(reports, Mapping) or not all(isinstance(r, Mapping) for r in reports.values()):
        raise TypeError(f"`reports` must map method names to lesion_report dicts, got {type(reports).__name__}.")
    if not reports:
        raise ValueError("`reports` must hold at least one report, got none.")
    return {str(k): dict(v) for k, v in reports.items()}


def _array(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _legend_columns(labels: list[str]) -> int:
    """Two legend columns for more than 3 short entries (they fit the figure's width side by side), else one."""
    return 2 if len(labels) > 3 and max(len(s) for s in labels) <= 45 else 1


def _legend_rows(labels: list[str]) -> int:
    return -(-len(labels) // _legend_columns(labels)) if labels else 0


def _legend_below(fig: Figure, ax: Any) -> None:
    """The legend under the axes, across the figure, outside the data (constrained layout makes room)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=_legend_columns(labels), fontsize="small")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    fig.savefig(path, dpi=_DPI, format="png")
    return path


def _froc_label(name: str, rep: Mapping[str, Any]) -> str:
    froc = rep["froc"]
    recall = _array(froc["recall"])
    if recall.size == 0 or np.isnan(recall).all():
        return f"{name} (no lesions)"
    ar, std = rep.get("average_recall"), (rep.get("bootstrap") or {}).get("std")
    if ar is None:
        return name
    return f"{name} (avg recall {ar:.3f})" if std is None else f"{name} (avg recall {ar:.3f} ± {std:.3f})"


def plot_froc(
    reports: Mapping[str, Mapping[str, Any]], path: str | Path, title: str | None = None, warning: str | None = None
) -> Path:
    r"""Overlay the FROC curves of several reports, each with its bootstrap band, on a log FP-per-image axis.

    A curve is the recall :math:`R(f)` read as the average recall reads it (linear interpolation over the
    FROC points with the origin prepended, held beyond the last point); the band is the report's
    ``froc.band`` (bootstrap mean ± one standard deviation); dotted vertical lines mark the first report's
    FP rates and dots the recall at them. The x axis covers the FP rates and the whole measured FP range. The
    legend is below the axes; a report without lesions is listed in it as such; ``warning`` (e.g. the
    over-segmentation warning of a report) is printed in red above the axes.

    Args:
        reports: ``{method name: lesion_report dict}`` (:func:`~monai_imbalance.reporting.lesion_report`).
        path: the ``.png`` file to write.
        title: figure title.
        warning: text to show on the plot, or ``None``.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: when ``reports`` is not a mapping of report dicts.
        ValueError: when it is empty.
        KeyError: when a report lacks ``froc`` or ``fp_rates``.

    Example:
        >>> import tempfile, pathlib
        >>> from monai_imbalance.metrics import CaseRecords
        >>> from monai_imbalance.reporting import lesion_report
        >>> r = lesion_report([CaseRecords([0.9, 0.5], [0.8, 0.5], [3, 3], [14, 14], [0.7])], n_draws=3)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = plot_froc({"ours": r}, pathlib.Path(d) / "froc.png")
        ...     p.read_bytes()[:4]
        b'\x89PNG'
    """
    reps = _check_reports(reports)
    first = next(iter(reps.values()))
    rates = np.asarray(first["fp_rates"], dtype=np.float64)
    positive = rates[rates > 0]
    lo = float(positive.min()) / 2 if positive.size else 1 / 16
    hi = float(rates.max()) * 2 if positive.size else 16.0
    for rep in reps.values():  # the whole measured FP range, not only the rates
        fps = _array(rep["froc"]["fp_per_image"])
        if fps.size and np.isfinite(fps).any():
            hi = max(hi, float(np.nanmax(fps)) * 1.25)

    labels = [_froc_label(name, rep) for name, rep in reps.items()]
    fig = _figure(7.2, 4.8 + 0.22 * _legend_rows(labels))  # the legend's rows below the axes
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(len(reps))]
    for colour, label, rep in zip(colours, labels, reps.values(), strict=True):
        froc = rep["froc"]
        fp, recall = _array(froc["fp_per_image"]), _array(froc["recall"])
        if recall.size == 0 or np.isnan(recall).all():
            ax.plot([], [], color=colour, label=label)
            continue
        x = np.geomspace(lo, hi, 400)
        y = np.interp(x, np.concatenate([[0.0], fp]), np.concatenate([[0.0], recall]))
        ax.plot(x, y, color=colour, label=label)
        band = froc.get("band") or {}
        if band.get("fp_per_image"):
            bx = _array(band["fp_per_image"])
            keep = bx > 0
            ax.fill_between(
                bx[keep], _array(band["lower"])[keep], _array(band["upper"])[keep], color=colour, alpha=0.2, lw=0
            )
        at = rep.get("recall_at_fp", {})
        pts = [(float(k), v) for k, v in at.items() if float(k) > 0 and v is not None]
        if pts and len(pts) <= 16:
            ax.plot(*zip(*pts, strict=True), "o", color=colour, ms=4)
    for r in positive[:16]:
        ax.axvline(float(r), color="0.6", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positives per image")
    ax.set_ylabel("recall (lesion sensitivity)")
    if positive.size and positive.size <= 16:
        ticks = list(positive)
        while ticks[-1] * 4 <= hi:  # the measured range beyond the rates: every factor 4
            ticks.append(ticks[-1] * 4)
        ax.set_xticks(ticks, [f"{r:g}" for r in ticks])
        ax.minorticks_off()
    ax.grid(True, which="major", axis="y", alpha=0.3)
    _legend_below(fig, ax)
    if warning:  # above the axes, never over the curves
        fig.suptitle("\n".join(_wrap(f"Warning: {warning}", 110)), color="#b00020", fontsize="small")
    ax.set_title(title or "FROC (band: bootstrap mean ± std)")
    return _save(fig, path)


def plot_recall_by_size(reports: Mapping[str, Mapping[str, Any]], path: str | Path, title: str | None = None) -> Path:
    """Grouped bars of the average recall per lesion-size group, one group of bars per size, one bar per report.

    Error bars are the bootstrap standard deviation of the group's average recall; the number of lesions
    (``n=``) is written above every bar; a group without lesions shows ``n/a``. Groups are matched by name
    across reports (union, in the order they first appear). The legend is below the axes.

    Args:
        reports: ``{method name: lesion_report dict}``.
        path: the ``.png`` file to write.
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: when ``reports`` is not a mapping of report dicts.
        ValueError: when it is empty.
        KeyError: when a report lacks ``size_groups``.

    Example:
        >>> import tempfile, pathlib
        >>> from monai_imbalance.metrics import CaseRecords
        >>> from monai_imbalance.reporting import lesion_report
        >>> r = lesion_report([CaseRecords([0.9, -np.inf], [0.8, 0], [3, 12], [14, 900], [])], size_thresholds=[10])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = plot_recall_by_size({"ours": r}, pathlib.Path(d) / "size.png")
        ...     p.stat().st_size > 1000
        True
    """
    reps = _check_reports(reports)
    first = next(iter(reps.values()))
    names: list[str] = []
    labels: dict[str, str] = {}
    for rep in reps.values():
        for g in rep["size_groups"]:
            if g["name"] not in names:
                names.append(g["name"])
                lo, hi = g["range"]
                rng = (
                    "all"
                    if lo is None and hi is None
                    else (f"< {hi:.3g}" if lo is None else f"≥ {lo:.3g}" if hi is None else f"{lo:.3g} to {hi:.3g}")
                )
                labels[g["name"]] = f"{g['name']}\n{rng}" if rng != "all" else g["name"]

    # the width grows with the bars (capped); the legend's rows below the axes add to the height
    width = min(14.0, max(4.8, 1.6 + 1.1 * len(names) * max(1, len(reps))))
    fig = _figure(width, 4.8 + 0.22 * _legend_rows(list(reps)))
    ax = fig.add_subplot()
    width = 0.8 / len(reps)
    x = np.arange(len(names))
    for m, (method, rep) in enumerate(reps.items()):
        by_name = {g["name"]: g for g in rep["size_groups"]}
        pos = x - 0.4 + width * (m + 0.5)
        for i, gname in enumerate(names):
            g = by_name.get(gname)
            value = None if g is None else g.get("average_recall")
            std = None if g is None else (g.get("bootstrap") or {}).get("std")
            ax.bar(
                pos[i],
                0.0 if value is None else value,
                width * 0.9,
                yerr=None if std is None or value is None else std,
                color=f"C{m}",
                capsize=3,
                label=method if i == 0 else None,
            )
            text = "n/a" if g is None or value is None else f"n={g['n_lesions']}"
            ax.text(pos[i], (value or 0.0) + (std or 0.0) + 0.02, text, ha="center", va="bottom", fontsize="x-small")
    ax.set_xticks(x, [labels[n] for n in names])
    ax.set_ylim(0, 1.15)
    by = first.get("size_groups_by", "diameter")
    ax.set_xlabel(f"lesion {by} ({'mm³' if by == 'volume' else 'mm'}, or voxels without spacing)")
    ax.set_ylabel("average recall (± bootstrap std)")
    ax.grid(True, axis="y", alpha=0.3)
    _legend_below(fig, ax)
    ax.set_title(title or "Recall by lesion size")
    return _save(fig, path)
