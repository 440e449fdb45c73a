"""Generated volumes shared by the metric tests: random lesion batches and an over-segmenting "model"."""

from __future__ import annotations

import torch


def lesion_batch(seed: int, n: int = 6, shape: tuple[int, ...] = (20, 20, 12)) -> tuple[torch.Tensor, torch.Tensor]:
    """``(probabilities, labels)`` of ``n`` cases ``(n, 1, *shape)``: blob lesions and a noisy prediction."""
    g = torch.Generator().manual_seed(seed)
    y = (torch.rand((n, 1, *shape), generator=g) > 0.985).float()
    y = torch.nn.functional.max_pool3d(y, 3, 1, 1)
    noise = torch.nn.functional.avg_pool3d(torch.rand((n, 1, *shape), generator=g), 3, 1, 1)
    p = (0.75 * y + 0.6 * noise).clamp(0, 1)
    return p, y


def blob_batch(n: int = 4, shape: tuple[int, ...] = (24, 24, 16)) -> tuple[torch.Tensor, torch.Tensor]:
    """A degenerate model: one blob over each whole volume, over labels with several small lesions."""
    y = torch.zeros((n, 1, *shape))
    for b in range(n):
        for k in range(3 + b):
            x0 = 2 + 5 * k
            y[b, 0, x0 : x0 + 2, 3 + b : 5 + b, 4:6] = 1
    p = torch.full_like(y, 0.9)
    return p, y
