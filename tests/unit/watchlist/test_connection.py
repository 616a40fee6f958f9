"""ClusterConfig from kubeconfigs and the pod (their rules: test_kubeconfig.py), ApiError parsing, and
requests and JSON-line streaming over real local sockets: header deadline, 401 retry with fresh credentials,
user agent."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from statuswatch import __version__
from statuswatch.watchlist import ApiClient, ApiError, ClusterConfig, ConfigError, InactivityTimeout
from statuswatch.watchlist.config import Credentials, _CredentialSource
from statuswatch.watchlist.connection import HeaderTimeout
from statuswatch.watchlist.transport import Request, Transport, get_json

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
    with pytest.raises(ConfigError, match="exec plugin of user 'u' has no apiVersion"):
        ClusterConfig.from_kubeconfig_dict(kubeconfig(exec={"command": "aws"}))
    with pytest.raises(ConfigError, match="cannot read"):
        ClusterConfig.from_kubeconfig(tmp_path / "absent")
    (tmp_path / "list").write_text("- not\n- a kubeconfig\n")
    with pytest.raises(ConfigError, match="cannot read kubeconfig"):
        ClusterConfig.from_kubeconfig(tmp_path / "list")
    (tmp_path / "broken").write_text("clusters: [\n")
    with pytest.raises(ConfigError, match="cannot read kubeconfig"):
        ClusterConfig.from_kubeconfig(tmp_path / "broken")


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

    async def unterminated(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b'{"type":"ADDED","object":{"n":1}}\r\n{"type":"DELE')
        await asyncio.sleep(0.01)
        await resp.write(b'TED","object":{"n":2}}')  # the server closes without a last newline
        return resp

    async def forbidden(request: web.Request) -> web.Response:
        body = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "cannot list pods"}
        return web.json_response(body, status=403)

    app = web.Application()
    app.router.add_get("/watch", watch)
    app.router.add_get("/unterminated", unterminated)
    app.router.add_get("/forbidden", forbidden)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with ApiClient(ClusterConfig(server=f"http://127.0.0.1:{port}", token="tkn")) as client:
        yield client, seen
    await runner.cleanup()


async def watch(client: ApiClient, path: str, params: dict[str, str | int] | None = None) -> list[Any]:
    """Every event of one watch, decoded."""
    return [json.loads(line) async for line in await client.stream(Request(path, params))]


async def test_stream_reassembles_split_lines(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, seen = server
    events = await watch(client, "/watch", {"watch": 1})
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "ADDED"]
    assert events[1]["object"] == {"n": 2}
    assert len(events[2]["object"]["data"]) == 200_000
    assert seen[0].headers["Accept-Encoding"] == "identity"
    assert seen[0].headers["Authorization"] == "Bearer tkn"
    assert seen[0].query["watch"] == "1"


async def test_stream_hands_out_a_last_line_without_newline_and_crlf_lines(
    server: tuple[ApiClient, list[web.Request]],
) -> None:
    client, _ = server
    assert [e["type"] for e in await watch(client, "/unterminated")] == ["ADDED", "DELETED"]


async def test_a_watch_closed_before_its_first_line_is_over(
    server: tuple[ApiClient, list[web.Request]],
) -> None:
    client, _ = server
    lines = await client.stream(Request("/watch"))
    await lines.aclose()  # releases the connection although no line was asked for
    with pytest.raises(StopAsyncIteration):
        await anext(lines)


async def test_stream_inactivity_timeout(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, _ = server
    got: list[bytes] = []

    async def consume() -> None:
        async for line in await client.stream(Request("/watch", {"hang": 1}, read_timeout=0.3)):
            got.append(line)

    with pytest.raises(InactivityTimeout):
        await consume()
    assert len(got) == 3


async def test_errors_carry_the_status(server: tuple[ApiClient, list[web.Request]]) -> None:
    client, _ = server
    with pytest.raises(ApiError) as info:
        await get_json(client, "/forbidden")
    assert (info.value.status, info.value.reason, info.value.message) == (
        403,
        "Forbidden",
        "cannot list pods",
    )
    with pytest.raises(ApiError) as info:
        await client.stream(Request("/forbidden"))
    assert info.value.status == 403
    with pytest.raises(ApiError) as info:
        await get_json(client, "/missing")
    assert info.value.status == 404


def as_transport(client: ApiClient) -> Transport:
    return client  # mypy (which checks the tests) proves here that ApiClient satisfies the Transport protocol


# -- exec plugins and auth-providers, as ClusterConfig uses them ------------------------------------------


EXEC_API = "client.authentication.k8s.io/v1"


def exec_plugin(tmp_path: Path, tokens: list[str], expiration: str | None = None) -> Path:
    """A plugin printing an ExecCredential with the n-th token on its n-th run (counted in ``count``)."""
    script = tmp_path / "plugin.py"
    status: dict[str, str] = {"expirationTimestamp": expiration} if expiration else {}
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib\n"
        f"count = pathlib.Path({str(tmp_path / 'count')!r})\n"
        "n = int(count.read_text()) if count.exists() else 0\n"
        "count.write_text(str(n + 1))\n"
        f"tokens = {tokens!r}\n"
        f"status = dict({status!r}, token=tokens[min(n, len(tokens) - 1)])\n"
        f"print(json.dumps({{'apiVersion': {EXEC_API!r}, 'kind': 'ExecCredential', 'status': status}}))\n"
    )
    script.chmod(0o755)
    return script


def runs(tmp_path: Path) -> int:
    count = tmp_path / "count"
    return int(count.read_text()) if count.exists() else 0


def exec_user(script: Path) -> dict[str, object]:
    return {"exec": {"apiVersion": EXEC_API, "command": str(script), "interactiveMode": "Never"}}


def test_exec_plugin_credentials(tmp_path: Path) -> None:
    script = exec_plugin(tmp_path, ["from-plugin"], "2999-01-01T00:00:00Z")
    cfg = ClusterConfig.from_kubeconfig_dict(kubeconfig(**exec_user(script)))
    creds = cfg.credentials()
    assert creds.token == "from-plugin"
    assert creds.expiration == datetime.datetime(2999, 1, 1, tzinfo=datetime.UTC)
    assert (creds.server, creds.ca_data, creds.default_namespace) == ("https://127.0.0.1:6443", b"CA", "team")
    assert cfg.refreshable
    assert "from-plugin" not in repr(cfg)
    assert "from-plugin" not in repr(creds)
    # Not expired: the plugin is not run again.
    assert cfg.credentials().token == "from-plugin"
    assert runs(tmp_path) == 1


def test_expired_exec_credentials_are_loaded_again_before_use(tmp_path: Path) -> None:
    script = exec_plugin(tmp_path, ["one", "two", "three"], "2000-01-01T00:00:00Z")
    cfg = ClusterConfig.from_kubeconfig_dict(kubeconfig(**exec_user(script)))
    assert cfg.credentials_due()
    assert cfg.credentials().token == "two"
    assert cfg.bearer_token() == "three"
    assert runs(tmp_path) == 3


def test_a_failing_exec_plugin_is_a_config_error(tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/sh\necho 'token expired, run login' >&2\nexit 1\n")
    script.chmod(0o755)
    with pytest.raises(ConfigError, match=r"user 'u' .* exit status 1: token expired, run login"):
        ClusterConfig.from_kubeconfig_dict(kubeconfig(**exec_user(script)))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now


def test_credentials_are_refreshed_shortly_before_they_expire() -> None:
    clock = Clock()
    loads: list[int] = []

    def load(lifetime: datetime.timedelta) -> Callable[[], Credentials]:
        def run() -> Credentials:
            loads.append(1)
            return Credentials("https://h", token=f"t{len(loads)}", expiration=clock.now + lifetime)

        return run

    hour = datetime.timedelta(hours=1)
    source = _CredentialSource(load(hour), load(hour)(), clock)
    clock.now += hour - datetime.timedelta(seconds=31)
    assert source.get().token == "t1"
    clock.now += datetime.timedelta(seconds=1)  # within 30 s of the expiry
    assert source.get().token == "t2"
    # A 401 burst: every request that saw t2 asks for a refresh, the plugin runs once.
    stale = source.get()
    assert source.refresh(stale).token == "t3"
    assert source.refresh(stale).token == "t3"
    # Short-lived credentials are refreshed at half their lifetime, not 30 s before.
    minute = datetime.timedelta(seconds=20)
    short = _CredentialSource(load(minute), load(minute)(), clock)
    first = short.get().token
    clock.now += datetime.timedelta(seconds=9)
    assert short.get().token == first
    clock.now += datetime.timedelta(seconds=1)
    assert short.get().token != first


def test_oidc_auth_provider(tmp_path: Path) -> None:
    def part(doc: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    jwt = f"{part({'alg': 'none'})}.{part({'exp': 32503680000, 'sub': 'me'})}.c2ln"
    cfg = ClusterConfig.from_kubeconfig_dict(
        kubeconfig(**{"auth-provider": {"name": "oidc", "config": {"id-token": jwt, "client-id": "x"}}})
    )
    assert cfg.credentials().token == jwt
    assert not cfg.refreshable  # the id-token is used as it is; refreshing it is kubelogin's job


def test_client_certificate_files_tls_server_name_and_proxy(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CAFILE")
    (tmp_path / "me.crt").write_bytes(b"CERTFILE")
    (tmp_path / "me.key").write_bytes(b"KEYFILE")
    doc = kubeconfig(**{"client-certificate": "me.crt", "client-key": "me.key"})
    doc["clusters"] = [
        {
            "name": "c",
            "cluster": {
                "server": "https://10.1.2.3:6443",
                "certificate-authority": "ca.crt",
                "tls-server-name": "kubernetes.default",
                "proxy-url": "http://proxy.local:3128",
            },
        }
    ]
    cfg = ClusterConfig.from_kubeconfig_dict(doc, base_dir=tmp_path)
    creds = cfg.credentials()
    assert (creds.ca_data, creds.client_cert_data, creds.client_key_data) == (
        b"CAFILE",
        b"CERTFILE",
        b"KEYFILE",
    )
    assert (creds.tls_server_name, creds.proxy_url, creds.token) == (
        "kubernetes.default",
        "http://proxy.local:3128",
        None,
    )
    assert not cfg.refreshable
    assert "KEYFILE" not in repr(creds)
    assert "proxy.local" not in repr(creds)  # a proxy URL may carry a password
    doc["clusters"][0]["cluster"]["proxy-url"] = "socks5://proxy.local:1080"  # type: ignore[index]
    with pytest.raises(ConfigError, match="only http:// and https:// proxies"):
        ClusterConfig.from_kubeconfig_dict(doc, base_dir=tmp_path)


def test_kubeconfig_files_merged_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = kubeconfig(token="merged")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config").write_text(json.dumps({**doc, "users": []}))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config").write_text(json.dumps({"users": doc["users"]}))
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'a' / 'config'}:{tmp_path / 'b' / 'config'}")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert ClusterConfig.load().bearer_token() == "merged"


# -- requests over a real socket ---------------------------------------------------------------------------


@pytest.fixture
async def auth_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """Answers 401 unless the bearer token is ``good``; ``/watch`` streams one event."""
    seen: list[web.Request] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        if request.headers.get("Authorization") != "Bearer good":
            body = {"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "Unauthorized"}
            return web.json_response(body, status=401)
        if request.path == "/watch":
            resp = web.StreamResponse()
            await resp.prepare(request)
            await resp.write(b'{"type":"ADDED","object":{}}\n')
            return resp
        return web.json_response({"kind": "Namespace"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


def plugin_config(tmp_path: Path, server: str, tokens: list[str]) -> ClusterConfig:
    doc = kubeconfig(**exec_user(exec_plugin(tmp_path, tokens, "2999-01-01T00:00:00Z")))
    doc["clusters"] = [{"name": "c", "cluster": {"server": server}}]
    return ClusterConfig.from_kubeconfig_dict(doc)


async def test_a_401_runs_the_plugin_again_and_retries_once(
    tmp_path: Path, auth_server: tuple[str, list[web.Request]]
) -> None:
    url, seen = auth_server
    async with ApiClient(plugin_config(tmp_path, url, ["bad", "good"])) as client:
        assert await get_json(client, "/api/v1/namespaces/x") == {"kind": "Namespace"}
    assert runs(tmp_path) == 2
    assert [r.headers["Authorization"] for r in seen] == ["Bearer bad", "Bearer good"]


async def test_a_401_on_a_watch_runs_the_plugin_again_before_streaming(
    tmp_path: Path, auth_server: tuple[str, list[web.Request]]
) -> None:
    url, seen = auth_server
    async with ApiClient(plugin_config(tmp_path, url, ["bad", "good"])) as client:
        events = await watch(client, "/watch")
    assert events == [{"type": "ADDED", "object": {}}]
    assert runs(tmp_path) == 2
    assert len(seen) == 2


async def test_a_401_that_persists_is_raised_after_one_retry(
    tmp_path: Path, auth_server: tuple[str, list[web.Request]]
) -> None:
    url, seen = auth_server
    async with ApiClient(plugin_config(tmp_path, url, ["bad"])) as client:
        with pytest.raises(ApiError) as info:
            await get_json(client, "/x")
        assert info.value.status == 401
        with pytest.raises(ApiError):
            await client.stream(Request("/watch"))
    assert len(seen) == 4
    assert runs(tmp_path) == 3


async def test_a_static_token_is_not_retried(auth_server: tuple[str, list[web.Request]]) -> None:
    url, seen = auth_server
    async with ApiClient(ClusterConfig(server=url, token="bad")) as client:
        with pytest.raises(ApiError, match="401"):
            await get_json(client, "/x")
    assert len(seen) == 1


async def test_user_agent(auth_server: tuple[str, list[web.Request]]) -> None:
    url, seen = auth_server
    async with ApiClient(ClusterConfig(server=url, token="good")) as client:
        await get_json(client, "/x")
    async with ApiClient(ClusterConfig(server=url, token="good"), user_agent="bench/1") as client:
        await get_json(client, "/x")
    assert [r.headers["User-Agent"] for r in seen] == [f"statuswatch/{__version__}", "bench/1"]


async def test_a_watch_whose_headers_never_come_fails_within_the_deadline() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def accept_and_hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # read the request, never answer

    server = await asyncio.start_server(accept_and_hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    try:
        async with ApiClient(ClusterConfig(server=f"http://127.0.0.1:{port}")) as client:
            started = loop.time()
            with pytest.raises(HeaderTimeout, match=r"no response headers within 0\.3s"):
                await client.stream(Request("/api/v1/pods", {"watch": 1}, connect_timeout=0.3))
            elapsed = loop.time() - started
        assert 0.3 <= elapsed < 2.0
        assert len(accepted) == 1  # the server did accept: this is not a connect timeout
        assert isinstance(HeaderTimeout("x"), TimeoutError)  # streams retry it as a connection failure
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
