"""The release: wheel and sdist build offline and pass twine check; the installed wheel runs a bundle elsewhere.

One wheel is built per session from a copy of the checkout (the checkout itself gets no build/ or egg-info), in a
fresh folder and without build isolation (no network: setuptools, build and twine come from the test extra).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

import monai_imbalance
from monai_imbalance.apps.bundle import export

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = "monai_imbalance/apps/packaged"
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md",
           "CITATION.cff", "monai_imbalance", "bundles", "configs")  # fmt: skip
# the lesion bundle's tiny run (tests/bundles/test_lesion_bundle.py): 2 + 2 cases of 24 x 24 x 16, one epoch
TINY = {"num_training_cases": 2, "num_validation_cases": 2, "num_test_cases": 1, "data_shape": [24, 24, 16],
        "patch_size": [16, 16, 16], "num_samples": 2, "num_epochs": 1, "val_interval": 1,
        "val_sw_batch_size": 4}  # fmt: skip


def _tracked(*folders: str) -> list[str] | None:
    """The files git tracks under ``folders`` (``None`` outside a git checkout)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(["git", "ls-files", "-z", *folders], cwd=ROOT, capture_output=True, text=True, check=False)
    return [p for p in done.stdout.split("\0") if p] if done.returncode == 0 else None


@pytest.fixture(scope="session")
def dist(tmp_path_factory):
    """``python -m build --no-isolation`` of a copy of the checkout: ``{"wheel": Path, "sdist": Path}``."""
    pytest.importorskip("build", reason="the release tests need the test extra (build)")
    src = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1, sorted(p.name for p in out.iterdir())
    assert len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


def test_build_hook_and_export_leave_out_the_same_files():
    """setup.py (which cannot import the package at build time) keeps the export module's lists."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    values = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = node.value
    run_outputs = ast.literal_eval(values["RUN_OUTPUTS"].args[0])
    skipped = tuple(ast.literal_eval(a) for a in values["_SKIP"].args)
    assert run_outputs == set(export.RUN_OUTPUTS)
    assert skipped == export.SKIPPED_FILES


def test_distributions_carry_the_version_and_pass_twine_check(dist):
    pytest.importorskip("twine", reason="the release tests need the test extra (twine)")
    version = monai_imbalance.__version__
    assert dist["wheel"].name == f"monai_imbalance-{version}-py3-none-any.whl"
    assert dist["sdist"].name == f"monai_imbalance-{version}.tar.gz"
    done = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(dist["wheel"]), str(dist["sdist"])],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2


def test_wheel_ships_the_bundles_and_configs(dist):
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    packaged = {n[len(PACKAGED) + 1 :] for n in names if n.startswith(PACKAGED + "/")}
    for bundle in export.bundle_names():
        for part in ("configs/train.yaml", "configs/inference.yaml", "configs/metadata.json", "configs/logging.conf"):
            assert f"bundles/{bundle}/{part}" in packaged
    assert "configs/experiments/paper2_multiclass.yaml" in packaged
    tracked = _tracked("bundles", "configs")
    if tracked is not None:  # every file git tracks there (a dev tree may hold new, untracked ones too)
        assert set(tracked) <= packaged, sorted(set(tracked) - packaged)
    assert not any(Path(p).parts[2] in export.RUN_OUTPUTS for p in packaged if p.startswith("bundles/"))
    assert not any(p.endswith((".pt", ".ts", ".nii.gz", ".pyc")) for p in packaged)
    assert "monai_imbalance/apps/bundle/meta_schema.json" in names
    assert "monai_imbalance/py.typed" in names


def test_sdist_holds_what_the_wheel_is_built_from(dist):
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "LICENSE", "CHANGELOG.md", "CITATION.cff"):
        assert name in names
    assert "bundles/lesion_inverse_weighting/configs/train.yaml" in names
    assert "bundles/lesion_inverse_weighting/configs/losses/iw_bce.yaml" in names


def test_installed_wheel_exports_and_trains_the_lesion_bundle_outside_the_checkout(dist, tmp_path):
    """pip install --target, then one process: export the bundle, train it one tiny epoch, find model.pt."""
    site, work = tmp_path / "site", tmp_path / "work"
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "--quiet",
           "--disable-pip-version-check", "--target", str(site), str(dist["wheel"])]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    work.mkdir()
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path

        import monai_imbalance
        from monai_imbalance.apps import resources
        from monai_imbalance.apps.bundle.__main__ import main

        assert main(["export", "lesion_inverse_weighting", "bundle"]) == 0
        from monai.bundle import run

        root = Path("bundle").resolve()
        run(bundle_root=str(root), config_file=str(root / "configs" / "train.yaml"),
            meta_file=str(root / "configs" / "metadata.json"), logging_file=str(root / "configs" / "logging.conf"),
            **json.loads({json.dumps(json.dumps(TINY))}))
        print("RESULT", json.dumps({{"package": monai_imbalance.__file__, "root": str(resources.resource_root()),
                                    "checkout": str(resources.CHECKOUT_ROOT),
                                    "models": sorted(str(p) for p in root.rglob("model.pt"))}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(site), "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True,
                          timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    result = json.loads(done.stdout.rsplit("RESULT ", 1)[1])
    assert Path(result["package"]).resolve().is_relative_to(site.resolve())  # the wheel's copy, not the checkout
    assert result["checkout"] == "None"
    assert Path(result["root"]).resolve() == (site / PACKAGED).resolve()
    assert len(result["models"]) == 1
    assert Path(result["models"][0]).stat().st_size > 0
    assert (work / "bundle" / "configs" / "train.yaml").is_file()
    meta = json.loads((work / "bundle" / "configs" / "metadata.json").read_text())
    assert meta["version"]


def test_large_files_yml_as_documented_fetches_and_checks_the_model(tmp_path):
    """docs/release.md's large_files.yml: download_large_files fetches model.pt into the bundle, hash checked."""
    import hashlib

    import yaml
    from monai.apps.utils import HashCheckError
    from monai.bundle import download_large_files

    served = tmp_path / "server" / "model.pt"
    served.parent.mkdir()
    served.write_bytes(os.urandom(4096))
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    bundle = export.export_bundle("lesion_inverse_weighting", tmp_path / "bundle")
    entry = {"path": "models/model.pt", "url": served.as_uri(), "hash_val": "0" * 64, "hash_type": "sha256"}
    (bundle / "large_files.yml").write_text(yaml.safe_dump({"large_files": [entry]}))
    with pytest.raises(HashCheckError, match="sha256 hash check of downloaded file failed"):
        download_large_files(bundle_path=str(bundle))
    assert not (bundle / "models" / "model.pt").exists()  # a bad download is never written
    entry["hash_val"] = digest
    (bundle / "large_files.yml").write_text(yaml.safe_dump({"large_files": [entry]}))
    download_large_files(bundle_path=str(bundle))
    assert (bundle / "models" / "model.pt").read_bytes() == served.read_bytes()
