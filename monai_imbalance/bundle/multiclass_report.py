"""Per-case, per-class Dice and HD95 (mm) report of the multi-class bundle: JSON, Markdown and a box plot."""

from __future__ import annotations

import json
import logging
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from monai.utils import IgniteInfo, min_version, optional_import

from monai_imbalance._utils import finite_or_none, finite_stats
from monai_imbalance.metrics.stats import segmentation_scores
from monai_imbalance.reporting.handler import gather_to_rank0
from monai_imbalance.transforms import resolve_spacing

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import(
        "ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine", as_type="decorator"
    )

__all__ = ["MulticlassReportHandler", "write_multiclass_report"]

_METRICS = ("dice", "hd95")

logger = logging.getLogger(__name__)


def _identity(x: Any) -> Any:
    return x


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

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4 + 1.2 * len(names), 4))  # its own canvas: the session's backend is not touched
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    for ax, m, label in zip(axes, _METRICS, ("Dice", "HD95 (mm)"), strict=True):
        data = [[float(r[m][c]) for r in records if math.isfinite(float(r[m][c]))] for c in range(len(names))]
        ax.boxplot([d if d else [float("nan")] for d in data])
        ax.set_xticks(range(1, len(names) + 1), names, rotation=30)
        ax.set_ylabel(label)
    fig.tight_layout()
    fig.savefig(out / f"{prefix}.png", dpi=100)
    return report


class MulticlassReportHandler:
    """Collect per-case Dice and HD95 (mm, spacing from the label) in an evaluator and write the report at the end.

    Uses :func:`monai_imbalance.metrics.segmentation_scores` (MONAI's ``compute_dice`` and
    ``compute_hausdorff_distance`` with the voxel spacing, Valverde & Tohka 2023) on every decollated output
    item holding a one-hot ``pred`` and ``label``, then :func:`write_multiclass_report` on ``COMPLETED``.

    Args:
        output_dir: folder of the report.
        class_names: names of all classes, background first (the background is not scored).
        prefix: file name stem.
        output_transform: maps ``engine.state.output`` to a list of dicts with ``pred`` and ``label``.

    Raises:
        ValueError: when ``class_names`` has fewer than two names.

    Example:
        >>> import tempfile
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(2, 8, 8); y[1, 2:6, 2:6] = 1; y[0] = 1 - y[1]
        >>> p = torch.zeros(2, 8, 8); p[1, 2:6, 3:7] = 1; p[0] = 1 - p[1]
        >>> handler = MulticlassReportHandler(tempfile.mkdtemp(), ["background", "organ"])
        >>> engine = Engine(lambda e, b: [{"pred": p, "label": y}])
        >>> handler.attach(engine)
        >>> _ = engine.run([0], max_epochs=1)
        >>> handler.records[0]["dice"], handler.records[0]["hd95"]
        ([0.75], [1.0])
    """

    def __init__(
        self,
        output_dir: str | Path,
        class_names: Sequence[str],
        prefix: str = "evaluation",
        output_transform: Callable[[Any], Any] | None = None,
        source: str | None = None,
    ) -> None:
        if len(class_names) < 2:
            raise ValueError(f"`class_names` must name the background and at least one class, got {class_names}.")
        self.output_dir = Path(output_dir)
        self.class_names = list(class_names)
        self.prefix = prefix
        self.output_transform = output_transform or _identity
        self.source = source
        self.records: list[dict[str, Any]] = []

    def attach(self, engine: Engine) -> None:
        """Register on ``STARTED`` (reset), ``ITERATION_COMPLETED`` (score) and ``COMPLETED`` (write)."""
        engine.add_event_handler(Events.STARTED, lambda e: self.records.clear())
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def __call__(self, engine: Engine) -> None:
        """Score every case of the current iteration."""
        for item in self.output_transform(engine.state.output):
            pred, label = item["pred"], item["label"]
            meta = getattr(label, "meta", {}) or {}
            case = Path(str(meta.get("filename_or_obj", f"case_{len(self.records)}"))).name
            with warnings.catch_warnings():  # an empty class gives NaN / inf, reported as such
                warnings.simplefilter("ignore", UserWarning)
                s = segmentation_scores(
                    torch.as_tensor(pred)[None], torch.as_tensor(label)[None], spacing=resolve_spacing(label)
                )
            self.records.append({"case": case, "dice": s["dice"][0].tolist(), "hd95": s["hd95"][0].tolist()})

    def write(self, engine: Engine) -> None:
        """Write the report of the collected cases (under DDP: every rank's cases, written by rank 0 only)."""
        records = gather_to_rank0(self.records)
        if records is not None:
            write_multiclass_report(records, self.class_names[1:], self.output_dir, self.prefix, self.source)
            logger.info(f"multi-class report of {len(records)} cases written to {self.output_dir / self.prefix}.md")
