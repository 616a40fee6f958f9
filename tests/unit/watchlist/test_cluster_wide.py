"""Cluster-wide sharing: when it happens, what each subscriber sees, and that a move loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from statuswatch.watchlist import ApiError, RestMapper, SharedView, StreamSettings, Subscription
from statuswatch.watchlist.testing import HANG, FakeTransport, Feed, bookmark, configmap, event

from .test_stream import project, take

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]

WIDE = "/api/v1/configmaps"
KIND = ("", "ConfigMap", None)


def ns_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps"


def make_view(api: FakeTransport, threshold: int | None = 2) -> SharedView:
    settings = StreamSettings(backoff=(1.0, 1.0), seed=3)
    return SharedView(
        api, RestMapper(api), cluster_wide_threshold=threshold, settings=settings, projector=project
    )


async def until(view: SharedView, condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(600):
        # On the fake clock polling costs nothing; the conditions span several streams and the view.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.5)


def cm(ns: str, name: str, rv: str) -> dict[str, Any]:
    return configmap(name, rv, ns=ns)


def names(sub: Subscription) -> list[str]:
    return sorted(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in sub.list())


async def test_threshold_moves_namespaced_subscribers_onto_one_cluster_wide_stream() -> None:
    api = FakeTransport()
    api.script_watch(ns_path("a"), [event("ADDED", cm("a", "x", "5")), bookmark("5", end=True), HANG])
    api.script_watch(ns_path("b"), [event("ADDED", cm("b", "y", "6")), bookmark("6", end=True), HANG])
    wide = Feed()
    objs = [cm("a", "x", "5"), cm("b", "y", "6"), cm("c", "z", "7")]
    api.script_watch(WIDE, [*(event("ADDED", o) for o in objs), bookmark("10", end=True), wide])
    async with make_view(api) as view:
        a = await view.subscribe("", "ConfigMap", "a").open()
        await a.wait_synced()
        assert list(view.streams) == [("", "ConfigMap", None, "a")]
        b = await view.subscribe("", "ConfigMap", "b").open()
        await until(view, lambda: list(view.streams) == [("", "ConfigMap", None, None)])
        assert a.stream is b.stream
        assert len(api.watch_calls(WIDE)) == 1
        # Each subscriber sees only its own namespace.
        assert names(a) == ["a/x"]
        assert names(b) == ["b/y"]
        assert a.get("b", "y") is None
        assert a.list("b") == []
        assert a.get("a", "x") is not None
        # A new namespaced subscriber reuses the open cluster-wide stream, backlog filtered.
        async with view.subscribe("", "ConfigMap", "c") as c:
            assert c.stream is a.stream
            assert await take(c, 1) == [("ADDED", "z", "7")]
            await wide.put(event("MODIFIED", cm("c", "z", "11")))
            await wide.put(event("MODIFIED", cm("b", "y", "12")))
            await wide.put(event("ADDED", cm("a", "w", "13")))
            assert await take(a, 2) == [("ADDED", "x", "5"), ("ADDED", "w", "13")]
            assert await take(b, 2) == [("ADDED", "y", "6"), ("MODIFIED", "y", "12")]
            assert await take(c, 1) == [("MODIFIED", "z", "11")]
        assert a.pending == 0
        assert b.pending == 0
        assert len(api.watch_calls()) == 3  # a, b, and the one cluster-wide watch
        await a.close()
        assert list(view.streams) == [("", "ConfigMap", None, None)]
        await b.close()
        assert view.streams == {}  # closes with its last user


async def test_the_move_loses_nothing_and_rolls_nothing_back() -> None:
    api = FakeTransport()
    old = Feed()
    api.script_watch(
        ns_path("a"),
        [event("ADDED", cm("a", "x", "5")), event("ADDED", cm("a", "d", "4")), bookmark("5", end=True), old],
    )
    api.script_watch(ns_path("b"), [bookmark("5", end=True), HANG])
    wide = Feed()
    api.script_watch(WIDE, [wide])
    async with make_view(api) as view:
        a = await view.subscribe("", "ConfigMap", "a").open()
        await a.wait_synced()
        b = await view.subscribe("", "ConfigMap", "b").open()
        await until(view, lambda: ("", "ConfigMap", None, None) in view.streams)
        # The namespaced stream goes on while the cluster-wide one syncs ...
        await old.put(event("MODIFIED", cm("a", "x", "8")))
        # ... and gets ahead of it: x at 15 arrives before the cluster-wide sync (which has x at 8, d gone).
        await old.put(event("MODIFIED", cm("a", "x", "15")))
        await until(view, lambda: a.pending == 4)
        await wide.put(event("ADDED", cm("a", "x", "8")))
        await wide.put(bookmark("10", end=True))
        await asyncio.sleep(30)
        # Not moved yet: the cluster-wide store is older than what the subscriber was told.
        assert a.stream.namespace == "a"
        await wide.put(event("MODIFIED", cm("a", "x", "15")))
        await until(view, lambda: a.stream.namespace is None)
        await wide.put(event("MODIFIED", cm("a", "x", "16")))
        got = await take(a, 6)
        assert got == [
            ("ADDED", "x", "5"),
            ("ADDED", "d", "4"),
            ("MODIFIED", "x", "8"),
            ("MODIFIED", "x", "15"),
            ("DELETED", "d", "4"),  # the difference: gone from the new store while the old one missed it
            ("MODIFIED", "x", "16"),
        ]
        assert list(view.streams) == [("", "ConfigMap", None, None)]
        await b.close()
        await a.close()


async def test_forbidden_cluster_wide_stream_falls_back_to_namespaces_for_good() -> None:
    api = FakeTransport()
    for namespace in "abc":
        api.script_watch(ns_path(namespace), [bookmark("5", end=True), HANG])
    api.script_watch(
        WIDE, ApiError(403, "Forbidden", "configmaps is forbidden: cannot list at the cluster scope")
    )
    async with make_view(api) as view:
        a = await view.subscribe("", "ConfigMap", "a").open()
        b = await view.subscribe("", "ConfigMap", "b").open()
        await until(view, lambda: KIND in view.cluster_wide_refused())
        await until(view, lambda: ("", "ConfigMap", None, None) not in view.streams)
        async with view.subscribe("", "ConfigMap", "c") as c:
            await c.wait_synced()
            assert sorted(k[3] or "" for k in view.streams) == ["a", "b", "c"]
        await a.wait_synced()
        await b.wait_synced()
        assert a.error is None
        assert len(api.watch_calls(WIDE)) == 1  # remembered: never tried again
        await a.close()
        await b.close()


async def test_without_a_threshold_namespaces_keep_their_own_streams() -> None:
    api = FakeTransport()
    for namespace in "abc":
        api.script_watch(ns_path(namespace), [bookmark("5", end=True), HANG])
    async with make_view(api, threshold=None) as view:
        subs = [await view.subscribe("", "ConfigMap", ns).open() for ns in "abc"]
        for sub in subs:
            await sub.wait_synced()
        await asyncio.sleep(60)
        assert sorted(k[3] or "" for k in view.streams) == ["a", "b", "c"]
        assert api.watch_calls(WIDE) == []
        for sub in subs:
            await sub.close()


async def test_move_is_called_off_when_its_subscribers_leave() -> None:
    api = FakeTransport()
    for namespace in "ab":
        api.script_watch(ns_path(namespace), [bookmark("5", end=True), HANG])
    api.script_watch(WIDE, [HANG])  # never syncs
    async with make_view(api) as view:
        a = await view.subscribe("", "ConfigMap", "a").open()
        b = await view.subscribe("", "ConfigMap", "b").open()
        await until(view, lambda: len(api.watch_calls(WIDE)) == 1)
        await a.close()
        await b.close()
        await until(view, lambda: view.streams == {})
        assert api.open_watches == 0


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SharedView(FakeTransport(), cluster_wide_threshold=0)


async def test_a_burst_of_subscriptions_waits_for_the_cluster_wide_stream() -> None:
    api = FakeTransport()
    for namespace in "ab":
        api.script_watch(ns_path(namespace), [bookmark("5", end=True), HANG])
    objs = [cm(ns, "x", str(i)) for i, ns in enumerate("abcdef", start=1)]
    api.script_watch(WIDE, [*(event("ADDED", o) for o in objs), bookmark("10", end=True), HANG])
    async with make_view(api) as view:
        subs = [await view.subscribe("", "ConfigMap", ns).open() for ns in "abcdef"]
        await until(view, lambda: list(view.streams) == [("", "ConfigMap", None, None)])
        # Two namespaced watches reached the threshold; the other four waited for the cluster-wide one.
        assert len(api.watch_calls()) == 3
        for sub, ns in zip(subs, "abcdef", strict=True):
            assert names(sub) == [f"{ns}/x"]
            await sub.close()
        assert view.streams == {}


async def test_a_subscriber_waiting_for_sync_follows_its_move_to_the_cluster_wide_stream() -> None:
    # Its namespaced stream never syncs (the server holds the WatchList open without a single event), the
    # kind goes cluster-wide meanwhile: the waiter must return once the stream now serving it has synced,
    # not keep waiting on the retired one (seen as a StatusWatch stuck "not synced yet" for 30 s).
    api = FakeTransport()
    api.script_watch(ns_path("a"), [HANG])
    api.script_watch(ns_path("b"), [event("ADDED", cm("b", "y", "6")), bookmark("6", end=True), HANG])
    api.script_watch(
        WIDE,
        [event("ADDED", cm("a", "x", "5")), event("ADDED", cm("b", "y", "6")), bookmark("9", end=True), HANG],
    )
    async with make_view(api) as view:
        a = await view.subscribe("", "ConfigMap", "a").open()
        waiting = asyncio.ensure_future(a.wait_synced())
        await asyncio.sleep(0.1)
        assert not waiting.done()
        b = await view.subscribe("", "ConfigMap", "b").open()
        async with asyncio.timeout(5):
            await waiting
        assert a.synced
        assert a.stream.namespace is None  # the cluster-wide stream serves it now
        await until(view, lambda: list(view.streams) == [("", "ConfigMap", None, None)])
        assert a.stream is b.stream
        assert names(a) == ["a/x"]
