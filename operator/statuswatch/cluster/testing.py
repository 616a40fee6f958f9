"""One interface over the clusters that end-to-end tests and benchmarks can run against.

Backends: the local control plane (default; KWOK nodes, so no containers really run), kind through
pytest-kind (where Docker works), and an existing cluster from a kubeconfig. Capabilities that only
some backends have (restarting the API server, compacting etcd, real containers) are declared, so a
test can skip with a precise reason instead of failing on the wrong backend. Kept free of pytest so that
benchmarks can use it too; ``tests/e2e/conftest.py`` turns it into fixtures.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from statuswatch.cluster import pins
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.local import NODE_ANNOTATION, LocalCluster
from statuswatch.cluster.process import run_kubectl
from statuswatch.watchlist.config import ClusterConfig

__all__ = [
    "COMPACT_ETCD",
    "REAL_CONTAINERS",
    "RESTART_APISERVER",
    "E2ECluster",
    "ExistingE2ECluster",
    "KindE2ECluster",
    "LocalE2ECluster",
    "Placement",
    "docker_works",
    "existing_kubeconfig",
    "find_kubectl",
    "wait_for",
    "write_token_kubeconfig",
]

RESTART_APISERVER = "restart_apiserver"
COMPACT_ETCD = "compact_etcd"
REAL_CONTAINERS = "real_containers"


def find_kubectl() -> str:
    """The kubectl built with the control plane if there is one, else the one on PATH."""
    built = pins.bin_dir() / "kubectl"
    if built.is_file():
        return str(built)
    on_path = shutil.which("kubectl")
    if on_path is None:
        raise ClusterError("no kubectl: run `statuswatch cluster build` or put kubectl on PATH")
    return on_path


class E2ECluster:
    """What a test gets: where the cluster is, how to talk to it, and what else it can do."""

    backend = "abstract"

    def __init__(self, kubeconfig: Path, kubectl_binary: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl_binary = kubectl_binary or find_kubectl()
        # Read with the project's own kubeconfig rules (merging, relative files, exec plugins).
        self.config = ClusterConfig.from_kubeconfig(kubeconfig)

    @property
    def server(self) -> str:
        return self.config.server

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """kubectl against this cluster: as the admin, or as whoever ``kubeconfig`` names."""
        return run_kubectl(
            self.kubectl_binary,
            kubeconfig or self.kubeconfig,
            args,
            input=input,
            check=check,
            timeout=timeout,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """TLS for plain HTTP clients: trusts the cluster CA, presents the client certificate if any."""
        context = self.config.ssl_context()
        return context if isinstance(context, ssl.SSLContext) else ssl.create_default_context()

    def auth_headers(self) -> dict[str, str]:
        token = self.config.bearer_token()
        return {"Authorization": f"Bearer {token}"} if token else {}

    # -- capabilities ---------------------------------------------------------------------------

    def missing(self, capability: str) -> str | None:
        """None if the backend has ``capability``, else why not (a skip reason)."""
        needs = {
            RESTART_APISERVER: "restarting the API server needs the local control plane",
            COMPACT_ETCD: "compacting etcd needs the local control plane (direct access to etcd)",
            REAL_CONTAINERS: "real containers need a cluster with real nodes",
        }
        return f"{needs.get(capability, capability)}; this session runs on the {self.backend} backend"

    def restart_apiserver(
        self, extra_args: Sequence[str] | None = None, *, restart_controllers: bool = True
    ) -> None:
        """See ``LocalCluster.restart_apiserver``."""
        raise ClusterError(self.missing(RESTART_APISERVER) or "")

    def compact_etcd(self) -> int:
        raise ClusterError(self.missing(COMPACT_ETCD) or "")

    @property
    def etcd_url(self) -> str:
        raise ClusterError(self.missing(COMPACT_ETCD) or "")

    def close(self) -> None:
        """Release the cluster at the end of the session (if this object started it)."""


@dataclass(frozen=True)
class Placement:
    """Where a test's containers really run: the image to use and the pod spec fields that select the node."""

    image: str
    pod_spec: Mapping[str, Any]


