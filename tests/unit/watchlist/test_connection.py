"""Config loading, ApiError parsing, and JSON-line streaming over a real local HTTP socket."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from statuswatch.watchlist import ApiClient, ApiError, ClusterConfig, ConfigError, InactivityTimeout

pytestmark = pytest.mark.timeout(10)


def kubeconfig(**user: object) -> dict[str, object]:
    return {
        "current-context": "dev",
        "contexts": [
            {"name": "other", "context": {"cluster": "nope", "user": "nope"}},
            {"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team"}},
        ],
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://127.0.0.1:6443/",
                    "certificate-authority-data": base64.b64encode(b"CA").decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": user}],
    }


def test_kubeconfig_with_inline_client_cert_and_token() -> None:
    doc = kubeconfig(
        **{
            "client-certificate-data": base64.b64encode(b"CERT").decode(),
            "client-key-data": base64.b64encode(b"KEY").decode(),
            "token": "s3cret",
        }
    )
    cfg = ClusterConfig.from_kubeconfig_dict(doc)
    assert cfg.server == "https://127.0.0.1:6443"
    assert (cfg.ca_data, cfg.client_cert_data, cfg.client_key_data) == (b"CA", b"CERT", b"KEY")
    assert cfg.bearer_token() == "s3cret"
    assert cfg.namespace == "team"
    assert "s3cret" not in repr(cfg)


def test_kubeconfig_with_files_relative_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CAFILE")
    (tmp_path / "tok").write_text("from-file\n")
    doc = kubeconfig(tokenFile="tok")
    doc["clusters"] = [{"name": "c", "cluster": {"server": "https://h", "certificate-authority": "ca.crt"}}]
    path = tmp_path / "config"
    path.write_text(json.dumps(doc))  # JSON is YAML
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cfg = ClusterConfig.load()
    assert cfg.ca_data == b"CAFILE"
    assert cfg.bearer_token() == "from-file"
    (tmp_path / "tok").write_text("rotated")
    assert cfg.bearer_token() == "rotated"


def test_kubeconfig_insecure_and_other_context() -> None:
    doc = kubeconfig()
    doc["clusters"] = [
        {"name": "c", "cluster": {"server": "https://h"}},
        {"name": "nope", "cluster": {"server": "https://other", "insecure-skip-tls-verify": True}},
    ]
    doc["users"] = [{"name": "u", "user": {}}, {"name": "nope", "user": {}}]
    cfg = ClusterConfig.from_kubeconfig_dict(doc, context="other")
    assert cfg.server == "https://other"
    assert cfg.insecure_skip_tls_verify
    ctx = cfg.ssl_context()
    assert not isinstance(ctx, bool)
    assert ctx.check_hostname is False


def test_kubeconfig_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no context named 'missing'"):
        ClusterConfig.from_kubeconfig_dict(kubeconfig(), context="missing")
    with pytest.raises(ConfigError, match="current-context"):
        ClusterConfig.from_kubeconfig_dict({})
    with pytest.raises(ConfigError, match="exec or auth-provider plugin"):
        ClusterConfig.from_kubeconfig_dict(kubeconfig(exec={"command": "aws"}))
    with pytest.raises(ConfigError, match="cannot read"):
        ClusterConfig.from_kubeconfig(tmp_path / "absent")


def test_in_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(b"SACA")
    (tmp_path / "namespace").write_text("ops")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cfg = ClusterConfig.in_cluster(tmp_path)
    assert cfg.server == "https://10.0.0.1:443"
    assert (cfg.ca_data, cfg.bearer_token(), cfg.namespace) == (b"SACA", "sa-token", "ops")
    with pytest.raises(ConfigError):
        ClusterConfig.in_cluster(tmp_path / "absent")


def test_api_error_from_status() -> None:
    err = ApiError.from_status(
        {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version: 1 (5)"}
    )
    assert (err.status, err.reason, err.is_gone) == (410, "Expired", True)
    too_large = ApiError.from_status(
        {
            "code": 504,
            "reason": "Timeout",
            "message": "Too large resource version",
            "details": {"causes": [{"reason": "ResourceVersionTooLarge"}]},
        }
    )
    assert too_large.is_gone
    forbidden = ApiError.from_status({"code": 403, "reason": "Forbidden", "message": "no"})
    assert not forbidden.is_gone
    assert str(forbidden) == "403 Forbidden: no"


@pytest.fixture
async def server() -> AsyncIterator[tuple[ApiClient, list[web.Request]]]:
    seen: list[web.Request] = []

    async def watch(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        resp = web.StreamResponse()
        await resp.prepare(request)
        big = json.dumps({"type": "ADDED", "object": {"data": "x" * 200_000}}).encode()
        # Lines split at awkward places: inside one event, two events in one chunk, a huge one.
        payload = b'{"type":"ADDED","object":{"n":1}}\n{"type":"MOD' + b'IFIED","object":{"n":2}}\n'
        for part in (payload[:10], payload[10:40], payload[40:], big[:70_000], big[70_000:] + b"\n"):
            await resp.write(part)
            await asyncio.sleep(0.01)
        if request.query.get("hang"):
            await asyncio.sleep(1)
        return resp

    async def forbidden(request: web.Request) -> web.Response:
        body = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "cannot list pods"}
        return web.json_response(body, status=403)

    app = web.Application()
    app.router.add_get("/watch", watch)
    app.router.add_get("/forbidden", forbidden)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with ApiClient(ClusterConfig(server=f"http://127.0.0.1:{port}", token="tkn")) as client:
        yield client, seen
    await runner.cleanup()


async def test_stream_lines_reassembles_split_lines(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, seen = server
    opened: list[bool] = []
    events = [
        e async for e in client.stream_lines("/watch", {"watch": 1}, on_open=lambda: opened.append(True))
    ]
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "ADDED"]
    assert events[1]["object"] == {"n": 2}
    assert len(events[2]["object"]["data"]) == 200_000
    assert opened == [True]
    assert seen[0].headers["Accept-Encoding"] == "identity"
    assert seen[0].headers["Authorization"] == "Bearer tkn"
    assert seen[0].query["watch"] == "1"


async def test_stream_lines_inactivity_timeout(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, _ = server
    got: list[dict[str, object]] = []

    async def consume() -> None:
        async for e in client.stream_lines("/watch", {"hang": 1}, inactivity_timeout=0.3):
            got.append(e)

    with pytest.raises(InactivityTimeout):
        await consume()
    assert len(got) == 3


async def test_errors_carry_the_status(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, _ = server
    with pytest.raises(ApiError) as info:
        await client.get_json("/forbidden")
    assert (info.value.status, info.value.reason, info.value.message) == (
        403,
        "Forbidden",
        "cannot list pods",
    )
    with pytest.raises(ApiError) as info:
        async for _ in client.stream_lines("/forbidden"):
            pass
    assert info.value.status == 403
    with pytest.raises(ApiError) as info:
        await client.get_json("/missing")
    assert info.value.status == 404
