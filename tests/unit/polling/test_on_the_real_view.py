"""The polling engine on the real ``SharedView`` and streams, fed by the scripted ``FakeTransport``.

The other unit tests use the in-memory ``FakeView``; these make sure the router and the staleness rule
agree with what real streams report (``error`` and ``failing_since`` after sync, recovery).
"""

from __future__ import annotations

import asyncio

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
    router_for,
)
from statuswatch.watchlist import ApiError, RestMapper, SharedView, StreamSettings
from statuswatch.watchlist.testing import FEED, FakeTransport, bookmark, configmap, event

PATH = "/api/v1/namespaces/default/configmaps"
CFG = ObjMetadata("", "ConfigMap", "default", "cfg")
FORBIDDEN = ApiError(403, "Forbidden", 'configmaps is forbidden: User "system:serviceaccount:x:y"')


@pytest.mark.looptime
async def test_access_revoked_after_sync_is_unknown_with_forbidden_then_recovers() -> None:
    transport = FakeTransport()
    transport.script_watch(
        PATH,
        [event("ADDED", configmap("cfg", "1")), bookmark("1", end=True), FEED],  # synced, then live
        *[FORBIDDEN] * 3,  # access revoked: every reconnect is refused
        [bookmark("2"), FEED],  # restored
    )
    settings = StreamSettings(backoff=(1.0, 4.0), seed=7)
    mapper = RestMapper(transport)
    async with SharedView(transport, mapper, settings=settings) as view:
        poller = StatusPoller(transport, mapper, view=view)
        loop = asyncio.get_running_loop()
        seen: list[tuple[float, ResourceStatus]] = []
        stream = poller.poll([CFG], Options(poll_interval=2))
        async with asyncio.timeout(120):
            async for update in stream:
                if not isinstance(update, ResourceUpdateEvent):
                    continue
                seen.append((loop.time(), update.resource))
                if len(seen) == 1:
                    assert update.resource.status == Status.CURRENT
                    revoked_at = loop.time()
                    await transport.feed.put(ConnectionResetError("connection reset by peer"))
                elif len(seen) == 3:
                    break
        await stream.aclose()
        assert router_for(view).keys == {}  # the poll's end released its key
    (_, first), (stale_at, stale), (_, recovered) = seen
    assert stale.status == Status.UNKNOWN
    assert (
        stale.message == 'watch failing: Forbidden: configmaps is forbidden: User "system:serviceaccount:x:y"'
    )
    assert stale_at - revoked_at <= 2 + 2  # a back-off step to fail, then at most one poll interval
    assert isinstance(stale.error, Exception)
    assert recovered.status == Status.CURRENT
    assert recovered.message == first.message
