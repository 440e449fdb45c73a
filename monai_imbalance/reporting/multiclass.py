"""Per-case, per-class Dice and HD95 (mm) report of the multi-class bundle: JSON, Markdown and a box plot."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monai_imbalance.utils.conversion import finite_or_none
from monai_imbalance.utils.figures import agg_figure, save_png
from monai_imbalance.utils.stats import finite_stats

__all__ = ["write_multiclass_report"]

_METRICS = ("dice", "hd95")


def write_multiclass_report(
    records: Sequence[dict[str, Any]],
    class_names: Sequence[str],
    output_dir: str | Path,
    prefix: str = "evaluation",
    source: str | None = None,
) -> dict[str, Any]:
    """Write ``<prefix>.json``, ``<prefix>.md`` and ``<prefix>.png`` from per-case scores.

    Args:
        records: one dict per case: ``{"case": str, "dice": [per class], "hd95": [per class]}`` (foreground
            classes, in the order of ``class_names``); NaN (class absent) and inf (class not predicted) allowed.
        class_names: names of the scored classes.
        output_dir: folder of the report (created).
        prefix: file name stem.
        source: where the cases come from (e.g. ``"test list of data/dataset.json"``), stored and printed.

    Returns:
        The summary written to JSON: per class and metric the mean, std and number of finite values.

    Raises:
        ValueError: when ``records`` is empty or a record has the wrong number of classes.

    Example:
        >>> import tempfile
        >>> recs = [{"case": "a", "dice": [0.5, 1.0], "hd95": [2.0, float("inf")]}]
        >>> s = write_multiclass_report(recs, ["organ", "tumour"], tempfile.mkdtemp())
        >>> s["summary"]["organ"]["dice"]["mean"], s["summary"]["tumour"]["hd95"]["n"]
        (0.5, 0)
    """
    if not records:
        raise ValueError("`records` must hold at least one case, got none.")
    names = list(class_names)
    for r in records:
        for m in _METRICS:
            if len(r[m]) != len(names):
                raise ValueError(f"record {r['case']!r}: `{m}` has {len(r[m])} values, expected {len(names)}.")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, dict[str, dict[str, float | int | None]]] = {}
    for c, name in enumerate(names):
        summary[name] = {}
        for m in _METRICS:
            summary[name][m] = finite_stats(r[m][c] for r in records)
    report = {
        "classes": names,
        "source": source,
        "units": {"dice": "1", "hd95": "mm"},
        "note": "non-finite values (class absent: NaN; class not predicted: inf) are null and left out of means",
        "cases": [{"case": r["case"], **{m: [finite_or_none(x) for x in r[m]] for m in _METRICS}} for r in records],
        "summary": summary,
    }
    (out / f"{prefix}.json").write_text(json.dumps(report, indent=2))

    def fmt(s: dict[str, float | int | None]) -> str:
        return "n/a" if s["mean"] is None else f"{s['mean']:.3f} ± {s['std']:.3f} (n={s['n']})"

    lines = ["| class | Dice | HD95 (mm) |", "|---|---|---|"]
    lines += [f"| {n} | {fmt(summary[n]['dice'])} | {fmt(summary[n]['hd95'])} |" for n in names]
    where = f" ({source})" if source else ""
    md = f"# Evaluation: {len(records)} cases{where}\n\nMean ± std over cases (finite values only).\n\n" + "\n".join(
        lines
    )
    (out / f"{prefix}.md").write_text(md + "\n")

    fig = agg_figure(figsize=(4 + 1.6 * len(names), 4.2), layout="constrained")  # the session's backend untouched
    axes = fig.subplots(1, 2)
    for ax, m, label in zip(axes, _METRICS, ("Dice", "HD95 (mm)"), strict=True):
        data = [[float(r[m][c]) for r in records if math.isfinite(float(r[m][c]))] for c in range(len(names))]
        ax.boxplot([d if d else [float("nan")] for d in data])
        for i, d in enumerate(data, start=1):  # every case as a dot (a box of a few cases hides them)
            ax.plot([i + 0.25 * (k + 0.5 - len(d) / 2) / len(d) for k in range(len(d))], d, "o", ms=3, color="C0")
            if not d:  # no finite value: the class was absent or never predicted in every case
                ax.text(i, 0.5, "n/a", transform=ax.get_xaxis_transform(), ha="center", color="0.4")
        ax.set_xticks(range(1, len(names) + 1), [f"{n}\n(n={len(d)})" for n, d in zip(names, data, strict=True)])
        ax.set_ylabel(label)
        ax.grid(True, axis="y", alpha=0.3)
    axes[0].set_ylim(-0.02, 1.02)  # Dice on its whole range
    axes[1].set_ylim(bottom=0)
    fig.suptitle(f"Evaluation of {len(records)} cases{where} (box: quartiles; dots: cases)", fontsize="medium")
    save_png(fig, out / f"{prefix}.png")
    return report
