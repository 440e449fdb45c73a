"""Lossless JSON storage of per-lesion records, so a report can be re-scored or re-plotted without the volumes.

Version 2 stores every matching view of an evaluation (``{"views": {name: {"matching", "cases"}}}``) with
each lesion's and false positive's centroid and bounding box (voxels, and world millimetres when the case's
affine is known), so a reader can open every lesion in a viewer. Version 1 files (one list of cases) are read
as a single view named ``records``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.metrics.lesions import CaseRecords

__all__ = ["load_record_views", "load_records", "save_records"]

_FORMAT = "monai_imbalance.lesion_records"
_VERSION = 2
_ARRAYS = (
    "lesion_confidence",
    "lesion_dice",
    "lesion_diameter",
    "lesion_volume",
    "fp_confidence",
    "fp_diameter",
    "fp_volume",
)
_ROWS = ("lesion_centroid", "lesion_bbox", "fp_centroid", "fp_bbox")
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _encode(values: np.ndarray) -> list[float | str]:
    # strict JSON has no infinities: non-finite values are written as the strings "inf", "-inf", "nan";
    # finite floats go through Python's shortest round-trip repr, so nothing is lost
    return [float(v) if math.isfinite(v) else str(float(v)) for v in values.tolist()]


def _decode(values: Any, name: str) -> np.ndarray:
    if not isinstance(values, list):
        raise ValueError(f"`{name}` must be a list of numbers, got {type(values).__name__}.")
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if isinstance(v, str):
            if v not in _NON_FINITE:
                raise ValueError(f"`{name}` must hold numbers or 'inf', '-inf', 'nan', got {v!r}.")
            out[i] = _NON_FINITE[v]
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[i] = float(v)
        else:
            raise ValueError(f"`{name}` must hold numbers or 'inf', '-inf', 'nan', got {v!r}.")
    return out


def _world(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    d = points.shape[1]
    return points @ affine[:d, :d].T + affine[:d, d]


def _case_doc(c: CaseRecords) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "case_id": c.case_id,
        "n_predictions": int(c.n_predictions or 0),
        **{name: _encode(getattr(c, name)) for name in _ARRAYS},
        "predicted_volume": _encode(np.array([c.predicted_volume]))[0],
        "n_merging_predictions": c.n_merging_predictions,
        "n_merged_lesions": c.n_merged_lesions,
    }
    for name in _ROWS:
        rows = getattr(c, name)
        if rows is not None:
            doc[name] = rows.tolist()
    if c.affine is not None:
        doc["affine"] = c.affine.tolist()
        for name in ("lesion_centroid", "fp_centroid"):
            rows = getattr(c, name)
            if rows is not None and rows.shape[1] == c.affine.shape[0] - 1:
                doc[f"{name}_mm"] = _world(rows, c.affine).tolist()
    return doc


def _check_views(cases: Any) -> dict[str, list[CaseRecords]]:
    views = {str(k): v for k, v in cases.items()} if isinstance(cases, Mapping) else {"records": cases}
    for name, view in views.items():
        if isinstance(view, CaseRecords) or not isinstance(view, Sequence):
            raise TypeError(
                f"`cases` must be a sequence of CaseRecords (or a mapping of them), got {type(view).__name__}."
            )
        if not all(isinstance(c, CaseRecords) for c in view):
            raise TypeError(f"`cases` view {name!r} must hold CaseRecords only.")
    sizes = {len(v) for v in views.values()}
    if len(sizes) > 1:
        raise ValueError(f"every view must hold the same cases, got {[len(v) for v in views.values()]} cases.")
    return {k: list(v) for k, v in views.items()}


def save_records(cases: Sequence[CaseRecords] | Mapping[str, Sequence[CaseRecords]], path: str | Path) -> Path:
    """Write per-case lesion records (one view, or ``{view name: cases}``) to a strict JSON file.

    Every array of :class:`~monai_imbalance.metrics.CaseRecords` is stored with Python's round-trip float
    representation; ``-inf`` (a missed lesion), ``inf`` and NaN (a false positive of unknown size) are
    written as the strings ``"-inf"``, ``"inf"``, ``"nan"``, so the file is valid JSON for any reader. Each
    case also holds its over-segmentation counts, the centroids and bounding boxes (``[start..., stop...)``,
    voxels) of its lesions and false positives, and with an affine the centroids in world millimetres
    (``lesion_centroid_mm``, ``fp_centroid_mm``). :func:`load_records` reads it back exactly.

    Args:
        cases: per-case records (:func:`~monai_imbalance.metrics.lesion_records`), or a mapping of views.
        path: the ``.json`` file to write (its folder must exist).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: when ``cases`` is not a sequence (or mapping of sequences) of :class:`CaseRecords`.
        ValueError: when the views hold different numbers of cases.

    Example:
        >>> import tempfile, pathlib
        >>> case = CaseRecords([0.9, -np.inf], [0.8, 0.0], [3.0, 2.0], [14.1, 4.2], [0.7])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_records([case], pathlib.Path(d) / "records.json")
        ...     back = load_records(p)[0]
        >>> back.lesion_confidence.tolist(), back.fp_diameter.tolist(), back.n_predictions
        ([0.9, -inf], [nan], 2)
    """
    views = _check_views(cases)
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "views": {
            name: {
                "matching": next((c.matching for c in view if c.matching), None),
                "cases": [_case_doc(c) for c in view],
            }
            for name, view in views.items()
        },
    }
    path = Path(path)
    path.write_text(json.dumps(doc, allow_nan=False))
    return path


def _rows(values: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be rows of numbers, got {values!r:.80}.") from None


def _case_of(case: Any, matching: str | None, where: str) -> CaseRecords:
    if not isinstance(case, Mapping):
        raise ValueError(f"{where}: a case must be a JSON object, got {type(case).__name__}.")
    missing = [k for k in ("case_id", "n_predictions", *_ARRAYS) if k not in case]
    if missing:
        raise ValueError(f"{where}: case {case.get('case_id')!r} lacks the fields {missing}.")
    try:  # every bad field is named with the file and the case
        arrays = {name: _decode(case[name], name) for name in _ARRAYS}
        rows = {name: _rows(case[name], name) for name in _ROWS if name in case}
        volume = case.get("predicted_volume", "nan")
        n_predictions = case["n_predictions"]
        if isinstance(n_predictions, bool) or not isinstance(n_predictions, int) or n_predictions < 0:
            raise ValueError(f"`n_predictions` must be a non-negative int, got {n_predictions!r}.")
        affine = None if case.get("affine") is None else np.asarray(case["affine"], dtype=np.float64)
        if affine is not None and (affine.ndim != 2 or affine.shape[0] != affine.shape[1] or affine.shape[0] < 2):
            raise ValueError(f"`affine` must be a square (D + 1, D + 1) matrix, got shape {affine.shape}.")
        return CaseRecords(
            **arrays,
            n_predictions=n_predictions,
            case_id=None if case["case_id"] is None else str(case["case_id"]),
            matching=matching,
            predicted_volume=float(_decode([volume], "predicted_volume")[0]),
            n_merging_predictions=case.get("n_merging_predictions"),
            n_merged_lesions=case.get("n_merged_lesions"),
            affine=affine,
            **rows,
        )
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: case {case.get('case_id')!r}: {e}") from e


def load_record_views(path: str | Path) -> dict[str, list[CaseRecords]]:
    """Every view of a records file: ``{view name: [CaseRecords]}`` (a version 1 file: one view ``records``).

    Args:
        path: the ``.json`` file.

    Returns:
        The views, each equal to the saved records (bit for bit).

    Raises:
        FileNotFoundError: when the file does not exist.
        ValueError: when the file is not valid JSON (e.g. truncated), not a records file of a known version,
            or a case lacks a field or holds a bad value; the message names the file.

    Example:
        >>> import tempfile, pathlib
        >>> case = CaseRecords([0.25], [0.5], [2.0], [4.0], [])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_records({"paper": [case], "strict": [case]}, pathlib.Path(d) / "r.json")
        ...     sorted(load_record_views(p))
        ['paper', 'strict']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`path`: no records file at {path}.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"`path` {path} is not valid JSON (truncated or not a records file): {e}.") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"`path` {path} is not a UTF-8 JSON text (binary or not a records file): {e}.") from None
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ValueError(f"`path` must be a lesion-records file (format {_FORMAT!r}), got {path}.")
    version = doc.get("version")
    raw: Any
    if version == 1:
        raw = {"records": {"matching": None, "cases": doc.get("cases")}}
    elif version == _VERSION:
        raw = doc.get("views")
    else:
        raise ValueError(f"`path` {path} has records version {version!r}, this reader knows versions 1 and 2.")
    if not isinstance(raw, dict) or not all(
        isinstance(v, dict) and isinstance(v.get("cases"), list) for v in raw.values()
    ):
        raise ValueError(f"`path` {path} has no list of cases per view.")
    return {
        name: [_case_of(c, view.get("matching"), f"{path} view {name!r}") for c in view["cases"]]
        for name, view in raw.items()
    }


def load_records(path: str | Path, view: str | None = None) -> list[CaseRecords]:
    """Read one view of the records written by :func:`save_records`.

    Args:
        path: the ``.json`` file.
        view: the view to read; ``None`` for the only one, or ``strict`` when the file holds several.

    Returns:
        One :class:`~monai_imbalance.metrics.CaseRecords` per case, equal to the saved ones (bit for bit).

    Raises:
        FileNotFoundError / ValueError: as :func:`load_record_views`.
        KeyError: when ``view`` is not in the file (the message lists the views it has).

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_records([CaseRecords([0.25], [0.5], [2.0], [4.0], [])], pathlib.Path(d) / "r.json")
        ...     load_records(p)[0].lesion_dice.tolist()
        [0.5]
    """
    views = load_record_views(path)
    if view is None:
        if len(views) == 1:
            return next(iter(views.values()))
        view = "strict"
    if view not in views:
        raise KeyError(f"`view` {view!r} is not in {path}; it holds the views {sorted(views)}.")
    return views[view]
