from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from monai_imbalance.metrics import permutation_test, segmentation_scores


def _onehot(lab, c):
    return torch.nn.functional.one_hot(torch.as_tensor(lab).long(), c).movedim(-1, 1).float()


def _brute_force_p(a, b):
    d = np.asarray(a) - np.asarray(b)
    t = abs(d.mean())
    stats = [abs((np.array(s) * d).mean()) for s in itertools.product((-1, 1), repeat=d.size)]
    return t, np.mean([s >= t * (1 - 1e-12) for s in stats])


@pytest.mark.parametrize("seed", range(5))
def test_permutation_exact_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 0.9, 9)
    b = a - rng.normal(0.02, 0.05, 9)
    t, p = _brute_force_p(a, b)
    res = permutation_test(a, b)
    assert res.exact
    assert res.n_permutations == 512
    assert res.statistic == pytest.approx(t)
    assert res.pvalue == pytest.approx(p)


def test_permutation_random_close_to_exact_and_seeded():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 0.9, 16)
    b = a - rng.normal(0.03, 0.05, 16)
    _, p = _brute_force_p(a, b)
    r1 = permutation_test(a, b, n_permutations=4000, seed=1)
    assert not r1.exact
    assert abs(r1.pvalue - p) < 0.03
    assert permutation_test(a, b, n_permutations=4000, seed=1).pvalue == r1.pvalue


def test_permutation_identical_methods_p_one():
    assert permutation_test([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]).pvalue == 1.0


def test_permutation_errors():
    with pytest.raises(ValueError, match="same length"):
        permutation_test([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="at least 2"):
        permutation_test([1], [1])
    with pytest.raises(ValueError, match="finite"):
        permutation_test([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="`n_permutations` must be at least 1"):
        permutation_test([1, 2], [1, 2], n_permutations=0)


def _ref_hd(p, y, spacing, q):
    """Hausdorff distance between the foreground point sets (all voxels, so = the surfaces for the max)."""
    pp = np.argwhere(p) * np.asarray(spacing)
    yy = np.argwhere(y) * np.asarray(spacing)
    d = cdist(pp, yy)
    return max(np.percentile(d.min(1), q), np.percentile(d.min(0), q))


def test_segmentation_scores_hand_case_and_reference():
    y = np.zeros((12, 12, 12), int)
    y[3:8, 3:8, 3:8] = 1
    p = np.zeros_like(y)
    p[4:9, 3:8, 3:7] = 1
    s = segmentation_scores(_onehot(p[None], 2), _onehot(y[None], 2), spacing=(1.0, 1.5, 3.0))
    inter = (p & y).sum()
    assert s["dice"].item() == pytest.approx(2 * inter / (p.sum() + y.sum()))
    assert s["hd"].item() == pytest.approx(_ref_hd(p, y, (1.0, 1.5, 3.0), 100))


def test_segmentation_scores_per_case_spacing_and_classes():
    y = torch.zeros(2, 3, 10, 10)
    y[:, 1, 2:5, 2:5] = 1
    y[:, 2, 6:9, 6:9] = 1
    y[:, 0] = 1 - y[:, 1:].sum(1)
    p = torch.roll(y, 1, dims=2)
    s = segmentation_scores(p, y, spacing=[(1.0, 1.0), (2.0, 2.0)])
    assert s["dice"].shape == (2, 2)
    np.testing.assert_allclose(s["hd"].numpy(), [[1.0, 1.0], [2.0, 2.0]])


def test_segmentation_scores_errors():
    with pytest.raises(ValueError, match="same shape"):
        segmentation_scores(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 5))
    with pytest.raises(ValueError, match="`spacing` must have one value per spatial dimension"):
        segmentation_scores(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), spacing=(1, 1, 1))
    with pytest.raises(ValueError, match="one entry per case"):
        segmentation_scores(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), spacing=[(1, 1), (1, 1)])
    with pytest.raises(ValueError, match="`percentile`"):
        segmentation_scores(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), percentile=120)
