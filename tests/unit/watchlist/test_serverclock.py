"""The API server's clock from its Date headers (N5): measured, exported as skew, noise ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from aiohttp import web

from statuswatch.watchlist import ApiClient, ClusterConfig, get_json, request_json
from statuswatch.watchlist.serverclock import ServerClock

LOCAL = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC).timestamp()


def _header(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC), usegmt=True)


def test_a_server_an_hour_ahead_moves_now_an_hour_ahead() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_header(LOCAL + 3600), LOCAL - 0.1, LOCAL)
    assert 3599 <= clock.skew <= 3601
    assert abs(clock.time() - (LOCAL + 3600)) <= 1
    assert clock.now().tzinfo is UTC
    assert clock.samples == 1


def test_a_server_behind_moves_now_back() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_header(LOCAL - 600), LOCAL, LOCAL)
    assert abs(clock.time() - (LOCAL - 600)) <= 1


def test_a_skew_within_the_headers_resolution_is_ignored() -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_header(LOCAL), LOCAL, LOCAL + 0.2)
    assert clock.time() == LOCAL
    assert abs(clock.skew) < 1


@pytest.mark.parametrize("header", [None, "", "yesterday", "Thu, 03 Dec 2026 12:00:00"])
def test_an_unreadable_date_changes_nothing(header: str | None) -> None:
    clock = ServerClock(local=lambda: LOCAL)
    clock.observe(_header(LOCAL + 3600), LOCAL, LOCAL)
    clock.observe(header, LOCAL, LOCAL)
    assert clock.samples == 1
    assert abs(clock.time() - (LOCAL + 3600)) <= 1


@pytest.fixture
async def skewed_server() -> AsyncIterator[str]:
    async def answer(_: web.Request) -> web.Response:
        ahead = datetime.now(UTC).timestamp() + 7200
        return web.json_response({"kind": "Status"}, headers={"Date": _header(ahead)})

    app = web.Application()
    app.router.add_route("*", "/thing", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_the_client_reads_every_answers_date(skewed_server: str) -> None:
    async with ApiClient(ClusterConfig(server=skewed_server, token="t")) as client:
        assert client.clock.samples == 0
        await get_json(client, "/thing")
        await request_json(client, "PATCH", "/thing", body=[])
        assert client.clock.samples == 2
        assert 7198 <= client.clock.skew <= 7202
        assert abs(client.clock.now().timestamp() - (datetime.now(UTC).timestamp() + 7200)) <= 2
