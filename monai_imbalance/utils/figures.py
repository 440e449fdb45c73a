"""Headless figures: a ``matplotlib.figure.Figure`` on its own Agg canvas, saved as PNG.

Neither pyplot's global state nor the session's backend is touched (no ``matplotlib.use``), so a notebook
user's interactive backend stays as it is. matplotlib is imported when a figure is made, not with the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["agg_figure", "save_png"]


def agg_figure(**kwargs: Any) -> Any:
    """A ``matplotlib.figure.Figure(**kwargs)`` attached to its own ``FigureCanvasAgg``.

    Args:
        kwargs: passed to ``Figure`` (``figsize``, ``layout="constrained"``, ...).

    Example:
        >>> fig = agg_figure(figsize=(2, 1))
        >>> type(fig.canvas).__name__, fig.get_size_inches().tolist()
        ('FigureCanvasAgg', [2.0, 1.0])
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Save ``fig`` as a PNG at ``path`` (its folder created) and return the path.

    Example:
        >>> import tempfile
        >>> save_png(agg_figure(figsize=(1, 1)), tempfile.mkdtemp() + "/sub/f.png").read_bytes()[1:4]
        b'PNG'
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi, format="png")
    return out
