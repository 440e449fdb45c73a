"""MONAI transforms: weight maps from labels (``array``, ``dictionary``) and the bundles' loading checks (``io``).

The dictionary twins of the map transforms write the map to ``<key><postfix>`` (``label_weight``,
``label_rrw``, ``label_boundary``) and leave the label untouched; ``io`` holds a loader that names unreadable
files, the image / label shape check, the finite-intensity check and the lesion-label selection.
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
from monai_imbalance.transforms.io import (
    CheckedLoadImage,
    CheckedLoadImageD,
    CheckedLoadImaged,
    CheckedLoadImageDict,
    CheckFinite,
    CheckFiniteD,
    CheckFinited,
    CheckFiniteDict,
    CheckImageLabelShapeD,
    CheckImageLabelShaped,
    CheckImageLabelShapeDict,
    SelectLesionLabels,
    SelectLesionLabelsD,
    SelectLesionLabelsd,
    SelectLesionLabelsDict,
)

__all__ = [
    "BoundaryMapKind",
    "CheckFinite",
    "CheckFiniteD",
    "CheckFiniteDict",
    "CheckFinited",
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
    "resolve_spacing",
]
