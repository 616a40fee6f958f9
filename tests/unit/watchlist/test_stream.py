"""Stream protocol on scripted responses: WatchList sync, resume, 410 relist, fallbacks, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statuswatch.watchlist import ApiError, NoMatchError, RestMapper, SharedView, StreamSettings, Subscription
from statuswatch.watchlist.store import Change
from statuswatch.watchlist.testing import HANG, FakeTransport, bookmark, configmap, event, gone_event

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]


def project(obj: Any) -> dict[str, Any]:
    """Stand-in projection: identity fields only (the real one is statuswatch.kstatus.project)."""
    meta = obj["metadata"]
    keep = ("name", "namespace", "uid", "resourceVersion")
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {k: meta[k] for k in keep if k in meta},
        "data": obj.get("data"),
    }


def make_view(api: FakeTransport, **settings: Any) -> SharedView:
    defaults: dict[str, Any] = {"backoff": (1.0, 1.0), "sync_idle_deadline": 30, "seed": 5}
    defaults.update(settings)
    return SharedView(api, RestMapper(api), settings=StreamSettings(**defaults), projector=project)


async def take(sub: Subscription, n: int) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for _ in range(n):
        c: Change = await asyncio.wait_for(anext(sub), 4000)
        out.append((c.type, c.object["metadata"]["name"], c.object["metadata"]["resourceVersion"]))
    return out


async def test_watchlist_sync_then_live_changes() -> None:
    api = FakeTransport()
    api.watches.append(
        [event("ADDED", configmap("a", "5")), event("ADDED", configmap("b", "6")), bookmark("10", end=True),
         event("MODIFIED", configmap("a", "11")), HANG]
    )  # fmt: skip
    async with make_view(api) as view, view.subscribe("", "ConfigMap", "default") as sub:
        await sub.wait_synced()
        assert await take(sub, 3) == [("ADDED", "a", "5"), ("ADDED", "b", "6"), ("MODIFIED", "a", "11")]
        assert sub.stream.sync_mode == "watchlist"
        params = api.watch_calls()[0]
        assert params["sendInitialEvents"] == "true"
        assert params["resourceVersionMatch"] == "NotOlderThan"
        assert params["resourceVersion"] == ""
        assert params["allowWatchBookmarks"] == "true"
        assert 300 <= int(params["timeoutSeconds"]) <= 600
        assert api.calls[-1].path == "/api/v1/namespaces/default/configmaps"
        stored = sub.get("default", "a")
        assert stored is not None
        assert stored["metadata"]["resourceVersion"] == "11"
        assert "managedFields" not in stored["metadata"]


async def test_not_synced_before_end_bookmark() -> None:
    api = FakeTransport()
    api.watches.append([event("ADDED", configmap("a", "5")), HANG])
    async with make_view(api, sync_idle_deadline=30) as view, view.subscribe("", "ConfigMap") as sub:
        assert await take(sub, 1) == [("ADDED", "a", "5")]
        assert not sub.synced
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(sub.wait_synced(), 10)


async def test_resume_from_last_event_and_bookmark_resource_version() -> None:
    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            bookmark("10", end=True),
            event("MODIFIED", configmap("a", "12")),
        ]
    )
    api.watches.append(
        [event("MODIFIED", configmap("a", "13")), bookmark("15")]
    )  # stream ends after a bookmark
    api.watches.append([HANG])
    third_call = asyncio.Event()
    api.on_watch = lambda: third_call.set() if len(api.watch_calls()) == 3 else None
    async with make_view(api) as view, view.subscribe("", "ConfigMap") as sub:
        assert await take(sub, 3) == [("ADDED", "a", "5"), ("MODIFIED", "a", "12"), ("MODIFIED", "a", "13")]
        await asyncio.wait_for(third_call.wait(), 5)
        second, third = api.watch_calls()[1:3]
        assert second["resourceVersion"] == "12"
        assert third["resourceVersion"] == "15"
        assert "sendInitialEvents" not in second
        assert "resourceVersionMatch" not in third
        assert api.calls[-1].path == "/api/v1/configmaps"  # cluster-wide


@pytest.mark.parametrize("how", ["http", "event"])
async def test_gone_leads_to_relist_with_deletes(how: str) -> None:
    api = FakeTransport()
    api.watches.append(
        [event("ADDED", configmap("a", "5")), event("ADDED", configmap("b", "6")), bookmark("10", end=True)]
    )
    if how == "http":
        api.watches.append(ApiError(410, "Expired", "too old resource version: 10 (20)"))
    else:
        api.watches.append([gone_event()])
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            event("ADDED", configmap("c", "18")),
            bookmark("20", end=True),
            HANG,
        ]
    )
    async with make_view(api) as view, view.subscribe("", "ConfigMap") as sub:
        got = await take(sub, 4)
        assert got == [("ADDED", "a", "5"), ("ADDED", "b", "6"), ("ADDED", "c", "18"), ("DELETED", "b", "6")]
        assert sub.stream.stats["gone"] == 1
        assert api.watch_calls()[2]["sendInitialEvents"] == "true"
        assert sorted(o["metadata"]["name"] for o in sub.list()) == ["a", "c"]


async def test_fallback_to_list_watch_when_watchlist_refused_remembered_per_type() -> None:
    api = FakeTransport()
    api.watches.append(
        ApiError(
            422,
            "Invalid",
            'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is '
            "forbidden for watch unless the WatchList feature gate is enabled",
        )
    )
    api.pages.append(
        {"metadata": {"continue": "c1", "resourceVersion": "30"}, "items": [configmap("a", "3")]}
    )
    api.pages.append({"metadata": {"resourceVersion": "30"}, "items": [configmap("b", "4")]})
    api.watches.append([event("MODIFIED", configmap("a", "31")), HANG])
    async with make_view(api, page_size=1) as view:
        async with view.subscribe("", "ConfigMap") as sub:
            await sub.wait_synced()
            assert await take(sub, 3) == [("ADDED", "a", "3"), ("ADDED", "b", "4"), ("MODIFIED", "a", "31")]
            assert sub.stream.sync_mode == "list"
            assert sub.health().fallbacks == 1
            assert sub.error is None
            lists = [c.params for c in api.calls if c.kind == "get" and "configmaps" in c.path]
            assert lists == [{"limit": 1}, {"limit": 1, "continue": "c1"}]
            assert api.watch_calls()[1]["resourceVersion"] == "30"
        # Remembered for that type only: an aggregated API refusing it says nothing about other types.
        assert api.capabilities == {"watchlist:/ConfigMap": False}
        async with view.subscribe("", "ConfigMap", "other") as again:
            api.pages.append({"metadata": {"resourceVersion": "40"}, "items": []})
            await again.wait_synced()
            assert "sendInitialEvents" not in api.watch_calls()[-1]
        api.watches.append([bookmark("50", end=True), HANG])
        async with view.subscribe("", "Node") as nodes:
            await nodes.wait_synced()
            assert nodes.stream.sync_mode == "watchlist"
            assert api.watch_calls()[-1]["sendInitialEvents"] == "true"


async def test_list_items_get_api_version_and_kind() -> None:
    api = FakeTransport()
    api.capabilities["watchlist"] = False
    bare = configmap("a", "3")
    del bare["apiVersion"], bare["kind"]
    api.pages.append({"metadata": {"resourceVersion": "30"}, "items": [bare]})
    async with make_view(api) as view, view.subscribe("", "ConfigMap") as sub:
        change = await asyncio.wait_for(anext(sub), 5)
        assert change.object["apiVersion"] == "v1"
        assert change.object["kind"] == "ConfigMap"


async def test_fallback_when_end_bookmark_never_comes() -> None:
    api = FakeTransport()
    api.watches.append(
        [event("ADDED", configmap("a", "5")), bookmark("7"), HANG]
    )  # bookmark without annotation
    api.pages.append(
        {"metadata": {"resourceVersion": "30"}, "items": [configmap("a", "5"), configmap("b", "9")]}
    )
    async with make_view(api, sync_idle_deadline=30) as view, view.subscribe("", "ConfigMap") as sub:
        await asyncio.wait_for(sub.wait_synced(), 60)
        assert sub.stream.sync_mode == "list"
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("ADDED", "b", "9")]
        assert api.capabilities["watchlist:/ConfigMap"] is False
        assert "watchlist" not in api.capabilities  # the server as a whole is not written off


async def test_periodic_relist_reports_vanished_objects() -> None:
    api = FakeTransport()
    api.watches.append(
        [
            event("ADDED", configmap("a", "5")),
            event("ADDED", configmap("b", "6")),
            bookmark("10", end=True),
            HANG,
        ]
    )
    api.watches.append([event("ADDED", configmap("a", "5")), bookmark("20", end=True), HANG])
    async with make_view(api, relist_interval=3600) as view, view.subscribe("", "ConfigMap") as sub:
        assert await take(sub, 3) == [("ADDED", "a", "5"), ("ADDED", "b", "6"), ("DELETED", "b", "6")]
        assert sub.stream.stats["syncs"] >= 2


async def test_forbidden_is_reported_and_cleared_when_it_heals() -> None:
    api = FakeTransport()
    api.watches.append(ApiError(403, "Forbidden", 'configmaps is forbidden: User "x" cannot watch'))
    api.watches.append([event("ADDED", configmap("a", "5")), bookmark("10", end=True), HANG])

    async with make_view(api, backoff=(5.0, 5.0)) as view, view.subscribe("", "ConfigMap") as sub:
        with pytest.raises(ApiError) as info:
            await sub.wait_synced()
        assert info.value.status == 403
        assert sub.error is info.value
        assert not sub.synced

        # The stream keeps retrying; once it is allowed, the error goes away and the type syncs.
        async with asyncio.timeout(60):
            while sub.health().error is not None:
                await sub.stream.wait_changed()
        await asyncio.wait_for(sub.wait_synced(), 5)
        assert sub.get("default", "a") is not None


async def test_unknown_kind_is_a_no_match_error() -> None:
    api = FakeTransport()
    async with make_view(api) as view, view.subscribe("example.com", "Widget") as sub:
        with pytest.raises(NoMatchError, match="Widget"):
            await sub.wait_synced()
        assert isinstance(sub.error, NoMatchError)


def test_event_parsing() -> None:
    from statuswatch.watchlist.stream import _refuses_watchlist, _split

    assert _split({"type": "ADDED", "object": {"kind": "X"}}) == ("ADDED", {"kind": "X"})
    assert _split(bookmark("5"))[0] == "BOOKMARK"
    with pytest.raises(ApiError) as info:
        _split(gone_event())
    assert info.value.is_gone
    with pytest.raises(ValueError, match="unknown watch event type"):
        _split({"type": "SURPRISE", "object": {}})
    with pytest.raises(ValueError, match="malformed"):
        _split({"type": "ADDED", "object": "not an object"})
    gate_off = ApiError(
        422,
        "Invalid",
        "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
        {"causes": [{"field": "sendInitialEvents", "reason": "FieldValueForbidden"}]},
    )
    assert _refuses_watchlist(gate_off)
    assert not _refuses_watchlist(ApiError(403, "Forbidden", 'cannot watch resource "secrets"'))
    assert not _refuses_watchlist(ApiError(410, "Expired", "too old"))


async def test_malformed_event_reconnects_and_resumes() -> None:
    api = FakeTransport()
    api.watches.append(
        [event("ADDED", configmap("a", "5")), bookmark("10", end=True), {"type": "SURPRISE", "object": {}}]
    )
    api.watches.append([event("MODIFIED", configmap("a", "11")), HANG])
    async with make_view(api) as view, view.subscribe("", "ConfigMap") as sub:
        assert await take(sub, 2) == [("ADDED", "a", "5"), ("MODIFIED", "a", "11")]
        assert api.watch_calls()[1]["resourceVersion"] == "10"
