"""Flux, Argo CD and ``kubectl wait`` read real StatusWatches as documented (docs/integrations.md).

One operator serves four StatusWatches in the states the integrations tell apart: not served yet (no status),
done (AllCurrent), rolling out (a Deployment whose pods cannot be scheduled) and failed (the same, past its
progress deadline). Each object, as the API server returns it, goes through this project's kstatus engine
(the rules of Flux's ``healthChecks``) and through ``integrations/argocd/health.lua`` in a Lua 5.1
interpreter (Argo CD's custom health check); the ``kubectl wait`` recipes of the docs are run as written.

With ``STATUSWATCH_SAVE_FIXTURES=1`` the objects are also written to ``integrations/argocd/testdata/``, the
stored copies the unit tests (tests/unit/test_integrations.py) check without a cluster.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lupa.lua51  # type: ignore[import-untyped]
import pytest
import yaml

from statuswatch.cluster.operator_testing import KubectlNamespace, OperatorProcess, operator_rules
from statuswatch.cluster.testing import E2ECluster
from statuswatch.kstatus import Status, compute

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
TESTDATA = ROOT / "integrations" / "argocd" / "testdata"
HEALTH_LUA = ROOT / "integrations" / "argocd" / "health.lua"


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def argocd_health(obj: dict[str, Any]) -> Health:
    """Run health.lua as Argo CD does: the object as global ``obj`` (Lua 5.1, like Argo CD's gopher-lua)."""
    lua = lupa.lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(HEALTH_LUA.read_text())
    return Health(str(result["status"]), str(result["message"]))


def statuswatch(name: str, identifiers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"identifiers": identifiers, "pollInterval": "2s"},
    }


def unschedulable(name: str, *, progress_deadline: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "nodeSelector": {"no-such-node": "x"},
                "containers": [{"name": "app", "image": "nginx:1.27"}],
            },
        },
    }
    if progress_deadline is not None:
        spec["progressDeadlineSeconds"] = progress_deadline
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def stored_copy(watch: dict[str, Any]) -> dict[str, Any]:
    """The object without the server's bookkeeping, as kept in testdata (names made stable)."""
    meta = watch["metadata"]
    return {
        "apiVersion": watch["apiVersion"],
        "kind": watch["kind"],
        "metadata": {"name": meta["name"], "namespace": "shop", "generation": meta["generation"]},
        "spec": watch["spec"],
        **({"status": watch["status"]} if "status" in watch else {}),
    }


def conditions(watch: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (watch.get("status") or {}).get("conditions") or []}


def test_flux_argocd_and_kubectl_wait_read_real_statuswatches(
    cluster: E2ECluster,
    namespace: str,
    service_account_kubeconfig: Callable[..., Path],
    tmp_path: Path,
) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )
    kube = KubectlNamespace(cluster, namespace)
    kube.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"k": "v"}})
    kube.apply(unschedulable("rolling"), unschedulable("failing", progress_deadline=2))
    kube.apply(
        statuswatch("done", [{"kind": "ConfigMap", "name": "cfg"}]),
        statuswatch("rolling", [{"group": "apps", "kind": "Deployment", "name": "rolling"}]),
        statuswatch("failed", [{"group": "apps", "kind": "Deployment", "name": "failing"}]),
    )
    pending = kube.watch_object("done")  # nobody serves it yet
    assert pending.get("status") == {"observedGeneration": 0}  # the CRD's default, before any write

    kubeconfig = service_account_kubeconfig(
        operator_rules(ROOT / "config" / "rbac" / "role.yaml"), name="statuswatch", cluster_wide=True
    )
    operator = OperatorProcess(kubeconfig, namespace, tmp_path)
    operator.start()
    try:
        # The recipes of docs/integrations.md, as written there.
        cluster.kubectl(
            "wait", "--for=condition=AllCurrent", "statuswatch/done", "-n", namespace, "--timeout=60s"
        )
        cluster.kubectl(
            "wait", "--for=condition=Stalled", "statuswatch/failed", "-n", namespace, "--timeout=90s"
        )
        done = kube.watch_object("done")
        failed = kube.watch_object("failed")
        rolling = kube.wait_status(
            "rolling", lambda w: conditions(w).get("Reconciling") == "True", "Reconciling=True"
        )
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log()}")

    # Flux's healthChecks (kstatus): a done StatusWatch is Current, a failed one Failed.
    assert compute(done).status == Status.CURRENT
    assert compute(failed).status == Status.FAILED
    assert compute(rolling).status == Status.IN_PROGRESS
    # kstatus reads an object without conditions as Current; the CRD defaults status.observedGeneration to
    # 0, so a StatusWatch nobody served yet reads InProgress and does not pass a Flux health check.
    assert compute(pending).status == Status.IN_PROGRESS

    # Argo CD's custom health check.
    assert argocd_health(done).status == "Healthy"
    degraded = argocd_health(failed)
    assert degraded.status == "Degraded"
    stalled = next(c for c in failed["status"]["conditions"] if c["type"] == "Stalled")
    assert degraded.message == stalled["message"]
    assert "deployment/failing" in degraded.message
    assert argocd_health(rolling).status == "Progressing"
    assert argocd_health(pending) == argocd_health({"kind": "StatusWatch"})
    assert argocd_health(pending).status == "Progressing"

    kube.cluster.kubectl("delete", "statuswatch/done", "-n", namespace, "--wait=false")
    cluster.kubectl("wait", "--for=delete", "statuswatch/done", "-n", namespace, "--timeout=60s")

    if os.environ.get("STATUSWATCH_SAVE_FIXTURES"):
        for name, watch in [("healthy", done), ("degraded", failed), ("progressing", rolling)]:
            text = yaml.safe_dump(stored_copy(watch), sort_keys=False)
            (TESTDATA / f"{name}.yaml").write_text(text.replace(namespace, "shop"))
        (TESTDATA / "no-status.yaml").write_text(yaml.safe_dump(stored_copy(pending), sort_keys=False))
