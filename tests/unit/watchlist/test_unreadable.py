"""N6: one object a stream cannot read is that object's problem: the stream stays healthy, the object is
marked unreadable (not served at its old version), and one that cannot even be named makes the stream relist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from statuswatch.watchlist import RestMapper, SharedView, StreamSettings
from statuswatch.watchlist.testing import HANG, FakeTransport, Feed, bookmark, configmap, event

from .test_stream import project, take

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]


def fragile(obj: Mapping[str, Any]) -> dict[str, Any]:
    if (obj.get("data") or {}).get("poison"):
        raise ValueError("cannot project this one")
    return project(obj)


def view(api: FakeTransport) -> SharedView:
    return SharedView(
        api, RestMapper(api), settings=StreamSettings(backoff=(1.0, 1.0), seed=7), projector=fragile
    )


async def test_an_unreadable_version_marks_that_object_and_not_the_stream() -> None:
    api = FakeTransport()
    feed = Feed()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            event("ADDED", configmap("b", "6")),
            bookmark("10", end=True),
            feed,
        ]
    )
    shared = view(api)
    async with shared, shared.subscribe("", "ConfigMap", "default") as sub:
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("ADDED", "b", "6")]
        await feed.put(event("MODIFIED", configmap("b", "11", poison="yes")))
        await feed.put(event("MODIFIED", configmap("a", "12")))
        assert await take(sub, 1) == [("MODIFIED", "a", "12")]
        assert sub.error is None
        assert sub.stream.failing_since is None
        assert sub.unreadable("default", "b") == "ValueError: cannot project this one"
        assert sub.unreadable("default", "a") is None
        # The good version that follows clears it.
        await feed.put(event("MODIFIED", configmap("b", "13")))
        assert await take(sub, 1) == [("MODIFIED", "b", "13")]
        assert sub.unreadable("default", "b") is None
        assert sub.stream.stats["skipped"] == 1


async def test_an_object_that_cannot_be_named_makes_the_stream_relist_without_failing() -> None:
    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            bookmark("10", end=True),
            event("MODIFIED", {"kind": "ConfigMap", "metadata": "not a mapping"}),
            HANG,
        ]
    )
    # The relist reads the state again: "a" has moved on meanwhile.
    api.watches.append([event("ADDED", configmap("a", "14")), bookmark("15", end=True), HANG])
    shared = view(api)
    async with shared, shared.subscribe("", "ConfigMap", "default") as sub:
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("MODIFIED", "a", "14")]
        assert sub.error is None
        assert sub.stream.stats["failures"] == 0
        assert sub.stream.stats["relists"] == 1
        assert sub.get("default", "a")["metadata"]["resourceVersion"] == "14"  # type: ignore[index]


async def test_an_object_unreadable_in_a_relist_stays_marked_and_one_gone_is_forgotten() -> None:
    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5", poison="yes")),
            event("ADDED", configmap("b", "6", poison="yes")),
            bookmark("10", end=True),
            {
                "type": "ERROR",
                "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "gone"},
            },
        ]
    )
    api.watches.append([event("ADDED", configmap("a", "16", poison="yes")), bookmark("20", end=True), HANG])
    shared = view(api)
    async with shared, shared.subscribe("", "ConfigMap", "default") as sub:
        await sub.wait_synced()
        assert set(sub.stream.unreadable) == {("default", "a"), ("default", "b")}
        async with asyncio.timeout(60):
            while sub.stream.stats["syncs"] < 2:
                await sub.stream.wait_changed()
        assert set(sub.stream.unreadable) == {("default", "a")}
        assert sub.error is None
