"""The public fakes: FakeTransport satisfies Transport (checked by mypy here) and answers as scripted."""

from __future__ import annotations

import asyncio
import json

import pytest

from statuswatch.watchlist import (
    ApiError,
    HeaderTimeout,
    NoMatchError,
    Request,
    RestMapper,
    Transport,
    get_json,
)
from statuswatch.watchlist.testing import (
    HANG,
    HANG_HEADERS,
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
    lines = await transport.stream(Request("/api/v1/configmaps", {"watch": 1}))
    got = [json.loads(await anext(lines)), json.loads(await anext(lines))]
    assert [g["type"] for g in got] == ["ADDED", "BOOKMARK"]
    assert got[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    with pytest.raises(ApiError, match="boom"):
        await anext(lines)
    assert fake.watch_calls() == [{"watch": 1}]
    assert transport.server == "https://fake.invalid"


async def test_per_path_scripts_come_first_and_errors_come_before_headers() -> None:
    fake = FakeTransport()
    fake.watches.append([HANG])
    fake.script_watch("/api/v1/namespaces/a/configmaps", ApiError(403, "Forbidden", "no"))
    with pytest.raises(ApiError) as info:
        await fake.stream(Request("/api/v1/namespaces/a/configmaps"))  # refused: no lines to read
    assert info.value.status == 403
    assert list(fake.watches) == [[HANG]]


@pytest.mark.looptime
async def test_hung_headers_end_at_the_requests_connect_deadline_as_on_the_real_client() -> None:
    fake = FakeTransport()
    fake.watches.append([HANG_HEADERS])
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(HeaderTimeout, match="within 7s"):
        await fake.stream(Request("/api/v1/configmaps", connect_timeout=7))
    assert loop.time() - started == pytest.approx(7)
    assert fake.open_watches == 0


async def test_bytes_in_a_script_are_sent_as_they_are() -> None:
    fake = FakeTransport()
    fake.watches.append([b"{not json", event("ADDED", configmap("a", "1"))])
    lines = await fake.stream(Request("/api/v1/configmaps"))
    assert await anext(lines) == b"{not json"
    assert json.loads(await anext(lines))["object"]["metadata"]["name"] == "a"
    await lines.aclose()


async def test_discovery_documents_and_group_removal() -> None:
    fake = FakeTransport()
    fake.add_group("example.com", {"v1": [api_resource("widgets", "Widget")]})
    mapper = RestMapper(fake, refresh_interval=0)
    widget = await mapper.resolve("example.com", "Widget")
    assert widget.path("ns") == "/apis/example.com/v1/namespaces/ns/widgets"
    fake.remove_group("example.com")
    with pytest.raises(ApiError) as info:
        await get_json(fake, "/apis/example.com/v1")
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
