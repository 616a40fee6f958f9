"""The shared-view cluster reader on the in-memory ``FakeView``: keys, wake-ups, staleness, sync waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    Event,
    NotSyncedError,
    ObjMetadata,
    Options,
    ResourceUpdateEvent,
    StatusPoller,
    StreamFailingError,
    SyncEvent,
    UnreadableObjectError,
    ViewClusterReader,
    describe_error,
)
from statuswatch.polling.testing import FakeView, configmap, deployment, ident
from statuswatch.watchlist import ApiError, NoMatchError, ResourceType, RestMapper
from statuswatch.watchlist.testing import FakeTransport

WIDGET = ("example.com", "Widget")
CLUSTERROLE = ("rbac.authorization.k8s.io", "ClusterRole")


class Mapper(RestMapper):
    """A RestMapper whose answers the test sets: (group, kind) -> namespaced, or missing."""

    def __init__(self, missing: set[tuple[str, str]] | None = None) -> None:
        super().__init__(FakeTransport())
        self.missing = set(missing or ())
        self.failing: Exception | None = None

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        if self.failing is not None:
            raise self.failing
        if (group, kind) in self.missing:
            raise NoMatchError(group, kind)
        namespaced = (group, kind) not in {("", "Namespace"), CLUSTERROLE}
        return ResourceType(group, "v1", kind, kind.lower() + "s", namespaced)


def make(
    view: FakeView, ids: list[ObjMetadata], mapper: Mapper | None = None, **kwargs: float
) -> ViewClusterReader:
    return ViewClusterReader(ids, None, mapper or Mapper(), view=view, **kwargs)


def widget(name: str = "w") -> dict[str, object]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "ns"}}


async def test_subscribes_to_identifiers_and_generated_kinds_per_namespace() -> None:
    web = deployment("web")
    view = FakeView([web])
    reader = make(view, [ident(web), ident(configmap("cfg", namespace="other"))])
    await reader.sync()
    assert view.opened == [
        ("apps", "Deployment", "ns"),
        ("apps", "ReplicaSet", "ns"),
        ("", "Pod", "ns"),
        ("", "ConfigMap", "other"),
    ]
    assert await reader.get("apps", "Deployment", "ns", "web") is web
    await reader.close()
    assert sorted(view.closed) == sorted(view.opened)
    assert reader.router.keys == {}


async def test_cluster_scoped_kind_with_a_namespace_is_read_cluster_wide() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    view = FakeView([role])
    given = ObjMetadata(*CLUSTERROLE, "shop", "r")  # as kustomize writes it
    reader = make(view, [given])
    await reader.sync()
    assert view.opened == [(*CLUSTERROLE, None)]
    assert reader.lookup(given) == ObjMetadata(*CLUSTERROLE, "", "r")
    assert await reader.get(*CLUSTERROLE, "shop", "r") is role
    await reader.close()


async def test_cluster_scoped_kind_with_a_namespace_is_current_through_the_engine() -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    view = FakeView([role])
    given = ObjMetadata(*CLUSTERROLE, "shop", "r")
    poller = StatusPoller(cluster_reader_factory=lambda ids, options: make(view, list(ids)))
    stream = poller.poll([given], Options(poll_interval=3600))
    first = await anext(stream)
    assert isinstance(first, ResourceUpdateEvent)
    assert (first.resource.identifier, first.resource.status) == (given, Status.CURRENT)
    await stream.aclose()


async def test_a_change_wakes_the_engine_before_the_interval() -> None:
    web = deployment("web", ready=0)
    view = FakeView([web])
    poller = StatusPoller(cluster_reader_factory=lambda ids, options: make(view, list(ids)))
    stream = poller.poll([ident(web)], Options(poll_interval=3600))
    async with asyncio.timeout(5):
        first = await anext(stream)
        assert isinstance(first, ResourceUpdateEvent)
        assert first.resource.status == Status.IN_PROGRESS
        assert isinstance(await anext(stream), SyncEvent)
        view.put(deployment("web", ready=1))
        update = await anext(stream)  # an hour-long interval: only the change can explain this
    assert isinstance(update, ResourceUpdateEvent)
    assert update.resource.status == Status.CURRENT
    await stream.aclose()


async def test_missing_kind_is_unknown_then_served_once_discovery_knows_it() -> None:
    view = FakeView([widget()])
    view.synced[WIDGET] = False
    view.errors[WIDGET] = NoMatchError(*WIDGET)
    mapper = Mapper({WIDGET})
    reader = make(view, [ident(widget())], mapper)
    await reader.sync()
    with pytest.raises(NoMatchError):
        await reader.get(*WIDGET, "ns", "w")
    mapper.missing.clear()  # discovery knows it; the stream is still in its back-off
    await reader.sync()  # re-subscribes instead of waiting for the old stream's back-off
    assert view.opened.count((*WIDGET, "ns")) == 2
    assert view.closed == [(*WIDGET, "ns")]
    await reader.sync()  # at most one re-subscription per key in a while, however many polls ask
    assert view.opened.count((*WIDGET, "ns")) == 2
    del view.errors[WIDGET]
    view.synced[WIDGET] = True
    assert await reader.get(*WIDGET, "ns", "w") == widget()
    await reader.close()


async def test_steady_changes_do_not_starve_the_full_cycle() -> None:
    view = FakeView([configmap("cfg")])
    reader = make(view, [ident(configmap("cfg"))])
    await reader.sync()
    view.put(configmap("cfg"))
    await asyncio.sleep(0)
    assert await reader.wait_for_change(0.05) == {ident(configmap("cfg"))}
    await asyncio.sleep(0.06)
    view.put(configmap("cfg"))
    await asyncio.sleep(0)
    assert await reader.wait_for_change(0.05) is None  # interval over: full cycle, even with changes
    await reader.close()


async def test_invalid_selector_is_rejected_like_the_direct_reader() -> None:
    reader = make(FakeView([]), [])
    with pytest.raises(ValueError, match="operator"):
        await reader.list("", "Pod", "ns", {"matchExpressions": [{"key": "a", "operator": "Near"}]})
    await reader.close()


# -- staleness (issue 9, defect 2) -----------------------------------------------------------------


@pytest.mark.looptime
async def test_synced_stream_failing_with_forbidden_is_unknown_after_a_short_grace_and_recovers() -> None:
    view = FakeView([configmap("cfg")])
    reader = make(view, [ident(configmap("cfg"))], poll_interval=2)
    await reader.sync()
    assert await reader.get("", "ConfigMap", "ns", "cfg") is not None
    loop = asyncio.get_running_loop()
    view.errors[("", "ConfigMap")] = ApiError(403, "Forbidden", 'configmaps is forbidden: User "sa"')
    view.failing_since[("", "ConfigMap")] = loop.time()
    await asyncio.sleep(3)
    assert await reader.get("", "ConfigMap", "ns", "cfg") is not None  # a blip, not a verdict (N8)
    await asyncio.sleep(3)
    with pytest.raises(StreamFailingError) as caught:
        await reader.get("", "ConfigMap", "ns", "cfg")
    assert caught.value.seconds == 6
    del view.errors[("", "ConfigMap")], view.failing_since[("", "ConfigMap")]
    assert await reader.get("", "ConfigMap", "ns", "cfg") is not None
    await reader.close()


@pytest.mark.looptime
async def test_synced_stream_failing_transiently_is_served_for_the_grace_then_unknown() -> None:
    view = FakeView([configmap("cfg")])
    reader = make(view, [ident(configmap("cfg"))], poll_interval=2)  # grace: max(4 s, 10 s)
    await reader.sync()
    view.errors[("", "ConfigMap")] = ApiError(503, "ServiceUnavailable", "apiserver restarting")
    view.failing_since[("", "ConfigMap")] = asyncio.get_running_loop().time()
    await asyncio.sleep(9)
    assert await reader.get("", "ConfigMap", "ns", "cfg") is not None  # a restart blip does not flap
    await asyncio.sleep(1)
    with pytest.raises(StreamFailingError):
        await reader.get("", "ConfigMap", "ns", "cfg")
    await reader.close()


@pytest.mark.looptime
async def test_engine_reports_a_revoked_stream_as_unknown_with_the_cause_then_recovers() -> None:
    view = FakeView([configmap("cfg")])
    poller = StatusPoller(
        cluster_reader_factory=lambda ids, options: make(view, list(ids), poll_interval=options.poll_interval)
    )
    stream = poller.poll([ident(configmap("cfg"))], Options(poll_interval=5))
    first = await anext(stream)
    assert isinstance(first, ResourceUpdateEvent)
    assert first.resource.status == Status.CURRENT
    assert isinstance(await anext(stream), SyncEvent)
    loop = asyncio.get_running_loop()
    view.errors[("", "ConfigMap")] = ApiError(403, "Forbidden", "configmaps is forbidden")
    view.failing_since[("", "ConfigMap")] = loop.time()
    started = loop.time()
    stale = await anext(stream)
    assert isinstance(stale, ResourceUpdateEvent)
    assert loop.time() - started <= 5  # within one poll interval
    assert stale.resource.status == Status.UNKNOWN
    assert stale.resource.message == "watch failing: Forbidden: configmaps is forbidden"
    del view.errors[("", "ConfigMap")], view.failing_since[("", "ConfigMap")]
    recovered = await anext(stream)
    assert isinstance(recovered, ResourceUpdateEvent)
    assert recovered.resource.status == Status.CURRENT
    await stream.aclose()


# -- sync waits (issue 9, defects 6 and 10) ------------------------------------------------------------


@pytest.mark.looptime
async def test_an_unsynced_stream_is_waited_for_once_then_answers_at_once() -> None:
    view = FakeView([configmap("cfg"), widget()])
    view.synced[WIDGET] = False  # an aggregated API that never answers
    reader = make(view, [ident(configmap("cfg")), ident(widget())], sync_timeout=10)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await reader.sync()
    assert loop.time() - started == 10  # one bounded wait
    with pytest.raises(NotSyncedError, match=r"widget\.example\.com in ns: initial list not complete"):
        await reader.get(*WIDGET, "ns", "w")
    assert await reader.get("", "ConfigMap", "ns", "cfg") is not None
    again = loop.time()
    await reader.sync()
    with pytest.raises(NotSyncedError):
        await reader.get(*WIDGET, "ns", "w")
    assert loop.time() == again  # no second wait, and no wait per read
    await reader.close()


@pytest.mark.looptime
async def test_a_down_aggregated_api_does_not_slow_the_other_identifiers() -> None:
    view = FakeView([deployment("web", ready=0), widget()])
    view.synced[WIDGET] = False
    view.errors[WIDGET] = ApiError(503, "ServiceUnavailable", "the server is currently unable")
    poller = StatusPoller(cluster_reader_factory=lambda ids, options: make(view, list(ids)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    stream = poller.poll([ident(widget()), ident(deployment("web"))], Options(poll_interval=2))
    events = [await anext(stream) for _ in range(3)]
    assert loop.time() == started  # a failing stream is not waited for at all
    first = events[0]
    assert isinstance(first, ResourceUpdateEvent)
    assert first.resource.status == Status.UNKNOWN
    assert first.resource.message == (
        "not synced yet: widget.example.com in ns: API error 503: the server is currently unable"
    )
    view.put(deployment("web", ready=1))
    update = await anext(stream)
    assert isinstance(update, ResourceUpdateEvent)
    assert update.resource.status == Status.CURRENT
    assert loop.time() == started  # event-driven: no wait on the Widget's stream
    await stream.aclose()


async def _consume(stream: AsyncGenerator[Event, None], seen: list[Event]) -> None:
    async for event in stream:
        seen.append(event)


@pytest.mark.looptime
async def test_cancelling_a_poll_during_the_sync_wait_leaks_nothing() -> None:
    view = FakeView([configmap("cfg")])
    view.synced[("", "ConfigMap")] = False
    reader = make(view, [ident(configmap("cfg"))], sync_timeout=30)
    poller = StatusPoller(cluster_reader_factory=lambda ids, options: reader)
    before = asyncio.all_tasks()
    seen: list[Event] = []
    task = asyncio.create_task(_consume(poller.poll([ident(configmap("cfg"))]), seen))
    await asyncio.sleep(5)  # inside the bounded sync wait
    assert reader.router.keys == {("", "ConfigMap", "ns"): 1}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == []
    assert reader.router.keys == {}
    assert view.open_subscriptions == []
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == before  # no drain, no sync waiter left behind


async def test_a_discovery_failure_never_escapes_the_poll() -> None:
    view = FakeView([configmap("cfg")])
    mapper = Mapper()
    mapper.failing = ApiError(503, "ServiceUnavailable", "discovery down")
    poller = StatusPoller(cluster_reader_factory=lambda ids, options: make(view, list(ids), mapper))
    stream = poller.poll([ident(configmap("cfg"))], Options(poll_interval=3600))
    first = await anext(stream)  # used to raise ApiError out of poll()
    assert isinstance(first, ResourceUpdateEvent)
    assert first.resource.status == Status.CURRENT  # the stream's store still answers
    await stream.aclose()


async def test_a_discovery_failure_while_re_subscribing_never_ends_the_cycle() -> None:
    view = FakeView([widget()])
    view.synced[WIDGET] = False
    view.errors[WIDGET] = NoMatchError(*WIDGET)
    mapper = Mapper({WIDGET})
    reader = make(view, [ident(widget())], mapper)
    await reader.sync()
    mapper.failing = ApiError(503, "ServiceUnavailable", "discovery is down")
    await reader.sync()  # used to raise, which ended the poll with an ErrorEvent
    with pytest.raises(NoMatchError):
        await reader.get(*WIDGET, "ns", "w")
    assert view.opened == [(*WIDGET, "ns")]  # nothing re-subscribed while discovery cannot say
    await reader.close()


@pytest.mark.looptime
async def test_an_object_the_stream_could_not_read_is_unknown_and_its_neighbours_are_served() -> None:
    # N6: its old version stayed served, and the whole stream read Unknown after the grace.
    view = FakeView([configmap("cfg"), configmap("other")])
    reader = make(view, [ident(configmap("cfg")), ident(configmap("other"))], poll_interval=2)
    await reader.sync()
    view.unreadable[("", "ConfigMap", "ns", "cfg")] = "ProtocolError: projection lost the object's name"
    with pytest.raises(UnreadableObjectError) as caught:
        await reader.get("", "ConfigMap", "ns", "cfg")
    assert caught.value.name == "ns/cfg"
    assert describe_error(caught.value) == (
        "latest version unreadable in the watch: ProtocolError: projection lost the object's name"
    )
    assert await reader.get("", "ConfigMap", "ns", "other") is not None
    await asyncio.sleep(30)  # no grace runs out: the stream itself is healthy
    assert await reader.get("", "ConfigMap", "ns", "other") is not None
    await reader.close()
