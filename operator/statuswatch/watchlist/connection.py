"""Connection to a Kubernetes API server: credentials from a kubeconfig or the pod, and an async HTTP client.

Credentials: kubeconfigs in the field authenticate in many ways (exec plugins for EKS, GKE and AKS, token
files, client certificates, proxies, TLS server names, in-cluster service accounts). :mod:`.kubeconfig`
reads them with kubectl's rules (our own code: the official client costs ~35 MiB just to import), and
:class:`ClusterConfig` keeps what it found as plain data (:class:`Credentials`, also what the operator hands
to kopf). Credentials that expire (an exec plugin's ``expirationTimestamp``) are loaded again before they
are used past their expiry, and once more after a 401.

Why we speak HTTP ourselves: the official ``kubernetes`` client's ``Watch`` ignores the resourceVersion
carried by BOOKMARK events and gives up after a single 410 Gone; pykube-ng makes one streaming GET with no
reconnect at all; both build model objects we would throw away (neither is a dependency any more). The
shared view needs exact control over the watch request (WatchList parameters, ``Accept-Encoding:
identity``, client-side read timeouts) and over error classification, so this module talks to the API
server over aiohttp (kopf's own transport) and hands out plain dicts parsed from JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import os
import ssl
import tempfile
import threading
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from statuswatch import __version__
from statuswatch.watchlist import kubeconfig
from statuswatch.watchlist.kubeconfig import ConfigError
from statuswatch.watchlist.lines import LineSplitter
from statuswatch.watchlist.serverclock import ServerClock

__all__ = [
    "DEFAULT_USER_AGENT",
    "EXPIRY_LEEWAY",
    "SERVICE_ACCOUNT_DIR",
    "ApiClient",
    "ApiError",
    "ClusterConfig",
    "ConfigError",
    "Credentials",
    "HeaderTimeout",
    "InactivityTimeout",
]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_USER_AGENT = f"statuswatch/{__version__}"
#: Credentials are loaded again this long before they expire (at most half their lifetime), so that a
#: request does not race the expiry on its way to the server.
EXPIRY_LEEWAY = datetime.timedelta(seconds=30)

_log = logging.getLogger(__name__)


class InactivityTimeout(Exception):
    """A watch stream sent nothing for longer than the client-side inactivity timeout."""


class HeaderTimeout(TimeoutError):
    """The server (or a proxy) accepted a request but sent no response headers within the deadline.

    A connection failure like a refused or reset connection: retry with back-off. It says nothing about
    whether the server supports what was asked (e.g. WatchList).
    """


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
class Credentials:
    """What it takes to talk to one API server right now, as plain data (secrets stay out of ``repr``)."""

    #: The API server's base URL, without a trailing slash.
    server: str
    #: PEM bundle to verify the server with; None: the system's trust store.
    ca_data: bytes | None = field(default=None, repr=False)
    #: PEM client certificate and its key, when the user authenticates with one.
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    #: Bearer token (without the ``Bearer`` prefix).
    token: str | None = field(default=None, repr=False)
    #: Skip verifying the server's certificate (``insecure-skip-tls-verify``).
    insecure: bool = False
    #: Name to verify the server's certificate against (and send as SNI) instead of the URL's host.
    tls_server_name: str | None = None
    #: HTTP(S) proxy for every request (``proxy-url``); may carry a password, so not in ``repr``.
    proxy_url: str | None = field(default=None, repr=False)
    #: When the token or certificate stops working (an exec plugin's ``expirationTimestamp``), if known.
    expiration: datetime.datetime | None = None
    #: The context's namespace, for objects named without one.
    default_namespace: str = "default"

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for this server; False for plain HTTP."""
        if not self.server.startswith("https:"):
            return False
        ctx = ssl.create_default_context()
        if self.insecure:
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


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _CredentialSource:
    """Credentials that expire, with the loader that makes them again (it may run an exec plugin).

    Thread-safe: the API client runs loads in a worker thread, kopf's login handler may call from another.
    """

    def __init__(
        self,
        load: Callable[[], Credentials],
        first: Credentials,
        clock: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self._load = load
        self._clock = clock
        self._lock = threading.Lock()
        self._current = first
        self._loaded_at = clock()

    def due(self) -> bool:
        """Whether the current credentials expire within the leeway (a load would happen)."""
        expiration = self._current.expiration
        if expiration is None:
            return False
        leeway = min(EXPIRY_LEEWAY, max(expiration - self._loaded_at, datetime.timedelta(0)) / 2)
        return self._clock() >= expiration - leeway

    def get(self) -> Credentials:
        with self._lock:
            if self.due():
                self._reload()
            return self._current

    def refresh(self, stale: Credentials | None) -> Credentials:
        """Load again, unless another caller already replaced ``stale`` (one plugin run per 401 burst)."""
        with self._lock:
            if stale is None or stale is self._current:
                self._reload()
            return self._current

    def _reload(self) -> None:
        loaded_at = self._clock()
        self._current = self._load()
        self._loaded_at = loaded_at


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to reach one API server. Secrets are held as bytes, never written to logs.

    The credential fields hold what was loaded first; :meth:`credentials` gives the ones to use now (an exec
    plugin's token is replaced when it expires, a token file is read again each time).
    """

    server: str
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    insecure_skip_tls_verify: bool = False
    namespace: str = "default"
    tls_server_name: str | None = None
    proxy_url: str | None = None
    #: Where fresh credentials come from when they expire (exec plugins); None: they don't.
    source: _CredentialSource | None = field(default=None, repr=False, compare=False)

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
        """The pod's service account (``KUBERNETES_SERVICE_HOST`` and the files in ``sa_dir``)."""
        found = kubeconfig.in_cluster(sa_dir, os.environ)
        return cls(
            server=found.endpoint.server,
            ca_data=found.endpoint.ca_data,
            # Projected service account tokens rotate: read the file on every request.
            token_file=found.token_file,
            namespace=found.namespace,
        )

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterConfig:
        """A kubeconfig file (default: ``$KUBECONFIG``, several files merged as kubectl does, else
        ``~/.kube/config``); file references in it are relative to the file that names them."""
        paths = os.fspath(path) if path is not None else None
        return _from_selected(kubeconfig.Kubeconfig.from_files(paths).select(context))

    @classmethod
    def from_kubeconfig_dict(
        cls, doc: Mapping[str, Any], context: str | None = None, *, base_dir: Path = Path(".")
    ) -> ClusterConfig:
        """A kubeconfig already parsed; relative file references are taken from ``base_dir``."""
        return _from_selected(kubeconfig.Kubeconfig.from_dict(doc, base_dir).select(context))

    @property
    def refreshable(self) -> bool:
        """Whether loading the credentials again may give different ones (worth a retry after a 401)."""
        return self.source is not None or self.token_file is not None

    def credentials_due(self) -> bool:
        """Whether :meth:`credentials` would load them again first (and so may block on an exec plugin)."""
        return self.source is not None and self.source.due()

    def credentials(self) -> Credentials:
        """The credentials to use now, loaded again first if they expire soon.

        May block while an exec plugin runs; async callers use a worker thread when
        :meth:`credentials_due` says so. Raises :class:`ConfigError` when they cannot be had.
        """
        if self.source is not None:
            return self.source.get()
        return self._static_credentials()

    def refresh_credentials(self, stale: Credentials | None = None) -> Credentials:
        """Load the credentials again (after the server refused ``stale`` with a 401); may block."""
        if self.source is not None:
            return self.source.refresh(stale)
        return self._static_credentials()

    def _static_credentials(self) -> Credentials:
        return Credentials(
            server=self.server,
            ca_data=self.ca_data,
            client_cert_data=self.client_cert_data,
            client_key_data=self.client_key_data,
            token=self.bearer_token(),
            insecure=self.insecure_skip_tls_verify,
            tls_server_name=self.tls_server_name,
            proxy_url=self.proxy_url,
            default_namespace=self.namespace,
        )

    def ssl_context(self) -> ssl.SSLContext | bool:
        return self.credentials().ssl_context()

    def bearer_token(self) -> str | None:
        if self.source is not None:
            return self.source.get().token
        if self.token_file:
            # Projected service account tokens rotate; read the file on every request.
            with contextlib.suppress(OSError):
                return Path(self.token_file).read_text().strip()
        return self.token


def _from_selected(selected: kubeconfig.Selected) -> ClusterConfig:
    """A resolved kubeconfig context as a :class:`ClusterConfig`; an exec plugin runs once here."""
    endpoint = selected.endpoint

    def load() -> Credentials:
        user = selected.credentials()
        return Credentials(
            server=endpoint.server,
            ca_data=endpoint.ca_data,
            client_cert_data=user.client_cert_data,
            client_key_data=user.client_key_data,
            token=user.token,
            insecure=endpoint.insecure,
            tls_server_name=endpoint.tls_server_name,
            proxy_url=endpoint.proxy_url,
            expiration=user.expiration,
            default_namespace=selected.namespace,
        )

    first = load()
    return ClusterConfig(
        server=first.server,
        ca_data=first.ca_data,
        client_cert_data=first.client_cert_data,
        client_key_data=first.client_key_data,
        token=first.token,
        token_file=selected.static.token_file,
        insecure_skip_tls_verify=first.insecure,
        namespace=selected.namespace,
        tls_server_name=first.tls_server_name,
        proxy_url=first.proxy_url,
        source=_CredentialSource(load, first) if selected.exec_plugin is not None else None,
    )


class ApiClient:
    """One aiohttp session to one API server; JSON in, dicts out.

    Use as an async context manager, or call :meth:`close` yourself. Every request carries
    ``user_agent`` (default ``statuswatch/<version>``), so the API server's metrics can tell us apart.
    """

    def __init__(
        self,
        config: ClusterConfig | None = None,
        *,
        request_timeout: float = 60.0,
        user_agent: str = DEFAULT_USER_AGENT,
    ):
        self.config = config or ClusterConfig.load()
        self.request_timeout = request_timeout
        #: The API server's clock, as its answers' Date headers give it.
        self.clock = ServerClock()
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None
        self._refresh_lock = asyncio.Lock()
        self._tls: tuple[tuple[Any, ...], ssl.SSLContext | bool] | None = None
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
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),
                headers={"Accept": "application/json", "User-Agent": self.user_agent},
            )
        return self._session

    async def _credentials(self) -> Credentials:
        if self.config.credentials_due():
            async with self._refresh_lock:  # one plugin run at a time, off the event loop
                return await asyncio.to_thread(self.config.credentials)
        return self.config.credentials()

    async def _refreshed(self, stale: Credentials) -> bool:
        """After a 401: load the credentials again; whether a retry is worth it."""
        if not self.config.refreshable:
            return False
        _log.info("%s answered 401 Unauthorized; loading the credentials again", self.server)
        async with self._refresh_lock:
            await asyncio.to_thread(self.config.refresh_credentials, stale)
        return True

    def _request_options(self, creds: Credentials, extra: Mapping[str, str] | None) -> dict[str, Any]:
        headers = dict(extra or {})
        if creds.token:
            headers["Authorization"] = f"Bearer {creds.token}"
        options: dict[str, Any] = {"headers": headers, "ssl": self._ssl(creds)}
        if creds.tls_server_name:
            options["server_hostname"] = creds.tls_server_name
        if creds.proxy_url:
            options["proxy"] = creds.proxy_url
        return options

    def _ssl(self, creds: Credentials) -> ssl.SSLContext | bool:
        """One TLS context per set of certificates (rebuilt only when an exec plugin hands out new ones)."""
        key = (creds.server, creds.ca_data, creds.client_cert_data, creds.client_key_data, creds.insecure)
        if self._tls is None or self._tls[0] != key:
            self._tls = (key, creds.ssl_context())
        return self._tls[1]

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
        """Any non-streaming request; raises :class:`ApiError` on a non-2xx answer.

        A 401 is answered by loading the credentials again (an exec plugin runs) and one retry.
        """
        raw = await self._request(method, path, params, body, content_type=content_type)
        result = json.loads(raw) if raw else {}
        return result if isinstance(result, dict) else {"items": result}

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        return await self.request_json("GET", path, params)

    async def get_bytes(
        self, path: str, params: Mapping[str, str | int] | None = None, *, accept: str | None = None
    ) -> bytes:
        """A GET's body, undecoded (``accept``: e.g. a PartialObjectMetadataList); as :meth:`request_json`."""
        return await self._request("GET", path, params, None, accept=accept)

    async def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Any,
        *,
        content_type: str = "application/json",
        accept: str | None = None,
    ) -> bytes:
        session = self._ensure_session()
        data = None if body is None else json.dumps(body)
        extra = {"Content-Type": content_type} if data is not None else {}
        if accept:
            extra["Accept"] = accept
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)
        for attempt in range(2):
            creds = await self._credentials()
            sent = self.clock.local_time()
            async with session.request(
                method,
                self._url(path),
                params=_params(params),
                data=data,
                timeout=timeout,
                **self._request_options(creds, extra),
            ) as resp:
                raw = await resp.read()
                status, reason = resp.status, resp.reason
                self.clock.observe(resp.headers.get("Date"), sent, self.clock.local_time())
            if status == 401 and attempt == 0 and await self._refreshed(creds):
                continue
            if status >= 400:
                raise _error_from_response(status, reason, raw)
            return raw
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def stream_lines(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        inactivity_timeout: float = 70.0,
        connect_timeout: float = 30.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Stream a watch response as parsed JSON objects, one per line (see :meth:`stream_raw`)."""
        lines = self.stream_raw(
            path,
            params,
            inactivity_timeout=inactivity_timeout,
            connect_timeout=connect_timeout,
            on_open=on_open,
        )
        try:
            async for line in lines:
                yield json.loads(line)
        finally:
            await lines.aclose()

    async def stream_raw(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        accept: str | None = None,
        inactivity_timeout: float = 70.0,
        connect_timeout: float = 30.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """Stream a watch response, one undecoded line (one JSON event) at a time.

        Raises :class:`ApiError` if the server refuses the request (after one retry with fresh credentials
        on a 401), :class:`HeaderTimeout` when the connection and the response headers together take longer
        than ``connect_timeout`` seconds (a server or proxy that accepted the request and hangs),
        :class:`InactivityTimeout` when nothing arrives for ``inactivity_timeout`` seconds (hung connections
        behind NAT or load balancers never see a reset), and ends normally when the server closes the stream.
        ``accept``: another ``Accept`` header (e.g. PartialObjectMetadata).
        """
        resp = await self._open_stream(path, params, connect_timeout, accept)
        try:
            if on_open is not None:
                on_open()
            splitter = LineSplitter()
            chunks = resp.content.iter_any().__aiter__()
            while True:
                try:
                    async with asyncio.timeout(inactivity_timeout):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise InactivityTimeout(f"no data for {inactivity_timeout:g}s on {path}") from None
                for line in splitter.feed(chunk):
                    yield line
            for line in splitter.flush():
                yield line
        finally:
            # Never hand a watch connection back to the pool: it is spent, and closing it here (not
            # the server, later) keeps TIME_WAIT sockets off the API server's port.
            resp.close()

    async def _open_stream(
        self,
        path: str,
        params: Mapping[str, str | int] | None,
        connect_timeout: float,
        accept: str | None = None,
    ) -> aiohttp.ClientResponse:
        """Send a watch request and wait, within ``connect_timeout``, for a successful response's headers."""
        session = self._ensure_session()
        # identity: since 1.37 gzip watch responses have one gzip member per event, which some aiohttp
        # releases silently truncate after the first member.
        extra = {"Accept-Encoding": "identity"}
        if accept:
            extra["Accept"] = accept
        timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout, sock_connect=connect_timeout)
        for attempt in range(2):
            creds = await self._credentials()
            deadline = asyncio.timeout(connect_timeout)
            try:
                async with deadline:
                    resp = await session.get(
                        self._url(path),
                        params=_params(params),
                        timeout=timeout,
                        **self._request_options(creds, extra),
                    )
            except TimeoutError:
                if not deadline.expired():
                    raise  # aiohttp's own connect timeout
                raise HeaderTimeout(f"no response headers within {connect_timeout:g}s for {path}") from None
            if resp.status < 400:
                return resp
            try:
                raw = await asyncio.wait_for(resp.read(), connect_timeout)
            finally:
                resp.close()
            if resp.status == 401 and attempt == 0 and await self._refreshed(creds):
                continue
            raise _error_from_response(resp.status, resp.reason, raw)
        raise AssertionError("unreachable: the second attempt returns or raises")


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
