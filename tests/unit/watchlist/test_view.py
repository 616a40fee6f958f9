"""Shared view: one stream per key, fan-out in order with back-pressure, late joiners, ref-counting."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from statuswatch.watchlist import RestMapper, SharedView, StreamSettings
from statuswatch.watchlist.testing import HANG, FakeTransport, bookmark, configmap, event

from .test_stream import project, take

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]


def make_view(api: FakeTransport, queue_size: int = 1024) -> SharedView:
    settings = StreamSettings(backoff=(1.0, 1.0), seed=5)
    return SharedView(api, RestMapper(api), settings=settings, projector=project, queue_size=queue_size)


async def test_subscribers_share_one_stream_and_it_closes_with_the_last() -> None:
    api = FakeTransport()
    api.watches.append([bookmark("1", end=True), HANG])
    view = make_view(api)
    async with view.subscribe("", "ConfigMap", "ns1") as a, view.subscribe("", "ConfigMap", "ns1") as b:
        await a.wait_synced()
        await b.wait_synced()
        assert a.stream is b.stream
        assert len(view.streams) == 1
        async with view.subscribe("", "ConfigMap", "ns2"):
            assert len(view.streams) == 2
        assert len(view.streams) == 1
        stream = a.stream
        await a.close()
        assert len(view.streams) == 1
        assert stream.listener_count == 1
    assert view.streams == {}
    assert stream._task is None
    assert len(api.watch_calls()) == 1
    await view.close()


async def test_every_subscriber_gets_every_change_in_order_with_back_pressure() -> None:
    api = FakeTransport()
    events = [event("ADDED", configmap(f"o{i}", str(i))) for i in range(20)]
    api.watches.append([*events, bookmark("100", end=True), HANG])
    async with make_view(api, queue_size=3) as view:
        fast = await view.subscribe("", "ConfigMap").open()
        slow = await view.subscribe("", "ConfigMap").open()
        fast_task = asyncio.create_task(take(fast, 20))
        await asyncio.sleep(60)
        # The slow subscriber reads nothing: the stream waits for it instead of dropping.
        assert slow.pending == 3
        assert not fast_task.done()
        assert not slow.synced
        slow_got = await take(slow, 20)
        fast_got = await fast_task
        expected = [("ADDED", f"o{i}", str(i)) for i in range(20)]
        assert fast_got == expected
        assert slow_got == expected
        await slow.wait_synced()
        await fast.close()
        await slow.close()


async def test_late_subscriber_gets_current_state_then_live_changes() -> None:
    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "1")),
            event("ADDED", configmap("b", "2")),
            bookmark("5", end=True),
            "FEED",
        ]
    )
    async with make_view(api) as view, view.subscribe("", "ConfigMap") as first:
        await first.wait_synced()
        assert await take(first, 2) == [("ADDED", "a", "1"), ("ADDED", "b", "2")]
        async with view.subscribe("", "ConfigMap") as late:
            assert late.synced
            await api.feed.put(event("MODIFIED", configmap("a", "7")))
            assert await take(late, 3) == [("ADDED", "a", "1"), ("ADDED", "b", "2"), ("MODIFIED", "a", "7")]
            assert await take(first, 1) == [("MODIFIED", "a", "7")]


async def test_store_only_subscriber_never_holds_the_stream_back() -> None:
    api = FakeTransport()
    objs = [event("ADDED", configmap(f"o{i}", str(i), ns="x" if i % 2 else "y")) for i in range(10)]
    api.watches.append([*objs, bookmark("100", end=True), HANG])
    async with make_view(api, queue_size=1) as view, view.subscribe("", "ConfigMap", changes=False) as sub:
        await asyncio.wait_for(sub.wait_synced(), 5)
        assert len(sub.list()) == 10
        assert {o["metadata"]["name"] for o in sub.list(namespace="x")} == {"o1", "o3", "o5", "o7", "o9"}
        with pytest.raises(RuntimeError, match="changes=False"):
            sub.__aiter__()


async def test_list_filters_by_selector() -> None:
    api = FakeTransport()
    labelled = configmap("a", "1")
    labelled["metadata"]["labels"] = {"app": "web"}

    def keep_labels(obj: Mapping[str, Any]) -> dict[str, Any]:
        out = project(obj)
        out["metadata"]["labels"] = obj["metadata"].get("labels", {})
        return out

    api.watches.append(
        [event("ADDED", labelled), event("ADDED", configmap("b", "2")), bookmark("5", end=True), HANG]
    )
    view = SharedView(api, RestMapper(api), projector=keep_labels)
    async with view, view.subscribe("", "ConfigMap", changes=False) as sub:
        await sub.wait_synced()
        assert [o["metadata"]["name"] for o in sub.list(selector={"app": "web"})] == ["a"]
        assert [o["metadata"]["name"] for o in sub.list(selector={"matchLabels": {"app": "web"}})] == ["a"]
        sel = {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}
        assert [o["metadata"]["name"] for o in sub.list(selector=sel)] == ["b"]
        assert sub.get("default", "b") is not None
        assert sub.get("other", "b") is None


async def test_close_ends_every_iteration_and_is_idempotent() -> None:
    api = FakeTransport()
    api.watches.append([bookmark("5", end=True), HANG])
    view = make_view(api)
    sub = await view.subscribe("", "ConfigMap").open()
    collected: list[object] = []

    async def consume() -> None:
        async for change in sub:
            collected.append(change)

    task = asyncio.create_task(consume())
    await sub.wait_synced()
    await view.close()
    await asyncio.wait_for(task, 2)
    assert collected == []
    await view.close()
    with pytest.raises(RuntimeError, match="closed"):
        view.subscribe("", "ConfigMap")


async def test_namespace_is_ignored_for_cluster_scoped_kinds() -> None:
    api = FakeTransport()
    node = configmap("n1", "5", ns="")
    node.update(kind="Node")
    api.watches.append([event("ADDED", node), bookmark("6", end=True, kind="Node"), HANG])
    async with (
        make_view(api) as view,
        view.subscribe("", "Node", "kustomize-wrote-this", changes=False) as sub,
    ):
        await sub.wait_synced()
        assert api.calls[-1].path == "/api/v1/nodes"
        found = sub.get("kustomize-wrote-this", "n1")
        assert found is not None
        assert found["metadata"]["name"] == "n1"
        assert [o["metadata"]["name"] for o in sub.list("kustomize-wrote-this")] == ["n1"]
