"""Status writes on the real API server (issue 20): never into the wrong object (N2), always a size that
can be stored (N3), and no flap when the API server restarts (N8).

The operator runs as ``statuswatch run`` under its own ServiceAccount (the shipped ClusterRole), as in
``test_operator.py``; the sink-level checks talk to the API server with the operator's own client.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.operator_testing import KubectlNamespace as Cluster
from statuswatch.cluster.operator_testing import OperatorProcess, running_operator
from statuswatch.cluster.testing import E2ECluster, wait_for
from statuswatch.controller.budget import STATUS_BUDGET, SUMMARIZED, encoded_size
from statuswatch.controller.statusapi import ApiStatusSink, ObjectRef, WatchGone
from statuswatch.watchlist import ApiClient, ClusterConfig

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"


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
    crd: None, operator_kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    with running_operator(operator_kubeconfig, namespace, tmp_path) as process:
        yield process


def statuswatch(name: str, identifiers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {"identifiers": identifiers, "pollInterval": "2s", **spec},
    }


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def _names(watch: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in (watch.get("status") or {}).get("resources") or []]


def _lists(names: list[str], watch: dict[str, Any]) -> bool:
    return _names(watch) == names


def _all_current_events(kube: Cluster, name: str) -> int:
    return sum(int(e.get("count") or 1) for e in kube.events_for(name) if e.get("reason") == "AllCurrent")


def conditions(watch: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (watch.get("status") or {}).get("conditions") or []}


# -- N2: never into the wrong object -----------------------------------------------------------------------


def test_the_sink_cannot_write_into_a_statuswatch_recreated_under_the_same_name(
    crd: None, kube: Cluster, operator_kubeconfig: Path, namespace: str
) -> None:
    kube.apply(statuswatch("w", [{"kind": "ConfigMap", "name": "a"}]))
    old = kube.watch_object("w")["metadata"]["uid"]
    kube.cluster.kubectl("delete", "statuswatch", "w", "-n", namespace, "--timeout=20s")
    kube.apply(statuswatch("w", [{"kind": "ConfigMap", "name": "b"}]))
    new = kube.watch_object("w")["metadata"]["uid"]
    assert new != old

    async def write(uid: str) -> Any:
        async with ApiClient(ClusterConfig.load(operator_kubeconfig)) as client:
            sink = ApiStatusSink(client)
            status = {"observedGeneration": 1, "aggregateStatus": "Current", "progress": "1/1"}
            return await sink.write_status(ObjectRef(namespace, "w", uid), status, None)

    with pytest.raises(WatchGone):
        asyncio.run(write(old))
    assert (kube.watch_object("w").get("status") or {}).get("aggregateStatus") != "Current"

    stored = asyncio.run(write(new))
    assert stored["aggregateStatus"] == "Current"
    kube.cluster.kubectl("delete", "statuswatch", "w", "-n", namespace, "--timeout=20s")
    with pytest.raises(WatchGone):  # a 404 naming the object
        asyncio.run(write(new))


def test_a_statuswatch_replaced_while_the_operator_writes_never_shows_the_old_members(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    # The old object's 20 members appear in one burst just before it is replaced (kubectl replace --force),
    # so its worker is writing when the new one (other members, generation 1 too) is created.
    old = statuswatch("w", [{"kind": "ConfigMap", "name": f"old-{i}"} for i in range(20)])
    old["metadata"]["namespace"] = namespace
    kube.apply(old)
    for round_ in range(3):
        kube.wait_status("w", lambda w: "conditions" in (w.get("status") or {}), "a first status")
        kube.apply(*(configmap(f"old-{i}") for i in range(20)))
        new = statuswatch("w", [{"kind": "ConfigMap", "name": f"new-{round_}"}])
        new["metadata"]["namespace"] = namespace
        kube.cluster.kubectl("replace", "--force", "-f", "-", input=json.dumps(new), timeout=60)
        uid = kube.watch_object("w")["metadata"]["uid"]
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            current = kube.watch_object("w")
            assert current["metadata"]["uid"] == uid
            assert set(_names(current)) <= {f"new-{round_}"}, current["status"]
            time.sleep(0.1)
        kube.wait_status("w", functools.partial(_lists, [f"new-{round_}"]), "the new object's own status")
        kube.cluster.kubectl("delete", "configmap", "--all", "-n", namespace, "--wait=false")
        kube.cluster.kubectl("replace", "--force", "-f", "-", input=json.dumps(old), timeout=60)


# -- N3: a status that always fits -------------------------------------------------------------------------


def test_a_spec_that_makes_a_huge_status_gets_a_summary_that_fits(
    operator: OperatorProcess, kube: Cluster, namespace: str
) -> None:
    # The CRD's largest identifiers: before, the status was ~1 MB and etcd refused it ("request is too
    # large"), retried every 30 s forever, and the StatusWatch kept "Waiting for the first status".
    group = ".".join(["g" * 61] * 4) + ".io"
    kind = "K" + "k" * 62
    identifiers = [{"group": group, "kind": kind, "name": f"{i:04d}-" + "n" * 248} for i in range(1000)]
    big = statuswatch("big", identifiers)
    big["metadata"]["namespace"] = namespace
    # create, not apply: apply's last-applied annotation would double the object
    kube.cluster.kubectl("create", "-n", namespace, "-f", "-", input=json.dumps(big), timeout=60)
    watch = kube.wait_status(
        "big",
        lambda w: SUMMARIZED in conditions(w),
        "a summarised status",
        timeout=120,
    )
    status = watch["status"]
    summary = conditions(watch)[SUMMARIZED]
    assert summary["status"] == "True"
    assert summary["reason"] == "StatusTooLarge"
    assert status["resourceCounts"] == {"Unknown": 1000}
    assert status["resourcesOmitted"] == 1000 - len(status["resources"])
    assert 0 < len(status["resources"]) < 1000
    assert f"status.resources lists {len(status['resources'])} of 1000 members" in summary["message"]
    assert encoded_size(status) <= STATUS_BUDGET
    assert status["progress"] == "0/1000"
    assert status["observedGeneration"] == watch["metadata"]["generation"]
    assert operator.metric_sum("statuswatch_status_writes_total", result="error") == 0


# -- N8: an API server restart is a blip, not a verdict ----------------------------------------------------


def test_an_api_server_restart_flaps_no_status_and_posts_no_second_event(
    operator: OperatorProcess, kube: Cluster, needs: Any, cluster: E2ECluster
) -> None:
    # Right after a restart the authorizer refuses the operator's ServiceAccount (403) for a second or two
    # in about half the restarts; every StatusWatch went Unknown "Forbidden" and back, and its AllCurrent
    # Event was posted again. Two restarts, so the refusal very likely comes at least once.
    needs("restart_apiserver")
    names = [f"steady-{i}" for i in range(5)]
    kube.apply(*(configmap(f"cm-{i}") for i in range(5)))
    kube.apply(
        *(statuswatch(name, [{"kind": "ConfigMap", "name": f"cm-{i}"}]) for i, name in enumerate(names))
    )
    for name in names:
        kube.wait_condition(name, "AllCurrent", "True")
    wait_for(
        lambda: all(_all_current_events(kube, name) == 1 for name in names),
        30,
        "an AllCurrent Event each",
        0.5,
    )
    before = {name: kube.watch_object(name) for name in names}
    writes = operator.metric_sum("statuswatch_status_writes_total", result="success")

    for _ in range(2):
        cluster.restart_apiserver()
        time.sleep(15)  # the streams reconnect; any flap would be written by now

    for name in names:
        after = kube.watch_object(name)
        assert after["status"] == before[name]["status"], name
        assert (
            conditions(after)["Ready"]["lastTransitionTime"]
            == conditions(before[name])["Ready"]["lastTransitionTime"]
        )
        assert _all_current_events(kube, name) == 1, kube.events_for(name)
    assert operator.metric_sum("statuswatch_status_writes_total", result="success") == writes
    assert operator.running
