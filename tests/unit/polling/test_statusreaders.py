"""Built-in status readers: generated resources and the pod-controller escalation (kstatus's tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from statuswatch.kstatus import Status
from statuswatch.polling import (
    DeploymentStatusReader,
    GenericStatusReader,
    ObjMetadata,
    PodControllerStatusReader,
)
from statuswatch.polling.testing import FakeClusterReader, deployment, ident, pod, replicaset, statefulset


async def test_deployment_lists_its_replicasets_and_their_pods_sorted() -> None:
    web = deployment("web", replicas=2, ready=2, uid="d1")
    objects = [
        web,
        replicaset("web-b", "web", replicas=2, ready=2, uid="rs-b", owner="d1"),
        replicaset("web-a", "web", replicas=0, ready=0, uid="rs-a", owner="d1"),
        replicaset("web-stray", "web", uid="rs-x", owner="someone-else"),  # same labels, other owner
        pod("web-b-2", "web", owner="rs-b"),
        pod("web-b-1", "web", owner="rs-b"),
    ]
    reader = FakeClusterReader(objects)
    status = await DeploymentStatusReader().read_status(reader, ident(web))
    assert (status.status, status.message) == (Status.CURRENT, "Deployment is available. Replicas: 2")
    assert [child.identifier.name for child in status.generated_resources] == ["web-a", "web-b"]
    web_a, web_b = status.generated_resources
    assert web_a.generated_resources == ()
    assert [p.identifier.name for p in web_b.generated_resources] == ["web-b-1", "web-b-2"]
    assert all(p.status == Status.CURRENT for p in web_b.generated_resources)


async def test_deployment_status_is_not_escalated_by_failed_pods() -> None:
    web = deployment("web", replicas=1, ready=0, uid="d1")
    objects = [web, replicaset("web-1", "web", ready=0, uid="r1", owner="d1")]
    objects.append(pod("web-1-a", "web", state="crashloop", owner="r1"))
    status = await DeploymentStatusReader().read_status(FakeClusterReader(objects), ident(web))
    assert status.status == Status.IN_PROGRESS
    (rs,) = status.generated_resources
    assert (rs.status, rs.message) == (Status.FAILED, "1 pods have failed")
    assert rs.generated_resources[0].status == Status.FAILED


async def test_replicaset_in_progress_with_a_failed_pod_is_failed() -> None:
    rs = replicaset("web-1", "web", replicas=2, ready=1)
    objects = [rs, pod("a", "web"), pod("b", "web", state="crashloop")]
    status = await PodControllerStatusReader().read_status(FakeClusterReader(objects), ident(rs))
    assert (status.status, status.message) == (Status.FAILED, "1 pods have failed")
    assert [p.status for p in status.generated_resources] == [Status.CURRENT, Status.FAILED]


async def test_statefulset_in_progress_with_failed_pods_is_failed() -> None:
    sts = statefulset("db", replicas=3, ready=1)
    objects = [
        sts,
        pod("db-0", "db"),
        pod("db-1", "db", state="crashloop"),
        pod("db-2", "db", state="crashloop"),
    ]
    status = await PodControllerStatusReader().read_status(FakeClusterReader(objects), ident(sts))
    assert (status.status, status.message) == (Status.FAILED, "2 pods have failed")


async def test_current_replicaset_is_not_escalated() -> None:
    rs = replicaset("web-1", "web", replicas=1, ready=1)
    objects = [rs, pod("a", "web", state="crashloop")]
    status = await PodControllerStatusReader().read_status(FakeClusterReader(objects), ident(rs))
    assert status.status == Status.CURRENT


async def test_pods_selected_by_other_labels_are_ignored() -> None:
    rs = replicaset("web-1", "web", replicas=1, ready=0)
    objects = [rs, pod("other", "api", state="crashloop")]
    status = await PodControllerStatusReader().read_status(FakeClusterReader(objects), ident(rs))
    assert status.status == Status.IN_PROGRESS
    assert status.generated_resources == ()


async def test_missing_selector_is_unknown() -> None:
    rs = replicaset("web-1", "web")
    del rs["spec"]["selector"]
    status = await PodControllerStatusReader().read_status(FakeClusterReader([rs]), ident(rs))
    assert status.status == Status.UNKNOWN
    assert "has no selector" in status.message


async def test_invalid_selector_is_unknown() -> None:
    rs = replicaset("web-1", "web")
    rs["spec"]["selector"] = {"matchExpressions": [{"key": "app", "operator": "Near"}]}
    status = await PodControllerStatusReader().read_status(FakeClusterReader([rs]), ident(rs))
    assert status.status == Status.UNKNOWN
    assert status.message.startswith("Invalid selector: ")


async def test_children_unreadable_is_unknown() -> None:
    rs = replicaset("web-1", "web")
    reader = FakeClusterReader([rs])
    reader.errors[("", "Pod")] = PermissionError("pods are forbidden")
    status = await PodControllerStatusReader().read_status(reader, ident(rs))
    assert (status.status, status.message) == (Status.UNKNOWN, "PermissionError: pods are forbidden")
    assert status.resource is rs


async def test_generic_reader_not_found() -> None:
    status = await GenericStatusReader().read_status(
        FakeClusterReader([]), ObjMetadata("", "Pod", "ns", "missing")
    )
    assert (status.status, status.message, status.resource) == (Status.NOT_FOUND, "Resource not found", None)


async def test_unschedulable_pod_turns_failed_after_the_window_with_an_injected_clock() -> None:
    created = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    p = pod("p", "web", state="unschedulable", created="2026-01-01T12:00:00Z")
    reader = FakeClusterReader([p])
    now = created + timedelta(seconds=5)
    early = await GenericStatusReader(lambda: now).read_status(reader, ident(p))
    assert early.status == Status.IN_PROGRESS
    now = created + timedelta(seconds=20)
    late = await GenericStatusReader(lambda: now).read_status(reader, ident(p))
    assert late.status == Status.FAILED


def test_readers_declare_what_they_support() -> None:
    assert DeploymentStatusReader().supports("apps", "Deployment")
    assert not DeploymentStatusReader().supports("apps", "StatefulSet")
    assert PodControllerStatusReader().supports("apps", "StatefulSet")
    assert PodControllerStatusReader().supports("apps", "ReplicaSet")
    assert not PodControllerStatusReader().supports("extensions", "Deployment")
    assert GenericStatusReader().supports("anything.io", "Whatever")


async def test_generated_resources_are_kept_when_the_owners_own_status_cannot_be_computed() -> None:
    web = deployment("web", uid="d1")
    web["metadata"]["generation"] = "two"  # malformed: kstatus cannot compute the Deployment itself
    objects = [web, replicaset("web-1", "web", uid="r1", owner="d1"), pod("web-1-a", "web", owner="r1")]
    status = await DeploymentStatusReader().read_status(FakeClusterReader(objects), ident(web))
    assert status.status == Status.UNKNOWN
    assert status.message.startswith("Cannot compute status: ")
    (rs,) = status.generated_resources
    assert rs.identifier.name == "web-1"
    assert [p.identifier.name for p in rs.generated_resources] == ["web-1-a"]


async def test_pods_are_kept_when_the_replicasets_own_status_cannot_be_computed() -> None:
    rs = replicaset("web-1", "web")
    rs["metadata"]["generation"] = "two"
    status = await PodControllerStatusReader().read_status(
        FakeClusterReader([rs, pod("web-1-a", "web")]), ident(rs)
    )
    assert status.status == Status.UNKNOWN
    assert [p.identifier.name for p in status.generated_resources] == ["web-1-a"]
