"""Test-session settings shared by every test module."""

from __future__ import annotations

import os

import torch

# Under pytest-xdist every worker is a process of its own: one intra-op thread each avoids oversubscribing
# the cores (2 workers x 2 threads on 2 cores ran the 3D networks several times slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
