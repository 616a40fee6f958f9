"""The StatusWatch operator end to end: the real ``statuswatch run``, under its own RBAC, on a real cluster.

Each test runs its own operator process (restricted to the test's namespace with ``-n``) with a ServiceAccount
bound to the shipped ClusterRole, and reads results the way users and GitOps tools do: ``kubectl wait``,
``kubectl get``, and this project's kstatus engine applied to the StatusWatch object itself (as Flux, kpt and
Helm 4 read it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.operator_testing import KubectlNamespace as Cluster
from statuswatch.cluster.operator_testing import OperatorProcess, running_operator
from statuswatch.cluster.operator_testing import operator_rules as rules_of
from statuswatch.cluster.testing import E2ECluster, wait_for
from statuswatch.kstatus import Status, compute

pytestmark = pytest.mark.timeout(300)

ServiceAccountKubeconfig = Callable[..., Path]  # the conftest fixture's factory

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
OPERATOR_ROLE = ROOT / "config" / "rbac" / "role.yaml"
CRASHLOOP_LABEL = ("statuswatch.io/simulate", "crashloop")  # the local control plane's KWOK stage


def operator_rules() -> list[dict[str, Any]]:
    return rules_of(OPERATOR_ROLE)


@pytest.fixture(scope="module")
def crd(cluster: E2ECluster) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )


@pytest.fixture
def kube(cluster: E2ECluster, namespace: str) -> Cluster:
    return Cluster(cluster, namespace)


@pytest.fixture
def operator(
    request: pytest.FixtureRequest, crd: None, operator_kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    with running_operator(operator_kubeconfig, namespace, tmp_path) as process:
        yield process


def kstatus_of(watch: dict[str, Any]) -> Status:
    """How Flux, kpt and Helm 4 read a StatusWatch: the kstatus rules applied to the object itself."""
    return Status(compute(watch).status)


def status_of(watch: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = watch.get("status") or {}
    return status


def conditions(watch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status_of(watch).get("conditions") or []}


def condition_is(watch: dict[str, Any], kind: str, value: str, reason: str | None = None) -> bool:
    found = conditions(watch).get(kind)
    return found is not None and found["status"] == value and (reason is None or found["reason"] == reason)


def statuswatch(name: str, identifiers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"identifiers": identifiers, "pollInterval": "2s", **spec},
    }


def deployment(
    name: str,
    *,
    replicas: int = 2,
    labels: Mapping[str, str] | None = None,
    node_selector: Mapping[str, str] | None = None,
    progress_deadline: int | None = None,
    min_ready: int = 2,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if node_selector:
        pod_spec["nodeSelector"] = dict(node_selector)
    spec: dict[str, Any] = {
        "replicas": replicas,
        "minReadySeconds": min_ready,  # KWOK pods are Ready at once; this keeps InProgress observable
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name, **(labels or {})}}, "spec": pod_spec},
    }
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def statefulset(name: str, *, replicas: int = 1, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **(labels or {})}},
                "spec": {"containers": [{"name": "app", "image": "postgres:17"}]},
            },
        },
    }


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    wait_for(predicate, timeout, what, interval=0.2)


# -- the main path ---------------------------------------------------------------------------------------


def test_rollout_reaches_all_current_and_kubectl_wait_sees_it(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    kube.apply(
        statuswatch(
            "app",
            [
                {"group": "apps", "kind": "Deployment", "name": "web"},
                {"kind": "ConfigMap", "name": "settings"},
            ],
        )
    )
    waiting = kube.wait_status(
        "app", lambda w: status_of(w).get("aggregateStatus") == "InProgress", "InProgress before the app"
    )
    assert kstatus_of(waiting) == Status.IN_PROGRESS
    assert condition_is(waiting, "AllCurrent", "False", "ResourcesInProgress")
    assert condition_is(waiting, "Reconciling", "True")
    assert status_of(waiting)["progress"] == "0/2"
    assert "2 of 2 not Current" in conditions(waiting)["AllCurrent"]["message"]

    kube.apply(deployment("web", replicas=3), configmap("settings"))
    kube.wait_condition("app", "AllCurrent", "True")

    done = kube.watch_object("app")
    status = status_of(done)
    assert status["aggregateStatus"] == "Current"
    assert status["progress"] == "2/2"
    assert status["observedGeneration"] == done["metadata"]["generation"]
    assert [(r["kind"], r["name"], r["status"]) for r in status["resources"]] == [
        ("Deployment", "web", "Current"),
        ("ConfigMap", "settings", "Current"),
    ]
    assert status["resources"][0]["message"] == "Deployment is available. Replicas: 3"
    assert status["resources"][0]["namespace"] == namespace
    found = conditions(done)
    assert [found[t]["status"] for t in ("AllCurrent", "Ready", "Reconciling", "Stalled")] == [
        "True",
        "True",
        "False",
        "False",
    ]
    assert all(c["observedGeneration"] == done["metadata"]["generation"] for c in found.values())
    assert kstatus_of(done) == Status.CURRENT
    # No finalizer and no kopf bookkeeping on the object: it can always be deleted, and stays clean.
    assert not done["metadata"].get("finalizers")
    assert not [a for a in done["metadata"].get("annotations") or {} if "kopf" in a]
    reasons = [e["reason"] for e in kube.events_for("app")]
    assert reasons.count("AllCurrent") == 1
    printed = kube.cluster.kubectl("get", "statuswatches", "-n", namespace).stdout
    assert "Current" in printed
    assert "2/2" in printed


def test_deleting_a_listed_object_flips_all_current(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(configmap("a"), configmap("b"))
    kube.apply(statuswatch("pair", [{"kind": "ConfigMap", "name": "a"}, {"kind": "ConfigMap", "name": "b"}]))
    kube.wait_condition("pair", "AllCurrent", "True")
    before = conditions(kube.watch_object("pair"))["AllCurrent"]["lastTransitionTime"]

    kube.cluster.kubectl("delete", "configmap", "b", "-n", kube.namespace)
    gone = kube.wait_status("pair", lambda w: condition_is(w, "AllCurrent", "False"), "AllCurrent False")
    status = status_of(gone)
    assert status["resources"][1] == {
        "group": "",
        "kind": "ConfigMap",
        "namespace": kube.namespace,
        "name": "b",
        "status": "NotFound",
        "message": "Resource not found",
    }
    assert (
        conditions(gone)["AllCurrent"]["message"]
        == "1 of 2 not Current: configmap/b NotFound: Resource not found"
    )
    assert status["progress"] == "1/2"
    assert conditions(gone)["AllCurrent"]["lastTransitionTime"] >= before


def test_crash_looping_statefulset_is_stalled(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(statefulset("db", labels=dict([CRASHLOOP_LABEL])))
    kube.apply(statuswatch("db", [{"group": "apps", "kind": "StatefulSet", "name": "db"}]))
    stalled = kube.wait_status(
        "db", lambda w: condition_is(w, "Stalled", "True", "ResourcesFailed"), "Stalled=True", timeout=90
    )
    assert status_of(stalled)["aggregateStatus"] == "Failed"
    message = conditions(stalled)["Stalled"]["message"]
    assert message.startswith("1 of 1 Failed: statefulset/db Failed")  # kstatus's verdict, then the cause
    assert "1 pods have failed" in message
    assert condition_is(stalled, "Reconciling", "False")
    assert kstatus_of(stalled) == Status.FAILED  # Flux's health check reads Failed
    kube.wait_condition("db", "Stalled", "True")
    assert "Stalled" in [e["reason"] for e in kube.events_for("db")]


def test_deployment_past_its_progress_deadline_is_stalled(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(deployment("stuck", node_selector={"no-such-node": "x"}, progress_deadline=2, min_ready=0))
    kube.apply(statuswatch("stuck", [{"group": "apps", "kind": "Deployment", "name": "stuck"}]))
    stalled = kube.wait_status(
        "stuck", lambda w: condition_is(w, "Stalled", "True", "ResourcesFailed"), "Stalled=True", timeout=90
    )
    assert "Progress deadline exceeded" in status_of(stalled)["resources"][0]["message"]
    assert kstatus_of(stalled) == Status.FAILED


def test_timeout_stalls_and_clears(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(deployment("slow", replicas=1, node_selector={"no-such-node": "x"}))
    kube.apply(
        statuswatch(
            "slow", [{"group": "apps", "kind": "Deployment", "name": "slow"}], pollInterval="1s", timeout="3s"
        )
    )
    timed_out = kube.wait_status(
        "slow", lambda w: condition_is(w, "Stalled", "True", "Timeout"), "Stalled=True (Timeout)"
    )
    message = conditions(timed_out)["Stalled"]["message"]
    assert message.startswith("Not all Current within 3s: 1 of 1 not Current: deployment/slow InProgress")
    assert kstatus_of(timed_out) == Status.FAILED
    assert "TimedOut" in [e["reason"] for e in kube.events_for("slow")]

    kube.cluster.kubectl(
        "patch", "deployment", "slow", "-n", kube.namespace, "--type=json",
        "-p", '[{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]',
    )  # fmt: skip
    kube.wait_condition("slow", "AllCurrent", "True")
    assert condition_is(kube.watch_object("slow"), "Stalled", "False")


def test_desired_status_not_found_waits_for_deletion(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(configmap("old"))
    kube.apply(statuswatch("cleanup", [{"kind": "ConfigMap", "name": "old"}], desiredStatus="NotFound"))
    present = kube.wait_status("cleanup", lambda w: condition_is(w, "AllCurrent", "False"), "not yet deleted")
    assert conditions(present)["AllCurrent"]["message"].startswith(
        "1 of 1 not NotFound: configmap/old Current"
    )
    kube.cluster.kubectl("delete", "configmap", "old", "-n", kube.namespace)
    kube.wait_condition("cleanup", "AllCurrent", "True")
    done = kube.watch_object("cleanup")
    assert conditions(done)["AllCurrent"]["reason"] == "AllNotFound"
    assert kstatus_of(done) == Status.CURRENT


def test_spec_change_applies_at_once_and_reads_in_progress_until_observed(
    operator: OperatorProcess, kube: Cluster
) -> None:
    kube.apply(configmap("one"))
    kube.apply(statuswatch("grow", [{"kind": "ConfigMap", "name": "one"}]))
    kube.wait_condition("grow", "AllCurrent", "True")

    operator.stop()  # so the unobserved spec change can be looked at on the real object
    kube.apply(
        statuswatch("grow", [{"kind": "ConfigMap", "name": "one"}, {"kind": "ConfigMap", "name": "two"}])
    )
    unobserved = kube.watch_object("grow")
    assert unobserved["metadata"]["generation"] == 2
    assert status_of(unobserved)["observedGeneration"] == 1
    assert kstatus_of(unobserved) == Status.IN_PROGRESS

    operator.start()
    observed = kube.wait_status(
        "grow", lambda w: status_of(w).get("observedGeneration") == 2, "generation 2 observed", timeout=30
    )
    assert status_of(observed)["progress"] == "1/2"
    assert condition_is(observed, "AllCurrent", "False", "ResourcesInProgress")
    assert all(c["observedGeneration"] == 2 for c in conditions(observed).values())

    kube.apply(statuswatch("grow", [{"kind": "ConfigMap", "name": "one"}]))  # while running: applies at once
    kube.wait_status(
        "grow", lambda w: status_of(w).get("progress") == "1/1", "generation 3 observed", timeout=10
    )


# -- lifecycle -------------------------------------------------------------------------------------------


def test_deleting_a_statuswatch_closes_its_streams(operator: OperatorProcess, kube: Cluster) -> None:
    kube.apply(deployment("web", replicas=1))
    kube.apply(statuswatch("web", [{"group": "apps", "kind": "Deployment", "name": "web"}]))
    kube.wait_condition("web", "AllCurrent", "True")
    assert operator.metric_sum("statuswatch_watch_streams") == 3  # Deployments, ReplicaSets, Pods
    assert operator.metric_sum("controller_runtime_active_workers") == 1

    kube.cluster.kubectl("delete", "statuswatch", "web", "-n", kube.namespace, "--timeout=20s")
    wait_until(lambda: operator.metric_sum("statuswatch_watch_streams") == 0, 20, "streams closed")
    assert operator.metric_sum("controller_runtime_active_workers") == 0
    assert operator.metric_sum("statuswatch_watched_objects") == 0


def test_statuswatch_can_be_deleted_while_the_operator_is_down(
    operator: OperatorProcess, kube: Cluster
) -> None:
    kube.apply(statuswatch("temp", [{"kind": "ConfigMap", "name": "whatever"}]))
    kube.wait_status("temp", lambda w: "conditions" in status_of(w), "a first status")
    operator.stop()
    kube.cluster.kubectl("delete", "statuswatch", "temp", "-n", kube.namespace, "--timeout=10s")
    assert kube.get("statuswatch", "temp") is None


def test_restarted_operator_writes_nothing_when_status_is_right(
    operator: OperatorProcess, kube: Cluster
) -> None:
    kube.apply(deployment("web", replicas=2), configmap("settings"))
    kube.apply(
        statuswatch(
            "steady",
            [
                {"group": "apps", "kind": "Deployment", "name": "web"},
                {"kind": "ConfigMap", "name": "settings"},
            ],
        )
    )
    kube.wait_condition("steady", "AllCurrent", "True")
    before = kube.watch_object("steady")

    operator.stop()
    operator.start()
    wait_until(
        lambda: operator.metric_sum("controller_runtime_reconcile_total", result="success") >= 1,
        30,
        "the restarted operator evaluating the StatusWatch",
    )
    after = kube.watch_object("steady")
    assert operator.metric_sum("statuswatch_status_writes_total") == 0
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["status"] == before["status"]


def test_survives_an_api_server_restart(
    operator: OperatorProcess, kube: Cluster, needs: Any, cluster: E2ECluster
) -> None:
    needs("restart_apiserver")
    kube.apply(configmap("keep"), configmap("drop"))
    kube.apply(
        statuswatch(
            "resilient", [{"kind": "ConfigMap", "name": "keep"}, {"kind": "ConfigMap", "name": "drop"}]
        )
    )
    kube.wait_condition("resilient", "AllCurrent", "True")

    cluster.restart_apiserver()
    kube.cluster.kubectl("delete", "configmap", "drop", "-n", kube.namespace, timeout=60)
    gone = kube.wait_status(
        "resilient",
        lambda w: status_of(w).get("progress") == "1/2",
        "the deletion after the restart",
        timeout=90,
    )
    assert status_of(gone)["resources"][1]["status"] == "NotFound"
    kube.apply(configmap("drop"))
    kube.wait_condition("resilient", "AllCurrent", "True", timeout=60)
    assert operator.running


# -- isolation and bad input ---------------------------------------------------------------------------


def test_other_namespaces_and_cluster_scoped_kinds_are_refused(
    operator: OperatorProcess, kube: Cluster
) -> None:
    kube.apply(configmap("mine"))
    kube.apply(
        statuswatch(
            "nosy",
            [
                {"kind": "ConfigMap", "name": "mine"},
                {
                    "kind": "ConfigMap",
                    "namespace": "kube-system",
                    "name": "kube-root-ca.crt",
                },
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            ],
        )
    )
    # The first status (written before the first poll) already names the refusals; wait for the served
    # member to be known as well.
    refused = kube.wait_status(
        "nosy",
        lambda w: (
            condition_is(w, "Stalled", "True", "IdentifierRefused")
            and status_of(w)["resources"][0]["status"] != "Unknown"
        ),
        "refused identifiers, the served member known",
    )
    resources = status_of(refused)["resources"]
    assert resources[0]["status"] == "Current"
    assert resources[1]["status"] == "Unknown"
    assert resources[1]["message"].startswith("namespace 'kube-system' is not this StatusWatch's namespace")
    assert resources[2]["status"] == "Unknown"
    assert "is cluster-scoped" in resources[2]["message"]
    assert "--allow-cluster-scoped" in resources[2]["message"]
    assert condition_is(refused, "AllCurrent", "False", "IdentifierRefused")
    assert status_of(refused)["aggregateStatus"] == "Unknown"
    assert kstatus_of(refused) == Status.FAILED  # it needs the user's attention: Flux stops waiting
    # Nothing about the other namespace's object (not even whether it exists) is written.
    assert "Current" not in resources[1]["message"]
    assert "not found" not in resources[1]["message"].lower()


@pytest.fixture
def permissive_operator(
    request: pytest.FixtureRequest, crd: None, operator_kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    with running_operator(operator_kubeconfig, namespace, tmp_path, "--allow-cluster-scoped") as process:
        yield process


def test_cluster_scoped_kinds_with_the_flag_ignore_a_namespace(
    permissive_operator: OperatorProcess, kube: Cluster
) -> None:
    kube.apply(
        statuswatch(
            "cluster",
            [
                {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                # as kustomize writes it: a namespace on a cluster-scoped object means nothing
                {"kind": "Namespace", "namespace": kube.namespace, "name": kube.namespace},
            ],
        )
    )
    kube.wait_condition("cluster", "AllCurrent", "True")
    resources = status_of(kube.watch_object("cluster"))["resources"]
    assert [r["status"] for r in resources] == ["Current", "Current"]
    assert all("namespace" not in r for r in resources)


def test_forbidden_kind_is_unknown_and_others_are_served(
    request: pytest.FixtureRequest,
    crd: None,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    namespace: str,
    tmp_path: Path,
    kube: Cluster,
) -> None:
    narrowed = [r for r in operator_rules() if r.get("resources") != ["*"]] + [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    ]
    kubeconfig = service_account_kubeconfig(narrowed, name="narrow", cluster_wide=True)
    with running_operator(kubeconfig, namespace, tmp_path) as process:
        kube.apply(configmap("visible"))
        kube.apply(
            statuswatch(
                "partial", [{"kind": "ConfigMap", "name": "visible"}, {"kind": "Secret", "name": "hidden"}]
            )
        )
        partial = kube.wait_status(
            "partial",
            lambda w: [r["status"] for r in status_of(w).get("resources") or []] == ["Current", "Unknown"],
            "ConfigMap Current, Secret Unknown",
        )
        assert status_of(partial)["resources"][1]["message"].startswith("Forbidden")
        assert condition_is(partial, "AllCurrent", "Unknown", "ResourcesUnknown")
        assert process.running


def test_schema_refuses_what_it_can(crd: None, kube: Cluster) -> None:
    cases = [
        ({"pollInterval": "500ms"}, "pollInterval must be at least 1s"),
        ({"pollInterval": "10s", "timeout": "5s"}, "timeout must be longer than pollInterval"),
        ({"timeout": "1s"}, "timeout must be longer than pollInterval"),
    ]
    for extra, message in cases:
        manifest = statuswatch("bad", [{"kind": "ConfigMap", "name": "x"}], **extra)
        refused = kube.cluster.kubectl(
            "apply", "-n", kube.namespace, "-f", "-", input=yaml.safe_dump(manifest), check=False
        )
        assert refused.returncode != 0, extra
        assert message in refused.stderr, refused.stderr


def test_all_namespaces_serves_a_kind_from_one_cluster_wide_stream(
    crd: None, operator_kubeconfig: Path, namespace: str, tmp_path: Path, kube: Cluster, cluster: E2ECluster
) -> None:
    others = [f"{namespace}-b", f"{namespace}-c"]
    for other in others:
        cluster.kubectl("create", "namespace", other)
    try:
        with running_operator(
            operator_kubeconfig, namespace, tmp_path, "--cluster-wide-threshold", "2", all_namespaces=True
        ) as process:
            for ns in [namespace, *others]:
                place = Cluster(cluster, ns)
                place.apply(configmap("shared"))
                place.apply(statuswatch("cw", [{"kind": "ConfigMap", "name": "shared"}]))
            for ns in [namespace, *others]:
                Cluster(cluster, ns).wait_condition("cw", "AllCurrent", "True")

            # three namespaces, one kind: a single cluster-wide ConfigMap stream serves them all (other
            # kinds may be open for StatusWatches that earlier tests left in namespaces being deleted)
            def configmap_streams(scope: str) -> float:
                return process.metric_sum("statuswatch_watch_streams", kind="ConfigMap", scope=scope)

            wait_until(
                lambda: (configmap_streams("cluster"), configmap_streams("namespace")) == (1, 0),
                30,
                "one cluster-wide ConfigMap stream and no namespaced one",
            )
            assert process.metric_sum("controller_runtime_active_workers") >= 3

            cluster.kubectl("delete", "configmap", "shared", "-n", others[1])
            gone = Cluster(cluster, others[1]).wait_status(
                "cw", lambda w: status_of(w).get("progress") == "0/1", "the deletion in its namespace only"
            )
            assert status_of(gone)["resources"][0]["status"] == "NotFound"
            for ns in [namespace, others[0]]:
                assert condition_is(Cluster(cluster, ns).watch_object("cw"), "AllCurrent", "True")
    finally:
        for other in others:
            cluster.kubectl("delete", "namespace", other, "--wait=false", "--ignore-not-found")
