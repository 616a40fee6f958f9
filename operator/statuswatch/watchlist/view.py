"""The shared view: one stream per (type, namespace), shared by every subscriber, closed with the last one.

This is what makes a thousand StatusWatches cost the API server what one does: subscribers of the same
group/kind/namespace share a :class:`~.stream.Stream` and its store, each with its own bounded queue of
changes. A subscriber first receives the objects already in the store as ADDED, then every change in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from .connection import ApiClient
from .discovery import RestMapper
from .selector import Selector, compile_selector
from .store import Change
from .stream import Projector, Stream, StreamSettings

__all__ = ["SharedView", "Subscription"]

StreamKey = tuple[str, str, str | None, str | None]  # group, kind, version, namespace (None: cluster-wide)


def default_projector() -> Projector:
    from statuswatch.kstatus import project

    return project


class SharedView:
    """Serves any group/kind, in one namespace or cluster-wide, from shared watch streams.

    ``queue_size`` bounds each subscriber's queue of undelivered changes: a full queue makes the stream
    wait (and with it every subscriber of that stream), it never drops a change.
    """

    def __init__(
        self,
        client: ApiClient,
        mapper: RestMapper | None = None,
        *,
        settings: StreamSettings | None = None,
        projector: Projector | None = None,
        queue_size: int = 1024,
        logger: logging.Logger | None = None,
    ):
        self.client = client
        self.mapper = mapper or RestMapper(client)
        self.settings = settings or StreamSettings()
        self.queue_size = queue_size
        self._projector = projector or default_projector()
        self._log = logger or logging.getLogger("statuswatch.watchlist")
        self._streams: dict[StreamKey, Stream] = {}
        self._closed = False

    async def __aenter__(self) -> SharedView:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def subscribe(
        self,
        group: str,
        kind: str,
        namespace: str | None = None,
        *,
        version: str | None = None,
        changes: bool = True,
    ) -> Subscription:
        """A subscription, to be entered with ``async with`` (or :meth:`Subscription.open`).

        ``changes=False`` makes a store-only subscription (``get``/``list``/``wait_synced``) that never
        holds the stream back; with ``True`` the subscriber must consume its changes.
        """
        if self._closed:
            raise RuntimeError("the shared view is closed")
        return Subscription(self, (group, kind, version, namespace or None), changes)

    @property
    def streams(self) -> Mapping[StreamKey, Stream]:
        return self._streams

    def _attach(self, sub: Subscription) -> Stream:
        if self._closed:
            raise RuntimeError("the shared view is closed")
        stream = self._streams.get(sub.key)
        if stream is None:
            group, kind, version, namespace = sub.key
            stream = Stream(
                self.client,
                self.mapper,
                group,
                kind,
                namespace,
                version=version,
                projector=self._projector,
                settings=self.settings,
                logger=self._log,
            )
            self._streams[sub.key] = stream
            stream.start()
        return stream

    async def _detach(self, sub: Subscription, stream: Stream) -> None:
        stream.remove_listener(sub)
        if stream.listener_count == 0 and self._streams.get(sub.key) is stream:
            del self._streams[sub.key]
            await stream.stop()

    async def close(self) -> None:
        """Stop every stream; open subscriptions end their iteration. Safe to call more than once."""
        self._closed = True
        streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            await stream.stop()
            for listener in stream.listeners:
                if isinstance(listener, Subscription):
                    listener._end()


class Subscription:
    """One user's handle on a shared stream: store reads, sync state, and its own ordered changes."""

    def __init__(self, view: SharedView, key: StreamKey, changes: bool):
        self._view = view
        self.key = key
        self._changes = changes
        self._stream: Stream | None = None
        self._backlog: deque[dict[str, Any]] = deque()
        self._items: deque[Change] = deque()
        self._max_items = max(1, view.queue_size)
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._ended = False

    def __repr__(self) -> str:
        group, kind, _, namespace = self.key
        return f"<Subscription {kind}.{group or 'core'} ns={namespace or '*'}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> Subscription:
        if self._stream is None:
            self._stream = self._view._attach(self)
            backlog = self._stream.add_listener(self)
            if self._changes:
                self._backlog = deque(backlog)
        return self

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await self._view._detach(self, stream)
        self._end()

    async def __aenter__(self) -> Subscription:
        return await self.open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        # Anything undelivered is moot once the subscriber has left or the view is closed.
        self._backlog.clear()
        self._items.clear()
        self._not_empty.set()
        self._not_full.set()

    async def deliver(self, change: Change) -> None:
        """Called by the stream; waits while this subscriber's queue is full (back-pressure)."""
        if not self._changes:
            return
        while len(self._items) >= self._max_items and not self._ended:
            self._not_full.clear()
            await self._not_full.wait()
        if not self._ended:
            self._items.append(change)
            self._not_empty.set()

    @property
    def pending(self) -> int:
        """Changes delivered to this subscriber but not consumed yet."""
        return len(self._items) + len(self._backlog)

    # -- reads -------------------------------------------------------------------------------------

    @property
    def stream(self) -> Stream:
        if self._stream is None:
            raise RuntimeError(f"{self!r} is not open")
        return self._stream

    @property
    def error(self) -> Exception | None:
        return self.stream.error

    @property
    def synced(self) -> bool:
        return self.stream.synced

    async def wait_synced(self) -> None:
        await self.stream.wait_synced()

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored (projected) object; shared with every subscriber, so treat it as read-only."""
        return self.stream.store.get((namespace or "", name))

    def list(self, namespace: str | None = None, selector: Selector | None = None) -> list[dict[str, Any]]:
        """Stored objects, optionally in one namespace and matching a label selector (read-only)."""
        match = compile_selector(selector)
        result = []
        for obj in self.stream.store.values():
            meta = obj.get("metadata") or {}
            if namespace is not None and (meta.get("namespace") or "") != namespace:
                continue
            if match(meta.get("labels") or {}):
                result.append(obj)
        return result

    # -- changes -----------------------------------------------------------------------------------

    def __aiter__(self) -> Subscription:
        if not self._changes:
            raise RuntimeError("this subscription was opened with changes=False")
        return self

    async def __anext__(self) -> Change:
        if self._backlog:
            return Change("ADDED", self._backlog.popleft())
        while not self._items:
            if self._ended:
                raise StopAsyncIteration
            self._not_empty.clear()
            await self._not_empty.wait()
        change = self._items.popleft()
        self._not_full.set()
        return change
