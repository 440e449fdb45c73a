"""Built-in synthetic multi-lesion data (Decathlon layout) and readers for real datasets."""

from monai_imbalance.data.ct_like import CT_PRESETS, CTLikeCase, CTLikePreset, make_ct_like_case
from monai_imbalance.data.decathlon import DATASET_JSON, dataset_exists, make_dataset, seed_of_test_case
from monai_imbalance.data.synthetic import PRESET_NAMES, PRESETS, LesionPreset, make_case

__all__ = [
    "CT_PRESETS",
    "DATASET_JSON",
    "PRESETS",
    "PRESET_NAMES",
    "CTLikeCase",
    "CTLikePreset",
    "LesionPreset",
    "dataset_exists",
    "make_case",
    "make_ct_like_case",
    "make_dataset",
    "seed_of_test_case",
]
