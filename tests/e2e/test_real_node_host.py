"""``down`` gives the host back as it was: interfaces, routes, mounts, sysctls, iptables, cgroups, paths.

The host is snapshotted (``statuswatch.cluster.host.snapshot``) with the real node stopped, then the node
runs a container (which makes the kubelet and the CNI plugins change what they change) and is stopped
again, twice: both snapshots after ``down`` must equal the one before, and the second cycle must work.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from statuswatch.cluster.host import holders, snapshot
from statuswatch.cluster.realnode import NODE_NAME, RealNode
from statuswatch.cluster.testing import E2ECluster, LocalE2ECluster, Placement, wait_for

pytestmark = [pytest.mark.real_node, pytest.mark.timeout(600)]


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"before": before[key], "after": after.get(key)}
        for key in before
        if before[key] != after.get(key)
    }


def run_a_pod(cluster: E2ECluster, namespace: str, node: Placement, name: str) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            **node.pod_spec,
            "restartPolicy": "Never",
            "containers": [
                {"name": "app", "image": node.image, "command": ["sh", "-c", "echo up; sleep 3600"]}
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(pod))

    def running() -> bool:
        found = json.loads(cluster.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)
        return bool(found.get("status", {}).get("phase") == "Running")

    wait_for(running, 120, f"pod {name} to run on the real node")
    assert cluster.kubectl("logs", name, "-n", namespace).stdout.strip() == "up"


def test_down_restores_the_host_and_a_second_cycle_works(
    cluster: E2ECluster, namespace: str, real_node: Placement
) -> None:
    assert isinstance(cluster, LocalE2ECluster)
    node = RealNode(cluster.local)
    node.down()
    # Another session's real node (a test run in another worktree) changes the host meanwhile: wait it out.
    wait_for(lambda: not holders(), 1200, f"the other real nodes on this machine to stop: {holders()}", 2.0)
    before = snapshot()

    for cycle in (1, 2):
        started = time.monotonic()
        cluster.start_real_node()
        print(f"real node up (cycle {cycle}): {time.monotonic() - started:.1f}s")
        slot = RealNode(cluster.local).slot
        during = snapshot()
        for name in (slot.bridge, slot.dummy):
            assert any(f": {name}:" in line for line in during["links"]), during["links"]
            assert not any(f": {name}:" in line for line in before["links"]), before["links"]
        run_a_pod(cluster, namespace, real_node, f"cycle-{cycle}")
        started = time.monotonic()
        node.down()
        print(f"real node down (cycle {cycle}): {time.monotonic() - started:.1f}s")
        assert differences(before, snapshot()) == {}, f"cycle {cycle} left the host changed"
        node.down()  # idempotent
        assert differences(before, snapshot()) == {}

    # the Node object stays registered, NotReady once its kubelet is gone; the next test's `up` revives it
    found = json.loads(cluster.kubectl("get", "node", NODE_NAME, "-o", "json").stdout)
    assert found["metadata"]["labels"]["statuswatch.io/real-node"] == "true"
