"""The operator's request counter: a transport like any other, counting what it passes on."""

from __future__ import annotations

import json

import pytest

from statuswatch.controller.metrics import CountingTransport, Metrics
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.testing import FakeTransport, configmap, event
from statuswatch.watchlist.transport import Request, Transport, get_json


def samples(metrics: Metrics) -> list[str]:
    return [
        line
        for line in metrics.render().decode().splitlines()
        if line.startswith("rest_client_requests_total")
    ]


def test_the_counting_client_is_a_transport() -> None:
    counting: Transport = CountingTransport(FakeTransport(), Metrics())  # held to the protocol by mypy
    assert counting.server == "https://fake.invalid"


async def test_requests_are_counted_by_method_and_code() -> None:
    fake = FakeTransport()
    fake.answers["/api/v1/namespaces/a/configmaps/x"] = {"kind": "ConfigMap", "metadata": {"name": "x"}}
    fake.answers["/api/v1/namespaces/a/configmaps/y"] = ApiError(403, "Forbidden", "no")
    fake.answers["/api/v1/namespaces/a/configmaps/z"] = ConnectionResetError("reset")
    metrics = Metrics()
    counting = CountingTransport(fake, metrics)

    assert b'"name":"x"' in (await counting.send(Request("/api/v1/namespaces/a/configmaps/x"))).replace(
        b" ", b""
    )
    await get_json(counting, "/api/v1/namespaces/a/configmaps/x")
    with pytest.raises(ApiError):
        await counting.send(Request("/api/v1/namespaces/a/configmaps/y"))
    with pytest.raises(ApiError):
        await counting.send(Request("/api/v1/namespaces/a/configmaps", method="post", body=b"{}"))
    with pytest.raises(ConnectionResetError):
        await counting.send(Request("/api/v1/namespaces/a/configmaps/z"))

    assert samples(metrics) == [
        'rest_client_requests_total{code="200",method="GET"} 2.0',
        'rest_client_requests_total{code="403",method="GET"} 1.0',
        'rest_client_requests_total{code="405",method="POST"} 1.0',
        'rest_client_requests_total{code="<error>",method="GET"} 1.0',
    ]


async def test_a_watch_is_counted_once_when_it_opens_or_by_the_error_that_kept_it_shut() -> None:
    fake = FakeTransport()
    path = "/api/v1/namespaces/a/configmaps"
    fake.script_watch(path, [event("ADDED", configmap("x", "1", ns="a"))], ApiError(403, "Forbidden", "no"))
    metrics = Metrics()
    counting = CountingTransport(fake, metrics)

    opened = await counting.stream(Request(path, {"watch": 1}))
    assert samples(metrics) == ['rest_client_requests_total{code="200",method="WATCH"} 1.0']  # at the headers
    assert [json.loads(line)["type"] async for line in opened] == ["ADDED"]
    with pytest.raises(ApiError):
        await counting.stream(Request(path, {"watch": 1}))

    assert samples(metrics) == [
        'rest_client_requests_total{code="200",method="WATCH"} 1.0',
        'rest_client_requests_total{code="403",method="WATCH"} 1.0',
    ]
