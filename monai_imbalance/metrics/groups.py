"""Lesion-size groups and the authors' per-lesion records: inputs of a size-stratified evaluation."""

from __future__ import annotations

import csv
import gzip
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.metrics.lesions import CaseRecords
from monai_imbalance.utils.validation import check_increasing

__all__ = ["SIZE_THRESHOLDS_MM", "SIZE_THRESHOLDS_SHIROKIKH2020_VOXELS", "read_shirokikh2020_records", "size_groups"]

#: equivalent-sphere diameter (mm) separating small from large lesions, after clinical recommendations
SIZE_THRESHOLDS_MM: dict[str, float] = {"lung_nodules": 10.0, "metastases": 5.0, "liver_tumours": 12.0}
#: the thresholds the authors applied to diameters in voxels (their notebooks: LUNA16 8, metastases 5, LiTS 12)
SIZE_THRESHOLDS_SHIROKIKH2020_VOXELS: dict[str, float] = {"luna": 8.0, "met": 5.0, "lits": 12.0}
_GROUP_NAMES = {1: ("small", "large"), 2: ("small", "medium", "large")}


def size_groups(
    cases: Sequence[CaseRecords], thresholds: Any = None, by: str = "diameter"
) -> dict[str, list[CaseRecords]]:
    r"""Split every case's records into lesion-size groups.

    Group :math:`g` holds the sizes :math:`s` with :math:`\theta_{g-1} \le s < \theta_g`. A size group
    keeps its lesions (with the confidence and Dice of their match, so the predictions matched to them
    come along) and the false positives of that size (paper 1, section 4.3). ``thresholds=None`` splits at
    the tertiles of the ground-truth lesion volume (``by`` is then ``"volume"``). False positives of
    unknown size (NaN) belong to no group.

    Args:
        cases: per-case records.
        thresholds: increasing size thresholds (e.g. ``[SIZE_THRESHOLDS_MM["lung_nodules"]]``), or ``None``.
        by: ``"diameter"`` or ``"volume"``: the size the thresholds apply to.

    Returns:
        ``{name: cases}`` in increasing size, named ``small``/``large`` (one threshold),
        ``small``/``medium``/``large`` (two), else ``group_0``, ``group_1``, ...

    Raises:
        TypeError: when ``cases`` holds something other than :class:`CaseRecords`.
        ValueError: when ``cases`` is empty, ``by`` is unknown or ``thresholds`` is not increasing.

    Example:
        >>> case = CaseRecords([0.9, 0.8], [0.7, 0.6], [4.0, 12.0], [33.5, 904.8], [0.7, 0.6], [3.0, 20.0])
        >>> groups = size_groups([case], thresholds=[10.0])
        >>> [(k, g[0].lesion_diameter.tolist(), g[0].fp_confidence.tolist()) for k, g in groups.items()]
        [('small', [4.0], [0.7]), ('large', [12.0], [0.6])]
    """
    if by not in ("diameter", "volume"):
        raise ValueError(f"`by` must be 'diameter' or 'volume', got {by!r}.")
    if isinstance(cases, CaseRecords) or not isinstance(cases, Sequence) or not cases:
        raise ValueError(f"`cases` must be a non-empty sequence of CaseRecords, got {cases!r:.80}.")
    if not all(isinstance(c, CaseRecords) for c in cases):
        raise TypeError("`cases` must hold CaseRecords only.")
    if thresholds is None:
        by = "volume"
        volumes = np.concatenate([c.lesion_volume for c in cases])
        edges = np.quantile(volumes, [1 / 3, 2 / 3]) if volumes.size else np.zeros(2)
    else:
        edges = check_increasing(thresholds, "thresholds")
    names = _GROUP_NAMES.get(edges.size, tuple(f"group_{i}" for i in range(edges.size + 1)))
    bounds = np.concatenate([[-np.inf], edges, [np.inf]])
    out: dict[str, list[CaseRecords]] = {name: [] for name in names}
    for case in cases:
        les_size = case.lesion_diameter if by == "diameter" else case.lesion_volume
        fp_size = case.fp_diameter if by == "diameter" else case.fp_volume
        for g, name in enumerate(names):
            lk = (les_size >= bounds[g]) & (les_size < bounds[g + 1])
            fk = (fp_size >= bounds[g]) & (fp_size < bounds[g + 1])
            conf = case.lesion_confidence[lk]
            out[name].append(
                CaseRecords(
                    lesion_confidence=conf,
                    lesion_dice=case.lesion_dice[lk],
                    lesion_diameter=case.lesion_diameter[lk],
                    lesion_volume=case.lesion_volume[lk],
                    fp_confidence=case.fp_confidence[fk],
                    fp_diameter=case.fp_diameter[fk],
                    fp_volume=case.fp_volume[fk],
                    n_predictions=int(fk.sum() + np.isfinite(conf).sum()),
                    case_id=case.case_id,
                )
            )
    return out


