"""Losses of Shirokikh et al. (MICCAI 2020) and Valverde & Tohka (2023), MONAI-native, and the map bridge.

Voxel-weighted losses take ``forward(input, target, weight=None)``; :class:`RegionWiseLoss` takes
``forward(input, target, rw_map=None)``; :class:`InverseWeightedLoss` computes the weights from the target;
:class:`PrepareBatchWithMap` + :class:`MapBridgeLoss` bring a transform's map to the loss inside MONAI engines.

One name per piece of the map plumbing: ``weight`` is a non-negative voxel weight (torch's name in
``binary_cross_entropy_with_logits``), ``rw_map`` the signed region-wise map :math:`Z` of Valverde & Tohka (not a
weight: negative inside the classes); ``map_key`` / ``map_keys`` the batch key(s) a transform wrote the map to;
``map_arg`` the keyword of the loss that receives it (``weight`` or ``rw_map``, also in
:func:`~monai_imbalance.reporting.logit_gradient`). MONAI's names elsewhere: ``squared_pred``,
``allow_missing_keys`` (the old ``squared``, ``allow_missing`` and ``loss_arg`` still work, with a
``DeprecationWarning``).
"""

from __future__ import annotations

from monai_imbalance.losses.bridge import MapBridgeLoss, PrepareBatchWithMap
from monai_imbalance.losses.combined import ScheduledCombinedLoss
from monai_imbalance.losses.frequency import FrequencyWeightedBCELoss, FrequencyWeightMode
from monai_imbalance.losses.inverse import InverseWeightedLoss
from monai_imbalance.losses.region_wise import RegionWiseLoss, two_class_probabilities
from monai_imbalance.losses.weighted import (
    VoxelWeightedASLoss,
    VoxelWeightedBCELoss,
    VoxelWeightedDiceLoss,
    VoxelWeightedFocalLoss,
)

__all__ = [
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
    "two_class_probabilities",
]
