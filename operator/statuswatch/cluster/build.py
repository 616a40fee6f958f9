"""``statuswatch cluster build``: compile the pinned control-plane binaries from Go modules, once.

Kubernetes cannot be ``go install``-ed (its go.mod requires its staging modules at v0.0.0 and replaces them
with local paths), so it is built from a small wrapper module kept in ``gomod/k8s`` that replaces every
staging module with its v0.N.P release. etcd and KWOK get wrapper modules of their own so that minimal
version selection cannot move the API server's pinned dependencies. The result is cached per version set;
a stamp (versions plus a hash of the wrapper modules) lets a warm ``build`` return in well under a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from statuswatch.cluster import wrappers
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.gotoolchain import find_go, go_version
from statuswatch.cluster.pins import (
    BINARIES,
    CONTAINERD_VERSION,
    ETCD_VERSION,
    GOMOD_DIR,
    K8S_VERSION,
    KWOK_VERSION,
    NODE_BINARIES,
    bin_dir,
    install_dir,
    node_bin_dir,
    node_install_dir,
    stages_file,
)

__all__ = ["Say", "build", "build_node", "go_env", "is_built", "node_is_built", "source_hash"]

# The wrapper modules of each cached set: the control plane's cache key must not move when the node's do.
_CONTROL_PLANE_MODULES = ("etcd", "k8s", "kwok")
_NODE_MODULES = ("kubelet", "containerd", "pause")

Say = Callable[[str], None]

# Stage files shipped in the kwok module zip, relative to its kustomize/stage directory.
_STAGE_FILES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)


@dataclass(frozen=True)
class _Target:
    module: str  # directory under gomod/
    packages: tuple[str, ...]
    outputs: tuple[str, ...]
    ldflags: str
    tags: str = ""


def _k8s_ldflags(build_date: str) -> str:
    major, minor = K8S_VERSION.removeprefix("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={K8S_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
            f"-X {package}.buildDate={build_date}",
        ]
    return " ".join(flags)


def _targets(build_date: str) -> list[_Target]:
    k8s_commands = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
    return [
        _Target("etcd", ("go.etcd.io/etcd/server/v3",), ("etcd",), "-s -w"),
        # All four in one `go build` so they share one compilation of their common packages.
        _Target(
            "k8s",
            tuple(f"k8s.io/kubernetes/cmd/{name}" for name in k8s_commands),
            k8s_commands,
            _k8s_ldflags(build_date),
            tags="selinux,notest",
        ),
        _Target(
            "kwok",
            ("sigs.k8s.io/kwok/cmd/kwok",),
            ("kwok",),
            f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}",
        ),
    ]


def _node_targets(build_date: str) -> list[_Target]:
    containerd = "github.com/containerd/containerd/v2"
    commands = ("containerd", "containerd-shim-runc-v2", "ctr")
    return [
        # From a wrapper with the control plane's pins and replaces (its own directory and go.sum only so
        # that the control plane's cache key stays put); GOCACHE shares the common packages' compilation.
        _Target(
            "kubelet",
            ("k8s.io/kubernetes/cmd/kubelet",),
            ("kubelet",),
            _k8s_ldflags(build_date),
            tags="selinux,notest",
        ),
        # CGO off: containerd's btrfs snapshotter (the only cgo part) drops out; the shim is static anyway.
        _Target(
            "containerd",
            tuple(f"{containerd}/cmd/{name}" for name in commands),
            commands,
            f"-s -w -X {containerd}/version.Version={CONTAINERD_VERSION}"
            f" -X {containerd}/version.Revision=statuswatch",
            tags="no_btrfs,no_devmapper,no_zfs",
        ),
        _Target("pause", (".",), ("pause",), "-s -w"),
    ]


def go_env() -> dict[str, str]:
    """The environment of every go command: local toolchain only, static binaries, the committed go.sum."""
    return {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=readonly -trimpath -buildvcs=false",
        "GOWORK": "off",
    }


def source_hash(modules: tuple[str, ...] = _CONTROL_PLANE_MODULES) -> str:
    """Hash of the wrapper modules: a changed go.mod/go.sum must invalidate the cached binaries."""
    digest = hashlib.sha256()
    for path in sorted(GOMOD_DIR.glob("*/*")):
        if path.parent.name in modules and path.suffix in {".mod", ".sum", ".go"}:
            digest.update(str(path.relative_to(GOMOD_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _wanted_stamp() -> dict[str, str]:
    return {
        "kubernetes": K8S_VERSION,
        "etcd": ETCD_VERSION,
        "kwok": KWOK_VERSION,
        "gomod": source_hash(),
    }


def _wanted_node_stamp() -> dict[str, str]:
    return {
        "kubernetes": K8S_VERSION,
        "containerd": CONTAINERD_VERSION,
        "gomod": source_hash(_NODE_MODULES),
    }


def _stamp_matches(stamp: Path, wanted: dict[str, str]) -> bool:
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded == wanted


def node_is_built() -> bool:
    """True when the real node's binaries exist and their stamp matches the pins and wrapper modules."""
    if any(not (node_bin_dir() / name).is_file() for name in NODE_BINARIES):
        return False
    return _stamp_matches(node_install_dir() / "stamp.json", _wanted_node_stamp())


