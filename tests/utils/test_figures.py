"""Headless figures: the package's plots leave the session's matplotlib backend and pyplot alone."""

from __future__ import annotations

import os
import subprocess
import sys

from monai_imbalance.utils import agg_figure, save_png

_CODE = """
import tempfile, matplotlib
from monai_imbalance.apps.experiments import convergence_summary, plot_convergence_cdf, plot_gradient_signs
from monai_imbalance.reporting import write_multiclass_report
d = tempfile.mkdtemp()
plot_convergence_cdf(convergence_summary({"a": [0.5, 0.7]}), d + "/c.png")
plot_gradient_signs({"a": [[{"iteration": 1, "fraction": 0.5}]]}, d + "/g.png")
write_multiclass_report([{"case": "a", "dice": [0.5], "hd95": [2.0]}], ["organ"], d)
import matplotlib.pyplot as plt  # MONAI imports pyplot anyway: no figure of ours may be registered there
print(matplotlib.get_backend(), len(plt.get_fignums()))
"""


def test_plots_keep_the_session_backend():
    env = {**os.environ, "MPLBACKEND": "svg"}
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, env=env, check=True).stdout
    assert out.split() == ["svg", "0"]


def test_save_png_writes_a_png_in_a_new_folder(tmp_path):
    fig = agg_figure(figsize=(2, 1))
    fig.subplots().plot([0, 1], [1, 0])
    path = save_png(fig, tmp_path / "a" / "b.png", dpi=50)
    assert path == tmp_path / "a" / "b.png"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 100  # 2 inches at 50 dpi
