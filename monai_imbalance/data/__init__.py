"""Built-in synthetic multi-lesion data (Decathlon layout) and readers for real datasets."""

from monai_imbalance.data.decathlon import DATASET_JSON, dataset_exists, make_dataset
from monai_imbalance.data.synthetic import PRESETS, LesionPreset, make_case

__all__ = ["DATASET_JSON", "PRESETS", "LesionPreset", "dataset_exists", "make_case", "make_dataset"]
