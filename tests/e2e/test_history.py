"""``status.history`` on a real rollout: episodes recorded as they end, kept across an operator restart, a
rollout that finished while the operator was down counted from when it really began; the printer column
and the metrics (``statuswatch_rollout_duration_seconds``, ``statuswatch_state_seconds``) alongside."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.operator_testing import (
    KubectlNamespace,
    OperatorProcess,
    deployment_manifest,
    operator_rules,
    statuswatch_manifest,
)
from statuswatch.cluster.testing import E2ECluster
from statuswatch.durations import parse_duration

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
UNSCHEDULABLE = {"spec": {"template": {"spec": {"nodeSelector": {"no-such-node": "x"}}}}}
SCHEDULABLE = [{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]


def history(watch: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (watch.get("status") or {}).get("history") or []
    return entries


def reconciling(watch: dict[str, Any]) -> bool:
    conditions = (watch.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Reconciling" and c["status"] == "True" for c in conditions)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_history_of_real_rollouts_across_an_operator_restart(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Callable[..., Path], tmp_path: Path
) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )
    kube = KubectlNamespace(cluster, namespace)
    kubeconfig = service_account_kubeconfig(
        operator_rules(ROOT / "config" / "rbac" / "role.yaml"), name="statuswatch", cluster_wide=True
    )
    operator = OperatorProcess(kubeconfig, namespace, tmp_path)
    kube.apply(deployment_manifest("web", schedulable=False))
    kube.apply(statuswatch_manifest("web", [{"group": "apps", "kind": "Deployment", "name": "web"}]))

    def patch(*args: str) -> None:
        cluster.kubectl("patch", "deployment", "web", "-n", namespace, *args)

    operator.start()
    try:
        kube.wait_status("web", reconciling, "rolling out (pods unschedulable)")
        time.sleep(2)  # a first episode long enough to see
        patch("--type=json", "-p", json.dumps(SCHEDULABLE))
        first = kube.wait_status("web", lambda w: len(history(w)) == 1, "the first rollout in history")
        samples = operator.metrics()
        # The second rollout: a new template that cannot be scheduled, then the operator goes away.
        patch("--type=merge", "-p", json.dumps(UNSCHEDULABLE))
        rolling = kube.wait_status("web", reconciling, "rolling out again")
    finally:
        operator.stop()
    stopped = datetime.now(UTC)
    time.sleep(3)
    patch("--type=json", "-p", json.dumps(SCHEDULABLE))  # finishes while nobody serves the StatusWatch
    cluster.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    time.sleep(2)
    operator.start()
    try:
        done = kube.wait_status("web", lambda w: len(history(w)) == 2, "the second rollout in history")
        wide = cluster.kubectl("get", "statuswatch", "web", "-n", namespace, "-o", "wide").stdout
        restarted = operator.metrics()
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log()}")
    print("status.history:\n" + json.dumps(history(done), indent=2))

    (once,) = history(first)
    assert once["result"] == "Current"
    assert once["observedGeneration"] == 1
    assert parse_duration(once["duration"]).total_seconds() >= 2
    assert samples['statuswatch_rollout_duration_seconds_count{result="Current"}'] == 1
    assert any(key.startswith("statuswatch_state_seconds{") and 'state="Current"' in key for key in samples)

    latest, kept = history(done)
    assert kept == once  # the first episode survived the restart unchanged
    assert latest["result"] == "Current"
    assert "blocker" not in latest
    assert moment(latest["started"]) <= stopped  # began under the first operator...
    assert moment(latest["finished"]) > stopped  # ...and was recorded by the second
    assert latest["observedGeneration"] == rolling["metadata"]["generation"]
    assert parse_duration(latest["duration"]) == moment(latest["finished"]) - moment(latest["started"])
    assert parse_duration(latest["duration"]).total_seconds() >= 5  # the operator was down that long
    header, row = wide.splitlines()[:2]
    assert "LAST ROLLOUT" in header
    assert "RESULT" in header
    assert latest["duration"] in row.split()
    assert restarted['statuswatch_rollout_duration_seconds_count{result="Current"}'] == 1
