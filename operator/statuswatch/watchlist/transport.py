"""The seam between this project and an API server: one :class:`Request` type and two operations.

Streams, discovery, the cluster readers and the operator talk to the API server only through
:class:`Transport`, as httpx's clients talk only through a transport's ``handle_async_request``:

* :meth:`Transport.send`: a request whose whole body is wanted (GET, LIST page, PATCH, POST); the body as
  bytes, or :class:`~.connection.ApiError` for a non-2xx answer;
* :meth:`Transport.stream`: a watch; returns once the response headers are in (so that a caller knows the
  connection is up) and then hands out the body one line (one JSON event) at a time.

The seam is that narrow on purpose: the real client (:class:`~.connection.ApiClient`), the request counter
(``controller.metrics.CountingTransport``), the fakes (:mod:`.testing`) and any wrapper a user writes
implement two methods, and the type checker holds each of them to the same signatures. What callers want
on top (JSON decoding, typed decoding into projected objects) is plain functions over a transport:
:func:`get_json`, :func:`request_json`, and :mod:`.decoding` in the stream.

Time limits travel with the request: ``connect_timeout`` bounds the connection *and* the response headers
of a stream (:class:`~.connection.HeaderTimeout` past it; the transport is the one place that enforces
it), ``read_timeout`` the silence between two chunks of an open stream
(:class:`~.connection.InactivityTimeout`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "METADATA_LIST_ACCEPT",
    "METADATA_WATCH_ACCEPT",
    "Lines",
    "Request",
    "Transport",
    "get_json",
    "request_json",
]

#: ``Accept`` headers asking for PartialObjectMetadata: name, labels, owners, versions; never a body.
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


@dataclass(frozen=True, slots=True)
class Request:
    """One request to the API server, as plain data (a transport adds credentials and headers)."""

    path: str
    params: Mapping[str, str | int] | None = None
    method: str = "GET"
    #: The encoded body, sent with ``content_type``; None: no body.
    body: bytes | None = None
    content_type: str = "application/json"
    #: Another ``Accept`` header (e.g. :data:`METADATA_LIST_ACCEPT`); None: plain JSON.
    accept: str | None = None
    #: Streams: seconds for the connection and the response headers together.
    connect_timeout: float = 30.0
    #: Streams: seconds without a byte on an open response before it is taken for dead (bookmarks come
    #: about once a minute, so the default leaves room for one late one).
    read_timeout: float = 70.0


class Lines(Protocol):
    """An open watch response: its lines, one JSON event each; ``aclose`` releases the connection (an
    async generator of bytes is one)."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def __anext__(self) -> Awaitable[bytes]: ...

    async def aclose(self) -> None: ...


class Transport(Protocol):
    """The API server as every layer above sees it."""

    #: Facts learnt about the server at run time (e.g. that it refuses WatchList), shared by all streams.
    capabilities: dict[str, Any]

    @property
    def server(self) -> str:
        """The API server's base URL, for messages and metrics."""
        ...

    async def send(self, request: Request) -> bytes:
        """The response body; raises ``ApiError`` on a non-2xx answer."""
        ...

    async def stream(self, request: Request) -> Lines:
        """Open a watch: returns once the response headers are in, raises ``ApiError`` if the server
        refuses, ``HeaderTimeout`` past ``request.connect_timeout``. The lines then raise
        ``InactivityTimeout`` after ``request.read_timeout`` of silence and end when the server closes."""
        ...


async def request_json(
    transport: Transport,
    method: str,
    path: str,
    params: Mapping[str, str | int] | None = None,
    body: Any = None,
    *,
    content_type: str = "application/json",
) -> dict[str, Any]:
    """Any request with a JSON body (or none), its answer decoded; a bare JSON list comes as ``items``."""
    data = None if body is None else json.dumps(body).encode()
    request = Request(path, params, method.upper(), data, content_type)
    raw = await transport.send(request)
    result = json.loads(raw) if raw else {}
    return result if isinstance(result, dict) else {"items": result}


async def get_json(
    transport: Transport, path: str, params: Mapping[str, str | int] | None = None
) -> dict[str, Any]:
    """A GET, its answer decoded."""
    return await request_json(transport, "GET", path, params)
