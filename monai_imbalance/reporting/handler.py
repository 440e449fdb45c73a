"""Ignite handler writing the lesion-wise report of an evaluator's run (records gathered across DDP ranks)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch.distributed as dist
from monai.handlers import from_engine
from monai.utils import IgniteInfo, min_version, optional_import

from monai_imbalance.metrics.froc import FROCProtocol
from monai_imbalance.metrics.lesions import CaseRecords, _option, item_lesion_records
from monai_imbalance.reporting.lesion import write_lesion_report
from monai_imbalance.transforms import resolve_spacing

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import(
        "ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine", as_type="decorator"
    )

__all__ = ["LesionReportHandler"]


def _default_transform(output: Any) -> Any:
    return from_engine(["pred", "label"])(output)


def gather_to_rank0(records: list[Any]) -> list[Any] | None:
    """Every rank's records (any picklable items) on rank 0, ``None`` on the other ranks; as given without DDP.

    Example:
        >>> gather_to_rank0([1, 2])  # no process group: the records themselves
        [1, 2]
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return records
    parts: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, records)
    if dist.get_rank() != 0:
        return None
    return [r for part in parts for r in part]


class LesionReportHandler:
    """Collect per-lesion records in an evaluator and write the lesion-wise report when it completes.

    On ``STARTED`` the records are cleared; on ``ITERATION_COMPLETED`` every item of the output (after
    ``output_transform``, which gives ``(preds, labels)``: per item a channel-first probability map and
    label) becomes :func:`~monai_imbalance.metrics.lesion_records`, with the label's MetaTensor spacing
    (``pixdim``) when it has one, so sizes are in mm; each case is matched once per evaluator: through
    :func:`~monai_imbalance.metrics.item_lesion_records`, a FROC or object-Dice metric reading the same items
    with the same threshold, connectivity and the ``overlap`` hit rule shares the records. On ``COMPLETED``
    the records of every DDP rank are gathered (``torch.distributed.all_gather_object``) and rank 0 calls
    :func:`~monai_imbalance.reporting.write_lesion_report`. The case id is the label's file name when its
    meta data has one, else ``case_<i>``. A run without any case warns and writes nothing.

    Args:
        output_dir: folder of the report.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        size_thresholds: diameter thresholds of the size groups; ``None`` for volume tertiles.
        n_draws: bootstrap draws; ``None`` for the protocol's default.
        seed: bootstrap seed.
        name: file name stem.
        title: heading of the report.
        output_transform: maps ``engine.state.output`` to ``(preds, labels)``; default MONAI's
            ``from_engine(["pred", "label"])``.

    Raises:
        ValueError: on invalid arguments (at construction) or items that are not 1- or 2-channel (per iteration).

    Example:
        >>> import tempfile, torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 8, 8); y[:, 2:4, 2:4] = 1
        >>> handler = LesionReportHandler(tempfile.mkdtemp(), n_draws=5)
        >>> engine = Engine(lambda e, b: [{"pred": y * 0.9, "label": y}])
        >>> handler.attach(engine)
        >>> _ = engine.run([0, 1], max_epochs=1)
        >>> handler.report["n_cases"], handler.report["average_recall"]
        (2, 1.0)
    """

    def __init__(
        self,
        output_dir: str | Path,
        protocol: str = "luna16",
        threshold: float = 0.5,
        connectivity: int | None = None,
        size_thresholds: Sequence[float] | None = None,
        n_draws: int | None = None,
        seed: int | None = 0,
        name: str = "lesion_report",
        title: str | None = None,
        output_transform: Callable[[Any], Any] = _default_transform,
    ) -> None:
        _option(protocol, FROCProtocol, "protocol")
        if n_draws is not None and n_draws < 1:
            raise ValueError(f"`n_draws` must be at least 1, got {n_draws}.")
        self.output_dir = Path(output_dir)
        self.protocol = protocol
        self.threshold = threshold
        self.connectivity = connectivity
        self.size_thresholds = size_thresholds
        self.n_draws = n_draws
        self.seed = seed
        self.name = name
        self.title = title
        self.output_transform = output_transform
        self.records: list[CaseRecords] = []
        self.report: dict[str, Any] | None = None

    def attach(self, engine: Engine) -> None:
        """Register on ``STARTED`` (reset), ``ITERATION_COMPLETED`` (records) and ``COMPLETED`` (report)."""
        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine | None = None) -> None:
        """Forget the records and the last report."""
        self.records = []
        self.report = None

    def __call__(self, engine: Engine) -> None:
        """Add the records of every item of the current iteration."""
        preds, labels = self.output_transform(engine.state.output)
        for pred, label in zip(preds, labels, strict=True):
            meta = getattr(label, "meta", None) or {}
            filename = meta.get("filename_or_obj")
            case_id = Path(str(filename)).name if filename else f"case_{len(self.records)}"
            self.records.append(
                item_lesion_records(
                    pred,
                    label,
                    spacing=resolve_spacing(label),
                    threshold=self.threshold,
                    connectivity=self.connectivity,
                    case_id=case_id,
                )
            )

    def write(self, engine: Engine | None = None) -> None:
        """Gather the records (rank 0 under DDP) and write the report; ``self.report`` holds it on rank 0."""
        cases = gather_to_rank0(self.records)
        if cases is None:
            return
        if not cases:
            warnings.warn("LesionReportHandler: no case was evaluated, no report written.", stacklevel=2)
            return
        self.report = write_lesion_report(
            cases,
            self.output_dir,
            name=self.name,
            title=self.title,
            protocol=self.protocol,
            size_thresholds=self.size_thresholds,
            n_draws=self.n_draws,
            seed=self.seed,
        )
