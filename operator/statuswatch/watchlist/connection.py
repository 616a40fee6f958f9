"""The HTTP client of the Kubernetes API: one aiohttp session per server, behind the narrow transport seam.

Why we speak HTTP ourselves: the official ``kubernetes`` client's ``Watch`` ignores the resourceVersion
carried by BOOKMARK events and gives up after a single 410 Gone; pykube-ng makes one streaming GET with no
reconnect at all; both build model objects we would throw away (neither is a dependency any more). The
shared view needs exact control over the watch request (WatchList parameters, ``Accept-Encoding:
identity``, client-side read timeouts) and over error classification, so this module talks to the API
server over aiohttp (kopf's own transport) and hands out bytes: whole bodies, or watch lines cut by the
sans-I/O :class:`~.lines.LineSplitter`. Decoding is the caller's (:mod:`.transport`, :mod:`.decoding`).

Where the server is and which credentials to send is :mod:`.config`; the errors every transport raises
(:class:`ApiError`, :class:`HeaderTimeout`, :class:`InactivityTimeout`) are defined here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp

from statuswatch import __version__
from statuswatch.watchlist.config import ClusterConfig, ConfigError, Credentials
from statuswatch.watchlist.lines import LineSplitter
from statuswatch.watchlist.serverclock import ServerClock
from statuswatch.watchlist.transport import Lines, Request

__all__ = [
    "DEFAULT_USER_AGENT",
    "ApiClient",
    "ApiError",
    "ConfigError",
    "HeaderTimeout",
    "InactivityTimeout",
]

DEFAULT_USER_AGENT = f"statuswatch/{__version__}"

_T = TypeVar("_T")

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


class ApiClient:
    """One aiohttp session to one API server: a :class:`~.transport.Transport` (requests in, bytes out).

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

    async def send(self, request: Request) -> bytes:
        """The response body; raises :class:`ApiError` on a non-2xx answer (after one retry with fresh
        credentials on a 401). The whole exchange is bounded by the client's ``request_timeout``."""
        session = self._ensure_session()
        extra = _headers(request)
        if request.body is not None:
            extra["Content-Type"] = request.content_type
        timeout = aiohttp.ClientTimeout(total=self.request_timeout)

        async def attempt(options: dict[str, Any]) -> bytes:
            sent = self.clock.local_time()
            async with session.request(
                request.method,
                self._url(request.path),
                params=_params(request.params),
                data=request.body,
                timeout=timeout,
                **options,
            ) as resp:
                raw = await resp.read()
                self.clock.observe(resp.headers.get("Date"), sent, self.clock.local_time())
                if resp.status >= 400:
                    raise _error_from_response(resp.status, resp.reason, raw)
                return raw

        return await self._authorized(extra, attempt)

    async def stream(self, request: Request) -> Lines:
        """Open a watch; returns once a successful response's headers are in.

        Raises :class:`ApiError` if the server refuses the request (after one retry with fresh credentials
        on a 401), :class:`HeaderTimeout` when the connection and the response headers together take longer
        than ``request.connect_timeout`` (a server or proxy that accepted the request and hangs). The
        lines raise :class:`InactivityTimeout` when nothing arrives for ``request.read_timeout`` (hung
        connections behind NAT or load balancers never see a reset) and end when the server closes.
        """
        session = self._ensure_session()
        # identity: since 1.37 gzip watch responses have one gzip member per event, which some aiohttp
        # releases silently truncate after the first member.
        extra = {**_headers(request), "Accept-Encoding": "identity"}
        # No aiohttp connect timeouts: the one deadline below covers connecting, the headers and an error
        # answer's body alike.
        timeout = aiohttp.ClientTimeout(total=None)

        async def attempt(options: dict[str, Any]) -> _Body:
            deadline = asyncio.timeout(request.connect_timeout)
            try:
                async with deadline:
                    resp = await session.get(
                        self._url(request.path), params=_params(request.params), timeout=timeout, **options
                    )
                    if resp.status < 400:
                        return _Body(resp, request)
                    try:
                        raw = await resp.read()
                    finally:
                        resp.close()
            except TimeoutError:
                if not deadline.expired():
                    raise
                raise HeaderTimeout(
                    f"no response headers within {request.connect_timeout:g}s for {request.path}"
                ) from None
            raise _error_from_response(resp.status, resp.reason, raw)

        return await self._authorized(extra, attempt)

    async def _authorized(
        self, extra: Mapping[str, str], attempt: Callable[[dict[str, Any]], Awaitable[_T]]
    ) -> _T:
        """Run ``attempt`` with the current credentials; after a 401, once more with fresh ones."""
        for retry in (False, True):
            creds = await self._credentials()
            try:
                return await attempt(self._request_options(creds, extra))
            except ApiError as error:
                if error.status == 401 and not retry and await self._refreshed(creds):
                    continue
                raise
        raise AssertionError("unreachable: the second attempt returns or raises")


class _Body:
    """The lines of an open watch response; closing it (or reaching its end) closes the connection.

    A class, not a generator: the response is open before the first line is asked for, and a generator
    that never started would not run its ``finally`` on ``aclose``.
    """

    def __init__(self, resp: aiohttp.ClientResponse, request: Request) -> None:
        self._resp = resp
        self._chunks = resp.content.iter_any().__aiter__()
        self._splitter = LineSplitter()
        self._ready: deque[bytes] = deque()
        self._read_timeout = request.read_timeout
        self._path = request.path
        self._ended = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        while not self._ready:
            if self._ended:
                raise StopAsyncIteration
            try:
                async with asyncio.timeout(self._read_timeout):
                    chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._ended = True
                self._ready.extend(self._splitter.flush())
                self._resp.close()
                continue
            except TimeoutError:
                raise InactivityTimeout(f"no data for {self._read_timeout:g}s on {self._path}") from None
            self._ready.extend(self._splitter.feed(chunk))
        return self._ready.popleft()

    async def aclose(self) -> None:
        # Never hand a watch connection back to the pool: it is spent, and closing it here (not the server,
        # later) keeps TIME_WAIT sockets off the API server's port.
        self._ended = True
        self._ready.clear()
        self._resp.close()


def _headers(request: Request) -> dict[str, str]:
    return {"Accept": request.accept} if request.accept else {}


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
