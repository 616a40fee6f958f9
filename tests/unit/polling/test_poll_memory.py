"""Memory per idle poll on the shared view (issue 21's < 20 KiB per StatusWatch leaves the polls ~8 KB).

Measured with tracemalloc over many polls of 10 ConfigMaps each, after their first cycle: everything a
poll keeps (engine state, view reader, router entries, last statuses, memos, its task) divided by the
number of polls. Measured 6.1 KB when this test was written.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from statuswatch.polling import ObjMetadata, Options, StatusPoller, SyncEvent
from statuswatch.polling.testing import FakeView, configmap
from statuswatch.watchlist import ResourceType, RestMapper
from statuswatch.watchlist.testing import FakeTransport

POLLS = 300
BUDGET = 9_000  # bytes per poll of 10 identifiers


class Mapper(RestMapper):
    def __init__(self) -> None:
        super().__init__(FakeTransport())

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        return ResourceType(group, "v1", kind, kind.lower() + "s", True)


async def test_an_idle_poll_of_ten_configmaps_keeps_under_nine_kilobytes() -> None:
    objects = []
    for i in range(POLLS * 10):
        obj = configmap(f"cm-{i}")
        obj["metadata"].update(resourceVersion=str(i + 1), uid=f"u{i}")
        objects.append(obj)
    view = FakeView(objects)
    poller = StatusPoller(None, Mapper(), view=view)
    ids = [[ObjMetadata("", "ConfigMap", "ns", f"cm-{p * 10 + j}") for j in range(10)] for p in range(POLLS)]
    synced = [asyncio.Event() for _ in range(POLLS)]

    async def run(p: int) -> None:
        async for event in poller.poll(ids[p], Options(5)):
            if isinstance(event, SyncEvent):
                synced[p].set()

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        tasks = [asyncio.create_task(run(p)) for p in range(POLLS)]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in synced)), 60)
        await asyncio.sleep(0.1)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    kept = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert kept / POLLS < BUDGET, f"{kept / POLLS:.0f} bytes per poll"
