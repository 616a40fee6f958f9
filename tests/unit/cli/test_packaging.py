"""The wheel carries the manifests (CRD, RBAC, samples), and ``statuswatch demo`` finds them when installed.

The manifests live once, in ``config/`` (kustomize layout); ``operator/statuswatch/manifests`` is a link to
it. This builds a real wheel from a copy of the sources (so the working tree gets no build output),
installs it into a scratch directory and asks the installed package for its samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "operator", source / "operator", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "config", source / "config", symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("statuswatch-*.whl")
    return built


def test_manifests_are_a_link_to_config() -> None:
    link = ROOT / "operator" / "statuswatch" / "manifests"

    assert link.is_symlink()
    assert link.resolve() == (ROOT / "config").resolve()


def test_the_wheel_holds_every_manifest(wheel: Path) -> None:
    expected = {
        f"statuswatch/manifests/{path.relative_to(ROOT / 'config').as_posix()}"
        for path in (ROOT / "config").rglob("*")
        if path.suffix in {".yaml", ".json"}
    }
    assert "statuswatch/manifests/crd/statuswatches.statuswatch.io.yaml" in expected
    assert "statuswatch/manifests/samples/demo/60-statuswatch.yaml" in expected
    assert "statuswatch/manifests/monitoring/statuswatch-dashboard.json" in expected
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("statuswatch/manifests/")}

    assert expected
    assert expected <= shipped


def test_an_installed_wheel_finds_its_samples(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    probe = (
        "import statuswatch, statuswatch.cli.demo as demo\n"
        "with demo.sample_manifests('demo') as path:\n"
        "    print(statuswatch.__file__)\n"
        "    print(sorted(p.name for p in path.iterdir()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    location, names = result.stdout.splitlines()

    assert location.startswith(str(target))
    assert "20-deployment.yaml" in names
