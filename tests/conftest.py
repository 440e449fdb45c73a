"""Test-session settings and the fixtures shared across test folders."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch

from tests.bundles._common import LESION_DATA_SHAPE, ROOT

# Under pytest-xdist every worker is a process of its own: one intra-op thread each avoids oversubscribing
# the cores (2 workers x 2 threads on 2 cores ran the 3D networks several times slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def load_benchmark() -> Callable[[str], ModuleType]:
    """``load_benchmark("bench_maps")``: the script ``benchmarks/<name>.py`` imported as a module (once).

    The module is registered in ``sys.modules`` under its name while the session lasts (dataclasses of the
    scripts resolve their annotations through it).
    """
    loaded: dict[str, ModuleType] = {}

    def load(name: str) -> ModuleType:
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def lesion_data(tmp_path_factory) -> Path:
    """The tiny lesion bundle's built-in data: metastases preset, 2 training / 2 validation / 3 test cases of
    :data:`~tests.bundles._common.LESION_DATA_SHAPE`, seed 0. Read only: a test that spoils files copies it."""
    from monai_imbalance.apps.bundle import prepare_dataset

    d = tmp_path_factory.mktemp("lesion_data")
    prepare_dataset(d, preset="metastases", num_training=2, num_validation=2, shape=LESION_DATA_SHAPE, seed=0,
                    num_test=3)  # fmt: skip
    return d


@pytest.fixture
def one_thread():
    """One torch thread for the test: several threads on a CPU shared with other jobs are many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
