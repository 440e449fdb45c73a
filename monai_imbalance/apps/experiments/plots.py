"""Plots of the multi-class comparisons (the lesion-wise FROC and size plots are in monai_imbalance.reporting).

Headless (:func:`monai_imbalance.utils.figures.agg_figure`): the session's matplotlib backend is not touched.
Legends sit outside the axes, so they never cover the data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monai_imbalance.utils.figures import agg_figure, save_png

__all__ = ["plot_convergence_cdf", "plot_gradient_signs", "plot_multiclass_scores"]


def _legend_outside(ax: Any) -> None:
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="small")


def plot_convergence_cdf(summary: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    r"""Step plot of the empirical CDF :math:`F(x)` of the final Dice of every loss (paper 2, Figure 5).

    Args:
        summary: :func:`~monai_imbalance.apps.experiments.convergence_summary` output.
        path: ``.png`` file to write.
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import convergence_summary
        >>> s = convergence_summary({"rrw": [0.8, 0.9], "boundary": [0.1, 0.85]})
        >>> plot_convergence_cdf(s, tempfile.mkdtemp() + "/cdf.png").stat().st_size > 0
        True
    """
    fig = agg_figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    for loss, s in summary["losses"].items():
        x = np.concatenate([[0.0], s["values"], [1.0]])
        y = np.concatenate([[0.0], s["cdf"], [1.0]])
        ax.step(x, y, where="post", label=f"{loss} (n={s['n']})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("final mean foreground Dice")
    ax.set_ylabel("fraction of runs with Dice ≤ x")
    _legend_outside(ax)
    ax.set_title(title or "Convergence: empirical CDF of the final Dice")
    return save_png(fig, path)


def plot_gradient_signs(
    histories: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], path: str | Path, title: str | None = None
) -> Path:
    """Fraction of voxels with exactly one negative gradient component against the iteration (paper 2, Figure 3).

    One thin line per run, the mean over the runs (at the iterations they share) thick.

    Args:
        histories: ``{loss: [one run's GradientSignHandler history]}``.
        path: ``.png`` file to write.
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> h = [{"iteration": 1, "fraction": 0.5}, {"iteration": 6, "fraction": 0.7}]
        >>> plot_gradient_signs({"boundary": [h]}, tempfile.mkdtemp() + "/g.png").suffix
        '.png'
    """
    from matplotlib import rcParams

    fig = agg_figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    colors = rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (loss, runs) in enumerate(histories.items()):
        color = colors[i % len(colors)]
        curves = [(np.array([r["iteration"] for r in run]), np.array([r["fraction"] for r in run])) for run in runs]
        for x, y in curves:
            ax.plot(x, y, color=color, alpha=0.25, lw=0.8)
        common = sorted(set.intersection(*(set(x.tolist()) for x, _ in curves))) if curves else []
        if common:
            mean = [np.mean([y[x == it][0] for x, y in curves]) for it in common]
            ax.plot(common, mean, color=color, lw=2, label=f"{loss} (mean of {len(curves)} runs)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training iteration")
    ax.set_ylabel("fraction of voxels with exactly one\nnegative gradient component")
    _legend_outside(ax)
    ax.set_title(title or "Gradient signs during training")
    return save_png(fig, path)


def plot_multiclass_scores(summary: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Bars of Dice and HD95 (mean ± std) per class and loss, starred where the test against the reference has p < 0.05.

    Args:
        summary: :func:`~monai_imbalance.apps.experiments.multiclass_summary` output.
        path: ``.png`` file to write.
        title: figure title.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile
        >>> from monai_imbalance.apps.experiments import multiclass_summary
        >>> a = {"c0": {"dice": [0.9], "hd95": [1.0]}, "c1": {"dice": [0.8], "hd95": [2.0]}}
        >>> s = multiclass_summary({"rrw": a}, ["organ"], "rrw")
        >>> plot_multiclass_scores(s, tempfile.mkdtemp() + "/m.png").name
        'm.png'
    """
    classes, losses = summary["classes"], list(summary["losses"])
    fig = agg_figure(figsize=(6 + 1.5 * len(classes), 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    width = 0.8 / max(len(losses), 1)
    for ax, metric, label in zip(axes, ("dice", "hd95"), ("Dice", "HD95 (mm)"), strict=True):
        for j, loss in enumerate(losses):
            stats = [summary["losses"][loss][c][metric] for c in classes]
            mean = [np.nan if s["mean"] is None else s["mean"] for s in stats]
            std = [0.0 if s["std"] is None else s["std"] for s in stats]
            x = np.arange(len(classes)) + (j - (len(losses) - 1) / 2) * width
            ax.bar(x, mean, width, yerr=std, capsize=2, label=loss)
            for xi, mi, si, s in zip(x, mean, std, stats, strict=True):  # the star above the error bar
                if s["p_value"] is not None and s["p_value"] < 0.05 and np.isfinite(mi):
                    ax.text(xi, mi + si, "*", ha="center", va="bottom")
        ax.set_xticks(range(len(classes)), classes, rotation=20)
        ax.set_ylabel(label)
    axes[0].set_ylim(0, 1.12)  # room for a star above a Dice of 1
    axes[0].set_yticks(np.linspace(0.0, 1.0, 6))
    axes[1].set_ylim(bottom=0)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    fig.suptitle(title or f"Per-class scores (* p < 0.05 against {summary['reference']})")
    return save_png(fig, path)
