"""Ignite handlers for lesion-wise validation: one records owner per evaluator, and metrics that are views of it.

:class:`LesionRecordsHandler` owns the per-case records of an evaluator's run: attached to the evaluator it
resets at every epoch start, and at every iteration extracts and matches each case of the output once, under
every matching view (``paper`` and ``strict`` by default). :class:`FROCHandler` (average recall, usable as the
key metric), :class:`LesionDiceHandler` (object Dice) and :class:`OverSegmentationHandler` (predicted / true
lesion volume, merged lesions) are ignite metrics computed from one view of it (their own owner when none is
given), and :class:`~monai_imbalance.reporting.LesionReportHandler` writes the report from the same owner, so
the key metric and the report can never use different rules, and every case is matched once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monai.utils import IgniteInfo, min_version, optional_import

from monai_imbalance.metrics.cumulative import (
    FROCMetric,
    LesionDiceMetric,
    LesionRecordsMetric,
    OverSegmentationMetric,
    RecordsView,
    refuse_view_settings,
)
from monai_imbalance.metrics.diagnostics import MAX_VOLUME_RATIO, check_max_volume_ratio, over_segmentation
from monai_imbalance.metrics.lesions import CaseRecords

Events, _ = optional_import("ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Events")
Metric, _ = optional_import("ignite.metrics", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Metric", as_type="base")
if TYPE_CHECKING:
    from ignite.engine import Engine
else:
    Engine, _ = optional_import(
        "ignite.engine", IgniteInfo.OPT_IMPORT_VERSION, min_version, "Engine", as_type="decorator"
    )

__all__ = ["FROCHandler", "LesionDiceHandler", "LesionRecordsHandler", "OverSegmentationHandler", "PredLabel"]

logger = logging.getLogger(__name__)


class PredLabel:
    """``output_transform`` giving ``(preds, labels)`` from an evaluator's output (a picklable ``from_engine``).

    The output is a list of per-case dictionaries (MONAI's decollated output) or one dictionary of batches.

    Args:
        pred_key: key of the prediction.
        label_key: key of the label.

    Example:
        >>> PredLabel()([{"pred": 1, "label": 2}, {"pred": 3, "label": 4}])
        ([1, 3], [2, 4])
    """

    def __init__(self, pred_key: str = "pred", label_key: str = "label") -> None:
        for name, key in (("pred_key", pred_key), ("label_key", label_key)):
            if not isinstance(key, str):
                raise TypeError(f"`{name}` must be a string (a key of the evaluator output), got {key!r}.")
        self.pred_key = pred_key
        self.label_key = label_key

    def _pair(self, output: Mapping, where: str) -> tuple[Any, Any]:
        missing = [k for k in (self.pred_key, self.label_key) if k not in output]
        if missing:
            raise KeyError(
                f"the evaluator output{where} has no {missing[0]!r} (keys: {sorted(map(str, output))}); set "
                "`PredLabel(pred_key=..., label_key=...)` or the handler's `output_transform`."
            )
        return output[self.pred_key], output[self.label_key]

    def __call__(self, output: Any) -> tuple[Any, Any]:
        """Split the output into predictions and labels.

        Raises:
            KeyError: when a dictionary lacks the prediction or label key (the keys it has are named).
            TypeError: when the output is neither dictionaries nor a pair.
        """
        if isinstance(output, Mapping):
            return self._pair(output, "")
        if isinstance(output, Sequence) and all(isinstance(o, Mapping) for o in output):
            pairs = [self._pair(o, f" item {i}") for i, o in enumerate(output)]
            return [p for p, _ in pairs], [y for _, y in pairs]
        if isinstance(output, Sequence) and len(output) == 2:
            return output[0], output[1]
        raise TypeError(
            f"the evaluator output must be per-case dictionaries with {self.pred_key!r} and {self.label_key!r}, or "
            f"a (y_pred, y) pair, got {type(output).__name__}."
        )


class LesionRecordsHandler:
    """The owner of an evaluator's per-case lesion records, under every matching view (see the module docstring).

    ``attach`` registers it once per engine (attaching it again, or through a view, does nothing): on
    ``EPOCH_STARTED`` the records are cleared, on ``ITERATION_COMPLETED`` every case of
    ``output_transform(engine.state.output)`` is added to :attr:`metric` (a
    :class:`~monai_imbalance.metrics.LesionRecordsMetric`, with each label's MetaTensor spacing, affine and
    file name). Under DDP, :meth:`records` gathers every rank's cases once per epoch.

    Args:
        matchings: ``{view name: LesionMatching | "paper" | "strict" | dict}``; default ``paper`` and ``strict``.
        threshold: probability above which a voxel is predicted foreground.
        connectivity: orthogonal hops; ``None`` for full connectivity.
        spacing: voxel spacing of every case (else each label's).
        sigmoid: the predictions are logits.
        lesion_labels: label values that are lesion; ``None``: labels must be 0/1.
        output_transform: ``engine.state.output`` to ``(preds, labels)``; default :class:`PredLabel`.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 8, 8); y[:, 2:4, 2:4] = 1
        >>> records = LesionRecordsHandler()
        >>> engine = Engine(lambda e, b: [{"pred": y * 0.9, "label": y}])
        >>> FROCHandler(records=records).attach(engine, "recall")
        >>> engine.run([0, 1], max_epochs=1).metrics["recall"], len(records.records("paper"))
        (1.0, 2)
    """

    def __init__(
        self,
        matchings: Mapping[str, Any] | None = None,
        threshold: float = 0.5,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool = False,
        lesion_labels: Sequence[int] | None = None,
        output_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.metric = LesionRecordsMetric(matchings, threshold, connectivity, spacing, sigmoid, lesion_labels)
        if output_transform is not None and not callable(output_transform):
            raise TypeError(f"`output_transform` must be None or callable, got {type(output_transform).__name__}.")
        self.output_transform = PredLabel() if output_transform is None else output_transform

    @property
    def matchings(self) -> dict[str, Any]:
        """The views: ``{name: LesionMatching}``."""
        return self.metric.matchings

    def attach(self, engine: Engine) -> None:
        """Register on ``EPOCH_STARTED`` (reset) and ``ITERATION_COMPLETED`` (records), once per engine."""
        if not engine.has_event_handler(self.iteration_completed, Events.ITERATION_COMPLETED):
            engine.add_event_handler(Events.EPOCH_STARTED, self.reset)
            engine.add_event_handler(Events.ITERATION_COMPLETED, self.iteration_completed)

    def reset(self, engine: Engine | None = None) -> None:
        """Forget the records."""
        self.metric.reset()

    def iteration_completed(self, engine: Engine) -> None:
        """Add the records of every case of the current iteration."""
        preds, labels = self.output_transform(engine.state.output)
        self.metric(preds, labels)

    def records(self, view: str | None = None) -> Any:
        """Every case of every rank (``{view: [CaseRecords]}`` or one view's list); collective under DDP."""
        return self.metric.records(view)


def _records_of(records: Any) -> LesionRecordsMetric | None:
    if records is None or isinstance(records, LesionRecordsMetric):
        return records
    if isinstance(records, LesionRecordsHandler):
        return records.metric
    raise TypeError(f"`records` must be a LesionRecordsHandler (or None), got {type(records).__name__}.")


class _ViewHandler(Metric):  # type: ignore[valid-type, misc]
    """An ignite metric computed from one view of a records owner; the owner does the per-iteration work."""

    def __init__(self, view: RecordsView, owner: LesionRecordsHandler) -> None:
        self.view = view
        self.owner = owner
        super().__init__(output_transform=owner.output_transform)

    @property
    def matching(self) -> Any:
        """The matching rule of this metric."""
        return self.view.matching

    def attach(self, engine: Engine, name: str, usage: Any = None) -> None:
        """Attach the owner (once) and this metric (epoch-wise) to ``engine``."""
        self.owner.attach(engine)
        if usage is None:
            super().attach(engine, name)
        else:
            super().attach(engine, name, usage)

    def reset(self) -> None:
        """Nothing to do: the owner resets the records at every epoch start."""

    def update(self, output: Any) -> None:
        """Nothing to do: the owner adds the cases."""

    def iteration_completed(self, engine: Engine) -> None:
        """Nothing to do: the owner matches every case once for all its views."""

    def compute(self) -> float:
        """The number over every case of the epoch (all ranks)."""
        return float(self.view.aggregate())


def _owner(
    records: Any,
    matching: Any,
    output_transform: Any,
    threshold: Any,
    connectivity: Any,
    spacing: Any,
    sigmoid: Any,
    lesion_labels: Any,
) -> tuple[LesionRecordsHandler, Any]:
    """The records owner of a view handler: the shared one (refusing own settings), or its own with them."""
    shared = _records_of(records)
    if shared is not None:
        if output_transform is not None:
            raise ValueError("`output_transform` belongs to the shared `records`: set it there, not on its views.")
        refuse_view_settings(
            threshold=threshold,
            connectivity=connectivity,
            spacing=spacing,
            sigmoid=sigmoid,
            lesion_labels=lesion_labels,
        )
        return records, shared
    own = LesionRecordsHandler(
        {"view": matching},
        threshold=0.5 if threshold is None else threshold,
        connectivity=connectivity,
        spacing=spacing,
        sigmoid=bool(sigmoid),
        lesion_labels=lesion_labels,
        output_transform=output_transform,
    )
    return own, own.metric


class FROCHandler(_ViewHandler):
    """Average recall over the FROC curve of every validation case, as an ignite metric (usable as key metric).

    With ``records`` (a :class:`LesionRecordsHandler`) it is computed from that owner's view ``matching``;
    without, it makes its own owner with the given settings. The default matching is the strict one-to-one
    rule at IoU ≥ 0.1, which a model predicting one blob per volume cannot pass; ``matching="paper"`` is paper
    1's any-overlap rule.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        fp_rates: FP-per-image points; default 1/8 ... 8.
        matching: the view: a name of the shared owner's views, or ``"strict"``, ``"paper"``, a
            :class:`~monai_imbalance.metrics.LesionMatching` or a dict.
        records: the shared :class:`LesionRecordsHandler`, or ``None``.
        output_transform: own owner only: ``engine.state.output`` to ``(preds, labels)``.
        threshold: own owner only: probability above which a voxel is predicted foreground (default 0.5).
        connectivity: own owner only: orthogonal hops.
        spacing: own owner only: voxel spacing of every case.
        sigmoid: own owner only: the predictions are logits.
        lesion_labels: own owner only: label values that are lesion.

    Raises:
        TypeError / ValueError: on an invalid argument, or an own-owner setting given with ``records``.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> engine = Engine(lambda e, b: (b * 0.9, b))
        >>> FROCHandler().attach(engine, "avg_recall")
        >>> engine.run([y], max_epochs=1).metrics["avg_recall"]
        1.0
    """

    def __init__(
        self,
        protocol: str = "luna16",
        fp_rates: Any = None,
        matching: Any = "strict",
        records: LesionRecordsHandler | None = None,
        output_transform: Callable[[Any], Any] | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        owner, metric = _owner(
            records, matching, output_transform, threshold, connectivity, spacing, sigmoid, lesion_labels
        )
        view = FROCMetric(protocol, fp_rates, matching if records is not None else "view", records=metric)
        super().__init__(view, owner)


class LesionDiceHandler(_ViewHandler):
    """Object Dice (mean Dice of the detected lesions with their match) of every validation case.

    Args:
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        matching: the view, as :class:`FROCHandler` (default ``"strict"``).
        records: the shared :class:`LesionRecordsHandler`, or ``None``.
        output_transform: own owner only.
        threshold: own owner only.
        connectivity: own owner only.
        spacing: own owner only.
        sigmoid: own owner only.
        lesion_labels: own owner only.

    Raises:
        TypeError / ValueError: as :class:`FROCHandler`.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> engine = Engine(lambda e, b: (b * 0.9, b))
        >>> LesionDiceHandler().attach(engine, "object_dice")
        >>> engine.run([y], max_epochs=1).metrics["object_dice"]
        1.0
    """

    def __init__(
        self,
        protocol: str = "luna16",
        matching: Any = "strict",
        records: LesionRecordsHandler | None = None,
        output_transform: Callable[[Any], Any] | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        owner, metric = _owner(
            records, matching, output_transform, threshold, connectivity, spacing, sigmoid, lesion_labels
        )
        view = LesionDiceMetric(protocol, matching if records is not None else "view", records=metric)
        super().__init__(view, owner)


class OverSegmentationHandler(_ViewHandler):
    """An over-segmentation diagnostic of every validation case, logged with a warning when it looks wrong.

    The quantity is ``"volume_ratio"`` (predicted / true lesion volume), ``"merging_predictions"`` or
    ``"merged_lesions"`` (:func:`~monai_imbalance.metrics.over_segmentation`). After each computation of the
    volume ratio a ``WARNING`` is logged (logger ``monai_imbalance.handlers.lesion``) when the volume ratio exceeds
    ``max_volume_ratio`` or a predicted component merges lesions.

    Args:
        quantity: the logged number.
        records: the shared :class:`LesionRecordsHandler`, or ``None``.
        max_volume_ratio: the ratio above which to warn.
        output_transform: own owner only.
        threshold: own owner only.
        connectivity: own owner only.
        spacing: own owner only.
        sigmoid: own owner only.
        lesion_labels: own owner only.

    Raises:
        TypeError / ValueError: on an unknown ``quantity``, or as :class:`FROCHandler`.

    Example:
        >>> import torch
        >>> from ignite.engine import Engine
        >>> y = torch.zeros(1, 1, 8, 8); y[:, :, 2:4, 2:4] = 1
        >>> engine = Engine(lambda e, b: (b * 0 + 0.9, b))  # everything predicted: 16x the lesion volume
        >>> OverSegmentationHandler().attach(engine, "volume_ratio")
        >>> engine.run([y], max_epochs=1).metrics["volume_ratio"]
        16.0
    """

    def __init__(
        self,
        quantity: str = "volume_ratio",
        records: LesionRecordsHandler | None = None,
        max_volume_ratio: float = MAX_VOLUME_RATIO,
        output_transform: Callable[[Any], Any] | None = None,
        threshold: float | None = None,
        connectivity: int | None = None,
        spacing: Any = None,
        sigmoid: bool | None = None,
        lesion_labels: Sequence[int] | None = None,
    ) -> None:
        owner, metric = _owner(
            records, "strict", output_transform, threshold, connectivity, spacing, sigmoid, lesion_labels
        )
        view = OverSegmentationMetric(quantity, records=metric)
        super().__init__(view, owner)
        self.quantity = view.quantity
        self.max_volume_ratio = check_max_volume_ratio(max_volume_ratio)

    def compute(self) -> float:
        """The quantity, with a logged warning on over-segmentation."""
        cases: list[CaseRecords] = self.view.cases()
        if cases and self.quantity == "volume_ratio":  # one warning line per validation
            warning = over_segmentation(cases, self.max_volume_ratio)["warning"]
            if warning:
                logger.warning(f"validation: {warning}")
        return float(self.view.aggregate())
