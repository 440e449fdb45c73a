"""Lossless JSON storage of per-lesion records, so a report can be re-scored or re-plotted without the volumes."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.metrics.lesions import CaseRecords

__all__ = ["load_records", "save_records"]

_FORMAT = "monai_imbalance.lesion_records"
_VERSION = 1
_ARRAYS = (
    "lesion_confidence",
    "lesion_dice",
    "lesion_diameter",
    "lesion_volume",
    "fp_confidence",
    "fp_diameter",
    "fp_volume",
)
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _encode(values: np.ndarray) -> list[float | str]:
    # strict JSON has no infinities: non-finite values are written as the strings "inf", "-inf", "nan";
    # finite floats go through Python's shortest round-trip repr, so nothing is lost
    return [float(v) if math.isfinite(v) else str(float(v)) for v in values.tolist()]


def _decode(values: Sequence[Any], name: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if isinstance(v, str):
            if v not in _NON_FINITE:
                raise ValueError(f"`{name}` must hold numbers or 'inf', '-inf', 'nan', got {v!r}.")
            out[i] = _NON_FINITE[v]
        else:
            out[i] = float(v)
    return out


def save_records(cases: Sequence[CaseRecords], path: str | Path) -> Path:
    """Write per-case lesion records to a strict JSON file that :func:`load_records` reads back exactly.

    Every array of :class:`~monai_imbalance.metrics.CaseRecords` is stored with Python's round-trip float
    representation; ``-inf`` (a missed lesion), ``inf`` and NaN (a false positive of unknown size) are
    written as the strings ``"-inf"``, ``"inf"``, ``"nan"``, so the file is valid JSON for any reader.

    Args:
        cases: per-case records (:func:`~monai_imbalance.metrics.lesion_records`).
        path: the ``.json`` file to write (its folder must exist).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: when ``cases`` is not a sequence of :class:`CaseRecords`.

    Example:
        >>> import tempfile, pathlib
        >>> case = CaseRecords([0.9, -np.inf], [0.8, 0.0], [3.0, 2.0], [14.1, 4.2], [0.7])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_records([case], pathlib.Path(d) / "records.json")
        ...     back = load_records(p)[0]
        >>> back.lesion_confidence.tolist(), back.fp_diameter.tolist(), back.n_predictions
        ([0.9, -inf], [nan], 2)
    """
    if isinstance(cases, CaseRecords) or not all(isinstance(c, CaseRecords) for c in cases):
        raise TypeError(f"`cases` must be a sequence of CaseRecords, got {type(cases).__name__}.")
    doc = {
        "format": _FORMAT,
        "version": _VERSION,
        "cases": [
            {
                "case_id": c.case_id,
                "n_predictions": int(c.n_predictions or 0),
                **{name: _encode(getattr(c, name)) for name in _ARRAYS},
            }
            for c in cases
        ],
    }
    path = Path(path)
    path.write_text(json.dumps(doc, allow_nan=False))
    return path


def load_records(path: str | Path) -> list[CaseRecords]:
    """Read the records written by :func:`save_records`.

    Args:
        path: the ``.json`` file.

    Returns:
        One :class:`~monai_imbalance.metrics.CaseRecords` per case, equal to the saved ones (bit for bit).

    Raises:
        ValueError: when the file is not a records file of a known version, or holds a bad value.
        KeyError: when a case lacks a field.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_records([CaseRecords([0.25], [0.5], [2.0], [4.0], [])], pathlib.Path(d) / "r.json")
        ...     load_records(p)[0].lesion_dice.tolist()
        [0.5]
    """
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
        raise ValueError(f"`path` must be a lesion-records file (format {_FORMAT!r}), got {path}.")
    if doc.get("version") != _VERSION:
        raise ValueError(f"`path` has records version {doc.get('version')!r}, this reader knows version {_VERSION}.")
    out = []
    for case in doc["cases"]:
        arrays = {name: _decode(case[name], name) for name in _ARRAYS}
        case_id = case["case_id"]
        out.append(
            CaseRecords(
                **arrays,
                n_predictions=int(case["n_predictions"]),
                case_id=None if case_id is None else str(case_id),
            )
        )
    return out
