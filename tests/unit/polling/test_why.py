"""Root causes: each reason from plain objects, the precedence between them, and the readers filling them in.

The pure part (``statuswatch.polling.why``) is checked on hand-written objects shaped as the API server
sends them, and again after ``kstatus.project`` (what the shared view stores), so a projection that drops a
field the extraction reads fails here. The reader part runs on ``FakeClusterReader`` and ``FakeView``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from statuswatch.kstatus import Status, compute, project
from statuswatch.polling import (
    DeploymentStatusReader,
    GenericStatusReader,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
    SyncEvent,
    ViewClusterReader,
    Why,
    default_status_readers,
)
from statuswatch.polling.testing import (
    DEFAULT_KINDS,
    FakeClusterReader,
    FakeView,
    deployment,
    ident,
    meta,
    pod,
    replicaset,
)
from statuswatch.polling.why import condition_why, event_why, explain, first_blocking_pod, pod_why

from .test_viewreader import Mapper

KINDS = {
    **DEFAULT_KINDS,
    ("", "Event"): True,
    ("", "PersistentVolumeClaim"): True,
    ("apps", "DaemonSet"): True,
}


def _pod(name: str, status: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, **metadata), "status": status}


def _container(name: str, state: dict[str, Any], restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": state, "image": "x:1", **extra}


def _waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason, "message": f"details of {reason}"}}


def _event(
    reason: str,
    message: str,
    about: dict[str, Any],
    *,
    type_: str = "Warning",
    last: str = "2026-11-22T06:00:00Z",
    name: str = "e",
) -> dict[str, Any]:
    metadata = about["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(f"{metadata['name']}.{name}", metadata.get("namespace")),
        "involvedObject": {
            "apiVersion": about["apiVersion"],
            "kind": about["kind"],
            "name": metadata["name"],
            "namespace": metadata.get("namespace"),
            **({"uid": metadata["uid"]} if "uid" in metadata else {}),
        },
        "type": type_,
        "reason": reason,
        "message": message,
        "lastTimestamp": last,
        "count": 3,
        "source": {"component": "kubelet"},
        "reportingComponent": "kubelet",
    }


# -- each reason, on the object as sent and as projected --------------------------------------------------

POD_CASES = [
    (
        "image pull back-off",
        _pod(
            "web-1",
            {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ImagePullBackOff"))]},
        ),
        Why("ImagePullBackOff", "pod web-1 container app: ImagePullBackOff"),
    ),
    (
        "image pull error",
        _pod(
            "web-1", {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ErrImagePull"))]}
        ),
        Why("ErrImagePull", "pod web-1 container app: ErrImagePull"),
    ),
    (
        "config error",
        _pod(
            "web-1",
            {
                "phase": "Pending",
                "containerStatuses": [_container("app", _waiting("CreateContainerConfigError"))],
            },
        ),
        Why("CreateContainerConfigError", "pod web-1 container app: CreateContainerConfigError"),
    ),
    (
        "crash loop with restarts and last exit",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container(
                        "app",
                        _waiting("CrashLoopBackOff"),
                        restarts=5,
                        lastState={"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "x"}},
                    )
                ],
            },
        ),
        Why("CrashLoopBackOff", "pod web-1 container app: restarts: 5, last terminated: Error (exit code 1)"),
    ),
    (
        "crash loop after out of memory",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container(
                        "app",
                        _waiting("CrashLoopBackOff"),
                        restarts=2,
                        lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    )
                ],
            },
        ),
        Why("OOMKilled", "pod web-1 container app: restarts: 2, last terminated: OOMKilled (exit code 137)"),
    ),
    (
        "out of memory right now",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container("app", {"terminated": {"reason": "OOMKilled", "exitCode": 137}}, restarts=1)
                ],
            },
        ),
        Why("OOMKilled", "pod web-1 container app: OOMKilled (exit code 137), restarts: 1"),
    ),
    (
        # what a real kubelet shows for its first restarts, before it says CrashLoopBackOff
        "first crash, before the back-off",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container("app", {"terminated": {"reason": "Error", "exitCode": 1}}, restarts=1)
                ],
            },
        ),
        Why("Error", "pod web-1 container app: terminated: Error (exit code 1), restarts: 1"),
    ),
    (
        "running again after a crash, not ready",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container(
                        "app",
                        {"running": {"startedAt": "2026-12-03T10:15:36Z"}},
                        restarts=2,
                        started=True,
                        lastState={"terminated": {"reason": "Error", "exitCode": 2}},
                    )
                ],
            },
        ),
        Why("Error", "pod web-1 container app: restarted after Error (exit code 2), restarts: 2"),
    ),
    (
        "running, not ready: a failing readiness probe",
        _pod(
            "web-1",
            {
                "phase": "Running",
                "containerStatuses": [
                    _container("app", {"running": {"startedAt": "2026-12-03T10:15:36Z"}}, started=True)
                ],
            },
        ),
        Why(
            "ContainersNotReady",
            "pod web-1 container app: running, not ready: its readiness probe has not passed",
        ),
    ),
    (
        "init container first",
        _pod(
            "web-1",
            {
                "phase": "Pending",
                "initContainerStatuses": [_container("setup", _waiting("ImagePullBackOff"))],
                "containerStatuses": [_container("app", _waiting("PodInitializing"))],
            },
        ),
        Why("ImagePullBackOff", "pod web-1 init container setup: ImagePullBackOff"),
    ),
    (
        "unschedulable",
        _pod(
            "web-1",
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/3 nodes are available: 3 Insufficient cpu.",
                    }
                ],
            },
        ),
        Why("Unschedulable", "pod web-1: 0/3 nodes are available: 3 Insufficient cpu."),
    ),
]


@pytest.mark.parametrize("projected", [False, True], ids=["as sent", "projected"])
@pytest.mark.parametrize(("name", "obj", "expected"), POD_CASES, ids=[c[0] for c in POD_CASES])
def test_pod_reasons(name: str, obj: dict[str, Any], expected: Why, projected: bool) -> None:
    assert pod_why(project(obj) if projected else obj) == expected


@pytest.mark.parametrize(
    "status",
    [
        {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ContainerCreating"))]},
        {"phase": "Running", "containerStatuses": [_container("app", {"running": {}}, restarts=4)]},
        {
            "phase": "Running",
            "containerStatuses": [
                _container(
                    "app",
                    {"running": {}},
                    restarts=3,
                    ready=True,
                    started=True,
                    lastState={"terminated": {"reason": "Error", "exitCode": 1}},
                )
            ],
        },
        {
            "phase": "Succeeded",
            "containerStatuses": [_container("app", {"terminated": {"reason": "Completed", "exitCode": 0}})],
        },
        {"phase": "Pending", "containerStatuses": [_container("app", {"running": {}}, started=False)]},
        {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Other"}]},
        {"phase": "Pending", "containerStatuses": "malformed"},
        "malformed",
    ],
    ids=[
        "ready",
        "creating",
        "running after restarts",
        "ready between crashes",
        "completed",
        "not started yet",
        "not scheduled yet",
        "malformed list",
        "malformed",
    ],
)
def test_pods_without_a_blocking_cause(status: Any) -> None:
    assert pod_why(_pod("web-1", status)) is None


def test_replica_failure_condition_from_the_projected_replicaset() -> None:
    rs = replicaset("web-1", "web", replicas=2, ready=0)
    rs["status"]["conditions"] = [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "reason": "FailedCreate",
            "message": 'pods "web-1-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1',
            "lastTransitionTime": "2026-11-22T06:00:00Z",
        }
    ]
    expected = Why(
        "FailedCreate",
        'replicaset web-1: pods "web-1-x" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1',
    )
    assert condition_why(rs) == expected
    assert condition_why(project(rs)) == expected
    rs["status"]["conditions"][0]["status"] = "False"
    assert condition_why(rs) is None


def test_the_latest_warning_event_about_the_object_wins() -> None:
    web = deployment("web", uid="d1")
    other = deployment("other", uid="d2")
    events = [
        _event("Old", "older warning", web, last="2026-11-22T05:00:00Z", name="a"),
        _event("Newest", "newest warning", web, last="2026-11-22T06:30:00Z", name="b"),
        _event("Normal", "not a warning", web, type_="Normal", last="2026-11-22T07:00:00Z", name="c"),
        _event("Elsewhere", "about another object", other, last="2026-11-22T08:00:00Z", name="d"),
    ]
    assert event_why(web, events) == Why("Newest", "newest warning")
    assert event_why(web, [project(e) for e in events]) == Why("Newest", "newest warning")
    assert event_why(deployment("third"), events) is None


def test_events_match_by_uid_first_then_by_kind_and_name() -> None:
    recreated = deployment("web", uid="d-new")
    stale = _event("Stale", "about the deleted web", deployment("web", uid="d-old"))
    assert event_why(recreated, [stale]) is None
    no_uid = _event("Plain", "no uid on either side", deployment("web"))
    assert event_why(deployment("web"), [no_uid]) == Why("Plain", "no uid on either side")


def test_events_k8s_io_shape_and_series_time() -> None:
    web = deployment("web", uid="d1")
    newer = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta("web.x"),
        "regarding": {"kind": "Deployment", "name": "web", "namespace": "ns", "uid": "d1"},
        "type": "Warning",
        "reason": "Series",
        "note": "seen again",
        "eventTime": "2026-11-22T05:00:00.000000Z",
        "series": {"count": 4, "lastObservedTime": "2026-11-22T07:00:00.000000Z"},
    }
    older = _event("Core", "core event", web, last="2026-11-22T06:00:00Z")
    assert event_why(web, [newer, older]) == Why("Series", "seen again")
    assert event_why(web, [project(newer), project(older)]) == Why("Series", "seen again")


def test_projection_keeps_events_small() -> None:
    event = _event("BackOff", "Back-off pulling image", deployment("web", uid="d1"))
    event["metadata"]["managedFields"] = [{"manager": "kubelet"}]
    projected = project(event)
    assert set(projected) == {"apiVersion", "kind", "metadata", "involvedObject", "type", "reason", "message",
                              "lastTimestamp", "count"}  # fmt: skip
    assert compute(projected) == compute(event)


def test_first_blocking_pod_is_by_name() -> None:
    pods = [
        _pod("b", {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ErrImagePull"))]}),
        _pod("c", {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
        _pod(
            "a", {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ImagePullBackOff"))]}
        ),
    ]
    assert first_blocking_pod(pods) == Why("ImagePullBackOff", "pod a container app: ImagePullBackOff")
    assert first_blocking_pod(pods[1:2]) is None


# -- precedence in a status tree --------------------------------------------------------------------------


def _status(obj: dict[str, Any], status: Status, *children: ResourceStatus) -> ResourceStatus:
    return ResourceStatus(ident(obj), status, "m", obj, generated_resources=children)


def test_explain_precedence_own_then_children_then_events() -> None:
    web = deployment("web", uid="d1", ready=0)
    stuck = _pod(
        "web-1-a", {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ErrImagePull"))]}
    )
    rs = replicaset("web-1", "web", ready=0)
    tree = _status(
        web, Status.IN_PROGRESS, _status(rs, Status.IN_PROGRESS, _status(stuck, Status.IN_PROGRESS))
    )
    warning = [_event("FailedX", "deployment warning", web)]

    explained = explain(tree, warning)

    cause = Why("ErrImagePull", "pod web-1-a container app: ErrImagePull")
    assert explained.why == cause
    assert explained.generated_resources[0].why == cause
    assert explained.generated_resources[0].generated_resources[0].why == cause
    assert (explained.status, explained.message) == (Status.IN_PROGRESS, "m")  # kstatus result untouched

    no_pods = _status(web, Status.IN_PROGRESS, _status(rs, Status.IN_PROGRESS))
    assert explain(no_pods, warning).why == Why("FailedX", "deployment warning")
    assert explain(no_pods).why is None


def test_current_resources_and_current_children_are_not_explained() -> None:
    web = deployment("web", uid="d1")
    warning = [_event("FailedX", "old news", web)]
    assert explain(_status(web, Status.CURRENT), warning).why is None

    stuck = _pod(
        "web-1-a", {"phase": "Pending", "containerStatuses": [_container("app", _waiting("ErrImagePull"))]}
    )
    rs = replicaset("web-1", "web")
    done_child = _status(rs, Status.CURRENT, _status(stuck, Status.IN_PROGRESS))
    assert explain(_status(web, Status.IN_PROGRESS, done_child)).why is None


def test_why_takes_part_in_equality() -> None:
    obj = deployment("web")
    assert _status(obj, Status.IN_PROGRESS) != explain(
        _status(obj, Status.IN_PROGRESS), [_event("X", "y", obj)]
    )


# -- readers ----------------------------------------------------------------------------------------------


def _image_pull_cluster() -> list[dict[str, Any]]:
    stuck = pod("web-1-a", "web", owner="r1", owner_name="web-1", state="pending")
    stuck["status"]["containerStatuses"] = [_container("app", _waiting("ImagePullBackOff"))]
    return [
        deployment("web", uid="d1", ready=0),
        replicaset("web-1", "web", uid="r1", owner="d1", ready=0),
        stuck,
    ]


async def test_deployment_reader_explains_through_replicasets_and_pods() -> None:
    reader = FakeClusterReader(_image_pull_cluster(), kinds=KINDS)
    status = await DeploymentStatusReader().read_status(
        reader, ObjMetadata("apps", "Deployment", "ns", "web")
    )
    assert status.status == Status.IN_PROGRESS
    assert status.why == Why("ImagePullBackOff", "pod web-1-a container app: ImagePullBackOff")


async def test_event_causes_are_opt_in_and_read_from_the_namespace() -> None:
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data", uid="p1")}
    pvc["status"] = {"phase": "Pending"}
    warning = _event("ProvisioningFailed", "no storage class", pvc)
    reader = FakeClusterReader([pvc, warning], kinds=KINDS)
    identifier = ObjMetadata("", "PersistentVolumeClaim", "ns", "data")

    assert (await GenericStatusReader().read_status(reader, identifier)).why is None
    status = await GenericStatusReader(events=True).read_status(reader, identifier)
    assert status.status == Status.IN_PROGRESS
    assert status.why == Why("ProvisioningFailed", "no storage class")


async def test_daemonset_and_job_are_explained_by_their_pods() -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": meta("agent", uid="ds1", generation=1),
        "spec": {"selector": {"matchLabels": {"app": "agent"}}},
        "status": {
            "observedGeneration": 1,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberAvailable": 0,
            "numberReady": 0,
        },
    }
    stuck = pod("agent-x", "agent", owner="ds1", owner_kind="DaemonSet", owner_name="agent", state="pending")
    stuck["status"]["containerStatuses"] = [_container("agent", _waiting("CreateContainerConfigError"))]
    foreign = pod(
        "agent-y", "agent", owner="other", owner_kind="DaemonSet", owner_name="agent", state="pending"
    )
    foreign["status"]["containerStatuses"] = [_container("agent", _waiting("ErrImagePull"))]
    reader = FakeClusterReader([ds, stuck, foreign], kinds=KINDS)
    status = await GenericStatusReader().read_status(reader, ObjMetadata("apps", "DaemonSet", "ns", "agent"))
    assert status.status == Status.IN_PROGRESS
    assert status.why == Why(
        "CreateContainerConfigError", "pod agent-x container agent: CreateContainerConfigError"
    )


async def test_an_unreadable_event_stream_leaves_why_empty() -> None:
    web = deployment("web", uid="d1", ready=0)
    reader = FakeClusterReader([web], kinds=KINDS)
    reader.errors[("", "Event")] = PermissionError("events are forbidden")
    status = await DeploymentStatusReader(events=True).read_status(reader, ident(web))
    assert (status.status, status.why) == (Status.IN_PROGRESS, None)


@pytest.mark.looptime
async def test_poller_on_the_shared_view_reports_a_new_warning_event_as_news() -> None:
    web = deployment("web", uid="d1", ready=0)
    view = FakeView([web, replicaset("web-1", "web", uid="r1", owner="d1", ready=0)])
    poller = StatusPoller(
        status_readers=default_status_readers(events=True),
        cluster_reader_factory=lambda ids, options: ViewClusterReader(ids, None, Mapper(), view=view),
    )
    updates: list[ResourceStatus] = []
    stream = poller.poll([ident(web)], Options(poll_interval=1))
    async for event in stream:
        if isinstance(event, ResourceUpdateEvent):
            updates.append(event.resource)
        if isinstance(event, SyncEvent):
            view.put(_event("FailedCreate", "quota exceeded", web))
        if len(updates) == 2:
            break
    await stream.aclose()
    assert [u.why for u in updates] == [None, Why("FailedCreate", "quota exceeded")]
    assert asyncio.get_running_loop().time() <= 1.5  # an Event wakes no poll: the next full cycle reads it
    assert ("", "Event", "ns") in view.opened


# -- pinned by the 2026-12 mutation audit: which child's cause is named, and when one is looked up ----------


def _stuck(name: str, reason: str) -> dict[str, Any]:
    return _pod(name, {"phase": "Pending", "containerStatuses": [_container("app", _waiting(reason))]})


def test_the_first_child_not_current_with_a_cause_is_named() -> None:
    web = deployment("web", uid="d1", ready=0)
    done = _status(
        replicaset("web-0", "web"), Status.CURRENT, _status(_stuck("web-0-a", "Old"), Status.IN_PROGRESS)
    )
    quiet = _status(replicaset("web-1", "web", ready=0), Status.IN_PROGRESS)  # not ready, no cause known
    first = _status(
        replicaset("web-2", "web", ready=0),
        Status.IN_PROGRESS,
        _status(_stuck("web-2-a", "ErrImagePull"), Status.IN_PROGRESS),
    )
    second = _status(
        replicaset("web-3", "web", ready=0),
        Status.FAILED,
        _status(_stuck("web-3-a", "CrashLoopBackOff"), Status.FAILED),
    )
    explained = explain(_status(web, Status.IN_PROGRESS, done, quiet, first, second))
    assert explained.why == Why("ErrImagePull", "pod web-2-a container app: ErrImagePull")
    assert explained.generated_resources[3].why is not None
    assert explained.generated_resources[3].why.reason == "CrashLoopBackOff"


def test_a_cause_is_looked_up_only_for_a_read_resource_in_progress_or_failed_without_one() -> None:
    stuck = _stuck("web-1-a", "ErrImagePull")
    warning = [_event("FailedX", "a warning", stuck)]
    for status in (Status.IN_PROGRESS, Status.FAILED):
        assert explain(_status(stuck, status), warning).why is not None
    for status in (Status.UNKNOWN, Status.NOT_FOUND, Status.TERMINATING, Status.CURRENT):
        assert explain(_status(stuck, status), warning).why is None, status
    known = Why("Given", "already known")
    given = dataclasses.replace(_status(stuck, Status.IN_PROGRESS), why=known)
    assert explain(given, warning).why is known
    unread = ResourceStatus(ident(stuck), Status.IN_PROGRESS, "m", None)
    assert explain(unread, warning).why is None
