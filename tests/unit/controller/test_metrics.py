"""The operator's request counter keeps the client's raw methods (typed ingest, metadata-only watches)."""

from __future__ import annotations

import pytest

from statuswatch.controller.metrics import CountingTransport, Metrics
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.testing import FakeTransport, configmap, event
from statuswatch.watchlist.transport import RawTransport


def samples(metrics: Metrics) -> list[str]:
    return [
        line
        for line in metrics.render().decode().splitlines()
        if line.startswith("rest_client_requests_total")
    ]


def test_the_counting_client_is_still_a_raw_transport() -> None:
    counting = CountingTransport(FakeTransport(), Metrics())
    assert isinstance(counting, RawTransport)  # the shared view checks exactly this to decode typed
    raw: RawTransport = counting
    assert raw.server == "https://fake.invalid"


async def test_raw_and_json_requests_are_counted_by_method_and_code() -> None:
    fake = FakeTransport()
    fake.answers["/api/v1/namespaces/a/configmaps/x"] = {"kind": "ConfigMap", "metadata": {"name": "x"}}
    fake.answers["/api/v1/namespaces/a/configmaps/y"] = ApiError(403, "Forbidden", "no")
    metrics = Metrics()
    counting = CountingTransport(fake, metrics)

    assert b'"name":"x"' in (await counting.get_bytes("/api/v1/namespaces/a/configmaps/x")).replace(b" ", b"")
    await counting.get_json("/api/v1/namespaces/a/configmaps/x")
    with pytest.raises(ApiError):
        await counting.get_bytes("/api/v1/namespaces/a/configmaps/y")

    assert samples(metrics) == [
        'rest_client_requests_total{code="200",method="GET"} 2.0',
        'rest_client_requests_total{code="403",method="GET"} 1.0',
    ]


async def test_a_watch_is_counted_once_when_it_opens_or_by_the_error_that_kept_it_shut() -> None:
    fake = FakeTransport()
    path = "/api/v1/namespaces/a/configmaps"
    fake.script_watch(path, [event("ADDED", configmap("x", "1", ns="a"))], ApiError(403, "Forbidden", "no"))
    metrics = Metrics()
    counting = CountingTransport(fake, metrics)
    opened: list[bool] = []

    lines = [
        line async for line in counting.stream_lines(path, {"watch": 1}, on_open=lambda: opened.append(True))
    ]
    assert [line["type"] for line in lines] == ["ADDED"]
    assert opened == [True]
    with pytest.raises(ApiError):
        async for _ in counting.stream_raw(path, {"watch": 1}):
            pass

    assert samples(metrics) == [
        'rest_client_requests_total{code="200",method="WATCH"} 1.0',
        'rest_client_requests_total{code="403",method="WATCH"} 1.0',
    ]
