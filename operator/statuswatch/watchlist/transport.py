"""``Transport``: what streams, discovery and kind resolution ask of an API client, and nothing more.

The shared view, the REST mapper and the cluster readers are written against this protocol rather than
against :class:`~.connection.ApiClient`, so that the fakes shipped in :mod:`statuswatch.watchlist.testing`
are checked by the type checker against the same signatures the real client has, and cannot drift from it.

:class:`RawTransport` is what a client may offer on top: bodies and watch lines as bytes, with the
``Accept`` header chosen by the caller. Streams use it when the client has it (typed decoding straight into
projected objects, metadata-only answers for Secrets and ConfigMaps) and fall back to the JSON methods when
it does not (e.g. a wrapper that only passes the JSON methods on), so such wrappers keep working unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["METADATA_LIST_ACCEPT", "METADATA_WATCH_ACCEPT", "RawTransport", "Transport"]

#: ``Accept`` headers asking for PartialObjectMetadata: name, labels, owners, versions; never a body.
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"


class Transport(Protocol):
    """The API client as the watchlist and polling layers see it: JSON requests and watch streams."""

    #: Facts learnt about the server at run time (e.g. that it refuses WatchList), shared by all streams.
    capabilities: dict[str, Any]

    @property
    def server(self) -> str:
        """The API server's base URL, for messages and metrics."""
        ...

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        """A GET; raises ``ApiError`` on a non-2xx answer."""
        ...

    async def request_json(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
        *,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """Any non-streaming request; raises ``ApiError`` on a non-2xx answer."""
        ...

    def stream_lines(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        inactivity_timeout: float = 70.0,
        connect_timeout: float = 30.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """A watch response, one parsed JSON object per line (see ``ApiClient.stream_lines``)."""
        ...


@runtime_checkable
class RawTransport(Transport, Protocol):
    """A :class:`Transport` that also hands out undecoded bodies and watch lines, with a chosen ``Accept``."""

    async def get_bytes(
        self, path: str, params: Mapping[str, str | int] | None = None, *, accept: str | None = None
    ) -> bytes:
        """A GET's body as received; raises ``ApiError`` on a non-2xx answer."""
        ...

    def stream_raw(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        accept: str | None = None,
        inactivity_timeout: float = 70.0,
        connect_timeout: float = 30.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """A watch response, one undecoded line (one JSON event) at a time; else as ``stream_lines``."""
        ...
