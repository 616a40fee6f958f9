"""The stream gauges count each open stream once, by kind, scope, mode and state (2026-12 mutation audit)."""

from __future__ import annotations

import asyncio

import pytest

from statuswatch.controller.streammetrics import stream_gauges
from statuswatch.watchlist import ApiError, RestMapper, SharedView, StreamSettings
from statuswatch.watchlist.testing import HANG, FakeTransport, bookmark, configmap, event

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]


async def test_streams_are_counted_once_by_kind_scope_mode_and_state() -> None:
    api = FakeTransport()
    api.script_watch(
        "/api/v1/namespaces/shop/configmaps",
        [event("ADDED", configmap("a", "5", ns="shop")), event("ADDED", configmap("b", "6", ns="shop")),
         bookmark("10", end=True), HANG],
    )  # fmt: skip
    api.script_watch("/api/v1/nodes", *[ApiError(403, "Forbidden", "nodes is forbidden")] * 50)
    api.script_watch("/api/v1/namespaces/shop/pods", [HANG])
    view = SharedView(api, RestMapper(api), settings=StreamSettings(backoff=(60.0, 60.0), seed=1))
    async with (
        view,
        view.subscribe("", "ConfigMap", "shop") as configmaps,
        view.subscribe("", "Node") as nodes,
        view.subscribe("", "Pod", "shop"),
    ):
        await configmaps.wait_synced()
        async with asyncio.timeout(30):
            while nodes.error is None:
                await nodes.stream.wait_changed()
        streams, objects = stream_gauges(view, view)  # the same view twice: each stream still once
        counted = {tuple(sample.labels.values()): sample.value for sample in streams.samples}
        assert counted == {
            ("", "ConfigMap", "namespace", "watchlist", "synced"): 1,
            ("", "Node", "cluster", "none", "failing"): 1,
            ("", "Pod", "namespace", "none", "syncing"): 1,
        }
        held = {tuple(sample.labels.values()): sample.value for sample in objects.samples}
        assert held == {("", "ConfigMap"): 2, ("", "Node"): 0, ("", "Pod"): 0}
