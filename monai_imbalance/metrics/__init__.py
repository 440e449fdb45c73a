"""Lesion-wise evaluation: extraction and matching, FROC, average recall, object Dice, size groups, bootstrap."""

from __future__ import annotations

from monai_imbalance.metrics.cumulative import FROCMetric, LesionDiceMetric, pack_records, unpack_records
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
    HitRule,
    equivalent_diameter,
    item_lesion_records,
    lesion_records,
)
from monai_imbalance.metrics.stats import PermutationResult, permutation_test, segmentation_scores

__all__ = [
    "LUNA16_FP_RATES",
    "SIZE_THRESHOLDS_MM",
    "SIZE_THRESHOLDS_SHIROKIKH2020_VOXELS",
    "BootstrapResult",
    "CaseRecords",
    "FROCMetric",
    "FROCProtocol",
    "HitRule",
    "LesionDiceMetric",
    "PermutationResult",
    "average_recall",
    "bootstrap",
    "equivalent_diameter",
    "froc_curve",
    "item_lesion_records",
    "lesion_records",
    "object_dice",
    "pack_records",
    "permutation_test",
    "read_shirokikh2020_records",
    "segmentation_scores",
    "size_groups",
    "unpack_records",
]
