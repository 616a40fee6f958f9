"""The shared-view cluster reader against an in-memory stand-in for ``SharedView`` (same method names)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, Options, ResourceUpdateEvent, StatusPoller, SyncEvent
from statuswatch.polling.viewreader import ViewClusterReader
from statuswatch.watchlist.discovery import NoMatchError, ResourceType
from statuswatch.watchlist.selector import compile_selector
from statuswatch.watchlist.store import Change

from .fakes import configmap, deployment, ident, pod


class FakeSub:
    def __init__(self, view: FakeView, key: tuple[str, str, str | None]) -> None:
        self.view, self.key = view, key
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self.synced = key[:2] not in view.missing
        self.error: Exception | None = None if self.synced else NoMatchError(key[0], key[1])
        self.closed = False

    async def open(self) -> FakeSub:
        self.view.opened.append(self.key)
        return self

    async def close(self) -> None:
        self.closed = True

    async def wait_synced(self) -> None:
        if self.error is not None:
            raise self.error

    def _objects(self) -> list[dict[str, Any]]:
        group, kind, namespace = self.key
        return [
            obj
            for (g, k, ns, _), obj in self.view.objects.items()
            if (g, k) == (group, kind) and (namespace is None or ns == namespace)
        ]

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        group, kind, _ = self.key
        return self.view.objects.get((group, kind, namespace or "", name))

    def list(self, namespace: str | None = None, selector: Any = None) -> list[dict[str, Any]]:
        match = compile_selector(selector)
        return [o for o in self._objects() if match((o.get("metadata") or {}).get("labels") or {})]

    def __aiter__(self) -> FakeSub:
        return self

    async def __anext__(self) -> Change:
        change = await self.queue.get()
        if change is None:
            raise StopAsyncIteration
        return change


class FakeView:
    def __init__(self, objects: list[dict[str, Any]], missing: set[tuple[str, str]] | None = None) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.subs: list[FakeSub] = []
        self.opened: list[tuple[str, str, str | None]] = []
        self.missing = set(missing or ())
        for obj in objects:
            self.put(obj, notify=False)

    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> FakeSub:
        sub = FakeSub(self, (group, kind, namespace))
        self.subs.append(sub)
        return sub

    def put(self, obj: dict[str, Any], *, notify: bool = True) -> None:
        i = ObjMetadata.from_object(obj)
        self.objects[(i.group, i.kind, i.namespace, i.name)] = obj
        if notify:
            for sub in self.subs:
                if sub.key[:2] == (i.group, i.kind) and not sub.closed:
                    sub.queue.put_nowait(Change("MODIFIED", obj))


class FakeMapper:
    def __init__(self, missing: set[tuple[str, str]]) -> None:
        self.missing = missing

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        if (group, kind) in self.missing:
            raise NoMatchError(group, kind)
        return ResourceType(group, "v1", kind, kind.lower() + "s", kind != "Namespace")


def make(view: FakeView, ids: list[ObjMetadata], mapper: FakeMapper | None = None) -> ViewClusterReader:
    mapper = mapper or FakeMapper(set())
    return ViewClusterReader(ids, None, mapper, view=view)  # type: ignore[arg-type]


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
    assert all(sub.closed for sub in view.subs)


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
        view.put(pod("web-1", "web"))
        update = await anext(stream)  # an hour-long interval: only the change can explain this
    assert isinstance(update, ResourceUpdateEvent)
    assert update.resource.status == Status.CURRENT
    await stream.aclose()


async def test_missing_kind_is_unknown_then_served_once_discovery_knows_it() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "ns"}}
    missing = {("example.com", "Widget")}
    view = FakeView([widget], missing=set(missing))
    mapper = FakeMapper(missing)
    reader = make(view, [ident(widget)], mapper)
    await reader.sync()
    with pytest.raises(NoMatchError):
        await reader.get("example.com", "Widget", "ns", "w")
    mapper.missing.clear()
    view.missing.clear()
    await reader.sync()  # re-subscribes instead of waiting for the old stream's back-off
    assert view.opened.count(("example.com", "Widget", "ns")) == 2
    assert await reader.get("example.com", "Widget", "ns", "w") is widget
    await reader.close()


async def test_steady_changes_do_not_starve_the_full_cycle() -> None:
    view = FakeView([configmap("cfg")])
    reader = make(view, [ident(configmap("cfg"))])
    await reader.sync()
    view.put(configmap("cfg"))
    assert await reader.wait_for_change(0.05) == {ident(configmap("cfg"))}
    await asyncio.sleep(0.06)
    view.put(configmap("cfg"))
    await asyncio.sleep(0)
    assert await reader.wait_for_change(0.05) is None  # interval over: full cycle, even with changes
    await reader.close()


async def test_invalid_selector_is_rejected_like_the_direct_reader() -> None:
    view = FakeView([])
    reader = make(view, [])
    with pytest.raises(ValueError, match="operator"):
        await reader.list("", "Pod", "ns", {"matchExpressions": [{"key": "a", "operator": "Near"}]})
    await reader.close()
