r"""Reading and scoring one case of a folder evaluation: what every worker process runs.

Each case's prediction and label are read with MONAI's ``LoadImage`` (``NibabelReader`` for NIfTI, as the
bundles read it; ``ITKReader`` for NRRD and MetaImage ``.mhd`` / ``.mha``), the label's metadata gives the
spacing and the voxel-to-world affine, and :func:`~monai_imbalance.metrics.case_lesion_records` extracts and
matches the lesions under every view. This module imports no plotting, so worker processes start light.

World coordinates are MONAI's: RAS millimetres. MONAI's ``ITKReader`` turns ITK's LPS physical space into
RAS (``affine_lps_to_ras=True``: x and y negated), and nibabel's NIfTI affine is RAS already, so a record's
``lesion_centroid_mm`` is ITK's ``TransformContinuousIndexToPhysicalPoint`` of the voxel centroid with its
first two coordinates negated. Voxel indices follow MONAI's array order, which is ITK's index order (x, y, z).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.data import ITKReader, NibabelReader
from monai.transforms import LoadImage

from monai_imbalance.metrics.lesions import CaseRecords, case_lesion_records
from monai_imbalance.metrics.matching import LesionMatching

__all__ = ["AFFINE_ATOL", "SPACING_RTOL", "CaseJob", "CaseResult", "init_worker", "read_image", "score_case"]

#: relative tolerance between a prediction's and its label's spacing (NIfTI headers hold float32)
SPACING_RTOL = 1e-4
#: absolute tolerance (mm) between their affines before a note says the origin / direction differ
AFFINE_ATOL = 1e-3
_ITK_SWIG_WARNING = "builtin type .* has no __module__ attribute"


def read_image(path: str | Path) -> Any:
    """Read one image file with MONAI's ``LoadImage``: a MetaTensor of the file's dtype, no channel added.

    NIfTI (``.nii``, ``.nii.gz``) goes through ``NibabelReader`` (as the bundles read it), every other
    format (``.nrrd``, ``.mhd``, ``.mha``) through ``ITKReader``, whose affine MONAI converts from ITK's LPS
    to RAS.

    Args:
        path: the file.

    Returns:
        ``MetaTensor`` with ``affine`` (RAS) and ``pixdim``.

    Example:
        >>> import tempfile, nibabel as nib
        >>> p = Path(tempfile.mkdtemp()) / "x.nii.gz"
        >>> nib.save(nib.Nifti1Image(np.zeros((4, 5, 6), np.uint8), np.diag([0.5, 0.5, 2.0, 1.0])), p)
        >>> img = read_image(p)
        >>> tuple(img.shape), img.dtype, img.pixdim.tolist()
        ((4, 5, 6), torch.uint8, [0.5, 0.5, 2.0])
    """
    name = Path(path).name.lower()
    if name.endswith((".nii", ".nii.gz")):
        return LoadImage(reader=NibabelReader(), image_only=True, ensure_channel_first=False, dtype=None)(str(path))
    with warnings.catch_warnings():
        # every ITK SWIG module warns on its lazy first load; turned into an error (python -W error, pytest's
        # filterwarnings = error) that warning crashes the interpreter inside the module's initialisation
        warnings.filterwarnings("ignore", _ITK_SWIG_WARNING, DeprecationWarning)
        return LoadImage(reader=ITKReader(), image_only=True, ensure_channel_first=False, dtype=None)(str(path))


@dataclass(frozen=True)
class CaseJob:
    """One case to read and score (small and picklable: sent to a worker process)."""

    index: int
    case_id: str
    pred: str
    label: str
    matchings: dict[str, LesionMatching]
    threshold: float
    connectivity: int | None
    sigmoid: bool
    lesion_labels: tuple[int, ...] | None


@dataclass
class CaseResult:
    """One case's records under every view, and what the log and the report should say about it."""

    index: int
    views: dict[str, CaseRecords]
    hard_mask: bool
    notes: list[str] = field(default_factory=list)


def _drop_channel(pred: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A one-channel prediction (leading or trailing channel of size 1) as the label's spatial shape."""
    if pred.ndim == len(shape) + 1:
        if pred.shape[-1] == 1 and pred.shape[:-1] == shape:
            return pred[..., 0]
        if pred.shape[0] == 1 and pred.shape[1:] == shape:
            return pred[0]
    return pred


def _integer_valued(x: np.ndarray) -> bool:
    return bool(np.issubdtype(x.dtype, np.integer) or x.dtype == bool or np.all(x == np.round(x)))


def score_case(job: CaseJob) -> CaseResult:
    """Read and score one case (what every worker process runs): its records under every view.

    Args:
        job: the case's files and settings.

    Returns:
        The case's :class:`CaseResult`.

    Raises:
        ValueError: when the prediction and the label differ in shape or spacing, the prediction is a label map
            without ``lesion_labels``, or as :func:`~monai_imbalance.metrics.case_lesion_records` (the message
            names both files).
    """
    label_img, pred_img = read_image(job.label), read_image(job.pred)
    label = label_img.array
    pred = _drop_channel(pred_img.array, label.shape)
    where = f"prediction {job.pred} and label {job.label}"
    if pred.shape != label.shape:
        raise ValueError(f"{where} differ in shape: {tuple(pred_img.shape)} and {tuple(label.shape)}.")
    spacing = [float(v) for v in label_img.pixdim][: label.ndim]
    pred_spacing = [float(v) for v in pred_img.pixdim][: label.ndim]
    if not np.allclose(pred_spacing, spacing, rtol=SPACING_RTOL, atol=0.0):
        raise ValueError(f"{where} differ in spacing: {pred_spacing} and {spacing} mm.")
    affine = label_img.affine.numpy()
    notes = []
    if pred_img.affine.shape == affine.shape and not np.allclose(pred_img.affine.numpy(), affine, atol=AFFINE_ATOL):
        notes.append(f"{where} differ in origin or direction; the label's geometry is used")
    hard = False
    if not job.sigmoid and pred.size and _integer_valued(pred):
        lo, hi = float(pred.min()), float(pred.max())
        if hi > 1 or lo < 0:
            if job.lesion_labels is None or lo < 0:
                raise ValueError(
                    f"prediction {job.pred} is a label map (integer values in [{lo:g}, {hi:g}]), not probabilities:"
                    " pass `lesion_labels` (--lesion_labels) to name its lesion values, or `sigmoid` for logits."
                )
            pred = np.isin(pred, np.asarray(job.lesion_labels))
            notes.append(f"prediction {job.pred} is a label map: values {list(job.lesion_labels)} read as lesion")
        hard = True
    try:
        views = case_lesion_records(
            pred,
            label,
            job.matchings,
            spacing=spacing,
            threshold=job.threshold,
            connectivity=job.connectivity,
            sigmoid=job.sigmoid,
            lesion_labels=job.lesion_labels,
            affine=affine,
            case_id=job.case_id,
        )
    except (TypeError, ValueError) as e:
        raise type(e)(f"{where}: {e}") from None
    return CaseResult(job.index, views, hard, notes)


def init_worker() -> None:
    """Worker process set-up: one torch thread (the processes are the parallelism)."""
    torch.set_num_threads(1)  # one thread per worker process: the processes are the parallelism
