"""Figures that read well: every label inside the figure, no legend over an axes, a class legend for label maps.

Each figure function's ``Figure`` is caught where it is saved and measured after drawing: the bounding box of every
visible text (titles, axis labels, tick labels, legend entries, notes) lies inside the figure, and no legend
overlaps the data area of any axes.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests._lesion_cases import random_cases

TOL = 1.0  # pixels


def _caught(monkeypatch, module, name):
    """Replace ``module.name`` (a save function taking the figure first) by one that also keeps the figure."""
    figures = []
    original = getattr(module, name)

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return original(fig, *args, **kwargs)

    monkeypatch.setattr(module, name, keep)
    return figures


def _texts(fig):
    """Every visible text drawn apart from tick labels: titles, axis labels, notes, legend entries, suptitle."""
    texts = [*fig.texts, *([fig._suptitle] if fig._suptitle else [])]
    for ax in fig.axes:
        texts += [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
    for legend in [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends):
        texts += legend.get_texts()
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def _inside(box, frame):
    return (box.x0 >= frame.x0 - TOL and box.y0 >= frame.y0 - TOL
            and box.x1 <= frame.x1 + TOL and box.y1 <= frame.y1 + TOL)  # fmt: skip


def _check_layout(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # everything drawn, tick labels too
    assert _inside(drawn, frame), f"the drawn artists {drawn.bounds} exceed the figure {frame.bounds}"
    for text in _texts(fig):
        box = text.get_window_extent(renderer)
        assert _inside(box, frame), f"text {text.get_text()!r} at {box.bounds} is clipped by the figure {frame.bounds}"
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert not box.overlaps(ax.bbox), f"a legend at {box.bounds} covers an axes at {ax.bbox.bounds}"
    return legends


@pytest.fixture(scope="module")
def reports():
    from monai_imbalance.reporting import lesion_report

    names = [f"loss_{i}_with_a_long_name" for i in range(6)]
    return {n: lesion_report(random_cases(seed=i), n_draws=4, size_thresholds=[5, 20]) for i, n in enumerate(names)}


def test_froc_and_recall_by_size(reports, tmp_path, monkeypatch):
    from monai_imbalance.reporting import plots

    figures = _caught(monkeypatch, plots, "_save")
    warning = "the predicted lesion volume is 4.2x the true one: the model over-segments, and blobs count as hits"
    plots.plot_froc(reports, tmp_path / "froc.png", title="FROC", warning=warning)
    plots.plot_recall_by_size(reports, tmp_path / "size.png", title="by size")
    for fig in figures:
        (legend,) = _check_layout(fig)
        assert len(legend.get_texts()) == len(reports)
    assert any(t.get_text().startswith("Warning:") for t in _texts(figures[0]))


def test_experiment_plots(tmp_path, monkeypatch):
    from monai_imbalance.apps.experiments import convergence_summary, multiclass_summary, plots

    figures = _caught(monkeypatch, plots, "save_png")
    rng = np.random.default_rng(0)
    finals = {"mc_rrw": list(rng.uniform(0.3, 0.6, 10)), "mc_rw_boundary": list(rng.uniform(0.3, 0.5, 10))}
    plots.plot_convergence_cdf(convergence_summary(finals), tmp_path / "cdf.png", title="convergence")
    history = [
        [{"iteration": i, "fraction": f} for i, f in zip(range(1, 90, 5), np.linspace(0.1, 0.7, 18), strict=True)]
    ]
    plots.plot_gradient_signs({"mc_rrw": history, "mc_rw_boundary": history * 3}, tmp_path / "g.png", title="signs")
    scores = {
        loss: {f"c{c}": {"dice": list(rng.uniform(0.5, 1.0, 8)), "hd95": list(rng.uniform(1, 40, 8))} for c in range(3)}
        for loss in ("mc_rrw", "mc_rw_boundary", "mc_gradual", "mc_dice", "mc_focal", "mc_wce")
    }
    summary = multiclass_summary(scores, ["organ", "tumour", "third_structure"], "mc_rrw")
    plots.plot_multiclass_scores(summary, tmp_path / "m.png", title="multiclass (* p < 0.05 vs mc_rrw)")
    for fig in figures:
        assert len(_check_layout(fig)) == 1


def test_demo_label_map_has_a_class_legend(tmp_path, monkeypatch, capsys):
    from monai_imbalance.apps import demo

    figures = _caught(monkeypatch, demo, "save_png")
    demo.run_demo(tmp_path, shape=(32, 32, 24), seed=1)
    (fig,) = figures
    (legend,) = _check_layout(fig)
    assert [t.get_text() for t in legend.get_texts()] == ["background", "organ", "tumour", "third structure"]


def test_multiclass_evaluation_plot(tmp_path, monkeypatch):
    from monai_imbalance.reporting import multiclass

    figures = _caught(monkeypatch, multiclass, "save_png")
    records = [{"case": f"case_{i}", "dice": [0.4, 0.01, 0.03], "hd95": [9.0, float("inf"), 28.0]} for i in range(3)]
    multiclass.write_multiclass_report(records, ["organ", "tumour", "third_structure"], tmp_path, source="test list")
    (fig,) = figures
    _check_layout(fig)
    dice, hd95 = fig.axes
    assert dice.get_ylim()[0] <= 0.0  # Dice on its whole range
    assert dice.get_ylim()[1] >= 1.0
    assert [t.get_text() for t in hd95.get_xticklabels()][1] == "tumour\n(n=0)"
    assert any(t.get_text() == "n/a" for t in hd95.texts)
