"""Connection to a Kubernetes API server: configuration loading and a small async HTTP client.

Why we speak HTTP ourselves: the official ``kubernetes`` client's ``Watch`` ignores the resourceVersion
carried by BOOKMARK events and gives up after a single 410 Gone; pykube-ng makes one streaming GET with no
reconnect at all. Both build model objects we would throw away. The shared view needs exact control over
the watch request (WatchList parameters, ``Accept-Encoding: identity``, client-side read timeouts) and over
error classification, so this module talks to the API server over aiohttp (kopf's own transport) and
hands out plain dicts parsed from JSON.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import ssl
import tempfile
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

__all__ = ["ApiClient", "ApiError", "ClusterConfig", "ConfigError", "InactivityTimeout"]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(Exception):
    """No usable cluster configuration was found, or it is malformed."""


class InactivityTimeout(Exception):
    """A watch stream sent nothing for longer than the client-side inactivity timeout."""


class ApiError(Exception):
    """An error reported by the API server, usually from a ``Status`` body (404, 403, 410, 422, ...)."""

    def __init__(self, status: int, reason: str, message: str, details: Mapping[str, Any] | None = None):
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.details: Mapping[str, Any] = details or {}

    @classmethod
    def from_status(cls, body: Mapping[str, Any], http_status: int | None = None) -> ApiError:
        """Build from a ``metav1.Status`` dict (an error response body or an ERROR watch event)."""
        code = body.get("code")
        status = int(code) if isinstance(code, int) and code else (http_status or 500)
        details = body.get("details")
        return cls(
            status,
            str(body.get("reason") or ""),
            str(body.get("message") or ""),
            details if isinstance(details, Mapping) else None,
        )

    @property
    def causes(self) -> list[Mapping[str, Any]]:
        causes = self.details.get("causes")
        return [c for c in causes if isinstance(c, Mapping)] if isinstance(causes, list) else []

    @property
    def is_gone(self) -> bool:
        """The requested resourceVersion is no longer available (410, or "too large" after a restore)."""
        if self.status == 410 or self.reason in ("Expired", "Gone"):
            return True
        return any(c.get("reason") == "ResourceVersionTooLarge" for c in self.causes)


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to reach one API server. Secrets are held as bytes, never written to logs."""

    server: str
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    insecure_skip_tls_verify: bool = False
    namespace: str = "default"

    def __repr__(self) -> str:  # keep tokens and keys out of logs
        return f"ClusterConfig(server={self.server!r}, namespace={self.namespace!r})"

    @classmethod
    def load(
        cls, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterConfig:
        """In-cluster service account when running in a pod, else the kubeconfig (current context)."""
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            with contextlib.suppress(ConfigError):
                return cls.in_cluster()
        return cls.from_kubeconfig(kubeconfig, context)

    @classmethod
    def in_cluster(cls, sa_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
        host = os.environ.get("KUBERNETES_SERVICE_HOST")
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        token_file = sa_dir / "token"
        if not host or not token_file.exists():
            raise ConfigError("not in a cluster: no KUBERNETES_SERVICE_HOST or no service account token")
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        ca = sa_dir / "ca.crt"
        ns = sa_dir / "namespace"
        return cls(
            server=f"https://{host}:{port}",
            ca_data=ca.read_bytes() if ca.exists() else None,
            token_file=str(token_file),
            namespace=ns.read_text().strip() if ns.exists() else "default",
        )

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterConfig:
        if path is None:
            env = os.environ.get("KUBECONFIG", "")
            # KUBECONFIG may list several files; the first existing one wins here (no merging).
            candidates = [p for p in env.split(os.pathsep) if p] or [str(Path.home() / ".kube" / "config")]
            path = next((p for p in candidates if Path(p).exists()), candidates[0])
        file = Path(path).expanduser()
        try:
            doc = yaml.safe_load(file.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read kubeconfig {file}: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"kubeconfig {file} is not a mapping")
        return cls.from_kubeconfig_dict(doc, context, base_dir=file.parent)

    @classmethod
    def from_kubeconfig_dict(
        cls, doc: Mapping[str, Any], context: str | None = None, *, base_dir: Path = Path(".")
    ) -> ClusterConfig:
        ctx_name = context or doc.get("current-context")
        if not ctx_name:
            raise ConfigError("kubeconfig has no current-context")
        ctx = _named(doc, "contexts", "context", ctx_name)
        cluster = _named(doc, "clusters", "cluster", ctx.get("cluster"))
        user = _named(doc, "users", "user", ctx.get("user")) if ctx.get("user") else {}
        server = cluster.get("server")
        if not server:
            raise ConfigError(f"cluster of context {ctx_name!r} has no server")

        def data(key: str) -> bytes | None:
            section = cluster if key.startswith("certificate-authority") else user
            if section.get(f"{key}-data"):
                return base64.b64decode(section[f"{key}-data"])
            if section.get(key):
                return (base_dir / str(section[key])).expanduser().read_bytes()
            return None

        token_file = user.get("tokenFile")
        has_credentials = user.get("token") or token_file or data("client-certificate")
        if not has_credentials and (user.get("exec") or user.get("auth-provider")):
            raise ConfigError(
                f"user of context {ctx_name!r} authenticates through an exec or auth-provider plugin, "
                "which statuswatch does not run; use a token, a token file or a client certificate"
            )
        return cls(
            server=str(server).rstrip("/"),
            ca_data=data("certificate-authority"),
            client_cert_data=data("client-certificate"),
            client_key_data=data("client-key"),
            token=user.get("token") or None,
            token_file=str((base_dir / token_file).expanduser()) if token_file else None,
            insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
            namespace=str(ctx.get("namespace") or "default"),
        )

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.server.startswith("https:"):
            return False
        ctx = ssl.create_default_context()
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode())
        if self.client_cert_data and self.client_key_data:
            # The ssl module only loads certificates from files; keep them on disk for as short as possible.
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
                cert.write_bytes(self.client_cert_data)
                key.touch(mode=0o600)
                key.write_bytes(self.client_key_data)
                ctx.load_cert_chain(cert, key)
        return ctx

    def bearer_token(self) -> str | None:
        if self.token_file:
            # Projected service account tokens rotate; read the file on every request.
            with contextlib.suppress(OSError):
                return Path(self.token_file).read_text().strip()
        return self.token


def _named(doc: Mapping[str, Any], list_key: str, item_key: str, name: Any) -> Mapping[str, Any]:
    for entry in doc.get(list_key) or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            item = entry.get(item_key)
            return item if isinstance(item, Mapping) else {}
    raise ConfigError(f"kubeconfig has no {item_key} named {name!r}")


class ApiClient:
    """One aiohttp session to one API server; JSON in, dicts out.

    Use as an async context manager, or call :meth:`close` yourself.
    """

    def __init__(self, config: ClusterConfig | None = None, *, request_timeout: float = 60.0):
        self.config = config or ClusterConfig.load()
        self.request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None
        # Per-server facts learnt at run time (e.g. whether WatchList is refused), shared by all streams.
        self.capabilities: dict[str, Any] = {}

    @property
    def server(self) -> str:
        return self.config.server

    async def __aenter__(self) -> ApiClient:
        self._ensure_session()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self.config.ssl_context(), limit=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"Accept": "application/json", "User-Agent": "statuswatch"},
            )
        return self._session

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        token = self.config.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _url(self, path: str) -> str:
        return self.config.server + (path if path.startswith("/") else "/" + path)

    async def request_json(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        *,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """Any non-streaming request; raises :class:`ApiError` on a non-2xx answer."""
        session = self._ensure_session()
        data = None if body is None else json.dumps(body)
        headers = self._headers({"Content-Type": content_type} if data is not None else None)
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        async with session.request(
            method, self._url(path), params=_params(params), data=data, headers=headers, timeout=timeout
        ) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                raise _error_from_response(resp.status, resp.reason, raw)
            result = json.loads(raw) if raw else {}
            return result if isinstance(result, dict) else {"items": result}

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return await self.request_json("GET", path, params)

    async def stream_lines(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        inactivity_timeout: float = 70.0,
        connect_timeout: float = 30.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Stream a watch response as parsed JSON objects, one per line.

        Raises :class:`ApiError` if the server refuses the request, :class:`InactivityTimeout` when nothing
        arrives for ``inactivity_timeout`` seconds (hung connections behind NAT or load balancers never
        see a reset), and ends normally when the server closes the stream.
        """
        session = self._ensure_session()
        # identity: since 1.37 gzip watch responses have one gzip member per event, which some aiohttp
        # releases silently truncate after the first member.
        headers = self._headers({"Accept-Encoding": "identity"})
        timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout)
        async with session.get(
            self._url(path), params=_params(params), headers=headers, timeout=timeout
        ) as resp:
            if resp.status >= 400:
                raw = await asyncio.wait_for(resp.read(), connect_timeout)
                raise _error_from_response(resp.status, resp.reason, raw)
            try:
                if on_open is not None:
                    on_open()
                pending: list[bytes] = []
                chunks = resp.content.iter_any().__aiter__()
                while True:
                    try:
                        async with asyncio.timeout(inactivity_timeout):
                            chunk = await anext(chunks)
                    except StopAsyncIteration:
                        break
                    except TimeoutError:
                        raise InactivityTimeout(f"no data for {inactivity_timeout:g}s on {path}") from None
                    parts = chunk.split(b"\n")
                    if len(parts) == 1:  # a large object spans many chunks: join once, not per chunk
                        pending.append(chunk)
                        continue
                    pending.append(parts[0])
                    lines = [b"".join(pending), *parts[1:-1]]
                    pending = [parts[-1]] if parts[-1] else []
                    for line in lines:
                        if line.strip():
                            yield json.loads(line)
                rest = b"".join(pending)
                if rest.strip():
                    yield json.loads(rest)
            finally:
                # Never hand a watch connection back to the pool: it is spent, and closing it here (not
                # the server, later) keeps TIME_WAIT sockets off the API server's port.
                resp.close()


def _params(params: Mapping[str, str | int] | None) -> dict[str, str] | None:
    if not params:
        return None
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items() if v is not None}


def _error_from_response(status: int, reason: str | None, raw: bytes) -> ApiError:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return ApiError.from_status(body, status)
    return ApiError(status, reason or "", raw.decode(errors="replace")[:500])
