"""Workloads and their root causes on the real node: what a real kubelet reports, not what KWOK was told to.

Each test runs the operator (its own process, under the shipped ClusterRole) with a StatusWatch over the
workload, and reads the StatusWatch as users do. The root-cause tests measure how long after the fault
(the workload's creation) its reason first appears in ``status.resources[].reason``, and print it; the
rollout test measures apply-to-Available. ``STATUSWATCH_REAL_NODE_TIMINGS=FILE`` also writes them as JSON.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.images import BUSYBOX_IMAGE_V2, UNPULLABLE_IMAGE
from statuswatch.cluster.operator_testing import KubectlNamespace, OperatorProcess, operator_rules
from statuswatch.cluster.testing import E2ECluster, Placement

pytestmark = [pytest.mark.real_node, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
OPERATOR_ROLE = ROOT / "config" / "rbac" / "role.yaml"
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_timings() -> Iterator[None]:
    yield
    for name, seconds in TIMINGS.items():
        print(f"real node timing: {name}: {seconds:.1f}s")
    target = os.environ.get("STATUSWATCH_REAL_NODE_TIMINGS")
    if target and TIMINGS:
        Path(target).write_text(json.dumps(TIMINGS, indent=2) + "\n")


@pytest.fixture(scope="module")
def crd(cluster: E2ECluster) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )


@pytest.fixture
def operator(
    crd: None, service_account_kubeconfig: Callable[..., Path], namespace: str, tmp_path: Path
) -> Iterator[OperatorProcess]:
    kubeconfig = service_account_kubeconfig(
        operator_rules(OPERATOR_ROLE), name="statuswatch", cluster_wide=True
    )
    process = OperatorProcess(kubeconfig, namespace, tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()
        print(f"--- operator log ({process.log_file}) ---\n{process.log()}")


@pytest.fixture
def kube(
    cluster: E2ECluster, namespace: str, real_node: Placement, operator: OperatorProcess
) -> KubectlNamespace:
    return KubectlNamespace(cluster, namespace)


def container(node: Placement, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": node.image, "command": ["sh", "-c", script], **extra}


def pod_spec(node: Placement, *containers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**node.pod_spec, "terminationGracePeriodSeconds": 1, "containers": list(containers), **extra}


def deployment(name: str, spec: dict[str, Any], replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def statuswatch(name: str, *identifiers: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name},
        "spec": {
            "identifiers": [{"group": g, "kind": k, "name": n} for g, k, n in identifiers],
            "pollInterval": "1s",
        },
    }


def member(watch: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in (watch.get("status") or {}).get("resources") or []:
        if entry.get("name") == name:
            found: dict[str, Any] = entry
            return found
    return {}


def all_current(watch: dict[str, Any]) -> bool:
    conditions = {c["type"]: c for c in (watch.get("status") or {}).get("conditions") or []}
    return (conditions.get("AllCurrent") or {}).get("status") == "True"


def reasons_until(
    kube: KubectlNamespace, watch: str, name: str, done: Callable[[dict[str, Any]], bool], timeout: float
) -> list[tuple[float, str, str]]:
    """Each change of the member's (reason, message) as (seconds since the call, reason, message), until
    ``done(member)``; fails with what was seen when it times out."""
    started = time.monotonic()
    seen: list[tuple[float, str, str]] = []
    while True:
        entry = member(kube.get("statuswatch", watch) or {}, name)
        current = (str(entry.get("reason") or ""), str(entry.get("message") or ""))
        if entry and (not seen or seen[-1][1:] != current):
            seen.append((time.monotonic() - started, *current))
        if entry and done(entry):
            return seen
        if time.monotonic() - started > timeout:
            raise AssertionError(f"statuswatch/{watch} member {name}: timed out after {timeout}s; saw {seen}")
        time.sleep(0.2)


def first(seen: list[tuple[float, str, str]], reason: str) -> float:
    return next(t for t, r, _ in seen if r == reason)


def pods(kube: KubectlNamespace, app: str) -> list[dict[str, Any]]:
    listed = kube.cluster.kubectl("get", "pods", "-n", kube.namespace, "-l", f"app={app}", "-o", "json")
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


# -- workloads -------------------------------------------------------------------------------------------


def web(node: Placement, image: str) -> dict[str, Any]:
    serve = 'mkdir -p /www && echo "$HOSTNAME" > /www/index.html && exec httpd -f -p 8080 -h /www'
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    return pod_spec(node, {**container(node, serve, readinessProbe=probe), "image": image})


def test_deployment_rolls_out_to_a_new_image(kube: KubectlNamespace, real_node: Placement) -> None:
    started = time.monotonic()
    kube.apply(
        deployment("web", web(real_node, real_node.image), replicas=2),
        statuswatch("web", ("apps", "Deployment", "web")),
    )
    kube.wait_status("web", all_current, "AllCurrent after the first rollout", timeout=120)
    TIMINGS["deployment apply to AllCurrent (2 replicas)"] = time.monotonic() - started

    running = pods(kube, "web")
    assert len(running) == 2
    for pod in running:
        assert pod["spec"]["nodeName"] == "statuswatch-real-node"
        address = pod["status"]["podIP"]
        assert address.startswith("10.213."), address  # the real node's pod bridge
        # served by the container itself, over the node's bridge (its name is what httpd serves)
        with urllib.request.urlopen(f"http://{address}:8080/", timeout=5) as answer:
            assert answer.read().decode().strip() == pod["metadata"]["name"]

    started = time.monotonic()
    kube.apply(deployment("web", web(real_node, BUSYBOX_IMAGE_V2), replicas=2))
    kube.wait_status(
        "web", lambda w: not all_current(w), "InProgress once the new image rolls out", timeout=30
    )
    kube.wait_status("web", all_current, "AllCurrent after the rollout to the new image", timeout=120)
    TIMINGS["rollout to a new image to AllCurrent"] = time.monotonic() - started
    current = [pod for pod in pods(kube, "web") if not pod["metadata"].get("deletionTimestamp")]
    images = sorted(status["image"] for pod in current for status in pod["status"]["containerStatuses"])
    assert images == [BUSYBOX_IMAGE_V2, BUSYBOX_IMAGE_V2]  # the old pods are terminating


def test_statefulset_becomes_current(kube: KubectlNamespace, real_node: Placement) -> None:
    spec = pod_spec(
        real_node,
        container(
            real_node, "exec sleep 3600", readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": 1}
        ),
    )
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": spec},
        },
    }
    started = time.monotonic()
    kube.apply(statefulset, statuswatch("db", ("apps", "StatefulSet", "db")))
    kube.wait_status("db", all_current, "AllCurrent for the StatefulSet", timeout=120)
    TIMINGS["statefulset (2 ordered replicas) apply to AllCurrent"] = time.monotonic() - started
    assert sorted(p["metadata"]["name"] for p in pods(kube, "db")) == ["db-0", "db-1"]


def job(node: Placement, name: str, script: str, backoff: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff,
            "template": {"spec": pod_spec(node, container(node, script), restartPolicy="Never")},
        },
    }


def test_jobs_complete_or_fail_their_backoff_limit(kube: KubectlNamespace, real_node: Placement) -> None:
    kube.apply(
        job(real_node, "migrate", "echo migrated", backoff=0),
        job(real_node, "broken", "echo failing; exit 3", backoff=1),
        statuswatch("migrate", ("batch", "Job", "migrate")),
        statuswatch("broken", ("batch", "Job", "broken")),
    )
    # kstatus calls a Job Current once it has started ("Job in progress"), before it completes: on KWOK the
    # two coincide, on a real node the container may still be starting
    kube.wait_status("migrate", all_current, "AllCurrent once the Job runs", timeout=120)

    def completed(watch: dict[str, Any]) -> bool:
        return "Job Completed" in str(member(watch, "migrate").get("message"))

    kube.wait_status("migrate", completed, "the Job completed", timeout=120)
    assert kube.cluster.kubectl("logs", "job/migrate", "-n", kube.namespace).stdout.strip() == "migrated"

    def stalled(watch: dict[str, Any]) -> bool:
        return member(watch, "broken").get("status") == "Failed"

    failed = kube.wait_status("broken", stalled, "the failing Job Failed", timeout=180)
    conditions = {c["type"]: c for c in failed["status"]["conditions"]}
    assert conditions["Stalled"]["status"] == "True", conditions
    broken = kube.get("job", "broken") or {}
    assert broken["status"].get("failed") == 2, broken["status"]  # the first try and its one retry


# -- root causes, as the kubelet reports them ------------------------------------------------------------


def test_unpullable_image_is_the_reason_until_fixed(kube: KubectlNamespace, real_node: Placement) -> None:
    spec = pod_spec(real_node, {**container(real_node, "exec sleep 3600"), "image": UNPULLABLE_IMAGE})
    kube.apply(deployment("pull", spec), statuswatch("pull", ("apps", "Deployment", "pull")))
    seen = reasons_until(kube, "pull", "pull", lambda m: m.get("reason") == "ImagePullBackOff", timeout=90)
    # the kubelet alternates ErrImagePull (each pull) and ImagePullBackOff (between pulls)
    assert {reason for _, reason, _ in seen} <= {"", "ErrImagePull", "ImagePullBackOff"}, seen
    assert "container app: ImagePullBackOff" in seen[-1][2], seen
    TIMINGS["unpullable image: first reason"] = next(t for t, r, _ in seen if r)
    TIMINGS["unpullable image: ImagePullBackOff"] = first(seen, "ImagePullBackOff")

    kube.apply(deployment("pull", pod_spec(real_node, container(real_node, "exec sleep 3600"))))
    kube.wait_status("pull", all_current, "AllCurrent once the image is fixed", timeout=120)


def test_crash_loop_is_the_reason_from_its_first_crash(kube: KubectlNamespace, real_node: Placement) -> None:
    spec = pod_spec(real_node, container(real_node, "echo boom; exit 1"))
    kube.apply(deployment("crash", spec), statuswatch("crash", ("apps", "Deployment", "crash")))

    def restarted_twice(entry: dict[str, Any]) -> bool:
        return bool(re.search(r"restarts: [2-9]", str(entry.get("message"))))

    seen = reasons_until(kube, "crash", "crash", restarted_twice, timeout=120)
    first_reason = next((t, r, m) for t, r, m in seen if r)
    # named from the first crash, long before the kubelet says CrashLoopBackOff (~90 s here, if at all
    # while the StatusWatch looks: between restarts it mostly reports the last termination)
    assert first_reason[1] == "Error", seen
    # The kubelet restarts a container at once after its first crash (back-off starts with the second),
    # so on a loaded machine the first status read may already see restarts: 1.
    assert re.search(r"terminated: Error \(exit code 1\), restarts: [01]\b", first_reason[2]), seen
    restarts = [int(found) for _, _, message in seen for found in re.findall(r"restarts: (\d+)", message)]
    assert restarts == sorted(restarts), seen  # rising, as the kubelet restarts it
    TIMINGS["crash loop: first reason (first crash)"] = first_reason[0]
    TIMINGS["crash loop: 2 restarts"] = seen[-1][0]


def test_oom_killed_container(kube: KubectlNamespace, real_node: Placement) -> None:
    # dd's 64 MiB buffer is touched at once: far past the 16 MiB limit
    hog = container(
        real_node,
        "dd if=/dev/zero of=/dev/null bs=64M count=4",
        resources={"limits": {"memory": "16Mi"}, "requests": {"memory": "16Mi"}},
    )
    kube.apply(deployment("hog", pod_spec(real_node, hog)), statuswatch("hog", ("apps", "Deployment", "hog")))
    seen = reasons_until(kube, "hog", "hog", lambda m: m.get("reason") == "OOMKilled", timeout=120)
    TIMINGS["OOMKilled: first reason"] = first(seen, "OOMKilled")


def test_missing_configmap(kube: KubectlNamespace, real_node: Placement) -> None:
    uses = container(real_node, "exec sleep 3600", envFrom=[{"configMapRef": {"name": "absent"}}])
    kube.apply(
        deployment("conf", pod_spec(real_node, uses)), statuswatch("conf", ("apps", "Deployment", "conf"))
    )
    seen = reasons_until(
        kube, "conf", "conf", lambda m: m.get("reason") == "CreateContainerConfigError", timeout=90
    )
    assert "container app: CreateContainerConfigError" in seen[-1][2], seen
    TIMINGS["missing ConfigMap: CreateContainerConfigError"] = first(seen, "CreateContainerConfigError")


def test_failing_readiness_probe(kube: KubectlNamespace, real_node: Placement) -> None:
    probe = {"exec": {"command": ["sh", "-c", "echo not ready; exit 1"]}, "periodSeconds": 1}
    spec = pod_spec(real_node, container(real_node, "exec sleep 3600", readinessProbe=probe))
    kube.apply(deployment("probe", spec), statuswatch("probe", ("apps", "Deployment", "probe")))
    seen = reasons_until(kube, "probe", "probe", lambda m: bool(m.get("reason")), timeout=90)
    assert seen[-1][1] == "ContainersNotReady", seen
    assert "container app" in seen[-1][2], seen
    TIMINGS["failing readiness probe: first reason"] = seen[-1][0]


def test_unschedulable_pod(kube: KubectlNamespace, real_node: Placement) -> None:
    big = container(real_node, "exec sleep 3600", resources={"requests": {"cpu": "512"}})
    kube.apply(deployment("big", pod_spec(real_node, big)), statuswatch("big", ("apps", "Deployment", "big")))
    seen = reasons_until(kube, "big", "big", lambda m: m.get("reason") == "Unschedulable", timeout=90)
    assert "Insufficient cpu" in seen[-1][2], seen
    TIMINGS["unschedulable pod: Unschedulable"] = first(seen, "Unschedulable")


def test_kwok_nodes_leave_the_real_node_alone(cluster: E2ECluster, real_node: Placement) -> None:
    node = json.loads(cluster.kubectl("get", "node", "statuswatch-real-node", "-o", "json").stdout)
    assert node["metadata"]["labels"]["statuswatch.io/real-node"] == "true"
    assert "kwok.x-k8s.io/node" not in (node["metadata"].get("annotations") or {})
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://2.")
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"].startswith("10.213."), addresses  # the node's own interface
