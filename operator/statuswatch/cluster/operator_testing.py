"""The real operator as tests and benchmarks run it: a ``statuswatch run`` process, and kubectl helpers.

The operator is started as the product ships it (the command, in a subprocess) with whatever kubeconfig the
caller gives, typically a ServiceAccount bound to the ClusterRole in ``config/rbac/role.yaml``, never
cluster-admin. Its metrics endpoint is how callers look inside (open streams, status writes); everything else
is read from the API server with kubectl, as users and GitOps tools read it. Like the rest of
``statuswatch.cluster`` it imports nothing from the runtime layers.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from statuswatch.cluster.operator_process import launch_operator, stop_operator
from statuswatch.cluster.process import free_port
from statuswatch.cluster.testing import E2ECluster, wait_for

__all__ = [
    "KubectlNamespace",
    "OperatorProcess",
    "deployment_manifest",
    "metric_sum",
    "operator_metrics",
    "operator_rules",
    "running_operator",
    "statuswatch_manifest",
]

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def statuswatch_manifest(name: str, identifiers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A StatusWatch (namespace left to the caller) polling every 2 s unless ``spec`` says otherwise."""
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"identifiers": identifiers, "pollInterval": "2s", **spec},
    }


def deployment_manifest(
    name: str, *, replicas: int = 1, schedulable: bool = True, progress_deadline: int | None = None
) -> dict[str, Any]:
    """A Deployment of ``replicas`` pods (KWOK runs them); unschedulable ones select a node nobody has."""
    pod: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if not schedulable:
        pod["nodeSelector"] = {"no-such-node": "x"}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
    }
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def operator_rules(role_file: Path) -> list[dict[str, Any]]:
    """The rules of a (Cluster)Role manifest, e.g. the operator's shipped ``config/rbac/role.yaml``."""
    role = yaml.safe_load(role_file.read_text())
    rules: list[dict[str, Any]] = role["rules"]
    return rules


class OperatorProcess:
    """One ``statuswatch run`` process; ``start()``/``stop()`` may be called repeatedly (restarts).

    It serves ``namespace`` (``-n``), or every namespace with ``all_namespaces=True``. ``module`` runs another
    entry point with the same arguments (``python -m MODULE run ...``); ``env`` adds to the environment.
    """

    module = "statuswatch"
    env: Mapping[str, str] = {}

    def __init__(
        self,
        kubeconfig: Path,
        namespace: str,
        log_dir: Path,
        *extra_args: str,
        all_namespaces: bool = False,
        ready_timeout: float = 60,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.all_namespaces = all_namespaces
        self.log_dir = log_dir
        self.extra_args = extra_args
        self.ready_timeout = ready_timeout
        self.port = free_port()
        self.starts = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"operator-{self.starts}.log"

    def start(self) -> None:
        assert self._process is None, "already running"
        self.starts += 1
        launch = launch_operator(
            self.kubeconfig,
            self.log_file,
            *self.extra_args,
            namespaces=[self.namespace],
            all_namespaces=self.all_namespaces,
            port=self.port,
            program=[sys.executable, "-m", self.module],
            env={**os.environ, **self.env} if self.env else None,
            ready_timeout=self.ready_timeout,
        )
        self._process = launch.process

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and not stop_operator(process):
            raise AssertionError(f"the operator did not stop within 20s of SIGTERM:\n{self.log()}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not running"
        return self._process.pid

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-6000:] if self.log_file.exists() else ""

    def metrics(self) -> dict[str, float]:
        """Every sample of ``/metrics`` as ``{'name{labels}': value}``."""
        return operator_metrics(self.port)

    def metric_sum(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels``."""
        return metric_sum(self.metrics(), name, **labels)


@contextlib.contextmanager
def running_operator(
    kubeconfig: Path, namespace: str, log_dir: Path, *args: str, all_namespaces: bool = False
) -> Iterator[OperatorProcess]:
    """An :class:`OperatorProcess` running for the block, stopped after it; then its log is printed
    (pytest shows it when the test failed)."""
    process = OperatorProcess(kubeconfig, namespace, log_dir, *args, all_namespaces=all_namespaces)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        print(f"--- operator log ({process.log_file}) ---\n{process.log()}")


def operator_metrics(port: int) -> dict[str, float]:
    """Every sample of the ``/metrics`` served on ``port``, as ``{'name{labels}': value}``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def metric_sum(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(f'{label}="{wanted}"' in rest for label, wanted in labels.items()):
            total += value
    return total


class KubectlNamespace:
    """kubectl helpers over one cluster, for one namespace: apply, get, wait for a StatusWatch."""

    def __init__(self, cluster: E2ECluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def apply(self, *documents: Mapping[str, Any]) -> None:
        self.cluster.kubectl("apply", "-n", self.namespace, "-f", "-", input=yaml.safe_dump_all(documents))

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        done = self.cluster.kubectl(
            "get", kind, name, "-n", self.namespace, "-o", "json", "--ignore-not-found", check=False
        )
        if done.returncode != 0 or not done.stdout.strip():
            return None
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def watch_object(self, name: str) -> dict[str, Any]:
        found = self.get("statuswatch", name)
        assert found is not None, f"statuswatch/{name} does not exist"
        return found

    def condition(self, name: str, kind: str) -> dict[str, Any] | None:
        found = self.get("statuswatch", name) or {}
        for condition in (found.get("status") or {}).get("conditions") or []:
            if condition.get("type") == kind:
                result: dict[str, Any] = condition
                return result
        return None

    def wait_status(
        self, name: str, check: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60
    ) -> dict[str, Any]:
        """Until ``check(statuswatch)`` holds; returns the object that satisfied it."""
        seen: dict[str, Any] = {}

        def satisfied() -> bool:
            seen.clear()
            seen.update(self.get("statuswatch", name) or {})
            return bool(seen) and check(seen)

        try:
            wait_for(satisfied, timeout, f"statuswatch/{name}: {what}", interval=0.2)
        except AssertionError as error:
            raise AssertionError(
                f"{error}\nlast seen status: {json.dumps(seen.get('status'), indent=1)}"
            ) from None
        return dict(seen)

    def wait_condition(self, name: str, kind: str, status: str, timeout: float = 60) -> None:
        """``kubectl wait --for=condition=KIND=STATUS``, as scripts do it."""
        self.cluster.kubectl(
            "wait",
            f"--for=condition={kind}={status}",
            f"statuswatch/{name}",
            "-n",
            self.namespace,
            f"--timeout={timeout:g}s",
            timeout=timeout + 30,
        )

    def events_for(self, name: str) -> list[dict[str, Any]]:
        done = self.cluster.kubectl(
            "get",
            "events",
            "-n",
            self.namespace,
            "--field-selector",
            f"involvedObject.kind=StatusWatch,involvedObject.name={name}",
            "-o",
            "json",
        )
        items: list[dict[str, Any]] = json.loads(done.stdout).get("items") or []
        return items
