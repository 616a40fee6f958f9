"""The wrapper Go modules: derive Kubernetes' staging replaces from the proxy, check and regenerate them.

The list of staging modules changes between Kubernetes releases (1.36 added ``cri-streaming`` and
``streaming``), and one missing entry brings back "unknown revision v0.0.0". So the list is never typed
by hand: it is read from the go.mod of ``k8s.io/kubernetes`` as the module proxy serves it (every line
``k8s.io/<name> => ./staging/src/k8s.io/<name>``), and each build checks the committed wrapper against it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.pins import ETCD_VERSION, GOMOD_DIR, K8S_VERSION, KWOK_VERSION, staging_version

__all__ = ["KubernetesModule", "check_k8s_replaces", "committed_replaces", "kubernetes_module", "regenerate"]

_STAGING_LINE = re.compile(r"^\s*(?:replace\s+)?(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", re.MULTILINE)
_REPLACE_LINE = re.compile(
    r"^\s*(?:replace\s+)?(k8s\.io/[\w.-]+)\s+=>\s+(k8s\.io/[\w.-]+)\s+(\S+)", re.MULTILINE
)

_TOOLS_GO = """//go:build tools

// Package tools pins {what} that statuswatch builds for its local control plane.
package tools

import (
{imports})
"""


@dataclass(frozen=True)
class KubernetesModule:
    staging: tuple[str, ...]  # module paths replaced by ./staging/ in k8s.io/kubernetes' own go.mod
    time: str  # the release's commit time, from the proxy's .info (used as the binaries' buildDate)


def _go_json(go: Path, args: list[str], cwd: Path, env: Mapping[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [str(go), *args], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ClusterError(f"`go {' '.join(args)}` failed:\n{result.stderr.strip()}")
    data = json.loads(result.stdout)
    if not isinstance(data, dict) or data.get("Error"):
        raise ClusterError(f"`go {' '.join(args)}`: {data.get('Error') if isinstance(data, dict) else data}")
    return data


def kubernetes_module(go: Path, cwd: Path, env: Mapping[str, str]) -> KubernetesModule:
    """Ask the module proxy (or the module cache) for k8s.io/kubernetes' go.mod and release time."""
    data = _go_json(go, ["mod", "download", "-json", f"k8s.io/kubernetes@{K8S_VERSION}"], cwd, env)
    staging = tuple(sorted(set(_STAGING_LINE.findall(Path(data["GoMod"]).read_text()))))
    if not staging:
        raise ClusterError(f"no './staging/' replaces found in {data['GoMod']}")
    info = json.loads(Path(data["Info"]).read_text())
    return KubernetesModule(staging=staging, time=str(info["Time"]))


def committed_replaces(go_mod: Path) -> dict[str, str]:
    """``{module: version}`` for the k8s.io replace lines of a wrapper go.mod."""
    return {
        left: version for left, right, version in _REPLACE_LINE.findall(go_mod.read_text()) if left == right
    }


def check_k8s_replaces(go: Path, module_dir: Path, env: Mapping[str, str]) -> KubernetesModule:
    """Fail unless the wrapper replaces exactly the proxy's staging modules, each with v0.N.P."""
    upstream = kubernetes_module(go, module_dir, env)
    wanted = {name: staging_version() for name in upstream.staging}
    have = committed_replaces(module_dir / "go.mod")
    if have != wanted:
        missing = sorted(set(wanted) - set(have))
        extra = sorted(set(have) - set(wanted))
        wrong = sorted(name for name in set(have) & set(wanted) if have[name] != wanted[name])
        raise ClusterError(
            f"gomod/k8s/go.mod does not match k8s.io/kubernetes@{K8S_VERSION}'s staging modules "
            f"(missing {missing}, extra {extra}, wrong version {wrong}); "
            "run `statuswatch cluster gomod` in a source checkout to regenerate it"
        )
    return upstream


def _run(go: Path, args: list[str], cwd: Path, env: Mapping[str, str], say: Callable[[str], None]) -> None:
    say(f"    go {' '.join(args)}")
    result = subprocess.run([str(go), *args], cwd=cwd, env=dict(env), check=False)
    if result.returncode != 0:
        raise ClusterError(f"`go {' '.join(args)}` failed in {cwd}")


def _write_module(directory: Path, name: str, what: str, packages: list[str], header: str = "") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text(f"module statuswatch.local/controlplane/{name}\n\ngo 1.26.0\n{header}")
    (directory / "go.sum").write_text("")
    imports = "".join(f'\t_ "{package}"\n' for package in packages)
    (directory / "tools.go").write_text(_TOOLS_GO.format(what=what, imports=imports))


def regenerate(go: Path, env: Mapping[str, str], say: Callable[[str], None] = print) -> None:
    """Rewrite the three wrapper modules in the source tree from the pins (needs the module proxy).

    Run after changing a version in ``pins.py``; commit the resulting go.mod/go.sum files.
    """
    env = {**env, "GOFLAGS": "-mod=mod"}
    k8s_dir = GOMOD_DIR / "k8s"
    commands = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
    _write_module(
        k8s_dir,
        "k8s",
        "the Kubernetes commands",
        [f"k8s.io/kubernetes/cmd/{command}" for command in commands],
        # Kubernetes pins its runtime GODEBUG defaults; only the main module's line counts.
        header="\ngodebug default=go1.26\n",
    )
    upstream = kubernetes_module(go, k8s_dir, env)
    say(f"k8s.io/kubernetes@{K8S_VERSION}: {len(upstream.staging)} staging modules")
    for name in upstream.staging:
        _run(go, ["mod", "edit", f"-replace={name}={name}@{staging_version()}"], k8s_dir, env, say)
    _run(go, ["mod", "edit", f"-require=k8s.io/kubernetes@{K8S_VERSION}"], k8s_dir, env, say)
    _run(go, ["mod", "tidy"], k8s_dir, env, say)

    _write_module(GOMOD_DIR / "etcd", "etcd", "the etcd server", ["go.etcd.io/etcd/server/v3"])
    _run(
        go,
        ["mod", "edit", f"-require=go.etcd.io/etcd/server/v3@{ETCD_VERSION}"],
        GOMOD_DIR / "etcd",
        env,
        say,
    )
    _run(go, ["mod", "tidy"], GOMOD_DIR / "etcd", env, say)

    _write_module(GOMOD_DIR / "kwok", "kwok", "KWOK, the fake kubelet,", ["sigs.k8s.io/kwok/cmd/kwok"])
    _run(go, ["mod", "edit", f"-require=sigs.k8s.io/kwok@{KWOK_VERSION}"], GOMOD_DIR / "kwok", env, say)
    _run(go, ["mod", "tidy"], GOMOD_DIR / "kwok", env, say)