def is_built() -> bool:
    """True when every binary and the stages exist and the stamp matches the pins and wrapper modules."""
    stamp = install_dir() / "stamp.json"
    if not stamp.is_file() or not stages_file().is_file():
        return False
    if any(not (bin_dir() / name).is_file() for name in BINARIES):
        return False
    try:
        recorded = json.loads(stamp.read_text())
    except ValueError:
        return False
    return isinstance(recorded, dict) and recorded == _wanted_stamp()


class _Progress:
    """Prints which step runs and for how long; go's own output goes to the log file only."""

    def __init__(self, say: Say) -> None:
        self._say = say
        self._tty = sys.stderr.isatty()
        self._step = ""
        self._started = 0.0
        self._total = time.monotonic()
        self.compiled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, text: str) -> None:
        self._end_line()
        self._step = text
        self._started = time.monotonic()
        self.compiled = 0
        self._say(f"==> {text}")

    def _line(self) -> str:
        elapsed = time.monotonic() - self._started
        total = time.monotonic() - self._total
        packages = f", {self.compiled} packages compiled" if self.compiled else ""
        return f"    {self._step}: {elapsed:4.0f}s{packages} (total {total / 60:.1f} min)"

    def _tick(self) -> None:
        last_plain = time.monotonic()
        while not self._stop.wait(2.0):
            if self._tty:
                sys.stderr.write("\r" + self._line() + "\033[K")
                sys.stderr.flush()
            elif time.monotonic() - last_plain >= 60:
                last_plain = time.monotonic()
                self._say(self._line())

    def __enter__(self) -> _Progress:
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def _end_line(self) -> None:
        if not self._step:
            return
        if self._tty:
            sys.stderr.write("\r" + self._line() + "\033[K\n")
            sys.stderr.flush()
        else:
            self._say(self._line())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._end_line()
        self._step = ""


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _run_go(
    go: Path,
    args: list[str],
    cwd: Path,
    log: IO[str],
    log_path: Path,
    progress: _Progress | None = None,
) -> str:
    """Run go, copying its output to the log (and counting compiled packages); returns stdout."""
    log.write(f"\n$ (cd {cwd} && go {' '.join(args)})\n")
    log.flush()
    process = subprocess.Popen(
        [str(go), *args],
        cwd=cwd,
        env=go_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    for line in process.stdout:
        log.write(line)
        output.append(line)
        if progress is not None and not line.startswith(("go: ", "#")):
            progress.compiled += 1
    log.flush()
    if process.wait() != 0:
        raise ClusterError(f"`go {' '.join(args[:2])}` failed in {cwd} (log: {log_path}):\n{_tail(log_path)}")
    return "".join(output)


def _prepare_sources(work: Path, modules: tuple[str, ...]) -> None:
    """Copy the wrapper modules out of the (possibly read-only, installed) package into the cache."""
    for module in modules:
        target = work / module
        target.mkdir(parents=True, exist_ok=True)
        for path in (GOMOD_DIR / module).iterdir():
            if path.suffix in {".mod", ".sum", ".go"}:
                shutil.copyfile(path, target / path.name)


def _verify_binaries(binaries: Path) -> None:
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        out = subprocess.run(
            [str(binaries / name), "--version"], capture_output=True, text=True, check=False
        ).stdout
        if K8S_VERSION not in out:
            raise ClusterError(f"{name} reports {out.strip()!r}, expected {K8S_VERSION}")
    out = subprocess.run(
        [str(binaries / "etcd"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    if ETCD_VERSION.removeprefix("v") not in out:
        raise ClusterError(f"etcd reports {out.strip()!r}, expected {ETCD_VERSION}")


@contextlib.contextmanager
def _exclusive(root: Path, say: Say) -> Iterator[None]:
    """One build per cache directory at a time: a second one waits (it then finds the binaries built)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"another build of {root} is running; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _compile(
    go: Path,
    targets: list[_Target],
    work: Path,
    staging_bin: Path,
    log: IO[str],
    log_path: Path,
    progress: _Progress,
) -> None:
    for target in targets:
        cwd = work / target.module
        progress.step(f"downloading modules for {target.module} (verified against go.sum)")
        _run_go(go, ["mod", "download", "-x"], cwd, log, log_path)
        _run_go(go, ["mod", "verify"], cwd, log, log_path)
        progress.step(f"compiling {', '.join(target.outputs)}")
        # A directory output names binaries after their package (etcd's would be "server").
        output = staging_bin / target.outputs[0] if len(target.outputs) == 1 else str(staging_bin) + "/"
        args = ["build", "-p", "2", "-v", "-ldflags", target.ldflags, "-o", str(output)]
        if target.tags:
            args += ["-tags", target.tags]
        _run_go(go, [*args, *target.packages], cwd, log, log_path, progress)


def _install(staging_bin: Path, final: Path) -> None:
    final.mkdir(exist_ok=True)
    for binary in staging_bin.iterdir():
        # Rename over the old file: safe even while a running cluster executes it.
        os.replace(binary, final / binary.name)
    staging_bin.rmdir()


def build_node(*, force: bool = False, say: Say = print) -> Path:
    """Build (or reuse) the real node's kubelet, containerd, shim, ctr and pause; returns their directory."""
    with _exclusive(node_install_dir(), say):
        return _build_node(force, say)


def _build_node(force: bool, say: Say) -> Path:
    if not force and node_is_built():
        say(f"real node: kubelet {K8S_VERSION} / containerd {CONTAINERD_VERSION}: up to date")
        say(f"binaries: {node_bin_dir()}")
        return node_bin_dir()
    root = node_install_dir()
    (root / "stamp.json").unlink(missing_ok=True)
    log_path = root / "build.log"
    work = root / "src"
    staging_bin = root / "bin.new"
    shutil.rmtree(staging_bin, ignore_errors=True)
    staging_bin.mkdir()
    say(f"building the real node's binaries into {root}")
    say(f"go output goes to {log_path}")
    with log_path.open("a") as log, _Progress(say) as progress:
        log.write(f"\n===== build started {time.strftime('%Y-%m-%dT%H:%M:%S%z')} =====\n")
        progress.step("locating a Go toolchain")
        go = find_go(say)
        _prepare_sources(work, _NODE_MODULES)
        progress.step(f"checking the kubelet's staging replaces against k8s.io/kubernetes@{K8S_VERSION}")
        info = wrappers.check_k8s_replaces(go, work / "kubelet", go_env())
        _compile(go, _node_targets(info.time), work, staging_bin, log, log_path, progress)
    for name, expected in (("kubelet", K8S_VERSION), ("containerd", CONTAINERD_VERSION)):
        out = subprocess.run(
            [str(staging_bin / name), "--version"], capture_output=True, text=True, check=False
        ).stdout
        if expected not in out:
            raise ClusterError(f"{name} reports {out.strip()!r}, expected {expected}")
    _install(staging_bin, node_bin_dir())
    (root / "stamp.json").write_text(json.dumps(_wanted_node_stamp(), indent=2) + "\n")
    say(f"done: {', '.join(NODE_BINARIES)} in {node_bin_dir()}")
    return node_bin_dir()


def build(*, force: bool = False, say: Say = print) -> Path:
    """Build (or reuse) the pinned binaries; returns the directory that holds them."""
    with _exclusive(install_dir(), say):
        return _build(force, say)


def _build(force: bool, say: Say) -> Path:
    if not force and is_built():
        say(f"control plane {K8S_VERSION} / etcd {ETCD_VERSION} / kwok {KWOK_VERSION}: up to date")
        say(f"binaries: {bin_dir()}")
        return bin_dir()

    root = install_dir()
    (root / "stamp.json").unlink(missing_ok=True)
    log_path = root / "build.log"
    work = root / "src"
    staging_bin = root / "bin.new"
    shutil.rmtree(staging_bin, ignore_errors=True)
    staging_bin.mkdir()
    say(f"building the local control plane into {root}")
    say(f"go output goes to {log_path}")

    with log_path.open("a") as log, _Progress(say) as progress:
        log.write(f"\n===== build started {time.strftime('%Y-%m-%dT%H:%M:%S%z')} =====\n")
        progress.step("locating a Go toolchain")
        go = find_go(say)
        major, minor = go_version(go)
        say(f"    using {go} (go{major}.{minor})")

        _prepare_sources(work, _CONTROL_PLANE_MODULES)
        progress.step(f"checking the staging replaces against k8s.io/kubernetes@{K8S_VERSION}")
        info = wrappers.check_k8s_replaces(go, work / "k8s", go_env())
        _compile(go, _targets(info.time), work, staging_bin, log, log_path, progress)

        progress.step("copying the KWOK stages from the kwok module")
        listing: dict[str, Any] = json.loads(
            _run_go(go, ["list", "-m", "-json", "sigs.k8s.io/kwok"], work / "kwok", log, log_path)
        )
        stage_root = Path(listing["Dir"]) / "kustomize" / "stage"
        documents = [(stage_root / name).read_text().strip() for name in _STAGE_FILES]
        stages_file().write_text("\n---\n".join(documents) + "\n")

    _verify_binaries(staging_bin)
    final = bin_dir()
    _install(staging_bin, final)
    (root / "stamp.json").write_text(json.dumps(_wanted_stamp(), indent=2) + "\n")
    say(f"done: {', '.join(BINARIES)} in {final}")
    return final
