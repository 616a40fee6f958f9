"""Issue 9 regressions on scripted responses, on a fake clock (looptime) and a seeded random source.

Each test names the defect it pins; each fails on the code before the fix (or on the mutant named).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest

from statuswatch.watchlist import (
    ApiError,
    Backoff,
    HeaderTimeout,
    NoMatchError,
    Reader,
    ResourceType,
    RestMapper,
    RetrieveType,
    SharedView,
    Stream,
    StreamSettings,
)
from statuswatch.watchlist.stream import ProtocolError
from statuswatch.watchlist.testing import (
    HANG,
    HANG_HEADERS,
    FakeTransport,
    Feed,
    bookmark,
    configmap,
    event,
)
from statuswatch.watchlist.transport import Lines, Request

from .test_stream import project, take

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def settings(**overrides: Any) -> StreamSettings:
    base: dict[str, Any] = {"backoff": (1.0, 1.0), "seed": 7}
    base.update(overrides)
    return StreamSettings(**base)


def make_view(api: FakeTransport, queue_size: int = 1024, **overrides: Any) -> SharedView:
    return SharedView(
        api, RestMapper(api), settings=settings(**overrides), projector=project, queue_size=queue_size
    )


def now() -> float:
    return asyncio.get_running_loop().time()


async def until(stream: Stream, condition: Callable[[], bool]) -> None:
    """Wait (on the fake clock) until ``condition`` holds; the stream wakes us on every state change."""
    async with asyncio.timeout(3600):
        while not condition():
            await stream.wait_changed()


def synced_cms(*objs: dict[str, Any], rv: str = "10") -> list[Any]:
    return [*(event("ADDED", o) for o in objs), bookmark(rv, end=True)]


# -- defect 1: a header wait is a connection failure ----------------------------------------------------


async def test_header_hang_is_a_connection_failure_and_keeps_watchlist() -> None:
    api = FakeTransport()
    api.watches.append([HANG_HEADERS])
    api.watches.append([*synced_cms(configmap("a", "5")), HANG])
    async with (
        make_view(api, connect_timeout=5, sync_idle_deadline=2) as view,
        view.subscribe("", "ConfigMap", "default") as sub,
    ):
        started = now()
        with pytest.raises(HeaderTimeout):
            await sub.wait_synced()
        assert now() - started == pytest.approx(5, abs=0.1)
        assert sub.failing_since == pytest.approx(started + 5, abs=0.1)
        await until(sub.stream, lambda: sub.synced)
        assert sub.stream.sync_mode == "watchlist"
        assert sub.health().fallbacks == 0
        assert api.capabilities == {}
        assert sub.error is None


# -- defect 2: errors after the first sync stay visible until recovery ---------------------------------


async def test_error_after_sync_is_visible_and_cleared_on_recovery() -> None:
    api = FakeTransport()
    api.watches.append(synced_cms(configmap("a", "5")))  # then the server ends the watch
    forbidden = ApiError(403, "Forbidden", 'configmaps is forbidden: User "x" cannot watch')
    api.watches.extend([forbidden, forbidden])
    api.watches.append([event("MODIFIED", configmap("a", "11")), HANG])
    async with make_view(api, backoff=(4.0, 4.0)) as view, view.subscribe("", "ConfigMap", "default") as sub:
        await sub.wait_synced()
        await until(sub.stream, lambda: sub.error is not None)
        first_failure = now()
        assert sub.error is forbidden
        assert sub.synced  # had a full state once; the error says that it is stale now
        assert sub.failing_since == first_failure
        health = sub.health()
        assert (health.error, health.failing_since, health.synced) == (forbidden, first_failure, True)
        assert view.health()[("", "ConfigMap", None, "default")] == health
        await until(sub.stream, lambda: sub.stream.stats["failures"] == 2)
        assert sub.failing_since == first_failure  # the streak started with the first one
        await until(sub.stream, lambda: sub.error is None)
        assert sub.health().failing_since is None
        assert sub.health().reconnects == 1
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("MODIFIED", "a", "11")]


# -- defect 3: a 404 re-resolves the type --------------------------------------------------------------


class ScriptedMapper:
    """A resolver whose answers the test switches; records invalidations."""

    def __init__(self, answer: ResourceType | Exception) -> None:
        self.answer = answer
        self.invalidated: list[str] = []
        self.on_invalidate: Callable[[], None] | None = None

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def invalidate(self, group: str) -> None:
        self.invalidated.append(group)
        if self.on_invalidate is not None:
            self.on_invalidate()


WIDGET_V1 = ResourceType("example.com", "v1", "Widget", "widgets", True)
WIDGET_V2 = ResourceType("example.com", "v2", "Widget", "widgets", True)


def widget(name: str, rv: str, version: str = "v1") -> dict[str, Any]:
    obj = configmap(name, rv)
    obj.update(apiVersion=f"example.com/{version}", kind="Widget")
    return obj


async def test_404_invalidates_the_group_and_follows_a_new_version() -> None:
    api = FakeTransport()
    v1 = WIDGET_V1.path("default")
    v2 = WIDGET_V2.path("default")
    api.script_watch(v1, [event("ADDED", widget("w", "5")), bookmark("10", end=True)])
    api.script_watch(v1, ApiError(404, "NotFound", "the server could not find the requested resource"))
    api.script_watch(v2, [event("ADDED", widget("w", "12", "v2")), bookmark("20", end=True), HANG])
    mapper = ScriptedMapper(WIDGET_V1)
    mapper.on_invalidate = lambda: setattr(mapper, "answer", WIDGET_V2)
    stream = Stream(api, mapper, "example.com", "Widget", "default", projector=project, settings=settings())
    stream.start()
    try:
        await until(stream, lambda: stream.stats["syncs"] == 2)
        assert mapper.invalidated == ["example.com"]
        assert api.watch_calls(v2)[0]["sendInitialEvents"] == "true"  # listed afresh, not resumed
        stored = stream.store.get(("default", "w"))
        assert stored is not None
        assert stored["apiVersion"] == "example.com/v2"
        assert stream.error is None
    finally:
        await stream.stop()


async def test_deleted_type_becomes_no_match_error() -> None:
    api = FakeTransport()
    path = WIDGET_V1.path("default")
    api.script_watch(path, [event("ADDED", widget("w", "5")), bookmark("10", end=True)])
    api.script_watch(path, ApiError(404, "NotFound", "the server could not find the requested resource"))
    mapper = ScriptedMapper(WIDGET_V1)
    mapper.on_invalidate = lambda: setattr(mapper, "answer", NoMatchError("example.com", "Widget"))
    stream = Stream(api, mapper, "example.com", "Widget", "default", projector=project, settings=settings())
    stream.start()
    try:
        await until(stream, lambda: isinstance(stream.error, NoMatchError))
        assert stream.synced
        assert stream.health().failing_since is not None
    finally:
        await stream.stop()


# -- defect 5: unexpected exceptions are logged, recorded, skipped; close closes everything ------------


async def test_object_that_cannot_be_read_is_skipped_logged_and_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fragile(obj: Mapping[str, Any]) -> dict[str, Any]:
        if obj["metadata"]["name"] == "bad":
            raise KeyError("a projector bug")
        return project(obj)

    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            event("ADDED", configmap("bad", "6")),
            event("ADDED", {"kind": "ConfigMap", "metadata": "not a mapping"}),
            bookmark("10", end=True),
            event("MODIFIED", configmap("a", "11")),
            HANG,
        ]
    )
    view = SharedView(api, RestMapper(api), settings=settings(), projector=fragile)
    with caplog.at_level(logging.ERROR, "statuswatch.watchlist"):
        async with view, view.subscribe("", "ConfigMap", "default") as sub:
            assert await take(sub, 2) == [("ADDED", "a", "5"), ("MODIFIED", "a", "11")]
            assert sub.synced
            # N6: a skipped object is that object's problem, not the stream's.
            assert sub.error is None
            assert sub.stream.failing_since is None
            assert sub.unreadable("default", "bad") == "KeyError: 'a projector bug'"
            assert sub.unreadable("default", "a") is None
            assert sub.stream.stats["skipped"] == 2
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 2
    assert "a projector bug" in caplog.text


class BrokenTransport(FakeTransport):
    """A transport whose watch connections raise an unexpected error, or fail again while closing."""

    def __init__(self, fail_on_close: bool) -> None:
        super().__init__()
        self.fail_on_close = fail_on_close

    async def stream(self, request: Request) -> AsyncGenerator[bytes, None]:
        return self._breaking(await super().stream(request))

    async def _breaking(self, inner: Lines) -> AsyncGenerator[bytes, None]:
        try:
            async for line in inner:
                yield line
        finally:
            await inner.aclose()
            if self.fail_on_close:
                raise RuntimeError("a bug while closing")


async def test_unexpected_error_is_retried_not_fatal() -> None:
    api = FakeTransport()
    api.watches.append(RuntimeError("a bug in the transport"))
    api.watches.append([*synced_cms(configmap("a", "5")), HANG])
    async with make_view(api) as view, view.subscribe("", "ConfigMap", "default") as sub:
        with pytest.raises(RuntimeError, match="a bug in the transport"):
            await sub.wait_synced()
        await until(sub.stream, lambda: sub.synced)
        assert sub.error is None


async def test_close_stops_every_stream_even_when_one_fails_while_stopping() -> None:
    api = BrokenTransport(fail_on_close=True)
    api.watches.append([*synced_cms(configmap("a", "5")), HANG])
    api.watches.append([*synced_cms(configmap("b", "6", ns="other")), HANG])
    view = make_view(api)
    first = await view.subscribe("", "ConfigMap", "default").open()
    second = await view.subscribe("", "ConfigMap", "other").open()
    await first.wait_synced()
    await second.wait_synced()
    streams = list(view.streams.values())
    async with asyncio.timeout(60):  # a stream that survives its cancellation would hang here
        await view.close()
    assert all(not s.running for s in streams)
    assert api.open_watches == 0
    # Every subscription's iteration has ended (undelivered changes are moot once the view is closed).
    assert [c async for c in first] == []
    with pytest.raises(StopAsyncIteration):
        await anext(second)


async def test_closed_subscription_cannot_be_reopened_silently() -> None:
    api = FakeTransport()
    async with make_view(api) as view:
        sub = await view.subscribe("", "ConfigMap", "default").open()
        await sub.close()
        with pytest.raises(RuntimeError, match="was closed"):
            await sub.open()


# -- defect 7: a LIST without resourceVersion backs off ------------------------------------------------


async def test_list_without_resource_version_is_an_error_with_back_off() -> None:
    api = FakeTransport()
    api.capabilities["watchlist"] = False
    api.answers[CONFIGMAPS] = {"metadata": {}, "items": [configmap("a", "1")]}
    async with (
        make_view(api, backoff=(1.0, 8.0)) as view,
        view.subscribe("", "ConfigMap", "default", changes=False) as sub,
    ):
        await until(sub.stream, lambda: sub.error is not None)
        assert isinstance(sub.error, ProtocolError)
        assert "resourceVersion" in str(sub.error)
        await asyncio.sleep(60)
        lists = len(api.get_calls(CONFIGMAPS))
        # Back-off from 1 s doubling to 8 s: about ten attempts in a minute, not a hot loop.
        assert 5 <= lists <= 15
        assert not sub.synced


# -- defect 8: back-off resets after a connection that delivered events --------------------------------


async def test_back_off_resets_after_a_connection_that_delivered_events() -> None:
    api = FakeTransport()
    reset = ConnectionResetError("connection reset by peer")
    api.watches.append([*synced_cms(configmap("a", "5")), reset])
    api.watches.extend([reset] * 4)  # refused at once: the delay grows 1, 2, 4, 8 ...
    api.watches.append([event("MODIFIED", configmap("a", "12")), reset])  # healthy, then cut
    api.watches.append([HANG])
    times: list[float] = []
    api.on_watch = lambda: times.append(now())
    async with (
        make_view(api, backoff=(1.0, 64.0)) as view,
        view.subscribe("", "ConfigMap", "default") as sub,
    ):
        await until(sub.stream, lambda: len(times) == 7)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # After the first connection (it delivered events): the initial delay; then it grows.
        assert gaps[0] <= 1.0
        assert gaps[4] >= 8.0
        # The connection that delivered an event before it broke resets the back-off.
        assert gaps[5] <= 1.0
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("MODIFIED", "a", "12")]


def test_backoff_grows_to_its_maximum_and_resets() -> None:
    import random

    backoff = Backoff(1.0, 10.0, rng=random.Random(3))
    ceilings = []
    for _ in range(6):
        ceilings.append(backoff.ceiling())
        delay = backoff.next_delay()
        assert ceilings[-1] / 2 <= delay <= ceilings[-1]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    backoff.reset()
    assert backoff.ceiling() == 1.0
    same = Backoff(1.0, 10.0, rng=random.Random(3))
    again = Backoff(1.0, 10.0, rng=random.Random(3))
    assert [same.next_delay() for _ in range(4)] == [again.next_delay() for _ in range(4)]


# -- defect 11 and sync progress: only server silence counts, bookmarks are not progress ---------------


async def test_slow_subscriber_during_sync_is_not_server_silence() -> None:
    api = FakeTransport()
    feed = Feed()
    api.watches.append([feed])
    objs = [configmap(f"o{i}", str(i)) for i in range(5)]

    reading = asyncio.Event()

    async def serve() -> None:
        # Two initial events at once; the rest only after the subscriber woke up, 5 s apart: the read
        # right after the long wait for the subscriber has to wait for the server again.
        await feed.put(event("ADDED", objs[0]))
        await feed.put(event("ADDED", objs[1]))
        await reading.wait()
        for line in [*(event("ADDED", o) for o in objs[2:]), bookmark("10", end=True)]:
            await asyncio.sleep(5)
            await feed.put(line)

    server = asyncio.create_task(serve())
    try:
        async with (
            make_view(api, queue_size=1, sync_idle_deadline=30) as view,
            view.subscribe("", "ConfigMap", "default") as sub,
        ):
            await asyncio.sleep(100)  # the subscriber reads nothing for longer than the sync deadline
            assert not sub.synced
            reading.set()
            got = await take(sub, 5)
            assert [name for _, name, _ in got] == [f"o{i}" for i in range(5)]
            await sub.wait_synced()
            assert sub.stream.sync_mode == "watchlist"
            assert sub.health().fallbacks == 0
            assert api.capabilities == {}
    finally:
        server.cancel()


async def test_bookmarks_during_sync_are_not_progress() -> None:
    api = FakeTransport()
    feed = Feed()
    api.watches.append([event("ADDED", configmap("a", "5")), feed])
    api.pages.append({"metadata": {"resourceVersion": "30"}, "items": [configmap("a", "5")]})

    async def tick() -> None:
        for i in range(20):  # a bookmark every 10 s for 200 s, never the end of the initial events
            await asyncio.sleep(10)
            await feed.put(bookmark(str(6 + i)))

    ticker = asyncio.create_task(tick())
    try:
        async with (
            make_view(api, sync_idle_deadline=30) as view,
            view.subscribe("", "ConfigMap", "default") as sub,
        ):
            started = now()
            await until(sub.stream, lambda: sub.synced)
            assert sub.stream.sync_mode == "list"
            assert now() - started == pytest.approx(30, abs=1)
            assert api.capabilities == {"watchlist:/ConfigMap": False}
    finally:
        ticker.cancel()


# -- bookmarks after a WatchList sync are resumed from ------------------------------------------------


async def test_bookmark_after_watchlist_sync_is_the_resume_point() -> None:
    api = FakeTransport()
    api.watches.append([*synced_cms(configmap("a", "5"), rv="10"), bookmark("20")])  # then the server ends it
    api.watches.append([HANG])
    async with make_view(api) as view, view.subscribe("", "ConfigMap", "default") as sub:
        await until(sub.stream, lambda: len(api.watch_calls()) == 2)
        assert api.watch_calls()[1]["resourceVersion"] == "20"
        assert "sendInitialEvents" not in api.watch_calls()[1]


# -- smaller: a malformed event that repeats from the same resourceVersion ----------------------------


async def test_malformed_event_repeating_at_one_resource_version_leads_to_a_relist() -> None:
    api = FakeTransport()
    surprise = {"type": "SURPRISE", "object": {}}
    api.watches.append([*synced_cms(configmap("a", "5")), surprise])
    api.watches.extend([[surprise], [surprise]])
    api.watches.append([*synced_cms(configmap("a", "5"), rv="30"), HANG])
    async with make_view(api) as view, view.subscribe("", "ConfigMap", "default") as sub:
        await until(sub.stream, lambda: sub.stream.stats["syncs"] == 2)
        calls = api.watch_calls()
        assert [c.get("resourceVersion") for c in calls] == ["", "10", "10", ""]
        assert calls[3]["sendInitialEvents"] == "true"
        assert sub.health().relists == 1
        assert sub.error is None


# -- the relist option reaches the streams -------------------------------------------------------------


async def test_reader_relist_option_makes_the_streams_relist() -> None:
    api = FakeTransport()
    node = configmap("n1", "5", ns="")
    node.update(kind="Node")
    api.watches.append([event("ADDED", node), bookmark("10", end=True, kind="Node"), HANG])
    api.watches.append([bookmark("40", end=True, kind="Node"), HANG])  # n1 is gone by then
    reader = Reader(
        RetrieveType.NODE, relist=timedelta(hours=1), transport=api, settings=StreamSettings(seed=1)
    )
    async with reader:
        started = now()
        first = await anext(reader)
        assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "n1")
        async with asyncio.timeout(2 * 3600):
            second = await anext(reader)
        assert (second.type, second.object["metadata"]["name"]) == ("DELETED", "n1")
        assert 3600 <= now() - started <= 3600 * 1.1 + 1
        assert api.watch_calls()[1]["sendInitialEvents"] == "true"
        (health,) = reader.health().values()
        assert health.relists == 1
