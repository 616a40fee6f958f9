"""Shared-view cluster reader: reads from the watchlist streams, and tells the engine what changed.

Every (group, kind, namespace) the identifiers need, generated kinds included, is one stream key on a
``SharedView`` (cluster-wide for cluster-scoped kinds, whatever namespace the identifier carries). Keys are
held through the view's :class:`~.router.ViewRouter`, so concurrent polls on one view share one
subscription and one drain task per key, and a change wakes only the polls it can affect. Reads are served
from the view's store: no API request per cycle; a Deployment's ReplicaSets and Pods come from the store's
owner index.

Idle polls do not wake. When the engine says the wait is idle (every status settled) and every stream
this poll reads is synced and healthy, every possible change arrives as an event, so the wait has no
time-out; a change of a held stream's health (the router's :meth:`stale`) ends it with a full cycle, and
from then on, while a stream is unhealthy, the poll wakes every interval again as staleness requires.

What a read answers while a stream is not healthy follows :mod:`.staleness`: the first full cycle waits
(once per key, bounded) for streams to sync; after that a read never waits, it answers ``Unknown`` with
the reason. A kind whose CRD shows up later, or comes back after being deleted, is re-subscribed on the next
full cycle once discovery knows it, so it is served without waiting for the stream's back-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import NoMatchError, RestMapper
from statuswatch.watchlist.selector import to_query
from statuswatch.watchlist.transport import Transport
from statuswatch.watchlist.view import SharedView

from .clusterreader import kinds_to_read
from .errors import NotSyncedError, UnreadableObjectError
from .identifiers import ObjMetadata
from .router import SubKey, View, ViewRouter, ViewSubscription, router_for
from .staleness import grace_for, stream_verdict

__all__ = ["ViewClusterReader"]


class ViewClusterReader:
    """A ``ClusterReader`` over a shared view; opens (and closes) its own view unless one is passed in.

    ``poll_interval`` sets the staleness grace (see :mod:`.staleness`); ``sync_timeout`` bounds the one wait
    for a new stream's first full state (it applies when this reader is the first on its view).
    """

    def __init__(
        self,
        identifiers: Iterable[ObjMetadata],
        client: Transport | None,
        mapper: RestMapper,
        *,
        view: View | None = None,
        sync_timeout: float = 30.0,
        poll_interval: float = 2.0,
    ) -> None:
        self._mapper = mapper
        self._own_view: SharedView | None = None
        if view is None:
            if client is None:
                raise TypeError("ViewClusterReader needs a client or a view")
            self._own_view = view = SharedView(client, mapper)
        self._router: ViewRouter = router_for(view, sync_timeout=sync_timeout)
        self._grace = grace_for(poll_interval)
        self._ids = tuple(dict.fromkeys(identifiers))
        # Only what differs from the identity (cluster-scoped kinds given with a namespace): most polls
        # need neither map, and each would cost a dict per poll.
        self._lookup: dict[ObjMetadata, ObjMetadata] = {}
        self._callers: dict[ObjMetadata, list[ObjMetadata]] = {}
        self._held: set[SubKey] = set()
        self._on_demand: set[SubKey] = set()
        self._changed: set[ObjMetadata] = set()
        # A future only while waiting, not an asyncio.Event: an Event's deque of waiters costs ~600 bytes per
        # poll, and 10,000 idle polls keep theirs for good.
        self._waiter: asyncio.Future[None] | None = None
        self._due: float | None = None
        self._stale = False
        self._closed = False

    @property
    def router(self) -> ViewRouter:
        return self._router

    @property
    def held(self) -> frozenset[SubKey]:
        """The stream keys this poll holds."""
        return frozenset(self._held)

    # -- ChangeListener ----------------------------------------------------------------------------

    def notify(self, identifiers: set[ObjMetadata]) -> None:
        for lookup in identifiers:
            callers = self._callers.get(lookup)
            if callers is None:
                self._changed.add(lookup)  # registered, and read as itself (see sync)
            else:
                self._changed.update(callers)
        if self._changed:
            self._wake()

    # -- scope -------------------------------------------------------------------------------------

    async def namespaced(self, group: str, kind: str) -> bool | None:
        try:
            return (await self._mapper.resolve(group, kind)).namespaced
        except Exception:  # not installed, or discovery failing: unknown for now, asked again next cycle
            return None

    async def _key(self, group: str, kind: str, namespace: str) -> tuple[SubKey, str]:
        """The stream key and the namespace to read in: a cluster-scoped kind ignores any namespace."""
        if namespace and await self.namespaced(group, kind) is False:
            namespace = ""
        return (group, kind, namespace or None), namespace

    # -- cycle -------------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Hold every needed key, re-subscribe kinds that are served again, wait once for new streams."""
        lookup: dict[ObjMetadata, ObjMetadata] = {}
        targets: dict[ObjMetadata, None] = {}
        needed: list[SubKey] = []
        for ident in self._ids:
            key, namespace = await self._key(ident.group, ident.kind, ident.namespace)
            target = ident
            if namespace != ident.namespace:
                lookup[ident] = target = ObjMetadata(ident.group, ident.kind, namespace, ident.name)
            targets[target] = None
            for group, kind in kinds_to_read(ident.group, ident.kind):
                sub_key = key if (group, kind) == (ident.group, ident.kind) else (group, kind, key[2])
                if sub_key not in needed:
                    needed.append(sub_key)
        self._lookup = lookup
        callers: dict[ObjMetadata, list[ObjMetadata]] = {}
        for ident, target in lookup.items():  # a target read for others: who asked for it
            callers.setdefault(target, []).append(ident)
        for target, asked in callers.items():
            if target in self._ids:
                asked.append(target)
        self._callers = callers
        self._router.watch(self, targets)
        for key in needed:
            if key not in self._held:
                await self._router.acquire(key, self)  # counts the use, or raises: never half done
                self._held.add(key)
            else:
                await self._maybe_refresh(key)
        for key in sorted(self._held - set(needed) - self._on_demand, key=str):
            self._held.discard(key)
            await self._router.release(key, self)
        await self._router.wait_synced(needed)

    async def _maybe_refresh(self, key: SubKey) -> None:
        sub = self._router.subscription(key)
        error = sub.error if sub is not None else None
        gone = isinstance(error, NoMatchError) or (isinstance(error, ApiError) and error.status == 404)
        if not gone:
            return
        try:
            await self._mapper.resolve(key[0], key[1])
        except Exception:
            return  # still not served: the stream keeps retrying on its own
        await self._router.refresh(key)

    def lookup(self, identifier: ObjMetadata) -> ObjMetadata:
        """The identifier as it is read (namespace dropped for cluster-scoped kinds, once known)."""
        return self._lookup.get(identifier, identifier)

    # -- reads -------------------------------------------------------------------------------------

    async def _readable(self, key: SubKey) -> ViewSubscription:
        if key not in self._held:
            await self._router.acquire(key, self)
            self._held.add(key)
            self._on_demand.add(key)
            await self._router.wait_synced([key])
        sub = self._router.subscription(key)
        name = self._router.describe(key)
        if sub is None:
            raise NotSyncedError(name)
        verdict = stream_verdict(
            name,
            synced=sub.synced,
            error=sub.error,
            failing_since=sub.failing_since,
            error_since=sub.error_since,
            disconnected_since=sub.disconnected_since,
            now=asyncio.get_running_loop().time(),
            grace=self._grace,
        )
        if verdict is not None:
            raise verdict
        return sub

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        key, namespace = await self._key(group, kind, namespace)
        sub = await self._readable(key)
        why = sub.unreadable(namespace or None, name)
        if why is not None:
            raise UnreadableObjectError(
                self._router.describe(key), f"{namespace}/{name}" if namespace else name, why
            )
        return sub.get(namespace or None, name)

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> Sequence[Mapping[str, Any]]:
        to_query(selector)  # same validation as the direct reader
        key, namespace = await self._key(group, kind, namespace)
        sub = await self._readable(key)
        if owner_uid is not None:
            return sub.owned(namespace or None, owner_uid, selector)
        return sub.list(namespace or None, selector)

    def stale(self) -> None:
        """The health of a stream this poll reads changed (synced, failing, recovered): read everything."""
        self._stale = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _sleep(self, deadline: float | None) -> None:
        """Until :meth:`notify` or :meth:`stale` wakes this poll; TimeoutError at ``deadline`` (loop time)."""
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            if deadline is None:
                await waiter
            else:
                async with asyncio.timeout_at(deadline):
                    await waiter
        finally:
            self._waiter = None

    def _quiet(self) -> bool:
        """Every held stream is synced, healthy and connected, so every change will be told (no timer
        needed)."""
        for key in self._held:
            sub = self._router.subscription(key)
            if sub is None or not sub.synced or sub.error is not None or sub.disconnected_since is not None:
                return False
        return True

    def _take_stale(self) -> bool:
        """Whether a health change asked for a full cycle (which then starts a fresh interval)."""
        if not self._stale:
            return False
        self._stale = False
        self._due = None
        self._changed.clear()
        return True

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        loop = asyncio.get_running_loop()
        if self._take_stale():
            return None
        if idle and self._quiet():
            # Nothing can change without an event: no wake-up per interval (see the module docstring).
            self._due = None
            while not self._changed and not self._stale:
                await self._sleep(None)
            if self._take_stale():
                return None
            changed, self._changed = self._changed, set()
            return changed
        if self._due is None:
            self._due = loop.time() + interval
        if loop.time() >= self._due:  # a steady flow of changes must not starve the full cycle
            self._due = None
            self._changed.clear()
            return None
        if not self._changed and not self._stale:
            try:
                await self._sleep(self._due)
            except TimeoutError:
                self._due = None
                self._changed.clear()
                return None
        if self._take_stale():
            return None
        changed, self._changed = self._changed, set()
        return changed

    async def close(self) -> None:
        """Release every key (even when cancelled meanwhile; the cancellation is re-raised at the end)."""
        if self._closed:
            return
        self._closed = True
        self._router.unwatch(self)
        held, self._held = sorted(self._held, key=str), set()
        cancelled = False
        for key in held:
            try:
                await self._router.release(key, self)
            except asyncio.CancelledError:
                cancelled = True
        if self._own_view is not None:
            try:
                await self._own_view.close()
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
