"""Issue 13 end to end: members found by label selectors and CEL health checks, on the real control plane.

The real ``statuswatch run`` under its shipped RBAC (as in test_operator.py), read the way users read it:
a labelled Deployment created after the StatusWatch joins it and a relabelled one leaves; a Flux-style CEL
rule decides a custom resource's status where kstatus alone would call it Current; an expression that does
not compile is refused with a condition that names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.operator_testing import KubectlNamespace as Cluster
from statuswatch.cluster.operator_testing import OperatorProcess, running_operator
from statuswatch.cluster.testing import E2ECluster
from statuswatch.kstatus import Status, compute

pytestmark = pytest.mark.timeout(300)

ServiceAccountKubeconfig = Callable[..., Path]

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
PART_OF = "app.kubernetes.io/part-of"

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.features.statuswatch.test"},
    "spec": {
        "group": "features.statuswatch.test",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                # no status subresource: the test plays the widget's controller by applying status
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
RUNNING_RULE = {
    "apiVersion": "features.statuswatch.test/v1",
    "kind": "Widget",
    "current": "status.phase == 'Running'",
    "failed": "status.phase == 'Failed'",
}


@pytest.fixture(scope="module")
def crds(cluster: E2ECluster) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE), "-f", "-", input=_yaml(WIDGET_CRD))
    for name in ("statuswatches.statuswatch.io", "widgets.features.statuswatch.test"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def _yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document)


@pytest.fixture
def operator(
    crds: None, operator_kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    with running_operator(operator_kubeconfig, namespace, tmp_path) as process:
        yield process


@pytest.fixture
def kube(cluster: E2ECluster, namespace: str) -> Cluster:
    return Cluster(cluster, namespace)


def statuswatch(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"pollInterval": "2s", **spec},
    }


def deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def widget(name: str, phase: str) -> dict[str, Any]:
    return {
        "apiVersion": "features.statuswatch.test/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": 1},
        "status": {"phase": phase},
    }


def status_of(watch: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = watch.get("status") or {}
    return status


def members(watch: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["name"], r["status"]) for r in status_of(watch).get("resources") or []]


def condition(watch: dict[str, Any], type_: str) -> dict[str, Any]:
    found = [c for c in status_of(watch).get("conditions") or [] if c["type"] == type_]
    return found[0] if found else {}


def test_a_labelled_deployment_joins_and_a_relabelled_one_leaves(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    selector = {"group": "apps", "kind": "Deployment", "selector": {"matchLabels": {PART_OF: "shop"}}}
    kube.apply(statuswatch("shop", selectors=[selector]))
    empty = kube.wait_status("shop", lambda w: status_of(w).get("aggregateStatus") == "Unknown", "empty")
    assert status_of(empty)["resources"][0]["message"].startswith(
        f"selector {PART_OF}=shop matches no Deployment"
    )

    kube.apply(deployment("web", {PART_OF: "shop"}), deployment("other", {PART_OF: "elsewhere"}))
    joined = kube.wait_status("shop", lambda w: members(w) == [("web", "Current")], "web joined and Current")
    assert status_of(joined)["progress"] == "1/1"
    assert condition(joined, "AllCurrent")["status"] == "True"

    kube.apply(deployment("api", {PART_OF: "shop"}))
    both = kube.wait_status(
        "shop", lambda w: sorted(members(w)) == [("api", "Current"), ("web", "Current")], "api joined"
    )
    assert status_of(both)["progress"] == "2/2"

    kube.cluster.kubectl("label", "deployment", "api", f"{PART_OF}=retired", "--overwrite", "-n", namespace)
    left = kube.wait_status("shop", lambda w: members(w) == [("web", "Current")], "api left")
    assert status_of(left)["progress"] == "1/1"


def test_a_flux_style_cel_rule_decides_a_custom_resources_status(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    kube.apply(widget("gizmo", "Pending"))
    assert compute(kube.get("widget", "gizmo") or {}).status == Status.CURRENT  # what kstatus alone says
    kube.apply(
        statuswatch(
            "gizmos",
            identifiers=[{"group": "features.statuswatch.test", "kind": "Widget", "name": "gizmo"}],
            healthChecks=[RUNNING_RULE],
        )
    )
    pending = kube.wait_status(
        "gizmos", lambda w: members(w) == [("gizmo", "InProgress")], "Pending is InProgress"
    )
    assert status_of(pending)["resources"][0]["message"] == "no health check expression is true yet"

    kube.apply(widget("gizmo", "Running"))
    running = kube.wait_status("gizmos", lambda w: members(w) == [("gizmo", "Current")], "Running is Current")
    assert condition(running, "AllCurrent")["status"] == "True"

    kube.apply(widget("gizmo", "Failed"))
    failed = kube.wait_status("gizmos", lambda w: members(w) == [("gizmo", "Failed")], "Failed is Failed")
    assert (condition(failed, "Stalled")["status"], condition(failed, "Stalled")["reason"]) == (
        "True",
        "ResourcesFailed",
    )


def test_an_expression_that_does_not_compile_is_refused_with_a_condition(
    operator: OperatorProcess, kube: Cluster
) -> None:
    bad = {**RUNNING_RULE, "current": "status.phase =="}
    kube.apply(
        statuswatch(
            "broken",
            identifiers=[{"group": "features.statuswatch.test", "kind": "Widget", "name": "gizmo"}],
            healthChecks=[bad],
        )
    )
    refused = kube.wait_status(
        "broken", lambda w: condition(w, "Stalled").get("reason") == "InvalidHealthCheck", "refused"
    )
    assert condition(refused, "Stalled")["message"].startswith(
        "spec.healthChecks[0].current 'status.phase ==': does not compile:"
    )
    assert condition(refused, "Ready")["status"] == "False"
    assert compute(refused).status == Status.FAILED  # Flux, kpt and Helm read it as failed
