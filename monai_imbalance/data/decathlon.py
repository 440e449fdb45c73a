"""Write synthetic cases in the Medical Segmentation Decathlon layout (``imagesTr/``, ``labelsTr/``, ``dataset.json``).

The bundles read a Decathlon-format folder, so the same config trains on the built-in data or on a real
Decathlon dataset by changing ``dataset_dir``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.data.synthetic import PRESETS, make_case

__all__ = ["DATASET_JSON", "dataset_exists", "make_dataset"]

DATASET_JSON = "dataset.json"

_LABELS = {
    "binary": {"0": "background", "1": "lesion"},
    "multiclass": {"0": "background", "1": "organ", "2": "tumour", "3": "structure"},
}


def dataset_exists(dataset_dir: str | Path) -> bool:
    """Return whether ``dataset_dir`` holds a ``dataset.json`` with at least one training case.

    Example:
        >>> dataset_exists("/nonexistent")
        False
    """
    path = Path(dataset_dir) / DATASET_JSON
    if not path.is_file():
        return False
    try:
        return len(json.loads(path.read_text()).get("training", [])) > 0
    except (json.JSONDecodeError, AttributeError):
        return False


def _save(path: Path, array: np.ndarray, spacing: tuple[float, ...]) -> None:
    import nibabel as nib

    nib.save(nib.Nifti1Image(array, np.diag([*spacing, 1.0])), str(path))


def make_dataset(
    output_dir: str | Path,
    preset: str = "metastases",
    num_training: int = 16,
    num_validation: int = 4,
    shape: tuple[int, int, int] = (64, 64, 48),
    seed: int = 0,
    progress: bool = True,
) -> Path:
    """Generate a synthetic dataset in the Decathlon layout and return the path of its ``dataset.json``.

    Case ``i`` is ``make_case(shape, preset, seed=seed * 100_003 + i)``: the same arguments always give the
    same files. ``dataset.json`` lists ``training`` and ``validation`` (held out, with labels) cases as
    ``{"image": "./imagesTr/...", "label": "./labelsTr/..."}``, readable by
    ``monai.data.load_decathlon_datalist``.

    Args:
        output_dir: dataset folder (created if needed).
        preset: a key of :data:`monai_imbalance.data.synthetic.PRESETS`.
        num_training: number of training cases.
        num_validation: number of held-out cases with labels.
        shape: spatial shape of every case.
        seed: dataset seed.
        progress: show a progress bar.

    Returns:
        Path of the written ``dataset.json``.

    Raises:
        KeyError: for an unknown preset.
        ValueError: for a negative number of cases or no case at all.

    Example:
        >>> import tempfile, json
        >>> path = make_dataset(tempfile.mkdtemp(), num_training=2, num_validation=1, shape=(16, 16, 8),
        ...                     progress=False)
        >>> info = json.loads(path.read_text())
        >>> info["numTraining"], len(info["validation"]), info["training"][0]["image"]
        (2, 1, './imagesTr/metastases_000.nii.gz')
    """
    if preset not in PRESETS:
        raise KeyError(f"`preset` must be one of {sorted(PRESETS)}, got {preset!r}.")
    if num_training < 0 or num_validation < 0 or num_training + num_validation == 0:
        raise ValueError(
            f"`num_training` and `num_validation` must be >= 0 with at least one case, "
            f"got {num_training} and {num_validation}."
        )
    root = Path(output_dir)
    (root / "imagesTr").mkdir(parents=True, exist_ok=True)
    (root / "labelsTr").mkdir(parents=True, exist_ok=True)
    total = num_training + num_validation
    entries: list[dict[str, str]] = []
    cases: Any = range(total)
    if progress:
        from tqdm import tqdm

        cases = tqdm(cases, desc=f"synthetic {preset} cases", unit="case")
    for i in cases:
        image, label, spacing = make_case(shape, preset, seed=seed * 100_003 + i)
        name = f"{preset}_{i:03d}.nii.gz"
        _save(root / "imagesTr" / name, image, spacing)
        _save(root / "labelsTr" / name, label, spacing)
        entries.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    kind = "multiclass" if PRESETS[preset].organ_classes else "binary"
    info = {
        "name": f"monai_imbalance synthetic {preset}",
        "description": PRESETS[preset].notes or f"synthetic {preset} cases",
        "reference": "monai_imbalance.data.make_dataset",
        "licence": "Apache-2.0 (generated)",
        "tensorImageSize": "3D",
        "modality": {"0": "CT"},
        "labels": _LABELS[kind],
        "preset": preset,
        "seed": seed,
        "shape": list(shape),
        "numTraining": num_training,
        "numValidation": num_validation,
        "numTest": 0,
        "training": entries[:num_training],
        "validation": entries[num_training:],
        "test": [],
    }
    path = root / DATASET_JSON
    path.write_text(json.dumps(info, indent=2))
    return path
