"""The per-view change router: shared subscriptions, ref-counting, and routing by identifier and owner."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    Event,
    ObjMetadata,
    Options,
    ResourceUpdateEvent,
    StatusPoller,
    SyncEvent,
    ViewClusterReader,
    ViewRouter,
    router_for,
)
from statuswatch.polling.testing import (
    FakeSubscription,
    FakeView,
    configmap,
    deployment,
    ident,
    pod,
    replicaset,
    statefulset,
)
from statuswatch.watchlist import Change, ResourceType, RestMapper
from statuswatch.watchlist.testing import FakeTransport


class Mapper(RestMapper):
    def __init__(self) -> None:
        super().__init__(FakeTransport())

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        return ResourceType(group, "v1", kind, kind.lower() + "s", kind != "Namespace")


class Listener:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[set[ObjMetadata]] = []

    def notify(self, identifiers: set[ObjMetadata]) -> None:
        self.calls.append(identifiers)

    def __repr__(self) -> str:
        return self.name


def routed(router: ViewRouter, obj: dict[str, Any]) -> dict[str, set[str]]:
    return {repr(listener): {str(i) for i in ids} for listener, ids in router.route(obj).items()}


WEB = ident(deployment("web"))
DB = ident(statefulset("db"))
CFG = ident(configmap("cfg"))


async def routing_view() -> tuple[ViewRouter, FakeView, dict[str, Listener]]:
    """Deployment web (uid d1) -> ReplicaSet web-1 (uid r1) in the store; watchers of each kind."""
    view = FakeView([deployment("web", uid="d1"), replicaset("web-1", "web", uid="r1", owner="d1")])
    router = ViewRouter(view)
    await router.acquire(("apps", "ReplicaSet", "ns"))
    listeners = {name: Listener(name) for name in ("web", "rs", "db", "cfg", "elsewhere")}
    router.watch(listeners["web"], [WEB])
    router.watch(listeners["rs"], [ident(replicaset("web-1", "web"))])
    router.watch(listeners["db"], [DB])
    router.watch(listeners["cfg"], [CFG])
    router.watch(listeners["elsewhere"], [ident(deployment("web", namespace="other"))])
    return router, view, listeners


async def test_a_pod_reaches_its_deployment_through_the_replicaset_in_the_store() -> None:
    router, _, _ = await routing_view()
    assert routed(router, pod("web-1-a", "web", owner="r1", owner_name="web-1")) == {
        "rs": {"replicaset.apps/ns/web-1"},
        "web": {"deployment.apps/ns/web"},
    }
    await router.close()


async def test_a_replicaset_reaches_its_deployment_through_its_own_owner_reference() -> None:
    router, _, _ = await routing_view()
    change = replicaset("web-2", "web", uid="r2", owner="d1")
    assert routed(router, change) == {"web": {"deployment.apps/ns/web"}}
    await router.close()


async def test_a_statefulset_pod_wakes_only_its_statefulset() -> None:
    router, _, _ = await routing_view()
    change = pod("db-0", "db", owner="s1", owner_name="db", owner_kind="StatefulSet")
    assert routed(router, change) == {"db": {"statefulset.apps/ns/db"}}
    await router.close()


async def test_an_exact_identifier_wakes_only_its_watcher() -> None:
    router, _, _ = await routing_view()
    assert routed(router, configmap("cfg")) == {"cfg": {"configmap/ns/cfg"}}
    assert routed(router, configmap("other")) == {}
    await router.close()


async def test_without_a_resolvable_owner_every_generating_watcher_in_the_namespace_wakes() -> None:
    router, _, _ = await routing_view()
    everyone_here = {
        "web": {"deployment.apps/ns/web"},
        "rs": {"replicaset.apps/ns/web-1"},
        "db": {"statefulset.apps/ns/db"},
    }
    assert routed(router, pod("stray", "web")) == everyone_here  # no ownerReference at all
    # owned by a ReplicaSet the store does not hold (yet): its exact watchers, and whoever could own it
    unknown_rs = pod("web-9-a", "web", owner="r9", owner_name="web-9")
    assert routed(router, unknown_rs) == {"web": {"deployment.apps/ns/web"}}
    await router.close()


async def test_changes_to_objects_nobody_watches_wake_nobody() -> None:
    router, view, listeners = await routing_view()
    # an unwatched Deployment's tree, with its ReplicaSet in the store
    view.put(replicaset("api-1", "api", uid="r5", owner="d5"), notify=False)
    assert routed(router, deployment("api", uid="d5")) == {}
    assert routed(router, replicaset("api-2", "api", uid="r6", owner="d5")) == {}
    assert routed(router, pod("api-1-a", "api", owner="r5", owner_name="api-1")) == {}
    assert routed(router, configmap("unlisted")) == {}
    assert routed(router, configmap("cfg", namespace="other")) == {}
    assert all(listener.calls == [] for listener in listeners.values())
    await router.close()


async def test_unwatch_stops_routing() -> None:
    router, _, listeners = await routing_view()
    router.unwatch(listeners["web"])
    assert routed(router, replicaset("web-2", "web", uid="r2", owner="d1")) == {}
    assert router.listener_count == 4
    await router.close()


@pytest.mark.looptime
async def test_a_thousand_polls_share_one_subscription_per_key_and_a_change_wakes_one() -> None:
    count = 1000
    objects = [deployment(f"app-{i}", uid=f"d{i}", ready=0) for i in range(count)]
    objects += [replicaset(f"app-{i}-1", f"app-{i}", uid=f"r{i}", owner=f"d{i}") for i in range(count)]
    view = FakeView(objects)
    woken: Counter[str] = Counter()

    class CountingReader(ViewClusterReader):
        def notify(self, identifiers: set[ObjMetadata]) -> None:
            woken.update(i.name for i in identifiers)
            super().notify(identifiers)

    poller = StatusPoller(
        cluster_reader_factory=lambda ids, options: CountingReader(ids, None, Mapper(), view=view)
    )
    synced = [asyncio.Event() for _ in range(count)]
    latest: list[Status | None] = [None] * count

    async def run(i: int) -> None:
        async for event in poller.poll([ident(objects[i])], Options(poll_interval=3600)):
            if isinstance(event, ResourceUpdateEvent):
                latest[i] = event.resource.status
            if isinstance(event, SyncEvent):
                synced[i].set()

    before = asyncio.all_tasks()
    polls = [asyncio.create_task(run(i)) for i in range(count)]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in synced)), 60)
    router = router_for(view)
    keys = [("apps", "Deployment", "ns"), ("apps", "ReplicaSet", "ns"), ("", "Pod", "ns")]
    assert router.keys == dict.fromkeys(keys, count)
    assert sorted(view.opened) == sorted(keys)  # one subscription per stream key, not per poll
    helpers = asyncio.all_tasks() - before - set(polls)
    assert len(helpers) == 6  # a drain and a health task per key; a poll owns no task of its own
    assert latest == [Status.IN_PROGRESS] * count

    woken.clear()
    view.put(deployment("app-7", uid="d7", ready=1))
    view.put(pod("app-7-1-a", "app-7", owner="r7", owner_name="app-7-1"))
    for _ in range(10):
        await asyncio.sleep(0)
    assert woken == {"app-7": 2}  # the Deployment itself, then through Pod -> ReplicaSet -> Deployment
    assert latest[7] == Status.CURRENT
    assert latest.count(Status.IN_PROGRESS) == count - 1

    for task in polls[: count - 1]:
        task.cancel()
    await asyncio.gather(*polls[: count - 1], return_exceptions=True)
    assert router.keys == dict.fromkeys(keys, 1)  # ref-counted: the last poll still holds them
    polls[-1].cancel()
    await asyncio.gather(polls[-1], return_exceptions=True)
    assert router.keys == {}
    assert view.open_subscriptions == []
    assert asyncio.all_tasks() == before


async def test_two_pollers_on_one_view_share_its_router() -> None:
    view = FakeView([configmap("cfg")])
    first = StatusPoller(None, Mapper(), view=view)
    second = StatusPoller(None, Mapper(), view=view)
    streams = [p.poll([CFG], Options(poll_interval=3600)) for p in (first, second)]
    events: list[Event] = [await anext(stream) for stream in streams]
    assert all(isinstance(e, ResourceUpdateEvent) for e in events)
    assert router_for(view).keys == {("", "ConfigMap", "ns"): 2}
    assert view.opened == [("", "ConfigMap", "ns")]
    for stream in streams:
        await stream.aclose()
    assert router_for(view).keys == {}


class SlowToStop(FakeSubscription):
    """A subscription whose change iterator needs a moment (``gate``) to wind down when cancelled."""

    gate = asyncio.Event()

    def __aiter__(self) -> AsyncIterator[Change]:
        return self._slow()

    async def _slow(self) -> AsyncIterator[Change]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.gate.wait()
            raise
        yield Change("ADDED", {})  # pragma: no cover - makes this an async generator


class SlowView(FakeView):
    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> FakeSubscription:
        sub = SlowToStop(self, (group, kind, namespace))
        self.subscriptions.append(sub)
        return sub


async def test_release_does_not_swallow_the_callers_own_cancellation() -> None:
    view = SlowView([])
    router = ViewRouter(view)
    await router.acquire(("", "ConfigMap", "ns"))
    SlowToStop.gate = asyncio.Event()
    releasing = asyncio.create_task(router.release(("", "ConfigMap", "ns")))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not releasing.done()  # waiting for the drain task to wind down
    releasing.cancel()  # the caller's own cancellation, while it waits
    for _ in range(3):
        await asyncio.sleep(0)
    SlowToStop.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await releasing
    assert view.open_subscriptions == []  # cleanup still finished before the cancellation went on
    assert router.keys == {}


class SlowToOpen(FakeSubscription):
    gate = asyncio.Event()

    async def open(self) -> FakeSubscription:
        await self.gate.wait()
        return await super().open()


class SlowOpenView(FakeView):
    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> FakeSubscription:
        sub = SlowToOpen(self, (group, kind, namespace))
        self.subscriptions.append(sub)
        return sub


async def test_concurrent_first_acquires_share_one_subscription_once_it_is_open() -> None:
    view = SlowOpenView([configmap("cfg")])
    router = ViewRouter(view)
    SlowToOpen.gate = asyncio.Event()
    key = ("", "ConfigMap", "ns")
    first = asyncio.create_task(router.acquire(key))
    second = asyncio.create_task(router.acquire(key))
    await asyncio.sleep(0)
    assert not second.done()  # waits for the subscription to be open, not just created
    SlowToOpen.gate.set()
    await asyncio.gather(first, second)
    sub = router.subscription(key)
    assert sub is not None
    assert sub.get("ns", "cfg") == configmap("cfg")
    assert router.keys == {key: 2}
    assert len(view.subscriptions) == 1
    await router.close()


class Broken:
    def notify(self, identifiers: set[ObjMetadata]) -> None:
        raise RuntimeError("listener bug")


async def test_a_broken_listener_or_object_does_not_stop_routing_for_the_others() -> None:
    view = FakeView([])
    router = ViewRouter(view)
    await router.acquire(("", "ConfigMap", "ns"))
    healthy = Listener("healthy")
    router.watch(Broken(), [CFG])
    router.watch(healthy, [CFG])
    view.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "not a mapping"})
    view.put(configmap("cfg"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert healthy.calls == [{CFG}]
    await router.close()


class Holder:
    def __init__(self) -> None:
        self.told: list[float] = []

    def stale(self) -> None:
        self.told.append(asyncio.get_running_loop().time())


@pytest.mark.looptime
async def test_a_reconnect_is_news_to_the_holders_only_once_it_lasts_the_shortest_grace() -> None:
    view = FakeView([configmap("cfg")])
    router = ViewRouter(view)
    holder = Holder()
    key = ("", "ConfigMap", "ns")
    await router.acquire(key, holder)
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()

    # A watch that ended and reconnected within milliseconds: nobody needs a full cycle.
    view.disconnected_since[("", "ConfigMap")] = loop.time()
    view.state_change()
    await asyncio.sleep(0.05)
    del view.disconnected_since[("", "ConfigMap")]
    view.state_change()
    await asyncio.sleep(20)
    assert holder.told == []

    # One that stays without a connection: told once, when it has lasted the 10 s floor of the grace.
    lost_at = loop.time()
    view.disconnected_since[("", "ConfigMap")] = lost_at
    view.state_change()
    await asyncio.sleep(30)
    assert holder.told == [pytest.approx(lost_at + 10)]
    del view.disconnected_since[("", "ConfigMap")]
    view.state_change()
    await asyncio.sleep(0)
    assert len(holder.told) == 2  # and once more when it is back
    await router.release(key, holder)
