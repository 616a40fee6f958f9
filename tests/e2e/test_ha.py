"""Several operator processes on one cluster: kopf peering (one active, fail-over) and sharding by namespace.

Every process is the shipped command (``python -m statuswatch run``) under a ServiceAccount holding the
shipped ClusterRole. Who serves what is read from outside: each process's ``/metrics``
(``statuswatch_serving``, status writes, workers) and the StatusWatch objects themselves.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.operator_process import launch_operator, stop_operator
from statuswatch.cluster.operator_testing import (
    KubectlNamespace,
    metric_sum,
    operator_metrics,
    operator_rules,
)
from statuswatch.cluster.testing import E2ECluster, wait_for
from statuswatch.controller.settings import shard_of

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
PEERING_CRDS = ROOT / "config" / "peering" / "crds.yaml"
OPERATOR_ROLE = ROOT / "config" / "rbac" / "role.yaml"


class Replica:
    """One ``statuswatch run`` process that can be killed without notice (SIGKILL)."""

    def __init__(self, name: str, kubeconfig: Path, log_dir: Path, *args: str) -> None:
        self.name = name
        self.launch = launch_operator(kubeconfig, log_dir / f"{name}.log", *args)
        self.port, self.process, self.log_file = self.launch.port, self.launch.process, self.launch.log_file

    def metric(self, name: str) -> float:
        """The sum of ``name``'s samples."""
        return metric_sum(operator_metrics(self.port), name)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        stop_operator(self.process)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-5000:] if self.log_file.exists() else ""


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    """Started replicas are collected here and stopped (logs printed) at the end."""
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()
        print(f"--- {replica.name} ({replica.log_file}) ---\n{replica.log()}")


@pytest.fixture
def kubeconfig(cluster: E2ECluster, service_account_kubeconfig: Callable[..., Path]) -> Path:
    for manifest in (CRD_FILE, PEERING_CRDS):
        cluster.kubectl("apply", "-f", str(manifest))
    for crd in ("statuswatches.statuswatch.io", "kopfpeerings.kopf.dev", "clusterkopfpeerings.kopf.dev"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    return service_account_kubeconfig(operator_rules(OPERATOR_ROLE), name="statuswatch", cluster_wide=True)


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def statuswatch(name: str, *configmaps: str) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"identifiers": [{"kind": "ConfigMap", "name": c} for c in configmaps], "pollInterval": "2s"},
    }


def resources_of(watch: dict[str, Any]) -> list[str]:
    return sorted(r["name"] for r in (watch.get("status") or {}).get("resources") or [])


