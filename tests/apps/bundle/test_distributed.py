"""init_distributed: the process group of a multi-process bundle run is destroyed at exit, also when the run fails."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch.distributed as dist

from monai_imbalance.apps.bundle import init_distributed


def test_an_existing_group_is_kept_and_reported(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        assert init_distributed() == "gloo"  # not re-initialised (that would raise), not destroyed
        assert dist.is_initialized()
    finally:
        dist.destroy_process_group()


def test_bad_backend_is_named():
    with pytest.raises(TypeError, match=r"`backend` must be None or a backend name .* got 3"):
        init_distributed(3)


def test_a_failing_run_exits_with_its_error_and_the_group_destroyed(tmp_path):
    """The group made by init_distributed is gone at exit though the run raised before any finalize step."""
    code = textwrap.dedent(
        """
        import atexit
        import sys
        import torch.distributed as dist
        from monai_imbalance.apps.bundle.distributed import init_distributed
        # registered first, so it runs last: after init_distributed's clean-up
        atexit.register(lambda: print("initialized at exit:", dist.is_initialized(), flush=True))
        init_distributed("gloo", init_method="file://" + sys.argv[1], rank=0, world_size=1)
        print("initialized in the run:", dist.is_initialized(), flush=True)
        raise RuntimeError("cannot read label file x.nii.gz")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "rendezvous")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert "initialized in the run: True" in done.stdout
    assert "initialized at exit: False" in done.stdout
    assert "RuntimeError: cannot read label file x.nii.gz" in done.stderr
