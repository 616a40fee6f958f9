"""The stream's sync and relist deadlines, pinned to the second on loop time (2026-12 mutation audit)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statuswatch.watchlist.testing import HANG, FakeTransport, Feed, bookmark, configmap, event

from .test_stream import make_view, take

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]


def page(rv: str, *items: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "ConfigMapList", "metadata": {"resourceVersion": rv}, "items": list(items)}


async def test_no_end_bookmark_within_the_idle_deadline_falls_back_to_list_and_objects_reset_it() -> None:
    api = FakeTransport()
    feed = Feed()
    api.watches.append([feed])
    api.pages.append(page("30", configmap("a", "5"), configmap("b", "6")))
    api.watches.append([HANG])
    loop = asyncio.get_running_loop()
    async with make_view(api, sync_idle_deadline=10) as view, view.subscribe("", "ConfigMap") as sub:
        last_object = loop.time()
        for second in range(3):  # an object every 8 s: each one starts the 10 s of silence again
            last_object = loop.time()
            await feed.put(event("ADDED", configmap(f"o{second}", str(second + 1))))
            await asyncio.sleep(8)
        assert not sub.synced
        assert sub.health().fallbacks == 0
        await feed.put(bookmark("4"))  # a plain bookmark is silence too
        await sub.wait_synced()
        assert loop.time() - last_object == pytest.approx(10, abs=0.5)
        assert sub.stream.sync_mode == "list"
        assert sub.health().fallbacks == 1


async def test_a_periodic_relist_comes_when_its_interval_runs_out_not_before() -> None:
    api = FakeTransport()
    api.watches.append([event("ADDED", configmap("a", "5")), bookmark("10", end=True), HANG])
    api.watches.append([event("ADDED", configmap("a", "5")), bookmark("20", end=True), HANG])
    loop = asyncio.get_running_loop()
    async with make_view(api, relist_interval=3600) as view, view.subscribe("", "ConfigMap") as sub:
        assert await take(sub, 1) == [("ADDED", "a", "5")]
        synced_at = loop.time()
        await asyncio.sleep(3599)
        assert sub.stream.stats["relists"] == 0
        async with asyncio.timeout(400):
            while sub.stream.stats["relists"] == 0:
                await sub.stream.wait_changed()
        # Jitter of up to 10 % after the interval, never before it.
        assert 3600 <= loop.time() - synced_at <= 3600 * 1.1 + 1
