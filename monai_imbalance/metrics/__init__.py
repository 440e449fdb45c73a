"""Lesion-wise evaluation: extraction, matching rules, FROC, average recall, object Dice, diagnostics, statistics."""

from __future__ import annotations

from monai_imbalance.metrics.cumulative import (
    FROCMetric,
    LesionDiceMetric,
    LesionRecordsMetric,
    OverSegmentationMetric,
    all_gather_list,
)
from monai_imbalance.metrics.diagnostics import MAX_VOLUME_RATIO, OverSegmentationQuantity, over_segmentation
from monai_imbalance.metrics.froc import (
    LUNA16_FP_RATES,
    BootstrapResult,
    FROCProtocol,
    average_recall,
    bootstrap,
    froc_curve,
    object_dice,
)
from monai_imbalance.metrics.groups import (
    SIZE_THRESHOLDS_MM,
    SIZE_THRESHOLDS_SHIROKIKH2020_VOXELS,
    read_shirokikh2020_records,
    size_groups,
)
from monai_imbalance.metrics.lesions import (
    CaseRecords,
    case_lesion_records,
    equivalent_diameter,
    item_lesion_records,
    lesion_mask,
    lesion_records,
)
from monai_imbalance.metrics.matching import Assignment, HitRule, LesionMatching, as_matchings
from monai_imbalance.metrics.stats import PermutationResult, permutation_test, segmentation_scores

__all__ = [
    "LUNA16_FP_RATES",
    "MAX_VOLUME_RATIO",
    "SIZE_THRESHOLDS_MM",
    "SIZE_THRESHOLDS_SHIROKIKH2020_VOXELS",
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
    "OverSegmentationQuantity",
    "PermutationResult",
    "all_gather_list",
    "as_matchings",
    "average_recall",
    "bootstrap",
    "case_lesion_records",
    "equivalent_diameter",
    "froc_curve",
    "item_lesion_records",
    "lesion_mask",
    "lesion_records",
    "object_dice",
    "over_segmentation",
    "permutation_test",
    "read_shirokikh2020_records",
    "segmentation_scores",
    "size_groups",
]