def test_standby_takes_over_when_the_active_replica_is_killed(
    cluster: E2ECluster, namespace: str, kubeconfig: Path, replicas: list[Replica], tmp_path: Path
) -> None:
    kube = KubectlNamespace(cluster, namespace)
    kube.apply({"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "statuswatch"}})
    kube.apply(configmap("a"), configmap("b"), configmap("c"), statuswatch("app", "a"))
    common = ["-n", namespace, "--peering", "statuswatch", "--peering-lifetime", "10"]
    active = Replica("active", kubeconfig, tmp_path, *common, "--priority", "2")
    replicas.append(active)
    kube.wait_status("app", lambda w: resources_of(w) == ["a"], "served by the active replica")
    standby = Replica("standby", kubeconfig, tmp_path, *common, "--priority", "1")
    replicas.append(standby)
    # The standby has seen the active replica's keep-alive and stays paused.
    wait_for(lambda: "pausing in favour of" in standby.log(), 30, "the standby's gate to pause")

    # A change while both run: the active replica writes it, the standby writes nothing at all.
    kube.apply(statuswatch("app", "a", "b"))
    kube.wait_status("app", lambda w: resources_of(w) == ["a", "b"], "second identifier served")
    assert (active.metric("statuswatch_serving"), standby.metric("statuswatch_serving")) == (1.0, 0.0)
    assert standby.metric("statuswatch_status_writes_total") == 0
    assert standby.metric("controller_runtime_active_workers") == 0
    assert active.metric("statuswatch_status_writes_total") > 0

    active.kill()
    killed = time.monotonic()
    kube.apply(statuswatch("app", "a", "b", "c"))  # made after the kill: only the standby can serve it
    kube.wait_status("app", lambda w: resources_of(w) == ["a", "b", "c"], "served after fail-over", 90)
    fail_over = time.monotonic() - killed
    assert standby.metric("statuswatch_serving") == 1.0
    assert standby.metric("statuswatch_status_writes_total") > 0
    watch = kube.watch_object("app")
    assert watch["status"]["observedGeneration"] == watch["metadata"]["generation"]
    print(f"MEASURED fail-over (SIGKILL to the change in status, lifetime 10 s): {fail_over:.1f} s")


def shard_namespaces(cluster: E2ECluster, per_shard: int) -> dict[int, list[str]]:
    """New namespaces, ``per_shard`` in each of two shards (names drawn until both are filled)."""
    chosen: dict[int, list[str]] = {0: [], 1: []}
    while min(len(names) for names in chosen.values()) < per_shard:
        name = f"e2e-shard-{uuid.uuid4().hex[:8]}"
        shard = shard_of(name, 2)
        if len(chosen[shard]) < per_shard:
            chosen[shard].append(name)
    for names in chosen.values():
        for name in names:
            cluster.kubectl("create", "namespace", name)
    return chosen


def test_two_shards_serve_every_statuswatch_exactly_once(
    cluster: E2ECluster, kubeconfig: Path, replicas: list[Replica], tmp_path: Path
) -> None:
    shards = shard_namespaces(cluster, 2)
    everything = [ns for names in shards.values() for ns in names]
    try:
        for ns in everything:
            KubectlNamespace(cluster, ns).apply(configmap("cfg"), statuswatch("watch", "cfg"))
        first = Replica("shard-0", kubeconfig, tmp_path, "-A", "--shard", "0/2")
        replicas.append(first)
        for ns in shards[0]:
            KubectlNamespace(cluster, ns).wait_condition("watch", "AllCurrent", "True")
        # shard 0 has listed every StatusWatch (it served its own from that list) and left shard 1's alone.
        for ns in shards[1]:  # only the CRD's default status: nobody wrote to it
            assert KubectlNamespace(cluster, ns).watch_object("watch").get("status") == {
                "observedGeneration": 0
            }
        second = Replica("shard-1", kubeconfig, tmp_path, "-A", "--shard", "1/2")
        replicas.append(second)
        for ns in shards[1]:
            KubectlNamespace(cluster, ns).wait_condition("watch", "AllCurrent", "True")

        # Each process has one worker per StatusWatch of its shard, cluster-wide (other tests' leftovers
        # included): together they serve every StatusWatch, none twice.
        seen: dict[str, list[float]] = {}

        def workers_match_shards() -> bool:
            listed = cluster.kubectl(
                "get", "statuswatches", "-A", "-o", "jsonpath={.items[*].metadata.namespace}"
            ).stdout.split()
            seen["expected"] = [float(sum(1 for ns in listed if shard_of(ns, 2) == i)) for i in (0, 1)]
            seen["workers"] = [r.metric("controller_runtime_active_workers") for r in (first, second)]
            return seen["workers"] == seen["expected"]

        try:
            wait_for(workers_match_shards, 30, "one worker per StatusWatch, in its shard's process")
        except AssertionError as error:
            raise AssertionError(f"{error}: {seen}") from None
        print(
            "MEASURED shards: workers",
            seen["workers"],
            "status writes",
            [r.metric("statuswatch_status_writes_total") for r in (first, second)],
        )
    finally:
        cluster.kubectl("delete", "namespace", *everything, "--wait=false", "--ignore-not-found")
