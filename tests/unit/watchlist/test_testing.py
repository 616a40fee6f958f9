"""The public fakes: FakeTransport satisfies Transport (checked by mypy here) and answers as scripted."""

from __future__ import annotations

import pytest

from statuswatch.watchlist import ApiError, NoMatchError, RestMapper, Transport
from statuswatch.watchlist.testing import (
    HANG,
    FakeTransport,
    api_resource,
    bookmark,
    configmap,
    event,
    gone_event,
)


async def test_fake_transport_is_a_transport_and_logs_requests() -> None:
    fake = FakeTransport()
    transport: Transport = fake  # the type checker holds the fake to the protocol's signatures
    fake.watches.append(
        [event("ADDED", configmap("a", "1")), bookmark("2", end=True), ApiError(500, "X", "boom")]
    )
    opened: list[bool] = []
    lines = transport.stream_lines("/api/v1/configmaps", {"watch": 1}, on_open=lambda: opened.append(True))
    got = [await anext(lines), await anext(lines)]
    assert [g["type"] for g in got] == ["ADDED", "BOOKMARK"]
    assert got[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    with pytest.raises(ApiError, match="boom"):
        await anext(lines)
    assert opened == [True]
    assert fake.watch_calls() == [{"watch": 1}]
    assert transport.server == "https://fake.invalid"


async def test_per_path_scripts_come_first_and_errors_come_before_headers() -> None:
    fake = FakeTransport()
    fake.watches.append([HANG])
    fake.script_watch("/api/v1/namespaces/a/configmaps", ApiError(403, "Forbidden", "no"))
    opened: list[bool] = []
    lines = fake.stream_lines("/api/v1/namespaces/a/configmaps", on_open=lambda: opened.append(True))
    with pytest.raises(ApiError) as info:
        await anext(lines)
    assert info.value.status == 403
    assert opened == []
    assert list(fake.watches) == [[HANG]]


async def test_discovery_documents_and_group_removal() -> None:
    fake = FakeTransport()
    fake.add_group("example.com", {"v1": [api_resource("widgets", "Widget")]})
    mapper = RestMapper(fake, refresh_interval=0)
    widget = await mapper.resolve("example.com", "Widget")
    assert widget.path("ns") == "/apis/example.com/v1/namespaces/ns/widgets"
    fake.remove_group("example.com")
    with pytest.raises(ApiError) as info:
        await fake.get_json("/apis/example.com/v1")
    assert info.value.status == 404
    with pytest.raises(NoMatchError):
        await RestMapper(fake).resolve("example.com", "Widget")


def test_builders() -> None:
    cm = configmap("a", "7", ns="x", key="value")
    assert cm["metadata"] == {
        "name": "a",
        "namespace": "x",
        "uid": "uid-x-a",
        "resourceVersion": "7",
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}],
    }
    assert cm["data"] == {"key": "value"}
    assert gone_event()["object"]["code"] == 410
    assert "annotations" not in bookmark("3")["object"]["metadata"]
