"""Write synthetic cases in the Medical Segmentation Decathlon layout (``imagesTr/``, ``labelsTr/``, ``dataset.json``).

The bundles read a Decathlon-format folder, so the same config trains on the built-in data or on a real
Decathlon dataset by changing ``dataset_dir``. Three disjoint lists: ``training``, ``validation`` (chooses
the model) and ``test`` (reported; in ``imagesTs/`` and ``labelsTs/``, with labels, unlike the official
Decathlon ``test`` list of image paths only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.data.ct_like import CT_PRESETS
from monai_imbalance.data.synthetic import PRESET_NAMES, PRESETS, make_case

__all__ = ["DATASET_JSON", "TEST_SEED_STREAM", "dataset_exists", "make_dataset", "seed_of_test_case"]

DATASET_JSON = "dataset.json"

#: Second word of every test case's seed ``[seed, TEST_SEED_STREAM, j]``: a stream apart from the training and
#: validation seeds ``seed * 100_003 + i``, so the test cases do not depend on how many of those there are.
TEST_SEED_STREAM = 1

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


def seed_of_test_case(seed: int, j: int) -> list[int]:
    """Seed of test case ``j`` of a dataset made with ``seed``: ``[seed, TEST_SEED_STREAM, j]``.

    Training and validation case ``i`` use the int ``seed * 100_003 + i``; a sequence of three words seeds
    another :class:`numpy.random.SeedSequence`, so no test case repeats a training or validation case, and
    adding training or validation cases leaves the test cases unchanged.

    Example:
        >>> seed_of_test_case(0, 2)
        [0, 1, 2]
    """
    return [int(seed), TEST_SEED_STREAM, int(j)]


def _notes(preset: str) -> str:
    return (PRESETS[preset].notes if preset in PRESETS else CT_PRESETS[preset].notes) or f"synthetic {preset} cases"


def make_dataset(
    output_dir: str | Path,
    preset: str = "metastases",
    num_training: int = 16,
    num_validation: int = 4,
    shape: tuple[int, int, int] = (64, 64, 48),
    seed: int = 0,
    progress: bool = True,
    num_test: int = 4,
) -> Path:
    """Generate a synthetic dataset in the Decathlon layout and return the path of its ``dataset.json``.

    Training / validation case ``i`` is ``make_case(shape, preset, seed=seed * 100_003 + i)`` (``imagesTr/``,
    ``labelsTr/``); test case ``j`` is ``make_case(shape, preset, seed=seed_of_test_case(seed, j))``
    (``imagesTs/``, ``labelsTs/``), from a seed stream of its own: the training and validation cases do not
    depend on ``num_test``, nor the test cases on ``num_training`` or ``num_validation``, and the same
    arguments always give the same files. ``dataset.json`` lists ``training``, ``validation`` (held out, with
    labels: for choosing the model) and ``test`` (with labels: for the report) cases as
    ``{"image": "./imagesTr/...", "label": "./labelsTr/..."}``, readable by
    ``monai.data.load_decathlon_datalist``.

    Args:
        output_dir: dataset folder (created if needed).
        preset: a name of :data:`monai_imbalance.data.synthetic.PRESET_NAMES` (e.g. ``"metastases"`` or the
            CT-like ``"ct_metastases"``).
        num_training: number of training cases.
        num_validation: number of held-out cases with labels (model selection).
        shape: spatial shape of every case.
        seed: dataset seed.
        progress: show a progress bar.
        num_test: number of test cases with labels (the report).

    Returns:
        Path of the written ``dataset.json``.

    Raises:
        KeyError: for an unknown preset.
        ValueError: for a negative number of cases, or no training or validation case.

    Example:
        >>> import tempfile, json
        >>> path = make_dataset(tempfile.mkdtemp(), num_training=2, num_validation=1, shape=(16, 16, 8),
        ...                     progress=False, num_test=1)
        >>> info = json.loads(path.read_text())
        >>> info["numTraining"], len(info["validation"]), info["training"][0]["image"]
        (2, 1, './imagesTr/metastases_000.nii.gz')
        >>> info["numTest"], info["test"][0]["label"]
        (1, './labelsTs/metastases_test_000.nii.gz')
    """
    if preset not in PRESET_NAMES:
        raise KeyError(f"`preset` must be one of {list(PRESET_NAMES)}, got {preset!r}.")
    if num_training < 0 or num_validation < 0 or num_training + num_validation == 0:
        raise ValueError(
            f"`num_training` and `num_validation` must be >= 0 with at least one case, "
            f"got {num_training} and {num_validation}."
        )
    if num_test < 0:
        raise ValueError(f"`num_test` must be >= 0, got {num_test}.")
    root = Path(output_dir)
    folders = ["imagesTr", "labelsTr"] + (["imagesTs", "labelsTs"] if num_test else [])
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    # (split, file stem, seed): training and validation first, exactly as before test cases existed
    jobs: list[tuple[str, str, int | list[int]]] = [
        ("Tr", f"{preset}_{i:03d}", seed * 100_003 + i) for i in range(num_training + num_validation)
    ]
    jobs += [("Ts", f"{preset}_test_{j:03d}", seed_of_test_case(seed, j)) for j in range(num_test)]
    entries: list[dict[str, str]] = []
    cases: Any = jobs
    if progress:
        from tqdm import tqdm

        cases = tqdm(jobs, desc=f"synthetic {preset} cases", unit="case")
    for split, stem, case_seed in cases:
        image, label, spacing = make_case(shape, preset, seed=case_seed)
        name = f"{stem}.nii.gz"
        _save(root / f"images{split}" / name, image, spacing)
        _save(root / f"labels{split}" / name, label, spacing)
        entries.append({"image": f"./images{split}/{name}", "label": f"./labels{split}/{name}"})
    kind = "multiclass" if preset in PRESETS and PRESETS[preset].organ_classes else "binary"
    info = {
        "name": f"monai_imbalance synthetic {preset}",
        "description": _notes(preset),
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
        "numTest": num_test,
        "training": entries[:num_training],
        "validation": entries[num_training : num_training + num_validation],
        "test": entries[num_training + num_validation :],
    }
    path = root / DATASET_JSON
    path.write_text(json.dumps(info, indent=2))
    return path
