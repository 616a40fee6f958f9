"""Issue 18 end to end: the built-in library and the conventions decide custom resources, live.

Minimal CRDs (written here: the real projects' group, kind and a status subresource, no schema) of five
library kinds (cert-manager Certificate, external-secrets ExternalSecret, Argo Rollouts Rollout,
CloudNativePG Cluster, Flux Kustomization) and one Crossplane managed resource (a provider's kind, which no
library entry names: the conventions decide it). The test plays their controllers, patching each status
through its states; the real ``statuswatch run`` under its shipped RBAC follows them with two StatusWatches
on the same objects: one with the default rules (library verdicts, ``rule: library:<group>/<kind>``), one
with ``spec.rules: kstatus``, which must say exactly what kstatus says of each object as the API server
returns it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.operator_testing import KubectlNamespace as Cluster
from statuswatch.cluster.operator_testing import OperatorProcess, running_operator
from statuswatch.cluster.testing import E2ECluster
from statuswatch.kstatus import ComputeError, Status, compute

pytestmark = pytest.mark.timeout(300)

ServiceAccountKubeconfig = Callable[..., Path]

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"

# (group, version, kind, plural)
KINDS = [
    ("cert-manager.io", "v1", "Certificate", "certificates"),
    ("external-secrets.io", "v1", "ExternalSecret", "externalsecrets"),
    ("argoproj.io", "v1alpha1", "Rollout", "rollouts"),
    ("postgresql.cnpg.io", "v1", "Cluster", "clusters"),
    ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations"),
    ("s3.aws.m.upbound.io", "v1beta1", "Bucket", "buckets"),
]
LIBRARY_RULES = {kind: f"library:{group}/{kind}" for group, _, kind, _ in KINDS[:5]}
# The managed resource: a convention decides where it holds the object back further than kstatus does.
BUCKET_RULES = {
    "new": "convention:no-status",
    "working": "kstatus",  # Ready=False: kstatus's own InProgress
    "failed": "convention:conditions",  # Synced=False, ReconcileError
    "done": "kstatus",  # Ready=True
}


def rule(state: str, kind: str) -> str:
    return BUCKET_RULES[state] if kind == "Bucket" else LIBRARY_RULES[kind]


def crd(group: str, version: str, kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def ready(type_: str = "Ready", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "status": "True", "reason": "Succeeded", "message": "", **extra}


def not_ready(reason: str, type_: str = "Ready", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "status": "False", "reason": reason, "message": reason, **extra}


# The objects (spec) and their statuses as their controllers write them, by state: what each project's
# API reference says its controller reports while working, on a failure it does not retry into success,
# and once done.
SPECS: dict[str, dict[str, Any]] = {
    "Certificate": {"secretName": "web-tls", "dnsNames": ["shop.example.com"], "issuerRef": {"name": "ca"}},
    "ExternalSecret": {"secretStoreRef": {"name": "vault", "kind": "SecretStore"}, "target": {"name": "db"}},
    "Rollout": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
    "Cluster": {"instances": 2, "storage": {"size": "1Gi"}},
    "Kustomization": {
        "interval": "10m",
        "path": "./deploy",
        "prune": True,
        "sourceRef": {"kind": "GitRepository"},
    },
    "Bucket": {"forProvider": {"region": "eu-west-1"}},
}
STATES: dict[str, dict[str, dict[str, Any]]] = {
    "working": {
        "Certificate": {"conditions": [not_ready("DoesNotExist", observedGeneration=1), ready("Issuing")]},
        "ExternalSecret": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Pending"}]},
        "Rollout": {"observedGeneration": "1", "phase": "Progressing", "replicas": 2, "readyReplicas": 1},
        "Cluster": {"phase": "Setting up primary", "instances": 1, "readyInstances": 0},
        "Kustomization": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "applying"},
                {"type": "Ready", "status": "Unknown", "reason": "Progressing", "message": "applying"},
            ],
        },
        "Bucket": {"conditions": [not_ready("Creating"), ready("Synced", reason="ReconcileSuccess")]},
    },
    "failed": {
        "Certificate": {
            "conditions": [not_ready("DoesNotExist", observedGeneration=1), not_ready("Failed", "Issuing")],
            "lastFailureTime": "2026-12-03T10:00:00Z",
        },
        "ExternalSecret": {"conditions": [not_ready("SecretSyncedError")]},
        "Rollout": {"observedGeneration": "1", "phase": "Degraded", "message": "ProgressDeadlineExceeded"},
        "Cluster": {"phase": "Invalid cluster definition"},
        "Kustomization": {"observedGeneration": 1, "conditions": [not_ready("BuildFailed")]},
        "Bucket": {"conditions": [not_ready("Creating"), not_ready("ReconcileError", "Synced")]},
    },
    "done": {
        "Certificate": {"conditions": [ready(observedGeneration=1)], "revision": 1},
        "ExternalSecret": {"conditions": [ready(reason="SecretSynced")], "syncedResourceVersion": "1-0a1b2c"},
        "Rollout": {"observedGeneration": "1", "phase": "Healthy", "replicas": 2, "readyReplicas": 2},
        "Cluster": {"phase": "Cluster in healthy state", "instances": 2, "readyInstances": 2},
        "Kustomization": {"observedGeneration": 1, "conditions": [ready(reason="ReconciliationSucceeded")]},
        "Bucket": {"conditions": [ready(reason="Available"), ready("Synced", reason="ReconcileSuccess")]},
    },
}
EXPECTED = {
    "working": dict.fromkeys(SPECS, "InProgress"),
    "failed": dict.fromkeys(SPECS, "Failed"),
    "done": dict.fromkeys(SPECS, "Current"),
}


@pytest.fixture(scope="module")
def crds(cluster: E2ECluster) -> None:
    documents = [crd(*kind) for kind in KINDS]
    cluster.kubectl("apply", "-f", str(CRD_FILE), "-f", "-", input=yaml.safe_dump_all(documents))
    names = ["statuswatches.statuswatch.io", *(f"{plural}.{group}" for group, _, _, plural in KINDS)]
    for name in names:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


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
    identifiers = [{"group": group, "kind": kind, "name": "shop"} for group, _, kind, _ in KINDS]
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"pollInterval": "2s", "identifiers": identifiers, **spec},
    }


def members(watch: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        r["kind"]: (r["status"], r.get("rule", ""))
        for r in (watch.get("status") or {}).get("resources") or []
    }


def set_status(kube: Cluster, namespace: str, state: str) -> None:
    """Each object's whole status replaced, as its controller writes it."""
    for group, _, kind, plural in KINDS:
        patch = json.dumps([{"op": "add", "path": "/status", "value": STATES[state][kind]}])
        kube.cluster.kubectl(
            "patch",
            f"{plural}.{group}",
            "shop",
            "-n",
            namespace,
            "--subresource=status",
            "--type=json",
            "-p",
            patch,
        )


