"""Installing and running the operator on the local control plane, the way ``statuswatch demo`` does it.

No container runs on KWOK nodes, so the operator cannot run in a pod here; it runs as a local process instead,
but with exactly what a pod would have: the CRD and the RBAC from ``config/`` (the shipped manifests), and the
token of its own ServiceAccount (``statuswatch-system/statuswatch``), never the admin's credentials. The
process outlives the command that started it; its pid, log and kubeconfig live in the cluster's directory.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.local import LocalCluster
from statuswatch.cluster.operator_process import launch_operator, operator_ready

__all__ = [
    "OPERATOR_NAMESPACE",
    "OPERATOR_SERVICE_ACCOUNT",
    "LocalOperator",
    "install_operator",
    "operator_ready",
]

OPERATOR_NAMESPACE = "statuswatch-system"
OPERATOR_SERVICE_ACCOUNT = "statuswatch"
_TOKEN_SECRET = "statuswatch-token"


def install_operator(local: LocalCluster, manifests: Path, say: Callable[[str], None] = print) -> Path:
    """Apply the CRD and RBAC from ``manifests`` (a ``config/`` directory) and write a kubeconfig that
    authenticates as the operator's ServiceAccount; returns the kubeconfig's path."""
    crd = manifests / "crd" / "statuswatches.statuswatch.io.yaml"
    local.kubectl("apply", "-f", str(crd))
    local.kubectl("wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}}
    local.kubectl("apply", "-f", "-", input=yaml.safe_dump(namespace))
    local.kubectl("apply", "-k", str(manifests / "rbac"))
    say(
        "installed the StatusWatch CRD and the operator's RBAC "
        f"({OPERATOR_NAMESPACE}/{OPERATOR_SERVICE_ACCOUNT})"
    )
    token = _service_account_token(local)
    admin = yaml.safe_load(local.kubeconfig.read_text())
    context = next(c["context"] for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c["cluster"] for c in admin["clusters"] if c["name"] == context["cluster"])
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": OPERATOR_SERVICE_ACCOUNT, "user": {"token": token}}],
        "contexts": [
            {
                "name": "operator",
                "context": {
                    "cluster": "local",
                    "user": OPERATOR_SERVICE_ACCOUNT,
                    "namespace": OPERATOR_NAMESPACE,
                },
            }
        ],
        "current-context": "operator",
    }
    path = local.directory / "operator.kubeconfig"
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
    return path


def _service_account_token(local: LocalCluster, timeout: float = 60) -> str:
    """A long-lived token of the operator's ServiceAccount (a token Secret: it outlives ``create token``)."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": _TOKEN_SECRET,
            "namespace": OPERATOR_NAMESPACE,
            "annotations": {"kubernetes.io/service-account.name": OPERATOR_SERVICE_ACCOUNT},
        },
    }
    local.kubectl("apply", "-f", "-", input=yaml.safe_dump(secret))
    deadline = time.monotonic() + timeout
    while True:
        encoded = local.kubectl(
            "get", "secret", _TOKEN_SECRET, "-n", OPERATOR_NAMESPACE, "-o", "jsonpath={.data.token}"
        ).stdout.strip()
        if encoded:
            return base64.b64decode(encoded).decode()
        if time.monotonic() > deadline:
            raise ClusterError(
                f"the token controller did not fill secret {OPERATOR_NAMESPACE}/{_TOKEN_SECRET}"
            )
        time.sleep(0.3)


@dataclass
class LocalOperator:
    """The operator process of one local cluster directory: ``operator.pid``, ``operator.log``."""

    directory: Path

    @property
    def pid_file(self) -> Path:
        return self.directory / "operator.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "operator.log"

    def pid(self) -> int | None:
        """The running operator's pid, or None."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        with contextlib.suppress(OSError):
            if "statuswatch" not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                return None  # the pid was reused by something else
        return pid

    def metrics_port(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def start(self, kubeconfig: Path, *args: str, timeout: float = 60) -> int:
        """Start ``statuswatch run --all-namespaces`` in the background (stopping a previous one first);
        returns once it is ready. Returns the metrics port."""
        self.stop()
        try:
            launch = launch_operator(
                kubeconfig,
                self.log_file,
                *args,
                all_namespaces=True,
                detach=True,
                append=True,
                ready_timeout=None,
            )
            self.pid_file.write_text(f"{launch.process.pid} {launch.port}\n")
            launch.wait_ready(timeout)
        except ClusterError:
            self.stop()
            raise
        return launch.port

    def stop(self, timeout: float = 20) -> bool:
        """Stop the operator if it runs; True if one was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True
