r"""Aggregate the runs of a grid into the papers' comparisons (pure functions over records, no I/O).

- :func:`lesion_summary` (paper 1, Table 2 and Figure 3): per loss, the records of all its runs pooled (a
  case is identified by seed and case id), then :func:`~monai_imbalance.reporting.lesion_report`: average
  recall with its bootstrap mean and std, object Dice mean and std, average recall per lesion-volume tertile;
  and for each pair (plain, inverse-weighted) the differences.
- :func:`multiclass_summary` (paper 2, Tables 2-4): per loss and class, Dice and HD95 mean and std over the
  (seed, case) pairs, and the paired permutation test against the reference loss (RRW).
- :func:`convergence_summary` (paper 2, Figure 5): the empirical CDF of the final Dice of many runs,
  :math:`F(x) = \frac{1}{n}\sum_r \mathbb 1[D_r \le x]`.
- :func:`gradient_sign_summary` (paper 2, Figure 3): the fraction of voxels whose gradient has exactly one
  negative component, over training.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from monai_imbalance.metrics import CaseRecords, permutation_test
from monai_imbalance.utils.conversion import finite_or_none
from monai_imbalance.utils.stats import finite_stats

__all__ = ["convergence_summary", "gradient_sign_summary", "lesion_summary", "multiclass_summary"]


def lesion_summary(
    records: Mapping[str, Mapping[int, Sequence[CaseRecords]]],
    pairs: Sequence[Sequence[str]] = (),
    protocol: str = "luna16",
    n_draws: int | None = None,
    seed: int | None = 0,
) -> dict[str, Any]:
    r"""Paper 1's comparison: per loss the lesion-wise report of its pooled runs, and plain vs weighted pairs.

    .. math:: \bar R = \frac{1}{7} \sum_{f \in \{1/8, \dots, 8\}} R(f)

    (Shirokikh et al., MICCAI 2020, section 4.3). The records of every seed of a loss are pooled into one
    set of cases (ids ``s<seed>:<case id>``): average recall, its bootstrap (``n_draws`` draws of 80% of the
    pooled cases), object Dice and the average recall per tertile of ground-truth lesion volume come from
    :func:`~monai_imbalance.reporting.lesion_report`; ``per_seed`` holds the average recall of each run.

    Args:
        records: ``{loss: {seed: per-case records}}``.
        pairs: ``(plain loss, weighted loss)`` pairs to difference, e.g. ``[("bce", "iw_bce")]``.
        protocol: FROC protocol (``"luna16"`` or ``"shirokikh2020"``).
        n_draws: bootstrap draws (``None``: the protocol's default).
        seed: bootstrap seed.

    Returns:
        ``{"losses": {loss: {"report": lesion_report dict, "per_seed": {seed: average recall}, "seeds"}},
        "pairs": [{"plain", "weighted", "delta_average_recall", "delta_object_dice",
        "delta_size_groups": {group: delta}, "delta_per_seed": {seed: delta}}]}``; the deltas of the average
        recall (overall and per size group) are those of the bootstrap means (the paper's reported value), the
        per-seed deltas those of each seed's average recall.

    Raises:
        ValueError: when a loss has no records, or a pair names a loss without records.

    Example:
        >>> hit = CaseRecords([0.9, 0.8], [0.8, 0.6], [2, 9], [4, 380], [0.7], case_id="a")
        >>> miss = CaseRecords([0.9, -np.inf], [0.8, 0.0], [2, 9], [4, 380], [0.7], case_id="a")
        >>> s = lesion_summary({"dice": {0: [miss]}, "iw_dice": {0: [hit]}}, [("dice", "iw_dice")], n_draws=5)
        >>> pair = s["pairs"][0]
        >>> s["losses"]["iw_dice"]["report"]["average_recall"], pair["delta_average_recall"], pair["delta_per_seed"]
        (1.0, 0.5, {0: 0.5})
    """
    from monai_imbalance.metrics import average_recall
    from monai_imbalance.reporting import lesion_report

    out: dict[str, Any] = {"protocol": protocol, "losses": {}, "pairs": []}
    for loss, by_seed in records.items():
        pooled = [
            dataclasses.replace(c, case_id=f"s{s}:{c.case_id if c.case_id is not None else i}")
            for s, cases in sorted(by_seed.items())
            for i, c in enumerate(cases)
        ]
        if not pooled:
            raise ValueError(f"loss {loss!r} has no records.")
        report = lesion_report(pooled, protocol=protocol, n_draws=n_draws, seed=seed)
        per_seed = {int(s): finite_or_none(average_recall(list(c), protocol)) for s, c in sorted(by_seed.items()) if c}
        out["losses"][loss] = {"report": report, "per_seed": per_seed, "seeds": sorted(int(s) for s in by_seed)}
    for plain, weighted in pairs:
        if plain not in out["losses"] or weighted not in out["losses"]:
            raise ValueError(f"pair ({plain!r}, {weighted!r}) names a loss without records.")
        a, b = out["losses"][plain], out["losses"][weighted]
        ra, rb = a["report"], b["report"]

        def delta(x: Any, y: Any) -> float | None:
            return None if x is None or y is None else float(y) - float(x)

        groups_a = {g["name"]: g["bootstrap"]["mean"] for g in ra["size_groups"]}
        out["pairs"].append(
            {
                "plain": plain,
                "weighted": weighted,
                "delta_average_recall": delta(ra["bootstrap"]["mean"], rb["bootstrap"]["mean"]),
                "delta_object_dice": delta(ra["object_dice"]["mean"], rb["object_dice"]["mean"]),
                "delta_size_groups": {
                    g["name"]: delta(groups_a.get(g["name"]), g["bootstrap"]["mean"]) for g in rb["size_groups"]
                },
                "delta_per_seed": {
                    s: delta(a["per_seed"][s], b["per_seed"][s]) for s in a["per_seed"] if s in b["per_seed"]
                },
            }
        )
    return out


def multiclass_summary(
    scores: Mapping[str, Mapping[str, Mapping[str, Sequence[float | None]]]],
    class_names: Sequence[str],
    reference: str,
    n_permutations: int = 10_000,
    seed: int | None = 0,
) -> dict[str, Any]:
    r"""Paper 2's comparison: Dice and HD95 per class (mean and std) and paired permutation tests against a reference.

    .. math:: T = \Bigl|\frac{1}{n}\sum_{i=1}^n (a_i - b_i)\Bigr|

    over the cases ``i`` (a case is a seed and an evaluated image) where both losses have a finite value
    (Valverde & Tohka 2023, section 4.1; :func:`~monai_imbalance.metrics.permutation_test`). ``None`` / NaN
    / inf values (class absent, or never predicted for HD95) are left out of means and tests.

    Args:
        scores: ``{loss: {case key: {"dice": [per class], "hd95": [per class]}}}``.
        class_names: names of the scored classes.
        reference: the loss every other is tested against.
        n_permutations: permutations of each test.
        seed: seed of the permutations.

    Returns:
        ``{"reference", "classes", "losses": {loss: {class: {metric: {"mean", "std", "n", "p_value",
        "n_pairs"}}}}}`` (``p_value`` None for the reference and with fewer than 2 pairs).

    Raises:
        KeyError: when ``reference`` has no scores.

    Example:
        >>> a = {"c0": {"dice": [0.9], "hd95": [1.0]}, "c1": {"dice": [0.8], "hd95": [2.0]}}
        >>> b = {"c0": {"dice": [0.75], "hd95": [3.0]}, "c1": {"dice": [0.5], "hd95": [None]}}
        >>> s = multiclass_summary({"rrw": a, "dice": b}, ["organ"], "rrw")
        >>> s["losses"]["dice"]["organ"]["dice"]["mean"], s["losses"]["dice"]["organ"]["dice"]["p_value"]
        (0.625, 0.5)
    """
    if reference not in scores:
        raise KeyError(f"`reference` {reference!r} has no scores; losses with scores: {sorted(scores)}.")
    ref = scores[reference]
    out: dict[str, Any] = {"reference": reference, "classes": list(class_names), "losses": {}}
    for loss, cases in scores.items():
        entry: dict[str, Any] = {}
        for c, name in enumerate(class_names):
            entry[name] = {}
            for metric in ("dice", "hd95"):
                values = [finite_or_none(v[metric][c]) for v in cases.values()]
                stats: dict[str, Any] = finite_stats([v for v in values if v is not None])
                paired = [
                    (finite_or_none(ref[k][metric][c]), finite_or_none(v[metric][c]))
                    for k, v in cases.items()
                    if k in ref
                ]
                paired = [(x, y) for x, y in paired if x is not None and y is not None]
                stats["n_pairs"] = len(paired)
                stats["p_value"] = None
                if loss != reference and len(paired) >= 2:
                    x, y = np.asarray(paired).T
                    stats["p_value"] = permutation_test(x, y, n_permutations=n_permutations, seed=seed).pvalue
                entry[name][metric] = stats
        out["losses"][loss] = entry
    return out


def convergence_summary(final_dice: Mapping[str, Sequence[float]], fail_below: float = 0.5) -> dict[str, Any]:
    r"""Empirical CDF of the final Dice of many runs per loss (Valverde & Tohka 2023, section 4.3).

    .. math:: F(x) = \frac{1}{n} \sum_{r=1}^n \mathbb 1[D_r \le x]

    Args:
        final_dice: ``{loss: final mean foreground Dice of each run}``.
        fail_below: a run whose final Dice is below this value counts as not converged.

    Returns:
        ``{"fail_below", "losses": {loss: {"values" (sorted), "cdf", "n", "mean", "std", "min", "median",
        "max", "n_failed"}}}``.

    Raises:
        ValueError: when a loss has no finite value.

    Example:
        >>> s = convergence_summary({"rrw": [0.8, 0.9], "boundary": [0.1, 0.85]})
        >>> s["losses"]["boundary"]["cdf"], s["losses"]["boundary"]["n_failed"]
        ([0.5, 1.0], 1)
    """
    out: dict[str, Any] = {"fail_below": fail_below, "losses": {}}
    for loss, values in final_dice.items():
        v = np.sort(np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64))
        if not v.size:
            raise ValueError(f"loss {loss!r} has no finite final Dice.")
        out["losses"][loss] = {
            "values": v.tolist(),
            "cdf": (np.arange(1, v.size + 1) / v.size).tolist(),
            "n": int(v.size),
            "mean": float(v.mean()),
            "std": float(v.std()),
            "min": float(v[0]),
            "median": float(np.median(v)),
            "max": float(v[-1]),
            "n_failed": int((v < fail_below).sum()),
        }
    return out


def gradient_sign_summary(histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]]) -> dict[str, Any]:
    r"""Fraction of voxels with exactly one negative gradient component during training (paper 2, Figure 3).

    .. math:: f = \frac{\#\{i : \#\{k : \partial L / \partial x_{ik} < 0\} = 1\}}{\#\{i\}}

    (the RRW principle gives :math:`f = 1`; the RW-Boundary map does not). Per loss, over its runs: the mean
    fraction at the first and at the last record, over all records, its minimum, and the mean share of voxels
    with two or more negative components.

    Args:
        histories: ``{loss: [one run's records: {"iteration", "fraction", "counts"}]}``
            (:class:`~monai_imbalance.handlers.GradientSignHandler`'s ``history``).

    Returns:
        ``{loss: {"n_runs", "first", "last", "mean", "min", "multi_negative_share"}}``.

    Raises:
        ValueError: when a loss has no record.

    Example:
        >>> h = [{"iteration": 1, "fraction": 0.5, "counts": [0, 2, 2]}, {"iteration": 6, "fraction": 1.0,
        ...      "counts": [0, 4, 0]}]
        >>> gradient_sign_summary({"boundary": [h]})["boundary"]
        {'n_runs': 1, 'first': 0.5, 'last': 1.0, 'mean': 0.75, 'min': 0.5, 'multi_negative_share': 0.25}
    """
    out: dict[str, Any] = {}
    for loss, runs in histories.items():
        runs = [r for r in runs if r]
        if not runs:
            raise ValueError(f"loss {loss!r} has no gradient-sign record.")
        every = [float(rec["fraction"]) for r in runs for rec in r]
        multi = [sum(rec["counts"][2:]) / max(sum(rec["counts"]), 1) for r in runs for rec in r if rec.get("counts")]
        out[loss] = {
            "n_runs": len(runs),
            "first": float(np.mean([r[0]["fraction"] for r in runs])),
            "last": float(np.mean([r[-1]["fraction"] for r in runs])),
            "mean": float(np.mean(every)),
            "min": float(np.min(every)),
            "multi_negative_share": float(np.mean(multi)) if multi else None,
        }
    return out
