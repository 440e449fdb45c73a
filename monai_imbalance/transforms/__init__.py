"""MONAI transforms computing weight maps from labels: array transforms and their dictionary twins.

The dictionary twins write the map to ``<key><postfix>`` (``label_weight``, ``label_rrw``, ``label_boundary``)
and leave the label untouched.
"""

from __future__ import annotations

from monai_imbalance.transforms.array import (
    BoundaryMapKind,
    ComputeBoundaryMap,
    ComputeInverseWeightMap,
    ComputeRRWMap,
    resolve_spacing,
)
from monai_imbalance.transforms.dictionary import (
    ComputeBoundaryMapD,
    ComputeBoundaryMapd,
    ComputeBoundaryMapDict,
    ComputeInverseWeightMapD,
    ComputeInverseWeightMapd,
    ComputeInverseWeightMapDict,
    ComputeInverseWeightsD,
    ComputeInverseWeightsd,
    ComputeInverseWeightsDict,
    ComputeRRWMapD,
    ComputeRRWMapd,
    ComputeRRWMapDict,
)

__all__ = [
    "BoundaryMapKind",
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
    "resolve_spacing",
]