class LocalE2ECluster(E2ECluster):
    """The local control plane: API server restarts and etcd compaction work; containers run on its real
    node (``start_real_node``), the KWOK nodes only pretend."""

    backend = "local (KWOK)"

    def __init__(self, directory: Path, *, keep: bool = False) -> None:
        self.local = LocalCluster(directory)
        self._keep = keep or self.local.is_up()  # someone else's running cluster is left running
        self.local.up()
        super().__init__(self.local.kubeconfig, str(self.local.bin_dir / "kubectl"))

    def missing(self, capability: str) -> str | None:
        return None  # real containers: on the real node (``start_real_node``)

    def start_real_node(self, say: Callable[[str], None] | None = None) -> None:
        """Build (if needed) and start the real node; idempotent. Raises ClusterError where it cannot."""
        from statuswatch.cluster.build import build_node, node_is_built

        if not node_is_built():
            build_node(say=say or print)
        self.local.up(real_node=True, say=say or (lambda _: None))

    def restart_apiserver(
        self, extra_args: Sequence[str] | None = None, *, restart_controllers: bool = True
    ) -> None:
        self.local.restart_apiserver(extra_args, restart_controllers=restart_controllers)

    def compact_etcd(self) -> int:
        return self.local.compact_etcd()

    @property
    def etcd_url(self) -> str:
        return self.local.etcd_url

    def close(self) -> None:
        if not self._keep:
            self.local.down()


class KindE2ECluster(E2ECluster):
    """kind via pytest-kind: real containers; no access to the API server process or etcd from here."""

    backend = "kind"

    def __init__(self, name: str = "statuswatch-e2e", *, keep: bool = False) -> None:
        from pytest_kind import KindCluster

        self.kind = KindCluster(name)
        self.kind.create()
        self._keep = keep
        super().__init__(Path(self.kind.kubeconfig_path))

    def missing(self, capability: str) -> str | None:
        return None if capability == REAL_CONTAINERS else super().missing(capability)

    def close(self) -> None:
        if not self._keep:
            self.kind.delete()


class ExistingE2ECluster(E2ECluster):
    """A cluster from a kubeconfig; real containers unless every node is a KWOK fake node."""

    backend = "existing"

    def __init__(self, kubeconfig: Path) -> None:
        super().__init__(kubeconfig)
        self._fake_nodes_only: bool | None = None

    def missing(self, capability: str) -> str | None:
        if capability == REAL_CONTAINERS:
            if self._fake_nodes_only is None:
                nodes = yaml.safe_load(self.kubectl("get", "nodes", "-o", "json").stdout)["items"]
                annotations = [n["metadata"].get("annotations") or {} for n in nodes]
                self._fake_nodes_only = bool(nodes) and all(
                    a.get(NODE_ANNOTATION) == "fake" for a in annotations
                )
            return "every node of the existing cluster is a KWOK fake node" if self._fake_nodes_only else None
        return super().missing(capability)


def docker_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def existing_kubeconfig() -> Path:
    value = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    path = Path(value) if value else Path.home() / ".kube" / "config"
    if not path.is_file():
        raise ClusterError(f"STATUSWATCH_TEST_CLUSTER=existing, but there is no kubeconfig at {path}")
    return path


def write_token_kubeconfig(path: Path, template: E2ECluster, token: str, namespace: str | None) -> Path:
    """A kubeconfig for ``template``'s server and CA that authenticates with a bearer token."""
    source = template.config
    cluster: dict[str, Any] = {"server": source.server}
    if source.ca_data:
        cluster["certificate-authority-data"] = base64.b64encode(source.ca_data).decode()
    if source.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    if source.tls_server_name:
        cluster["tls-server-name"] = source.tls_server_name
    context: dict[str, str] = {"cluster": "e2e", "user": "e2e"}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "e2e", "cluster": cluster}],
        "users": [{"name": "e2e", "user": {"token": token}}],
        "contexts": [{"name": "e2e", "context": context}],
        "current-context": "e2e",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.25) -> None:
    """Poll until ``predicate()`` holds; raise AssertionError naming ``what`` (fails a test) otherwise."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
