r"""Lesion-wise evaluation of a folder of predictions made by any model, against a folder of labels.

Files are paired by case name (:mod:`~monai_imbalance.evaluate.pairing`), every case is read and scored by
:func:`~monai_imbalance.evaluate.cases.score_case` (in this process, or in worker processes), and the report
is :func:`~monai_imbalance.reporting.write_lesion_report`'s, the one the bundles' ``LesionReportHandler``
writes, plus what this evaluation knows about its inputs (unpaired files, hard masks, settings).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from monai_imbalance.evaluate.cases import CaseJob, CaseResult, init_worker, score_case
from monai_imbalance.evaluate.pairing import PREDICTION_SUFFIXES, pair_files
from monai_imbalance.metrics.diagnostics import MAX_VOLUME_RATIO
from monai_imbalance.metrics.froc import FROCProtocol
from monai_imbalance.metrics.inputs import check_lesion_labels
from monai_imbalance.metrics.lesions import case_lesion_records
from monai_imbalance.metrics.matching import LesionMatching
from monai_imbalance.reporting.lesion import lesion_markdown, lesion_report, write_lesion_report
from monai_imbalance.utils.validation import check_option

__all__ = ["evaluate_folder", "start_method"]

logger = logging.getLogger(__name__)

_CONTEXTS = ("auto", "fork", "forkserver", "spawn")
# CPython >= 3.12 warns at every fork of a process with threads (numpy's BLAS pool has some from its import)
_FORK_WARNING = r"This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks"


def start_method(mp_context: str = "auto") -> str:
    """The start method of the worker processes: ``mp_context`` itself, or what ``"auto"`` resolves to here.

    ``"auto"`` is ``"fork"`` on Linux when this process has no CUDA context: the workers are copies of this
    process, which has imported MONAI already, so they start at once (``forkserver`` and ``spawn`` workers
    import it again, 15-30 s here, more than scoring a few dozen cases). The threads a fork does not copy are
    the idle pools of numpy's BLAS and torch, which reinitialise in the child; each worker runs torch on one
    thread. Elsewhere (macOS, Windows, a process holding a CUDA context) ``"auto"`` is ``"forkserver"`` where
    it exists, else ``"spawn"``.

    Example:
        >>> start_method("spawn")
        'spawn'
        >>> start_method() in ("fork", "forkserver", "spawn")
        True
    """
    if mp_context != "auto":
        return mp_context
    methods = multiprocessing.get_all_start_methods()
    cuda = "torch" in sys.modules and sys.modules["torch"].cuda.is_initialized()
    if sys.platform.startswith("linux") and "fork" in methods and not cuda:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _run(jobs: list[CaseJob], workers: int, progress: bool, mp_context: str) -> list[CaseResult]:
    bar = tqdm(total=len(jobs), desc="evaluate", unit="case", file=sys.stderr, disable=not progress)
    results: list[CaseResult | None] = [None] * len(jobs)
    try:
        if workers == 1:
            for job in jobs:
                results[job.index] = score_case(job)
                bar.update()
        else:
            method = start_method(mp_context)
            logger.info(
                f"{min(workers, len(jobs))} worker processes ({method}"
                + ("; spawn / forkserver workers first import MONAI" if method != "fork" else "")
                + ")"
            )
            ctx = multiprocessing.get_context(method)
            if method == "forkserver":  # the server imports MONAI once; every worker forks from it
                ctx.set_forkserver_preload([score_case.__module__])
            with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx, initializer=init_worker) as ex:
                with warnings.catch_warnings():  # fork workers are started by the first submit (all at once)
                    warnings.filterwarnings("ignore", _FORK_WARNING, DeprecationWarning)
                    futures: list[Future[CaseResult]] = [ex.submit(score_case, job) for job in jobs]
                try:
                    for future in as_completed(futures):
                        result = future.result()
                        results[result.index] = result
                        bar.update()
                except BaseException:
                    ex.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        bar.close()
    return [r for r in results if r is not None]


def _check_settings(
    protocol: str,
    strict_hit_rule: str,
    strict_hit_threshold: float,
    key_view: str,
    threshold: float,
    connectivity: int | None,
    sigmoid: bool,
    lesion_labels: Sequence[int] | None,
    workers: int,
    mp_context: str,
    report_settings: dict[str, Any],
) -> dict[str, LesionMatching]:
    check_option(protocol, FROCProtocol, "protocol")
    strict = LesionMatching.strict(strict_hit_rule, strict_hit_threshold)
    matchings = {"paper": LesionMatching.paper(), "strict": strict}
    if key_view not in matchings:
        raise ValueError(f"`key_view` must be one of {sorted(matchings)}, got {key_view!r}.")
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"`workers` must be an integer, got {type(workers).__name__}.")
    if workers < 1:
        raise ValueError(f"`workers` must be at least 1, got {workers}.")
    if mp_context not in _CONTEXTS:
        raise ValueError(f"`mp_context` must be one of {_CONTEXTS}, got {mp_context!r}.")
    # the extraction and report settings are checked on a tiny 3D case before any file is read
    views = case_lesion_records(
        np.ones((2, 2, 2)),
        np.ones((2, 2, 2)),
        matchings,
        threshold=threshold,
        connectivity=connectivity,
        sigmoid=sigmoid,
        lesion_labels=lesion_labels,
    )
    lesion_report({k: [v] for k, v in views.items()}, key_view=key_view, **report_settings)
    return matchings


def _hard_mask_note(hard: list[str], n: int) -> str:
    which = "every prediction is" if len(hard) == n else f"{len(hard)} of {n} predictions are"
    return (
        f"{which} a hard 0/1 mask ({', '.join(hard[:5])}{', ...' if len(hard) > 5 else ''}): each predicted lesion "
        "has confidence 1, so the FROC curve of those cases has one operating point (no confidence to trade false "
        "positives for recall); save probabilities for a full curve"
    )


def _inputs_markdown(inputs: dict[str, Any]) -> str:
    lines = [
        "## Inputs",
        "",
        f"Predictions `{inputs['pred']}`, labels `{inputs['label']}`: {inputs['n_pairs']} cases paired by file name "
        "(without the image extension and the suffixes " + ", ".join(f"`{s}`" for s in inputs["suffixes"]) + ").",
        "",
    ]
    for key, what in (
        ("unpaired_predictions", "Predictions without a label"),
        ("unpaired_labels", "Labels without a prediction"),
    ):
        names = ", ".join(f"`{Path(f).name}`" for f in inputs[key])
        lines += [f"{what}: {len(inputs[key])}" + (f" — {names}" if names else "") + ".", ""]
    lines += [f"> **Note** — {note}.\n" for note in inputs["notes"]]
    return "\n".join(lines).rstrip("\n") + "\n"


def evaluate_folder(
    pred: str | Path,
    label: str | Path,
    output_dir: str | Path,
    protocol: str = "luna16",
    threshold: float = 0.5,
    strict_hit_rule: str = "iou",
    strict_hit_threshold: float = 0.1,
    key_view: str = "strict",
    connectivity: int | None = None,
    lesion_labels: Sequence[int] | None = None,
    sigmoid: bool = False,
    size_thresholds: Sequence[float] | None = None,
    n_draws: int | None = None,
    seed: int | None = 0,
    workers: int = 1,
    name: str = "lesion_report",
    title: str | None = None,
    source: str | None = None,
    max_volume_ratio: float = MAX_VOLUME_RATIO,
    overwrite: bool = False,
    progress: bool = True,
    mp_context: str = "auto",
) -> dict[str, Any]:
    r"""Lesion-wise report of a folder of predictions against a folder of labels, as the bundles write it.

    Files are paired by case name (:func:`~monai_imbalance.evaluate.pairing.case_name`: no image extension,
    no ``_prob`` / ``_pred`` / ``_seg`` suffix); unpaired files are logged and listed in the report. Each
    case is read by :func:`~monai_imbalance.evaluate.cases.read_image`, its spacing and affine come from the
    label file (the prediction must have the same shape, up to a channel of size 1, and spacing), and its
    lesions are matched under two views: ``paper`` (many-to-one, any overlap; Shirokikh et al., MICCAI 2020)
    and ``strict`` (one-to-one, ``strict_hit_rule`` ≥ ``strict_hit_threshold``, as picai_eval). A prediction
    holding only 0 and 1 is a hard mask: accepted, with a note that its FROC has one operating point; an
    integer label map (e.g. nnU-Net's output) is read through ``lesion_labels``. With ``workers`` > 1 the
    cases are read and scored in that many processes; the records, and so the report, are those of
    ``workers=1``.

    Files in ``output_dir``: those of :func:`~monai_imbalance.reporting.write_lesion_report` (``<name>.json``,
    ``.md``, ``_froc.png``, ``_recall_by_size.png``, ``_records.json``, the records with every lesion's
    centroid in voxels and RAS millimetres and its bounding box). The JSON is the bundle report plus an
    ``inputs`` entry (folders, pairs, unpaired files, hard-mask cases, notes and the settings); the
    Markdown ends with the same inputs section.

    Args:
        pred: folder, or glob pattern (``**`` recursive), of the predictions: probabilities in ``[0, 1]``,
            logits with ``sigmoid``, or hard masks.
        label: folder of the labels.
        output_dir: folder of the report (created).
        protocol: ``"luna16"`` or ``"shirokikh2020"``.
        threshold: probability above which a voxel is predicted lesion, in ``[0, 1)``.
        strict_hit_rule: ``"iou"`` or ``"dice"``, the overlap of the strict view.
        strict_hit_threshold: the overlap a strict match needs, in ``(0, 1]``.
        key_view: the view of the headline figures: ``"strict"`` or ``"paper"``.
        connectivity: orthogonal hops of a connected component; ``None`` for full connectivity.
        lesion_labels: label values that are lesion (e.g. ``[2]``); ``None``: labels must be 0/1.
        sigmoid: the predictions are logits.
        size_thresholds: equivalent-sphere diameters (mm) between size groups; ``None`` for volume tertiles.
        n_draws: bootstrap draws; ``None`` for the protocol's default.
        seed: bootstrap seed.
        workers: processes reading and scoring cases; 1 runs in this process.
        name: file name stem of the report.
        title: heading of the report.
        source: where the cases come from, printed in the report; default the two folders.
        max_volume_ratio: predicted / true lesion volume above which the report warns.
        overwrite: replace a report ``<name>.json`` already in ``output_dir`` (else refused).
        progress: show a progress bar (stderr).
        mp_context: start method of the worker processes: ``"auto"`` (:func:`start_method`: ``"fork"`` on
            Linux, the workers starting at once), ``"fork"``, ``"forkserver"`` (MONAI imported once, by the
            server) or ``"spawn"``; the records are the same under every one.

    Returns:
        The report dictionary written to ``<name>.json``.

    Raises:
        FileExistsError: when ``output_dir`` already holds ``<name>.json`` and ``overwrite`` is false.
        FileNotFoundError: when ``pred`` or ``label`` holds no image file.
        TypeError: on a setting of the wrong type.
        ValueError: on a bad setting, no pair, two files of one case, or a prediction and label differing in
            shape or spacing, a prediction outside ``[0, 1]`` or a label map without ``lesion_labels`` (the
            message names both files).

    Example:
        >>> import tempfile, nibabel as nib
        >>> pred_dir, label_dir, out = (Path(tempfile.mkdtemp()) for _ in range(3))
        >>> y = np.zeros((8, 8, 8), np.uint8); y[2:4, 2:4, 2:4] = 1
        >>> nib.save(nib.Nifti1Image(y, np.eye(4)), label_dir / "case_0.nii.gz")
        >>> nib.save(nib.Nifti1Image(y * np.float32(0.9), np.eye(4)), pred_dir / "case_0_prob.nii.gz")
        >>> report = evaluate_folder(pred_dir, label_dir, out, n_draws=5, progress=False)
        >>> report["n_cases"], report["average_recall"], report["inputs"]["unpaired_labels"]
        (1, 1.0, [])
        >>> sorted(p.name for p in out.iterdir())[:2]
        ['lesion_report.json', 'lesion_report.md']
    """
    out = Path(output_dir)
    target = out / f"{name}.json"
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"`output_dir` {out} already holds a report {target.name}: choose another folder or `name`, or pass "
            "`overwrite` (--overwrite) to replace it."
        )
    checked = check_lesion_labels(lesion_labels)  # a str is refused, not read character by character
    labels = None if checked is None else tuple(checked)
    report_settings = {
        "protocol": protocol,
        "size_thresholds": None if size_thresholds is None else [float(v) for v in size_thresholds],
        "n_draws": n_draws,
        "seed": seed,
        "max_volume_ratio": max_volume_ratio,
    }
    matchings = _check_settings(
        protocol,
        strict_hit_rule,
        strict_hit_threshold,
        key_view,
        threshold,
        connectivity,
        sigmoid,
        labels,
        workers,
        mp_context,
        report_settings,
    )
    pairing = pair_files(pred, label)
    for f in pairing.unpaired_predictions:
        logger.warning(f"prediction without a label (not evaluated): {f}")
    for f in pairing.unpaired_labels:
        logger.warning(f"label without a prediction (not evaluated): {f}")
    logger.info(
        f"{len(pairing.pairs)} cases paired; {len(pairing.unpaired_predictions)} predictions and "
        f"{len(pairing.unpaired_labels)} labels unpaired"
    )
    jobs = [
        CaseJob(i, lab.name, str(pr), str(lab), matchings, float(threshold), connectivity, bool(sigmoid), labels)
        for i, (_, pr, lab) in enumerate(pairing.pairs)
    ]
    results = _run(jobs, workers, progress, mp_context)
    notes = [note for r in results for note in r.notes]
    hard = [jobs[r.index].case_id for r in results if r.hard_mask]
    if hard:
        notes.append(_hard_mask_note(hard, len(results)))
    for note in notes:
        logger.warning(note)
    views = {view: [r.views[view] for r in results] for view in matchings}
    report = write_lesion_report(
        views,
        out,
        name=name,
        title=title,
        key_view=key_view,
        **report_settings,
        source=f"predictions {pred}, labels {label}" if source is None else source,
    )
    report["inputs"] = {
        "pred": str(pred),
        "label": str(label),
        "n_pairs": len(pairing.pairs),
        "suffixes": list(PREDICTION_SUFFIXES),
        "unpaired_predictions": [str(f) for f in pairing.unpaired_predictions],
        "unpaired_labels": [str(f) for f in pairing.unpaired_labels],
        "hard_mask_cases": hard,
        "notes": notes,
        "settings": {
            "threshold": float(threshold),
            "connectivity": connectivity,
            "lesion_labels": None if labels is None else list(labels),
            "sigmoid": bool(sigmoid),
            "matchings": {k: m.to_dict() for k, m in matchings.items()},
        },
    }
    target.write_text(json.dumps(report, indent=2, allow_nan=False))
    bundle_report = {k: v for k, v in report.items() if k != "inputs"}
    (out / f"{name}.md").write_text(lesion_markdown(bundle_report, title) + "\n" + _inputs_markdown(report["inputs"]))
    logger.info(
        f"lesion report of {report['n_cases']} cases written to {out / name}.md (.json, _froc.png, "
        f"_recall_by_size.png, _records.json); headline view {key_view!r}: {report['matching']}"
    )
    return report
