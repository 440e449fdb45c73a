"""Pairing prediction files with label files by case name, reporting every file left without a partner.

A file's case name is its name without the image extension (:data:`IMAGE_EXTENSIONS`, longest first,
case-insensitive) and without any trailing prediction suffixes (:data:`PREDICTION_SUFFIXES`, stripped
repeatedly from both sides): ``case_007_prob.nii.gz`` (MONAI ``SaveImage`` with ``output_postfix="prob"``),
``case_007_seg.mhd`` and ``case_007.nii.gz`` (nnU-Net) are all the case ``case_007``. Names are compared
exactly (case-sensitive). nnU-Net's ``_0000`` channel suffix is on its input images, never on predictions or
labels, so it is not stripped.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "PREDICTION_SUFFIXES", "Pairing", "case_name", "list_images", "pair_files"]

#: file extensions read as images (NIfTI, NRRD, MetaImage header / single file), longest match first
IMAGE_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".mhd", ".mha")

#: trailing name suffixes that do not belong to the case name (MONAI ``output_postfix``, common exporters)
PREDICTION_SUFFIXES = ("_prob", "_pred", "_seg")


def _extension(name: str) -> str | None:
    lower = name.lower()
    return next((ext for ext in IMAGE_EXTENSIONS if lower.endswith(ext)), None)


def case_name(path: str | Path) -> str:
    """The case name of an image file: its name without extension and trailing prediction suffixes.

    Args:
        path: the file (only its name is used).

    Returns:
        The case name.

    Raises:
        ValueError: when the name does not end with one of :data:`IMAGE_EXTENSIONS`.

    Example:
        >>> case_name("out/case_007_prob.nii.gz"), case_name("1.3.6.1.4.1.14519.mhd"), case_name("x_seg_pred.NRRD")
        ('case_007', '1.3.6.1.4.1.14519', 'x')
        >>> case_name("notes.txt")
        Traceback (most recent call last):
            ...
        ValueError: `path` notes.txt is not an image file: expected one of .nii.gz, .nii, .nrrd, .mhd, .mha.
    """
    name = Path(path).name
    ext = _extension(name)
    if ext is None:
        raise ValueError(f"`path` {name} is not an image file: expected one of {', '.join(IMAGE_EXTENSIONS)}.")
    stem = name[: -len(ext)]
    stripped = True
    while stripped:
        stripped = False
        for suffix in PREDICTION_SUFFIXES:
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem, stripped = stem[: -len(suffix)], True
    return stem


def list_images(where: str | Path, name: str = "pred") -> list[Path]:
    """The image files of a folder (not recursive), or the image files matched by a glob pattern, sorted.

    Files without an image extension (e.g. nnU-Net's ``plans.json``, ``.npz`` or ``.pkl``; the ``.raw`` data
    of a ``.mhd`` header) are skipped.

    Args:
        where: a folder, or a glob pattern (``**`` recursive).
        name: the argument name used in errors.

    Returns:
        The files, sorted by path.

    Raises:
        FileNotFoundError: when ``where`` is neither a folder nor a pattern matching any image file.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for f in ("b.nii.gz", "a.mhd", "a.raw", "plans.json"):
        ...     _ = (d / f).write_bytes(b"")
        >>> [p.name for p in list_images(d)], [p.name for p in list_images(d / "*.nii.gz")]
        (['a.mhd', 'b.nii.gz'], ['b.nii.gz'])
    """
    path = Path(where)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
    else:
        files = [Path(p) for p in glob.glob(str(where), recursive=True) if Path(p).is_file()]
    images = sorted(p for p in files if _extension(p.name) is not None)
    if not images:
        what = "folder" if path.is_dir() else "pattern"
        raise FileNotFoundError(
            f"`{name}` {what} {where} holds no image file ({', '.join(IMAGE_EXTENSIONS)})"
            + ("" if path.is_dir() or any(c in str(where) for c in "*?[") else "; it is neither a folder nor a glob")
            + "."
        )
    return images


@dataclass
class Pairing:
    """Prediction and label files paired by case name, and the files left without a partner.

    Attributes:
        pairs: ``[(case name, prediction file, label file)]`` sorted by case name.
        unpaired_predictions: predictions whose case has no label.
        unpaired_labels: labels whose case has no prediction.
    """

    pairs: list[tuple[str, Path, Path]]
    unpaired_predictions: list[Path] = field(default_factory=list)
    unpaired_labels: list[Path] = field(default_factory=list)


def _by_case(files: list[Path], name: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in files:
        case = case_name(f)
        if case in out:
            raise ValueError(
                f"`{name}` holds two files of the case {case!r}: {out[case]} and {f}; keep one per case (the "
                f"suffixes {', '.join(PREDICTION_SUFFIXES)} are not part of the case name)."
            )
        out[case] = f
    return out


def _few(names: dict[str, Path], n: int = 3) -> str:
    first = sorted(names)[:n]
    return ", ".join(first) + (f" and {len(names) - n} more" if len(names) > n else "")


def pair_files(pred: str | Path, label: str | Path) -> Pairing:
    """Pair the prediction files (a folder or a glob) with the label files (a folder) by :func:`case_name`.

    Args:
        pred: folder or glob pattern of the predictions.
        label: folder of the labels.

    Returns:
        The :class:`Pairing`: the pairs sorted by case name, and the unpaired files on both sides.

    Raises:
        FileNotFoundError: when either side holds no image file.
        ValueError: when one side holds two files of the same case, or no case is on both sides (the message
            names both folders and a few case names of each).

    Example:
        >>> import tempfile
        >>> p, lab = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
        >>> for f in ("a_prob.nii.gz", "b_prob.nii.gz"):
        ...     _ = (p / f).write_bytes(b"")
        >>> for f in ("a.nii.gz", "c.nii.gz"):
        ...     _ = (lab / f).write_bytes(b"")
        >>> pairing = pair_files(p, lab)
        >>> [c for c, _, _ in pairing.pairs], [f.name for f in pairing.unpaired_predictions]
        (['a'], ['b_prob.nii.gz'])
        >>> [f.name for f in pairing.unpaired_labels]
        ['c.nii.gz']
    """
    if not Path(label).is_dir():
        raise FileNotFoundError(f"`label` must be a folder of label files, got {label}.")
    preds = _by_case(list_images(pred, "pred"), "pred")
    labels = _by_case(list_images(label, "label"), "label")
    common = sorted(set(preds) & set(labels))
    if not common:
        raise ValueError(
            f"no prediction in {pred} has a label in {label}: prediction cases {_few(preds)}, label cases "
            f"{_few(labels)} (case name: the file name without {', '.join(IMAGE_EXTENSIONS)} and "
            f"the suffixes {', '.join(PREDICTION_SUFFIXES)})."
        )
    return Pairing(
        pairs=[(c, preds[c], labels[c]) for c in common],
        unpaired_predictions=sorted(preds[c] for c in set(preds) - set(labels)),
        unpaired_labels=sorted(labels[c] for c in set(labels) - set(preds)),
    )