def kstatus_of(kube: Cluster) -> dict[str, tuple[str, str]]:
    """What kstatus says of each object as the API server returns it."""
    verdicts = {}
    for group, _, kind, plural in KINDS:
        obj = kube.get(f"{plural}.{group}", "shop") or {}
        try:
            verdicts[kind] = (str(compute(obj).status), "kstatus")
        except ComputeError:
            verdicts[kind] = (str(Status.UNKNOWN), "kstatus")
    return verdicts


def test_library_kinds_followed_live_with_their_rules_and_kstatus_on_request(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    for group, version, kind, _ in KINDS:
        kube.apply(
            {
                "apiVersion": f"{group}/{version}",
                "kind": kind,
                "metadata": {"name": "shop"},
                "spec": SPECS[kind],
            }
        )
    kube.apply(statuswatch("rules"), statuswatch("flux-parity", rules="kstatus"))

    # No status yet: the rules wait; kstatus calls every one of them Current.
    fresh = kube.wait_status(
        "rules",
        lambda w: {kind: status for kind, (status, _) in members(w).items()} == EXPECTED["working"],
        "no status yet is InProgress",
    )
    assert members(fresh) == {kind: ("InProgress", rule("new", kind)) for kind in SPECS}
    assert {m[0] for m in kstatus_of(kube).values()} == {"Current"}
    kube.wait_status("flux-parity", lambda w: members(w) == kstatus_of(kube), "kstatus on no status")

    for state in ("working", "failed", "done"):
        set_status(kube, namespace, state)
        wanted = {kind: (EXPECTED[state][kind], rule(state, kind)) for kind in SPECS}
        kube.wait_status("rules", lambda w: members(w) == wanted, f"the library says {state}")  # noqa: B023
        kube.wait_status(
            "flux-parity", lambda w: members(w) == kstatus_of(kube), f"kstatus on the same objects, {state}"
        )
    final = kube.watch_object("rules")
    assert {c["type"]: c["status"] for c in final["status"]["conditions"]}["AllCurrent"] == "True"
