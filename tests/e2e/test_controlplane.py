"""The test cluster itself: workloads roll out on KWOK nodes, WatchList streams, and the API server
restart / etcd compaction hooks that other e2e tests rely on behave as documented."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
import yaml

from statuswatch.cluster.testing import COMPACT_ETCD, RESTART_APISERVER, E2ECluster, Placement, wait_for

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _deployment(name: str, namespace: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    }


def _get(cluster: E2ECluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def _open(cluster: E2ECluster, path: str, params: dict[str, str], timeout: float = 30) -> Any:
    """A raw GET on the API server (the kubeconfig's credentials, stdlib HTTP only)."""
    url = f"{cluster.server}{path}?{urllib.parse.urlencode(params)}"
    request = urllib.request.Request(url, headers=cluster.auth_headers())
    return urllib.request.urlopen(request, context=cluster.ssl_context(), timeout=timeout)


def _watch_events(cluster: E2ECluster, path: str, params: dict[str, str], stop: int) -> list[dict[str, Any]]:
    """Read watch events (one JSON object per line) until ``stop`` of them arrived or the stream ends."""
    events: list[dict[str, Any]] = []
    with _open(cluster, path, {"watch": "1", "timeoutSeconds": "30", **params}) as response:
        for line in response:
            events.append(json.loads(line))
            if len(events) >= stop or events[-1]["type"] == "BOOKMARK":
                break
    return events


def _watch_list(cluster: E2ECluster, namespace: str) -> list[dict[str, Any]]:
    params = {
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "resourceVersionMatch": "NotOlderThan",
        "resourceVersion": "",
    }
    return _watch_events(cluster, f"/apis/apps/v1/namespaces/{namespace}/deployments", params, stop=100)


def test_deployment_rolls_out_on_kwok_nodes(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(_deployment("web", namespace, 3)))

    def available() -> bool:
        status = _get(cluster, "deployment", "web", "-n", namespace).get("status", {})
        return bool(status.get("availableReplicas") == 3 and status.get("updatedReplicas") == 3)

    wait_for(available, 90, "deployment web to report 3 available replicas")
    pods = _get(cluster, "pods", "-n", namespace, "-l", "app=web")["items"]
    assert len(pods) == 3
    nodes = {node["metadata"]["name"] for node in _get(cluster, "nodes")["items"]}
    for pod in pods:
        conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert pod["status"]["phase"] == "Running", pod["metadata"]["name"]
        assert conditions.get("Ready") == "True", pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] in nodes


def test_watch_list_sends_initial_objects_then_the_bookmark(cluster: E2ECluster, namespace: str) -> None:
    names = {"alpha", "beta"}
    for name in sorted(names):
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(_deployment(name, namespace, 1)))

    events = _watch_list(cluster, namespace)

    *initial, bookmark = events
    assert [event["type"] for event in initial] == ["ADDED", "ADDED"]
    assert {event["object"]["metadata"]["name"] for event in initial} == names
    assert bookmark["type"] == "BOOKMARK"
    assert bookmark["object"]["metadata"]["annotations"][INITIAL_EVENTS_END] == "true"
    newest = max(int(event["object"]["metadata"]["resourceVersion"]) for event in initial)
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) >= newest


def test_restart_apiserver_cuts_watches_and_applies_flags(
    cluster: E2ECluster, namespace: str, needs: Any
) -> None:
    needs(RESTART_APISERVER)
    cluster.kubectl("create", "configmap", "before", "-n", namespace)
    connected, probe_seen, ended = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def watch_until_closed() -> None:
        try:
            path = f"/api/v1/namespaces/{namespace}/configmaps"
            with _open(cluster, path, {"watch": "1"}, 120) as response:
                connected.set()
                for line in response:
                    if json.loads(line)["object"]["metadata"]["name"] == "probe":
                        probe_seen.set()
        except Exception as error:  # a cut stream may end in a reset rather than a clean end of body
            failures.append(error)
        finally:
            ended.set()

    watcher = threading.Thread(target=watch_until_closed, daemon=True)
    watcher.start()
    # The watch is live once an object created after it connected comes through it.
    assert connected.wait(30), f"the watch never connected: {failures}"
    cluster.kubectl("create", "configmap", "probe", "-n", namespace)
    assert probe_seen.wait(30), f"the watch delivered nothing: {failures}"
    assert not ended.is_set(), f"the watch ended before the restart: {failures}"
    server = cluster.server

    cluster.restart_apiserver(["--feature-gates=WatchList=false"])
    try:
        assert ended.wait(30), "the watch stream survived the API server restart"
        assert cluster.server == server
        # With the gate off the API server refuses streaming lists outright.
        with pytest.raises(urllib.error.HTTPError) as refused:
            _watch_list(cluster, namespace)
        assert refused.value.code == 422
        assert cluster.kubectl("get", "configmap", "before", "-n", namespace).returncode == 0
    finally:
        cluster.restart_apiserver()
    assert _watch_list(cluster, namespace)[-1]["type"] == "BOOKMARK"


