"""Built-in synthetic multi-lesion data (Decathlon layout) and readers for real datasets.

Two designs, chosen by the preset name (:data:`PRESET_NAMES`) of :func:`make_case` and :func:`make_dataset`:
the lesion presets of :mod:`~monai_imbalance.data.synthetic` and the CT-like presets of
:mod:`~monai_imbalance.data.ct_like` (``"ct_metastases"``; its ground-truth masks come from
:func:`monai_imbalance.data.ct_like.make_ct_like_case`).
"""

from monai_imbalance.data.ct_like import CT_PRESETS
from monai_imbalance.data.decathlon import DATASET_JSON, dataset_exists, make_dataset
from monai_imbalance.data.synthetic import PRESET_NAMES, PRESETS, LesionPreset, make_case

__all__ = [
    "CT_PRESETS",
    "DATASET_JSON",
    "PRESETS",
    "PRESET_NAMES",
    "LesionPreset",
    "dataset_exists",
    "make_case",
    "make_dataset",
]
