"""``Transport``: what streams, discovery and kind resolution ask of an API client, and nothing more.

The shared view, the REST mapper and the cluster readers are written against this protocol rather than
against :class:`~.connection.ApiClient`, so that the fakes shipped in :mod:`statuswatch.watchlist.testing`
are checked by the type checker against the same signatures the real client has, and cannot drift from it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Protocol

__all__ = ["Transport"]


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
