from __future__ import annotations

import numpy as np

from monai_imbalance.apps.demo import main


def test_demo_writes_consistent_maps(tmp_path, capsys):
    assert main(["--output_dir", str(tmp_path), "--shape", "32", "32", "24", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "every component carries" in out
    for name in ("maps.npz", "maps.png", "image.nii.gz", "label.nii.gz", "inverse_weights.nii.gz", "rrw.nii.gz"):
        assert (tmp_path / name).stat().st_size > 0
    with np.load(tmp_path / "maps.npz") as data:
        weights, label, rrw, mc_label = data["inverse_weights"], data["label"], data["rrw"], data["mc_label"]
    assert weights.shape == label.shape
    np.testing.assert_allclose(weights.sum(), label.size, rtol=1e-4)
    assert rrw.shape == (4, *mc_label.shape)
    # the RRW map is negative exactly inside each voxel's own class
    own = np.take_along_axis(rrw, mc_label[None].astype(np.int64), axis=0)[0]
    assert (own <= 0).all()
    np.testing.assert_allclose(rrw.sum(axis=0) - own, 3.0, rtol=1e-6)
