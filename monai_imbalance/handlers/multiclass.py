"""Ignite handler scoring per-case, per-class Dice and HD95 (mm) in an evaluator; writes the multi-class report."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from monai_imbalance.handlers._ignite import Engine, Events
from monai_imbalance.handlers.report import gather_to_rank0
from monai_imbalance.metrics.stats import segmentation_scores
from monai_imbalance.reporting.multiclass import write_multiclass_report
from monai_imbalance.transforms import resolve_spacing

__all__ = ["MulticlassReportHandler"]

logger = logging.getLogger(__name__)


def _identity(x: Any) -> Any:
    return x


class MulticlassReportHandler:
    """Collect per-case Dice and HD95 (mm, spacing from the label) in an evaluator and write the report at the end.

    Uses :func:`monai_imbalance.metrics.segmentation_scores` (MONAI's ``compute_dice`` and
    ``compute_hausdorff_distance`` with the voxel spacing, Valverde & Tohka 2023) on every decollated output
    item holding a one-hot ``pred`` and ``label``, then
    :func:`~monai_imbalance.reporting.write_multiclass_report` on ``COMPLETED``.

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
