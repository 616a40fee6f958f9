"""Nothing to do when nothing changes: full cycles recompute only what changed, idle polls do not wake.

Counted on loop time (looptime): compute calls per identifier (counting status readers) and full cycles
(``sync`` calls), with the in-memory cluster reader and the shared-view reader on the in-memory view.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    ClusterReader,
    DeploymentStatusReader,
    GenericStatusReader,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
    SyncEvent,
    ViewClusterReader,
)
from statuswatch.polling.testing import (
    FakeClusterReader,
    FakeSubscription,
    FakeView,
    configmap,
    deployment,
    ident,
    pod,
    replicaset,
)
from statuswatch.watchlist import ResourceType, RestMapper
from statuswatch.watchlist.testing import FakeTransport

computed: Counter[str] = Counter()


class CountingDeployments(DeploymentStatusReader):
    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        computed[identifier.name] += 1
        return await super().status_for_object(reader, identifier, obj)


class CountingGeneric(GenericStatusReader):
    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        computed[identifier.name] += 1
        return await super().status_for_object(reader, identifier, obj)


def versioned(obj: dict[str, Any], rv: int, uid: str | None = None) -> dict[str, Any]:
    obj["metadata"]["resourceVersion"] = str(rv)
    obj["metadata"].setdefault("uid", uid or f"uid-{obj['metadata']['name']}")
    return obj


def tree(rv: int = 1, *, pod_state: str = "ready") -> list[dict[str, Any]]:
    """Deployment web (d1) -> ReplicaSet web-1 (r1) -> Pod web-1-a, and a ConfigMap cfg."""
    return [
        versioned(deployment("web", uid="d1"), rv),
        versioned(replicaset("web-1", "web", uid="r1", owner="d1"), rv),
        versioned(pod("web-1-a", "web", owner="r1", owner_name="web-1", state=pod_state), rv),
        versioned(configmap("cfg"), rv),
    ]


WEB = ObjMetadata("apps", "Deployment", "ns", "web")
CFG = ObjMetadata("", "ConfigMap", "ns", "cfg")


def poller(factory: Any, clock: Any = None) -> StatusPoller:
    readers = [CountingDeployments(clock), CountingGeneric(clock)]
    return StatusPoller(cluster_reader_factory=factory, status_readers=readers, clock=clock)


async def drive(poll: Any, until: asyncio.Event | None = None) -> list[ResourceStatus]:
    seen: list[ResourceStatus] = []
    async for event in poll:
        if isinstance(event, ResourceUpdateEvent):
            seen.append(event.resource)
        if isinstance(event, SyncEvent) and until is not None:
            until.set()
    return seen


async def test_full_cycles_over_unchanged_objects_recompute_nothing() -> None:
    computed.clear()

    def elapsed(reader: FakeClusterReader) -> set[ObjMetadata] | None:
        return None  # the interval ran out: a full cycle

    def touch_cfg(reader: FakeClusterReader) -> set[ObjMetadata] | None:
        reader.put(versioned(configmap("cfg"), 5))
        return None

    def crash_pod(reader: FakeClusterReader) -> set[ObjMetadata] | None:
        reader.put(versioned(pod("web-1-a", "web", owner="r1", owner_name="web-1", state="crashloop"), 6))
        return None

    reader = FakeClusterReader(tree(), script=[elapsed] * 5 + [touch_cfg] + [elapsed] * 3 + [crash_pod])
    task = asyncio.create_task(drive(poller(lambda ids, o: reader).poll([WEB, CFG], Options(1))))
    async with asyncio.timeout(5):
        while reader.script or len(reader.idle_waits) < 11:  # noqa: ASYNC110 - the fake has no event
            await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    task.cancel()
    assert reader.syncs == 11  # the first cycle and ten full cycles all ran...
    # ...but only the first one and the changes computed anything: cfg once more, web after its Pod changed
    assert computed == {"web": 2, "cfg": 2}
    assert reader.idle_waits[:10] == [True] * 10  # every status settled: the waits were idle


class Mapper(RestMapper):
    def __init__(self) -> None:
        super().__init__(FakeTransport())

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        return ResourceType(group, "v1", kind, kind.lower() + "s", True)


class CountingViewReader(ViewClusterReader):
    syncs = 0

    async def sync(self) -> None:
        CountingViewReader.syncs += 1
        await super().sync()


def view_poller(view: FakeView, clock: Any = None) -> StatusPoller:
    return poller(lambda ids, o: CountingViewReader(ids, None, Mapper(), view=view), clock)


@pytest.mark.looptime
async def test_an_idle_poll_on_the_view_never_wakes_and_a_change_recomputes_only_its_identifier() -> None:
    computed.clear()
    CountingViewReader.syncs = 0
    view = FakeView(tree())
    synced = asyncio.Event()
    task = asyncio.create_task(drive(view_poller(view).poll([WEB, CFG], Options(5)), synced))
    await synced.wait()
    assert computed == {"web": 1, "cfg": 1}
    await asyncio.sleep(600)  # 120 poll intervals, nothing changes
    assert computed == {"web": 1, "cfg": 1}
    assert CountingViewReader.syncs == 1  # no full cycle at all: an idle poll has no timer
    view.put(versioned(configmap("cfg"), 7))
    await asyncio.sleep(1)
    assert computed == {"web": 1, "cfg": 2}
    view.put(versioned(pod("web-1-a", "web", owner="r1", owner_name="web-1", state="crashloop"), 8))
    await asyncio.sleep(1)
    assert computed == {"web": 2, "cfg": 2}
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@pytest.mark.looptime
async def test_a_stream_failing_under_an_idle_poll_still_turns_unknown_after_the_grace() -> None:
    computed.clear()
    view = FakeView(tree())
    synced = asyncio.Event()
    seen: list[ResourceStatus] = []
    second = asyncio.Event()

    async def run() -> None:
        async for event in view_poller(view).poll([CFG], Options(5)):
            if isinstance(event, ResourceUpdateEvent):
                seen.append(event.resource)
                if len(seen) == 2:
                    second.set()
            if isinstance(event, SyncEvent):
                synced.set()

    task = asyncio.create_task(run())
    await synced.wait()
    await asyncio.sleep(100)
    loop = asyncio.get_running_loop()
    failed_at = loop.time()
    view.errors[("", "ConfigMap")] = ConnectionResetError("connection reset by peer")
    view.failing_since[("", "ConfigMap")] = failed_at
    view.state_change()
    await asyncio.wait_for(second.wait(), 60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [s.status for s in seen] == [Status.CURRENT, Status.UNKNOWN]
    # the grace is max(2 x 5 s, 10 s); then at most one interval
    assert 10 <= loop.time() - failed_at <= 10 + 5 + 1


@pytest.mark.looptime
async def test_a_time_based_rule_keeps_its_poll_waking_without_any_change() -> None:
    computed.clear()
    loop = asyncio.get_running_loop()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    t0 = loop.time()

    def clock() -> datetime:
        return start + timedelta(seconds=loop.time() - t0)

    stuck = versioned(pod("stuck", "x", state="unschedulable", created=start.isoformat()), 1)
    view = FakeView([stuck])
    seen: list[ResourceStatus] = []
    second = asyncio.Event()

    async def run() -> None:
        async for event in view_poller(view, clock).poll([ident(stuck)], Options(5)):
            if isinstance(event, ResourceUpdateEvent):
                seen.append(event.resource)
                if len(seen) == 2:
                    second.set()

    task = asyncio.create_task(run())
    await asyncio.wait_for(second.wait(), 60)
    took = loop.time() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [s.status for s in seen] == [Status.IN_PROGRESS, Status.FAILED]
    assert 15 <= took <= 15 + 5 + 1  # kstatus's 15 s scheduling window, then at most one interval


class NoScan(FakeSubscription):
    def list(
        self, namespace: str | None = None, selector: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        raise AssertionError("a Deployment's children must come from the owner index, not a scan")


class NoScanView(FakeView):
    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> FakeSubscription:
        sub = NoScan(self, (group, kind, namespace))
        self.subscriptions.append(sub)
        return sub


@pytest.mark.looptime
async def test_a_deployments_children_are_read_through_the_owner_index() -> None:
    view = NoScanView(tree())
    got: Sequence[ResourceStatus] = []
    stream = StatusPoller(None, Mapper(), view=view).poll([WEB], Options(5))
    async for event in stream:
        if isinstance(event, ResourceUpdateEvent):
            got = [event.resource]
            break
    await stream.aclose()
    (web,) = got
    assert web.status == Status.CURRENT
    assert [rs.identifier.name for rs in web.generated_resources] == ["web-1"]
    assert [p.identifier.name for p in web.generated_resources[0].generated_resources] == ["web-1-a"]
