"""The polling engine on an in-memory cluster (mirrors kstatus engine_test.go, plus this port's additions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    ClusterReader,
    ErrorEvent,
    Event,
    IdentifierError,
    ObjectStatusReader,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
    SyncEvent,
)
from statuswatch.polling.testing import FakeClusterReader, configmap, deployment, ident, pod, replicaset
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import NoMatchError

FAST = Options(poll_interval=0.01)


def poller_for(reader: FakeClusterReader, **kwargs: Any) -> StatusPoller:
    return StatusPoller(cluster_reader_factory=lambda ids, options: reader, **kwargs)


async def take(stream: AsyncGenerator[Event, None], count: int) -> list[Event]:
    events: list[Event] = []
    async with asyncio.timeout(5):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                break
    await stream.aclose()
    return events


def statuses(events: Sequence[Event]) -> list[tuple[str, Status, str]]:
    return [
        (e.resource.identifier.name, e.resource.status, e.resource.message)
        for e in events
        if isinstance(e, ResourceUpdateEvent)
    ]


def set_ready(name: str, ready: int, replicas: int = 1) -> Any:
    def step(reader: FakeClusterReader) -> set[ObjMetadata] | None:
        reader.put(deployment(name, replicas=replicas, ready=ready))
        return None

    return step


def nothing(reader: FakeClusterReader) -> None:
    return None


async def test_single_resource_in_progress_then_current() -> None:
    reader = FakeClusterReader([deployment("web", ready=0)], script=[nothing, set_ready("web", 1)])
    events = await take(poller_for(reader).poll([ident(deployment("web"))], FAST), 3)
    assert statuses(events) == [
        ("web", Status.IN_PROGRESS, "Available: 0/1"),
        ("web", Status.CURRENT, "Deployment is available. Replicas: 1"),
    ]
    assert events[1] == SyncEvent()
    assert reader.closed


async def test_multiple_resources_repeated_status_is_not_sent_again() -> None:
    web, api = deployment("web", ready=0), deployment("api", ready=0)
    script = [nothing, set_ready("web", 1), nothing, set_ready("api", 1)]
    reader = FakeClusterReader([web, api], script=script)
    events = await take(poller_for(reader).poll([ident(web), ident(api)], FAST), 5)
    assert statuses(events) == [
        ("web", Status.IN_PROGRESS, "Available: 0/1"),
        ("api", Status.IN_PROGRESS, "Available: 0/1"),
        ("web", Status.CURRENT, "Deployment is available. Replicas: 1"),
        ("api", Status.CURRENT, "Deployment is available. Replicas: 1"),
    ]
    assert [type(e) for e in events].count(SyncEvent) == 1
    assert reader.syncs == 5  # every cycle re-read, only changes reported


async def test_new_generation_is_news_even_with_same_status() -> None:
    obj = deployment("web", generation=1)

    def bump(reader: FakeClusterReader) -> None:
        reader.put(deployment("web", generation=2))

    reader = FakeClusterReader([obj], script=[bump])
    events = await take(poller_for(reader).poll([ident(obj)], FAST), 3)
    updates = [e for e in events if isinstance(e, ResourceUpdateEvent)]
    assert [u.resource.generation for u in updates] == [1, 2]
    assert updates[0].resource.status == updates[1].resource.status == Status.CURRENT


async def test_cancelling_the_consumer_stops_and_closes_the_reader() -> None:
    reader = FakeClusterReader([configmap("cfg")])
    seen: list[Event] = []
    synced = asyncio.Event()

    async def consume() -> None:
        async for event in poller_for(reader).poll([ident(configmap("cfg"))], FAST):
            seen.append(event)
            if isinstance(event, SyncEvent):
                synced.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(5):
        await synced.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert reader.closed
    assert statuses(seen) == [("cfg", Status.CURRENT, "Resource is always ready")]


async def test_cancelled_before_any_cycle_sends_nothing() -> None:
    class SlowSync(FakeClusterReader):
        async def sync(self) -> None:
            await asyncio.Event().wait()

    reader = SlowSync([configmap("cfg")])
    seen: list[Event] = []

    async def consume() -> None:
        async for event in poller_for(reader).poll([ident(configmap("cfg"))], FAST):
            seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == []
    assert reader.closed


async def test_aclose_stops_the_stream() -> None:
    reader = FakeClusterReader([configmap("cfg")])
    stream = poller_for(reader).poll([ident(configmap("cfg"))], FAST)
    first = await anext(stream)
    assert isinstance(first, ResourceUpdateEvent)
    await stream.aclose()
    assert reader.closed
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_namespaced_identifier_without_namespace_is_an_error_event() -> None:
    reader = FakeClusterReader([])
    stream = poller_for(reader).poll([ObjMetadata("apps", "Deployment", "", "web")], FAST)
    events = [event async for event in stream]
    assert events == [ErrorEvent(IdentifierError("namespace is not set for deployment.apps/web"))]
    assert reader.closed


async def test_cluster_scoped_and_unknown_kinds_need_no_namespace() -> None:
    reader = FakeClusterReader([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    ids = [ObjMetadata("", "Namespace", "", "shop"), ObjMetadata("example.com", "Widget", "", "w")]
    events = await take(poller_for(reader).poll(ids, FAST), 3)
    assert [(s[0], s[1]) for s in statuses(events)] == [("shop", Status.CURRENT), ("w", Status.UNKNOWN)]
    assert events[2] == SyncEvent()


async def test_missing_object_is_not_found() -> None:
    reader = FakeClusterReader([])
    events = await take(poller_for(reader).poll([ident(configmap("gone"))], FAST), 1)
    assert statuses(events) == [("gone", Status.NOT_FOUND, "Resource not found")]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ApiError(403, "Forbidden", "configmaps is forbidden"), "Forbidden: configmaps is forbidden"),
        (
            NoMatchError("", "Widget"),
            "Kind not installed: no resource of kind 'Widget' in API group 'core' is served by this cluster",
        ),
        (ApiError(500, "InternalError", "etcd down"), "API error 500: etcd down"),
        (TimeoutError(), "Timed out reading the resource"),
    ],
)
async def test_read_failures_are_unknown_with_the_reason(error: Exception, message: str) -> None:
    reader = FakeClusterReader([configmap("cfg")])
    reader.errors[("", "ConfigMap")] = error
    events = await take(poller_for(reader).poll([ident(configmap("cfg"))], FAST), 1)
    update = events[0]
    assert isinstance(update, ResourceUpdateEvent)
    assert (update.resource.status, update.resource.message) == (Status.UNKNOWN, message)
    assert update.resource.error is error


async def test_compute_error_is_unknown_and_keeps_the_object() -> None:
    broken = deployment("web")
    broken["metadata"]["generation"] = "two"
    reader = FakeClusterReader([broken])
    events = await take(poller_for(reader).poll([ident(broken)], FAST), 1)
    update = events[0]
    assert isinstance(update, ResourceUpdateEvent)
    assert update.resource.status == Status.UNKNOWN
    assert update.resource.message.startswith("Cannot compute status: ")
    assert update.resource.resource is broken


async def test_kind_installed_later_starts_being_served() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
    widget["status"] = {"observedGeneration": 1}  # a reported status: Current (none at all is InProgress)

    def install(reader: FakeClusterReader) -> None:
        reader.kinds[("example.com", "Widget")] = True
        reader.put(widget)

    reader = FakeClusterReader([], script=[nothing, install])
    events = await take(poller_for(reader).poll([ident(widget)], FAST), 3)
    assert [(s[1]) for s in statuses(events)] == [Status.UNKNOWN, Status.CURRENT]
    assert statuses(events)[0][2].startswith("LookupError: no kind Widget")


async def test_sync_failure_ends_the_stream_with_an_error_event() -> None:
    reader = FakeClusterReader([configmap("cfg")])
    reader.sync_error = RuntimeError("discovery broke")
    events = [e async for e in poller_for(reader).poll([ident(configmap("cfg"))], FAST)]
    assert events == [ErrorEvent(RuntimeError("discovery broke"))]
    assert reader.closed


class Exploding(ObjectStatusReader):
    def supports(self, group: str, kind: str) -> bool:
        return kind == "ConfigMap"

    async def read_status(self, reader: ClusterReader, identifier: ObjMetadata) -> ResourceStatus:
        raise RuntimeError("reader bug")


async def test_exception_escaping_a_status_reader_is_fatal() -> None:
    reader = FakeClusterReader([configmap("cfg")])
    poller = poller_for(reader, status_readers=[Exploding()])
    events = [e async for e in poller.poll([ident(configmap("cfg"))], FAST)]
    assert events == [ErrorEvent(RuntimeError("reader bug"))]


class WidgetReader(ObjectStatusReader):
    """A custom reader: a Widget is Current only when status.phase says Done."""

    kinds = frozenset({("example.com", "Widget")})

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        phase = (obj.get("status") or {}).get("phase")
        if phase == "Done":
            return ResourceStatus(identifier, Status.CURRENT, "Widget done", obj)
        return ResourceStatus(identifier, Status.IN_PROGRESS, f"Widget phase {phase}", obj)


async def test_custom_status_readers_come_first() -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns"},
        "status": {"phase": "Building"},
    }
    reader = FakeClusterReader([widget], kinds={("example.com", "Widget"): True, ("", "ConfigMap"): True})
    poller = poller_for(reader, status_readers=[WidgetReader()])
    events = await take(poller.poll([ident(widget), ident(configmap("cfg"))], FAST), 2)
    assert statuses(events) == [
        ("w", Status.IN_PROGRESS, "Widget phase Building"),
        ("cfg", Status.NOT_FOUND, "Resource not found"),
    ]


async def test_change_wakes_only_the_identifiers_it_can_affect() -> None:
    web = deployment("web", ready=0)
    cfg, other = configmap("cfg"), configmap("other", namespace="elsewhere")

    def pod_appears(reader: FakeClusterReader) -> set[ObjMetadata]:
        reader.gets.clear()
        reader.put(deployment("web", ready=1))
        return {reader.put(pod("web-1", "web"))}

    reader = FakeClusterReader([web, cfg, other], script=[pod_appears])
    events = await take(poller_for(reader).poll([ident(web), ident(cfg), ident(other)], FAST), 5)
    assert statuses(events)[-1] == ("web", Status.CURRENT, "Deployment is available. Replicas: 1")
    assert reader.gets == [ident(web)]  # the ConfigMaps were not re-read
    assert reader.syncs == 1  # an event-driven pass is not a full cycle


async def test_duplicate_identifiers_are_polled_once() -> None:
    reader = FakeClusterReader([configmap("cfg")])
    events = await take(poller_for(reader).poll([ident(configmap("cfg"))] * 2, FAST), 2)
    assert len(statuses(events)) == 1
    assert events[1] == SyncEvent()


async def test_no_identifiers_still_syncs() -> None:
    reader = FakeClusterReader([])
    events = await take(poller_for(reader).poll([], FAST), 1)
    assert events == [SyncEvent()]


@pytest.mark.parametrize("interval", [0, -1.0])
def test_poll_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="poll_interval must be positive"):
        Options(poll_interval=interval)


def test_poller_without_client_or_factory_is_a_clear_error() -> None:
    stream = StatusPoller().poll([], FAST)
    with pytest.raises(TypeError, match="needs client and mapper"):
        asyncio.run(anext(stream))


async def test_replicaset_crash_loop_reported_through_the_engine() -> None:
    rs = replicaset("web-1", "web", ready=0)
    reader = FakeClusterReader([rs, pod("web-1-a", "web", state="crashloop")])
    events = await take(poller_for(reader).poll([ident(rs)], FAST), 1)
    assert statuses(events) == [("web-1", Status.FAILED, "1 pods have failed")]


CLUSTERROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "view"},
}


async def test_cluster_scoped_kind_given_with_a_namespace_is_read_without_it() -> None:
    reader = FakeClusterReader([CLUSTERROLE])
    given = ObjMetadata("rbac.authorization.k8s.io", "ClusterRole", "shop", "view")  # as kustomize writes it
    events = await take(poller_for(reader).poll([given], FAST), 1)
    update = events[0]
    assert isinstance(update, ResourceUpdateEvent)
    assert update.resource.identifier == given  # reported under the caller's identifier
    assert update.resource.status == Status.CURRENT
    assert reader.gets == [ObjMetadata("rbac.authorization.k8s.io", "ClusterRole", "", "view")]


async def test_a_discovery_error_while_validating_is_unknown_per_identifier_and_retried() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
    widget["status"] = {"observedGeneration": 1}  # a reported status: Current (none at all is InProgress)
    down = ApiError(503, "ServiceUnavailable", "discovery is down")

    def recover(reader: FakeClusterReader) -> None:
        reader.scope_errors.clear()
        reader.errors.clear()

    reader = FakeClusterReader([widget, configmap("cfg")], script=[recover])
    reader.kinds[("example.com", "Widget")] = True
    reader.scope_errors[("example.com", "Widget")] = down
    reader.errors[("example.com", "Widget")] = down
    events = await take(poller_for(reader).poll([ident(widget), ident(configmap("cfg"))], FAST), 4)
    assert statuses(events) == [
        ("w", Status.UNKNOWN, "API error 503: discovery is down"),
        ("cfg", Status.CURRENT, "Resource is always ready"),
        ("w", Status.CURRENT, "Resource is current"),
    ]


async def test_a_kind_found_namespaced_later_without_a_namespace_is_unknown_not_fatal() -> None:
    def install(reader: FakeClusterReader) -> None:
        reader.kinds[("example.com", "Widget")] = True

    reader = FakeClusterReader([], script=[nothing, install])
    events = await take(poller_for(reader).poll([ObjMetadata("example.com", "Widget", "", "w")], FAST), 3)
    last = statuses(events)[-1]
    assert last == ("w", Status.UNKNOWN, "Invalid identifier: namespace is not set for widget.example.com/w")
