"""Ignite handler writing the lesion-wise report of an evaluator's run (records gathered across DDP ranks)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist

from monai_imbalance.handlers._ignite import Engine, Events
from monai_imbalance.handlers.lesion import LesionRecordsHandler
from monai_imbalance.metrics.cumulative import all_gather_list
from monai_imbalance.metrics.diagnostics import MAX_VOLUME_RATIO, check_max_volume_ratio
from monai_imbalance.metrics.froc import FROCProtocol, check_bootstrap_settings
from monai_imbalance.metrics.lesions import CaseRecords
from monai_imbalance.metrics.matching import default_key_view, option
from monai_imbalance.reporting.lesion import write_lesion_report
from monai_imbalance.utils.validation import check_increasing, check_path

__all__ = ["LesionReportHandler", "gather_to_rank0"]

logger = logging.getLogger(__name__)


def gather_to_rank0(records: list[Any]) -> list[Any] | None:
    """Every rank's records (any picklable items) on rank 0, ``None`` on the other ranks; as given without DDP.

    Example:
        >>> gather_to_rank0([1, 2])  # no process group: the records themselves
        [1, 2]
    """
    gathered = all_gather_list(records)
    if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
        return None
    return gathered


class LesionReportHandler:
    """Write the lesion-wise report of an evaluator's run, from the evaluator's lesion records owner.

    The records come from ``records`` (the :class:`~monai_imbalance.handlers.LesionRecordsHandler` that the
    evaluator's lesion metrics read, so the report and the key metric cannot use different rules and every
    case is matched once) or, when ``None``, from an owner of its own with the views ``paper`` and ``strict``
    (labels' MetaTensor spacing, affine and file name as case id). On ``COMPLETED`` the records of every DDP
    rank are gathered and rank 0 calls :func:`~monai_imbalance.reporting.write_lesion_report` with every view
    (headline figures: ``key_view``). A run without any case warns and writes nothing.

    Args:
        output_dir: folder of the report.
        records: the shared records owner, or ``None`` for its own.
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        size_thresholds: diameter thresholds of the size groups; ``None`` for volume tertiles.
        n_draws: bootstrap draws; ``None`` for the protocol's default.
        seed: bootstrap seed.
        name: file name stem.
        title: heading of the report.
        key_view: the view of the headline figures (default ``strict`` when present).
        source: where the cases come from (e.g. ``"test list of data/dataset.json"``), printed in the report.
        max_volume_ratio: predicted / true lesion volume above which the report warns.
        threshold: own owner only: probability above which a voxel is predicted foreground.
        connectivity: own owner only: orthogonal hops; ``None`` for full connectivity.
        output_transform: own owner only: ``engine.state.output`` to ``(preds, labels)``.

    Raises:
        TypeError / ValueError: on invalid arguments, every setting of the report included (at construction,
            before the run is spent), or as the records owner (per iteration).

    Example:
        >>> import tempfile, torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 8, 8); y[:, 2:4, 2:4] = 1
        >>> handler = LesionReportHandler(tempfile.mkdtemp(), n_draws=5)
        >>> engine = Engine(lambda e, b: [{"pred": y * 0.9, "label": y}])
        >>> handler.attach(engine)
        >>> _ = engine.run([0, 1], max_epochs=1)
        >>> handler.report["n_cases"], handler.report["average_recall"], handler.report["key_view"]
        (2, 1.0, 'strict')
    """

    def __init__(
        self,
        output_dir: str | Path,
        records: LesionRecordsHandler | None = None,
        protocol: str = "luna16",
        size_thresholds: Sequence[float] | None = None,
        n_draws: int | None = None,
        seed: int | None = 0,
        name: str = "lesion_report",
        title: str | None = None,
        key_view: str | None = None,
        source: str | None = None,
        max_volume_ratio: float = MAX_VOLUME_RATIO,
        threshold: float | None = None,
        connectivity: int | None = None,
        output_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        # every setting the report reads when the run completes is checked here, before the evaluation is spent
        output = check_path(output_dir, "output_dir")
        option(protocol, FROCProtocol, "protocol")
        n_draws, _, seed = check_bootstrap_settings(n_draws, seed=seed)
        if size_thresholds is not None:
            check_increasing(size_thresholds, "size_thresholds")
        max_volume_ratio = check_max_volume_ratio(max_volume_ratio)
        if records is None:
            records = LesionRecordsHandler(
                threshold=0.5 if threshold is None else threshold,
                connectivity=connectivity,
                output_transform=output_transform,
            )
        elif not isinstance(records, LesionRecordsHandler):
            raise TypeError(f"`records` must be a LesionRecordsHandler or None, got {type(records).__name__}.")
        elif threshold is not None or connectivity is not None or output_transform is not None:
            raise ValueError("`threshold`, `connectivity` and `output_transform` belong to the shared `records`.")
        if key_view is not None and key_view not in records.matchings:
            raise ValueError(f"`key_view` {key_view!r} is not one of the views {sorted(records.matchings)}.")
        self.output_dir = output
        self.records_handler = records
        self.protocol = protocol
        self.size_thresholds = size_thresholds
        self.n_draws = n_draws
        self.seed = seed
        self.name = name
        self.title = title
        self.key_view = key_view
        self.source = source
        self.max_volume_ratio = max_volume_ratio
        self.report: dict[str, Any] | None = None

    def attach(self, engine: Engine) -> None:
        """Attach the records owner (once) and write the report on ``COMPLETED``."""
        self.records_handler.attach(engine)
        engine.add_event_handler(Events.STARTED, self.reset)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def reset(self, engine: Engine | None = None) -> None:
        """Forget the last report."""
        self.report = None

    @property
    def records(self) -> list[CaseRecords]:
        """This rank's cases so far under the key view (:meth:`write` gathers every rank's)."""
        view = self.key_view or default_key_view(self.records_handler.matchings)
        return self.records_handler.metric.local_records(view)

    def write(self, engine: Engine | None = None) -> None:
        """Gather the records (collective under DDP) and write the report on rank 0; ``self.report`` holds it."""
        views = self.records_handler.records()
        if dist.is_available() and dist.is_initialized() and dist.get_rank() != 0:
            return
        if not next(iter(views.values())):
            warnings.warn("LesionReportHandler: no case was evaluated, no report written.", stacklevel=2)
            return
        self.report = write_lesion_report(
            views,
            self.output_dir,
            name=self.name,
            title=self.title,
            protocol=self.protocol,
            size_thresholds=self.size_thresholds,
            n_draws=self.n_draws,
            seed=self.seed,
            key_view=self.key_view,
            source=self.source,
            max_volume_ratio=self.max_volume_ratio,
        )
        logger.info(
            f"lesion report of {self.report['n_cases']} cases written to {self.output_dir / self.name}.md "
            f"(.json, _froc.png, _recall_by_size.png, _records.json); headline view {self.report['key_view']!r}: "
            f"{self.report['matching']}"
        )
