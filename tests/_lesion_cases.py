"""Lesion records shared by the report and report-handler tests."""

from __future__ import annotations

import numpy as np

from monai_imbalance.metrics import CaseRecords


def hand_cases():
    """Two hand-built cases: lesions found at 0.9 and 0.6 with one FP at 0.7; one missed lesion."""
    # case a: lesions found at 0.9 and 0.6, one FP at 0.7; case b: one missed lesion
    a = CaseRecords([0.9, 0.6], [0.8, 0.6], [3.0, 9.0], [14.0, 380.0], [0.7], [2.0], [4.0], case_id="a")
    b = CaseRecords([-np.inf], [0.0], [5.0], [65.0], [], case_id="b")
    return [a, b]


def random_cases(n=30, seed=0):
    """``n`` random CaseRecords (0-4 lesions, 0-3 false positives each, a quarter of the lesions missed)."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        k, f = int(rng.integers(0, 5)), int(rng.integers(0, 4))
        conf = np.where(rng.random(k) < 0.75, rng.random(k), -np.inf)
        vol = np.exp(rng.uniform(2, 8, k))
        fvol = np.exp(rng.uniform(1, 6, f))
        cases.append(
            CaseRecords(
                conf,
                np.where(np.isfinite(conf), rng.random(k), 0.0),
                np.cbrt(6 * vol / np.pi),
                vol,
                rng.random(f),
                np.cbrt(6 * fvol / np.pi),
                fvol,
                case_id=f"case_{i}",
            )
        )
    return cases
