"""monai_imbalance: inverse lesion-size weighting and region-wise losses for MONAI.

Flat re-exports of the public API, resolved lazily (PEP 562) so that ``import monai_imbalance`` stays cheap
and the command-line entries do not pay for ``import monai`` before they need it. Submodules: ``maps``
(label -> weight / distance maps), ``transforms`` (MONAI transforms around the maps), ``losses``, ``metrics``
(lesion-wise evaluation), ``handlers`` (every ignite handler), ``data`` (built-in synthetic data), ``reporting``
(reports and diagnostics), ``evaluate`` (lesion-wise report of a folder of predictions), ``utils`` (validation,
conversions) and ``apps`` (bundle helpers, the experiment runner, the demo).

Example:
    >>> import monai_imbalance as mi
    >>> mi.inverse_weight_map is mi.maps.inverse_weight_map
    True
    >>> sorted(n for n in mi.__all__ if n.startswith("ComputeInverse"))[:2]
    ['ComputeInverseWeightMap', 'ComputeInverseWeightMapD']
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("maps", "transforms", "losses", "metrics", "handlers", "data", "reporting", "evaluate", "utils", "apps")

_EXPORTS: dict[str, tuple[str, ...]] = {
    "maps": (
        "active_contour_map",
        "boundary_distance_map",
        "component_sizes",
        "distance_transform",
        "inverse_weight_map",
        "label_components",
        "label_distance_transform",
        "rrw_map",
    ),
    "transforms": (
        "BoundaryMapKind",
        "CheckImageLabelShapeD",
        "CheckImageLabelShapeDict",
        "CheckImageLabelShaped",
        "CheckedLoadImage",
        "CheckedLoadImageD",
        "CheckedLoadImageDict",
        "CheckedLoadImaged",
        "ComputeBoundaryMap",
        "ComputeBoundaryMapD",
        "ComputeBoundaryMapDict",
        "ComputeBoundaryMapd",
        "ComputeInverseWeightMap",
        "ComputeInverseWeightMapD",
        "ComputeInverseWeightMapDict",
        "ComputeInverseWeightMapd",
        "ComputeInverseWeightsD",
        "ComputeInverseWeightsDict",
        "ComputeInverseWeightsd",
        "ComputeRRWMap",
        "ComputeRRWMapD",
        "ComputeRRWMapDict",
        "ComputeRRWMapd",
        "SelectLesionLabels",
        "SelectLesionLabelsD",
        "SelectLesionLabelsDict",
        "SelectLesionLabelsd",
    ),
    "losses": (
        "FrequencyWeightMode",
        "FrequencyWeightedBCELoss",
        "InverseWeightedLoss",
        "MapBridgeLoss",
        "PrepareBatchWithMap",
        "RegionWiseLoss",
        "ScheduledCombinedLoss",
        "VoxelWeightedASLoss",
        "VoxelWeightedBCELoss",
        "VoxelWeightedDiceLoss",
        "VoxelWeightedFocalLoss",
    ),
    "metrics": (
        "Assignment",
        "BootstrapResult",
        "CaseRecords",
        "FROCMetric",
        "FROCProtocol",
        "HitRule",
        "LesionDiceMetric",
        "LesionMatching",
        "LesionRecordsMetric",
        "OverSegmentationMetric",
        "PermutationResult",
        "average_recall",
        "bootstrap",
        "case_lesion_records",
        "froc_curve",
        "item_lesion_records",
        "lesion_records",
        "object_dice",
        "over_segmentation",
        "OverSegmentationQuantity",
        "as_matchings",
        "lesion_mask",
        "permutation_test",
        "read_shirokikh2020_records",
        "segmentation_scores",
        "size_groups",
    ),
    "handlers": (
        "CombinedLossAlphaHandler",
        "FROCHandler",
        "GradientSignHandler",
        "LesionDiceHandler",
        "LesionRecordsHandler",
        "LesionReportHandler",
        "MulticlassReportHandler",
        "OverSegmentationHandler",
        "PredLabel",
    ),
    "reporting": (
        "lesion_markdown",
        "lesion_report",
        "load_record_views",
        "load_records",
        "logit_gradient",
        "negative_component_counts",
        "negative_component_map",
        "plot_froc",
        "plot_recall_by_size",
        "save_records",
        "write_lesion_report",
        "write_multiclass_report",
    ),
    "data": ("LesionPreset", "dataset_exists", "make_case", "make_dataset"),
    "evaluate": ("evaluate_folder", "pair_files"),
}

_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["__version__", *_SUBMODULES, *sorted(_WHERE)]


def __getattr__(name: str) -> Any:
    """Import the submodule or the public name on first access (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