def test_compaction_then_restart_makes_old_resource_versions_gone(
    cluster: E2ECluster, namespace: str, needs: Any
) -> None:
    needs(COMPACT_ETCD)
    needs(RESTART_APISERVER)
    created = _get_or_create_configmap(cluster, namespace)
    old = created["metadata"]["resourceVersion"]
    for value in range(3):
        cluster.kubectl(
            "patch", "configmap", "cm", "-n", namespace, "-p", json.dumps({"data": {"v": str(value)}})
        )

    revision = cluster.compact_etcd()
    assert revision > int(old)
    cluster.restart_apiserver()

    path = f"/api/v1/namespaces/{namespace}/configmaps"
    events = _watch_events(cluster, path, {"resourceVersion": old}, stop=1)
    assert events[0]["type"] == "ERROR", events
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def _get_or_create_configmap(cluster: E2ECluster, namespace: str) -> Any:
    cluster.kubectl("create", "configmap", "cm", "-n", namespace, "--from-literal=v=initial")
    return _get(cluster, "configmap", "cm", "-n", namespace)


def test_service_account_kubeconfig_holds_exactly_its_rules(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Any
) -> None:
    read_configmaps = {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
    kubeconfig = service_account_kubeconfig([read_configmaps], name="reader")
    cluster.kubectl("create", "configmap", "visible", "-n", namespace)

    whoami = cluster.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig)
    assert json.loads(whoami.stdout)["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{namespace}:reader"
    )
    listed = cluster.kubectl("get", "configmaps", "-o", "name", kubeconfig=kubeconfig)
    assert "configmap/visible" in listed.stdout.split()
    denied = cluster.kubectl("get", "secrets", kubeconfig=kubeconfig, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr
    elsewhere = cluster.kubectl("get", "configmaps", "-n", "default", kubeconfig=kubeconfig, check=False)
    assert "forbidden" in elsewhere.stderr


def test_cluster_wide_service_account_rules(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Any
) -> None:
    list_namespaces = {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}
    kubeconfig = service_account_kubeconfig([list_namespaces], cluster_wide=True)
    names = cluster.kubectl("get", "namespaces", "-o", "name", kubeconfig=kubeconfig).stdout.split()
    assert f"namespace/{namespace}" in names
    assert "forbidden" in cluster.kubectl("get", "nodes", kubeconfig=kubeconfig, check=False).stderr


@pytest.mark.real_containers
def test_container_output_reaches_the_logs(cluster: E2ECluster, namespace: str, real_node: Placement) -> None:
    overrides = json.dumps({"apiVersion": "v1", "spec": dict(real_node.pod_spec)})
    cluster.kubectl(
        "run", "echo", "-n", namespace, f"--image={real_node.image}", "--restart=Never",
        f"--overrides={overrides}", "--", "echo", "hello",
    )  # fmt: skip

    def succeeded() -> bool:
        return bool(_get(cluster, "pod", "echo", "-n", namespace)["status"].get("phase") == "Succeeded")

    wait_for(succeeded, 180, "pod echo to succeed")
    assert cluster.kubectl("logs", "echo", "-n", namespace).stdout.strip() == "hello"


def test_restart_keeping_controllers_revives_one_that_died(
    cluster: E2ECluster, namespace: str, needs: Any
) -> None:
    # A controller manager still building its controllers when the API server goes away exits; with
    # restart_controllers=False the restart must bring it back, or the cluster silently stops acting.
    needs(RESTART_APISERVER)
    local = getattr(cluster, "local", None)
    assert local is not None, "the restart capability comes with the local control plane"
    manager = local.running()["kube-controller-manager"]
    os.kill(manager.pid, signal.SIGKILL)
    wait_for(lambda: not manager.alive(), 10, "the controller manager to die")

    cluster.restart_apiserver(restart_controllers=False)
    revived = local.running()["kube-controller-manager"]
    assert revived.pid != manager.pid
    assert revived.alive()
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(_deployment("after", namespace, 1)))

    def available() -> bool:
        status = _get(cluster, "deployment", "after", "-n", namespace).get("status", {})
        return bool(status.get("availableReplicas") == 1)

    wait_for(available, 90, "a Deployment created after the restart to become available")
