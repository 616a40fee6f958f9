"""Build (once) and find the Go kstatus poller of ``benchmarks/kstatus-go``.

The harness is compiled with the local Go (PATH, else the toolchain ``statuswatch.cluster`` installs), from
the committed go.mod/go.sum (``-mod=readonly``: the pinned cli-utils tag and nothing newer), and cached
under ``~/.cache/statuswatch/kstatus-go/<hash of the sources>/`` so that later runs skip the build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["SOURCE", "binary", "cache_path", "source_hash"]

SOURCE = Path(__file__).resolve().parents[1] / "kstatus-go"
_FILES = ("go.mod", "go.sum", "main.go")


def source_hash(source: Path = SOURCE) -> str:
    """A short digest of the harness's sources: a change to any of them means a new build."""
    digest = hashlib.sha256()
    for name in _FILES:
        digest.update(name.encode() + b"\0" + (source / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_path(source: Path = SOURCE) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "statuswatch" / "kstatus-go"
    return base / source_hash(source) / "kstatus-poller"


def _go(say: Callable[[str], None]) -> Path:
    found = shutil.which("go")
    if found:
        return Path(found)
    from statuswatch.cluster.gotoolchain import find_go

    return find_go(say)


def binary(say: Callable[[str], None] = print) -> Path:
    """The built harness, building it first when this version of the sources has not been built."""
    target = cache_path()
    if target.is_file():
        return target
    go = _go(say)
    target.parent.mkdir(parents=True, exist_ok=True)
    say(f"building the Go kstatus poller ({SOURCE}) into {target} (first run only; a few minutes)")
    from statuswatch.cluster.build import go_env

    env = go_env()
    partial = target.with_suffix(".partial")
    result = subprocess.run(
        [str(go), "build", "-o", str(partial), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"building {SOURCE} failed:\n{result.stderr[-4000:]}")
    partial.replace(target)
    return target


if __name__ == "__main__":  # build ahead of a run (``make bench-smoke``) and print where the binary is
    print(binary(lambda text: print(text, file=sys.stderr)))
