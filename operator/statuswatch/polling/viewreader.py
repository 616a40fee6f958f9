"""Shared-view cluster reader: reads from the watchlist streams, and tells the engine what changed.

Every (group, kind, namespace) the identifiers need, generated kinds included, is one subscription on a
``SharedView`` (cluster-wide for cluster-scoped identifiers). Reads are served from the view's store: no API
request per cycle. Each subscription's changes are drained by a small task that records which objects
changed and wakes the engine, so an update is reported as soon as the change arrives; ``poll_interval`` is
only the upper bound between full cycles.

Streams retry on their own (kind not installed, forbidden); until a stream has synced, reads raise its error,
which the status readers turn into ``Unknown``. A kind whose CRD shows up later is re-subscribed on the next
full cycle once discovery knows it, so it is served without waiting for the stream's back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from statuswatch.watchlist.connection import ApiClient
from statuswatch.watchlist.discovery import NoMatchError, RestMapper
from statuswatch.watchlist.selector import to_query
from statuswatch.watchlist.view import SharedView, Subscription

from .clusterreader import kinds_to_read, scope_of
from .identifiers import ObjMetadata

__all__ = ["ViewClusterReader"]

SubKey = tuple[str, str, str | None]  # group, kind, namespace (None: cluster-wide)


class ViewClusterReader:
    """A ``ClusterReader`` over a ``SharedView``; opens its own view unless one is passed in."""

    def __init__(
        self,
        identifiers: Iterable[ObjMetadata],
        client: ApiClient,
        mapper: RestMapper,
        *,
        view: SharedView | None = None,
        sync_timeout: float = 30.0,
    ) -> None:
        self._mapper = mapper
        self._own_view = view is None
        self._view = view if view is not None else SharedView(client, mapper)
        self._sync_timeout = sync_timeout
        self._needed: list[SubKey] = []
        for identifier in identifiers:
            for group, kind in kinds_to_read(identifier.group, identifier.kind):
                key = (group, kind, identifier.namespace or None)
                if key not in self._needed:
                    self._needed.append(key)
        self._subs: dict[SubKey, Subscription] = {}
        self._drains: dict[SubKey, asyncio.Task[None]] = {}
        self._changed: set[ObjMetadata] = set()
        self._wake = asyncio.Event()
        self._due: float | None = None

    @property
    def subscriptions(self) -> Mapping[SubKey, Subscription]:
        return self._subs

    async def _open(self, key: SubKey) -> Subscription:
        sub = self._subs.get(key)
        if sub is None:
            group, kind, namespace = key
            sub = await self._view.subscribe(group, kind, namespace).open()
            self._subs[key] = sub
            self._drains[key] = asyncio.get_running_loop().create_task(
                self._drain(sub), name=f"drain {sub!r}"
            )
        return sub

    async def _reopen(self, key: SubKey) -> None:
        sub, task = self._subs.pop(key, None), self._drains.pop(key, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if sub is not None:
            await sub.close()
        await self._open(key)

    async def _drain(self, sub: Subscription) -> None:
        async for change in sub:
            self._changed.add(ObjMetadata.from_object(change.object))
            self._wake.set()

    async def _ready(self, key: SubKey) -> Subscription:
        """The subscription once synced; raises the stream's error (NoMatchError, ApiError 403...) before."""
        sub = await self._open(key)
        if not sub.synced:
            async with asyncio.timeout(self._sync_timeout):
                await sub.wait_synced()
        return sub

    async def namespaced(self, group: str, kind: str) -> bool | None:
        return await scope_of(self._mapper, group, kind)

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        sub = await self._ready((group, kind, namespace or None))
        return sub.get(namespace or None, name)

    async def list(
        self, group: str, kind: str, namespace: str, selector: Mapping[str, Any]
    ) -> Sequence[Mapping[str, Any]]:
        to_query(selector)  # same validation as the direct reader
        sub = await self._ready((group, kind, namespace or None))
        return sub.list(namespace or None, selector)

    async def sync(self) -> None:
        """Open every needed subscription and wait (bounded, concurrently) until each synced or failed."""
        for key in self._needed:
            sub = self._subs.get(key)
            if sub is not None and not sub.synced and isinstance(sub.error, NoMatchError):
                with contextlib.suppress(NoMatchError):
                    await self._mapper.resolve(key[0], key[1])
                    await self._reopen(key)  # discovery knows it now: skip the stream's back-off
            else:
                await self._open(key)
        pending = [sub for sub in self._subs.values() if not sub.synced and sub.error is None]
        if pending:
            waits = [asyncio.ensure_future(sub.wait_synced()) for sub in pending]
            _, not_done = await asyncio.wait(waits, timeout=self._sync_timeout)
            for task in not_done:
                task.cancel()
            for task in waits:
                if task.done() and not task.cancelled():
                    task.exception()  # errors are reported per identifier by the reads

    async def wait_for_change(self, interval: float) -> set[ObjMetadata] | None:
        loop = asyncio.get_running_loop()
        if self._due is None:
            self._due = loop.time() + interval
        if loop.time() >= self._due:  # a steady flow of changes must not starve the full cycle
            self._due = None
            self._changed.clear()
            return None
        if not self._changed:
            self._wake.clear()
            try:
                async with asyncio.timeout_at(self._due):
                    await self._wake.wait()
            except TimeoutError:
                self._due = None
                self._changed.clear()
                return None
        changed, self._changed = self._changed, set()
        return changed

    async def close(self) -> None:
        for task in self._drains.values():
            task.cancel()
        for task in self._drains.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._drains.clear()
        subs, self._subs = list(self._subs.values()), {}
        for sub in subs:
            await sub.close()
        if self._own_view:
            await self._view.close()