def read_shirokikh2020_records(path: str | Path, confidence: str = "logit") -> list[CaseRecords]:
    r"""Read the authors' per-lesion records (one CSV, optionally gzipped, per dataset and loss).

    Columns: ``case, kind, object, diameter_voxels, best_dice, confidence_logit, confidence_prob,
    matched_object`` (see ``shared/data/shirokikh2020_froc_records/README.md``). A lesion is missed when its
    ``matched_object`` is ``pred_None``; a prediction is a false positive when its ``best_dice`` is 0.
    Sizes are in voxels (volume :math:`\\pi d^3 / 6`). Cases come in their order of first appearance.

    Args:
        path: the ``.csv`` or ``.csv.gz`` file.
        confidence: ``"logit"`` (the authors' ranking) or ``"prob"``.

    Returns:
        One :class:`CaseRecords` per case, ``case_id`` set.

    Raises:
        ValueError: when ``confidence`` is unknown or a row's ``kind`` is neither lesion nor prediction.
        KeyError: when a column is missing.

    Example:
        >>> import tempfile, pathlib
        >>> text = ("case,kind,object,diameter_voxels,best_dice,confidence_logit,confidence_prob,matched_object\n"
        ...         "a,lesion,tum_1,4.0,0.5,2.0,0.88,pred_1\na,prediction,pred_1,5.0,0.5,2.0,0.88,tum_1\n"
        ...         "a,prediction,pred_2,2.0,0.0,1.0,0.73,tum_None\n")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = pathlib.Path(d) / "r.csv"
        ...     _ = p.write_text(text)
        ...     r = read_shirokikh2020_records(p)[0]
        >>> r.case_id, r.lesion_confidence.tolist(), r.fp_confidence.tolist(), r.n_predictions
        ('a', [2.0], [1.0], 2)
    """
    if confidence not in ("logit", "prob"):
        raise ValueError(f"`confidence` must be 'logit' or 'prob', got {confidence!r}.")
    column = f"confidence_{confidence}"
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    rows: dict[str, dict[str, list[float]]] = {}
    with opener(path, "rt", newline="") as f:
        for row in csv.DictReader(f):
            case = rows.setdefault(row["case"], {k: [] for k in ("lc", "ld", "ls", "fc", "fs", "np")})
            d = float(row["diameter_voxels"])
            if row["kind"] == "lesion":
                missed = row["matched_object"] == "pred_None"
                case["lc"].append(-math.inf if missed else float(row[column]))
                case["ld"].append(float(row["best_dice"]))
                case["ls"].append(d)
            elif row["kind"] == "prediction":
                case["np"].append(1.0)
                if float(row["best_dice"]) == 0:
                    case["fc"].append(float(row[column]))
                    case["fs"].append(d)
            else:
                raise ValueError(f"`kind` must be 'lesion' or 'prediction', got {row['kind']!r} in {path}.")
    out = []
    for case_id, r in rows.items():
        ls, fs = np.asarray(r["ls"]), np.asarray(r["fs"])
        out.append(
            CaseRecords(
                lesion_confidence=np.asarray(r["lc"]),
                lesion_dice=np.asarray(r["ld"]),
                lesion_diameter=ls,
                lesion_volume=math.pi * ls**3 / 6,
                fp_confidence=np.asarray(r["fc"]),
                fp_diameter=fs,
                fp_volume=math.pi * fs**3 / 6,
                n_predictions=len(r["np"]),
                case_id=case_id,
            )
        )
    return out
