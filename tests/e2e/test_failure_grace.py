"""``failureGracePeriod`` on a crash-looping workload (the local control plane's KWOK stage turns pods
labelled ``statuswatch.io/simulate=crashloop`` into crash-looping ones): InProgress with the failure named
until the grace runs out, then Stalled; a workload fixed within the grace never stalls the StatusWatch."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.operator_testing import (
    KubectlNamespace,
    statuswatch_manifest,
)
from statuswatch.cluster.testing import E2ECluster

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
CRASHLOOP = {"statuswatch.io/simulate": "crashloop"}


def statefulset(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **labels}},
                "spec": {"containers": [{"name": "app", "image": "postgres:17"}]},
            },
        },
    }


def condition(watch: dict[str, Any], type_: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in watch["status"]["conditions"] if c["type"] == type_)
    return found


def member(watch: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = watch["status"]["resources"][0]
    return entry


def within_grace(watch: dict[str, Any]) -> bool:
    status = watch.get("status") or {}
    return bool(status.get("resources")) and "within failureGracePeriod" in member(watch).get("message", "")


def test_a_crash_loop_reads_in_progress_until_the_grace_runs_out(served: KubectlNamespace) -> None:
    served.apply(statefulset("db", CRASHLOOP))
    served.apply(
        statuswatch_manifest(
            "db", [{"group": "apps", "kind": "StatefulSet", "name": "db"}], failureGracePeriod="20s"
        )
    )

    failing = served.wait_status("db", within_grace, "Failed within the grace", timeout=90)
    stalled = served.wait_status(
        "db", lambda w: condition(w, "Stalled")["status"] == "True", "Stalled after the grace", timeout=60
    )

    assert member(failing)["status"] == "InProgress"
    assert member(failing)["reason"]  # the failure is named
    assert "1 pods have failed" in member(failing)["message"]
    assert condition(failing, "Stalled")["status"] == "False"
    assert condition(failing, "Reconciling")["status"] == "True"
    assert failing["status"]["aggregateStatus"] == "InProgress"
    assert member(stalled)["status"] == "Failed"
    assert stalled["status"]["aggregateStatus"] == "Failed"
    assert stalled["status"]["history"][0]["result"] == "Stalled"
    assert stalled["status"]["history"][0]["blocker"]["member"] == "statefulset/db"


def test_a_workload_fixed_within_the_grace_never_stalls(
    cluster: E2ECluster, namespace: str, served: KubectlNamespace
) -> None:
    served.apply(statefulset("db", CRASHLOOP))
    served.apply(
        statuswatch_manifest(
            "db", [{"group": "apps", "kind": "StatefulSet", "name": "db"}], failureGracePeriod="10m"
        )
    )
    served.wait_status("db", within_grace, "Failed within the grace", timeout=90)

    # The fix: a template without the crash-loop label; the StatefulSet replaces its pod.
    fixed = [{"op": "remove", "path": "/spec/template/metadata/labels/statuswatch.io~1simulate"}]
    cluster.kubectl("patch", "statefulset", "db", "-n", namespace, "--type=json", "-p", json.dumps(fixed))
    cluster.kubectl("delete", "pod", "db-0", "-n", namespace, "--wait=false")
    done = served.wait_status(
        "db",
        lambda w: condition(w, "AllCurrent")["status"] == "True",
        "AllCurrent after the fix",
        timeout=120,
    )
    time.sleep(1)

    assert condition(done, "Stalled")["status"] == "False"
    assert [entry["result"] for entry in done["status"]["history"]] == ["Current"]
    assert "Stalled" not in [event["reason"] for event in served.events_for("db")]
