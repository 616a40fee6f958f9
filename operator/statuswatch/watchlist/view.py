"""The shared view: one stream per (type, namespace), shared by every subscriber, closed with the last one.

This is what makes a thousand StatusWatches cost the API server what one does: subscribers of the same
group/kind/namespace share a :class:`~.stream.Stream` and its store, each with its own bounded queue of
changes. A subscriber first receives the objects already in the store as ADDED, then every change in order.

Cluster-wide sharing (``cluster_wide_threshold``). An operator watching one kind in many namespaces would
hold one watch per namespace. Once the namespaced subscriptions of one (group, kind[, version]) span
``threshold`` namespaces, the view opens one cluster-wide stream for the kind and moves them onto it; a
namespaced subscription made while a healthy cluster-wide stream of its kind is open simply uses it (as
client-go's shared informers do). A namespaced subscriber still sees only its namespace (and cluster-scoped
objects): ``get``, ``list``, its initial backlog and its changes are filtered. The move loses and reorders
nothing:

1. the cluster-wide stream is opened (held open by the move itself) and must sync first; answering 403
   (the operator may watch namespaces but not the cluster) gives up cluster-wide for that kind for the
   view's lifetime, and the namespaced streams go on serving;
2. each namespaced stream is then moved while holding both streams' :attr:`~.stream.Stream.lock`, which a
   stream holds while it applies a change to its store and hands it to listeners. Under both locks, the old
   stream's store is exactly what its subscribers have been told (queued or consumed), and nothing is in
   flight on either side;
3. if the old stream has seen a later resourceVersion than the cluster-wide one (etcd revisions compared as
   integers; other servers' opaque versions are not compared), the move waits until the cluster-wide stream
   catches up, so the new store is never older than what the subscriber saw;
4. each subscriber is handed the difference between the old store and the new one (restricted to its
   namespace) as ordinary changes, appended after what it has queued, then listens to the cluster-wide
   stream; nothing can happen in between, since no ``await`` separates these steps;
5. the old stream closes once it has no subscriber left.

A namespaced subscription made while its kind is being moved waits (up to :data:`PROMOTION_WAIT`) for the
cluster-wide stream to sync or be refused, so a burst of subscriptions does not open a watch per namespace
first. There is no flapping back: the cluster-wide stream stays while it has users and closes with its
last one.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from statuswatch.aiokit import stop_tasks

from .connection import ApiError
from .discovery import RestMapper
from .selector import Selector, compile_selector
from .store import Change, Key, object_key
from .stream import Projector, Stream, StreamHealth, StreamSettings
from .transport import Transport

__all__ = ["PROMOTION_WAIT", "KindKey", "SharedView", "StreamKey", "Subscription", "default_projector"]

StreamKey = tuple[str, str, str | None, str | None]  # group, kind, version, namespace (None: cluster-wide)
KindKey = tuple[str, str, str | None]  # group, kind, version

#: Seconds a namespaced subscription waits for a cluster-wide stream of its kind that is being set up.
PROMOTION_WAIT = 10.0


def default_projector() -> Projector:
    """What the rules read of each object: kstatus's projection, plus the fields custom kinds' rules read."""
    from statuswatch.rules.projection import RulesProjector

    return RulesProjector()


def _stream_key(stream: Stream) -> StreamKey:
    return (stream.group, stream.kind, stream.version, stream.namespace)


class SharedView:
    """Serves any group/kind, in one namespace or cluster-wide, from shared watch streams.

    ``queue_size`` bounds each subscriber's queue of undelivered changes: a full queue makes the stream
    wait (and with it every subscriber of that stream), it never drops a change.

    ``cluster_wide_threshold``: None (the default) never opens a cluster-wide stream on its own, for an
    operator that may only read some namespaces. A number N serves the namespaced subscriptions of a kind
    from one cluster-wide stream once they span N namespaces (see the module docstring).
    """

    def __init__(
        self,
        client: Transport,
        mapper: RestMapper | None = None,
        *,
        cluster_wide_threshold: int | None = None,
        settings: StreamSettings | None = None,
        projector: Projector | None = None,
        queue_size: int = 1024,
        logger: logging.Logger | None = None,
    ):
        if cluster_wide_threshold is not None and cluster_wide_threshold < 1:
            raise ValueError("cluster_wide_threshold must be at least 1 (or None)")
        self.client = client
        self.mapper = mapper or RestMapper(client)
        self.cluster_wide_threshold = cluster_wide_threshold
        self.settings = settings or StreamSettings()
        self.queue_size = queue_size
        self._projector = projector or default_projector()
        self._log = logger or logging.getLogger("statuswatch.watchlist")
        self._streams: dict[StreamKey, Stream] = {}
        self._pinned: set[StreamKey] = set()
        self._promotions: dict[KindKey, asyncio.Task[None]] = {}
        self._refused: set[KindKey] = set()
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

    def health(self) -> dict[StreamKey, StreamHealth]:
        """Every open stream's state."""
        return {key: stream.health() for key, stream in self._streams.items()}

    def cluster_wide_refused(self) -> frozenset[KindKey]:
        """Kinds for which a cluster-wide stream was refused (403) and namespaced streams serve instead."""
        return frozenset(self._refused)

    # -- attaching and detaching -------------------------------------------------------------------

    def _attach(self, sub: Subscription) -> tuple[Stream, str | None]:
        """The stream to serve ``sub`` and the namespace to filter it to (None: no filter)."""
        if self._closed:
            raise RuntimeError("the shared view is closed")
        group, kind, version, namespace = sub.key
        if namespace is not None and self.cluster_wide_threshold is not None:
            wide = self._streams.get((group, kind, version, None))
            if wide is not None and wide.synced and wide.error is None and sub.kind_key not in self._refused:
                return wide, namespace
        return self._stream(sub.key), None

    async def _settle(self, sub: Subscription) -> None:
        """While the kind is being moved cluster-wide, wait (briefly) for the cluster-wide stream's sync.

        Without this, a burst of subscriptions in many namespaces (an operator starting) would open one
        watch per namespace only to move them all a moment later.
        """
        wide = self._streams.get((*sub.kind_key, None))
        if sub.key[3] is None or wide is None or sub.kind_key not in self._promotions:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PROMOTION_WAIT):
                while not wide.synced and sub.kind_key in self._promotions:
                    await wide.wait_changed()

    def _stream(self, key: StreamKey) -> Stream:
        stream = self._streams.get(key)
        if stream is None:
            group, kind, version, namespace = key
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
            self._streams[key] = stream
            stream.start()
        return stream

    def _attached(self, sub: Subscription) -> None:
        """After ``sub`` joined: is it time to serve its kind cluster-wide?"""
        threshold = self.cluster_wide_threshold
        kind_key = sub.kind_key
        if (
            threshold is None
            or sub.key[3] is None
            or kind_key in self._refused
            or kind_key in self._promotions
        ):
            return
        if not any(k[:3] == kind_key and k[3] is not None for k in self._streams):
            return  # everything of this kind is already served cluster-wide
        if len(self._namespaces(kind_key)) >= threshold:
            self._pinned.add((*kind_key, None))
            self._stream((*kind_key, None))  # open now: subscriptions made meanwhile wait for it
            task = asyncio.get_running_loop().create_task(
                self._promote(kind_key), name=f"cluster-wide {kind_key}"
            )
            self._promotions[kind_key] = task

    def _namespaces(self, kind_key: KindKey) -> set[str]:
        """Namespaces of the open namespaced subscriptions of one kind, wherever they are served."""
        found: set[str] = set()
        for key, stream in self._streams.items():
            if key[:3] == kind_key:
                found.update(
                    listener.key[3]
                    for listener in stream.listeners
                    if isinstance(listener, Subscription) and listener.key[3] is not None
                )
        return found

    async def _detach(self, sub: Subscription, stream: Stream) -> None:
        stream.remove_listener(sub)
        await self._release(stream)
        promotion = self._promotions.get(sub.kind_key)
        if promotion is not None and not self._namespaces(sub.kind_key):
            promotion.cancel()

    async def _release(self, stream: Stream) -> None:
        key = _stream_key(stream)
        if stream.listener_count == 0 and key not in self._pinned and self._streams.get(key) is stream:
            del self._streams[key]
            await stream.stop()

    # -- cluster-wide sharing ----------------------------------------------------------------------

    async def _promote(self, kind_key: KindKey) -> None:
        wide_key: StreamKey = (*kind_key, None)
        wide = self._stream(wide_key)
        try:
            while not wide.synced:
                error = wide.error
                if isinstance(error, ApiError) and error.status == 403:
                    self._log.info(
                        "%r: refused (%s); serving %s per namespace", wide, error.message, kind_key[1]
                    )
                    self._refused.add(kind_key)
                    return
                await wide.wait_changed()
            while True:
                olds = [s for k, s in self._streams.items() if k[:3] == kind_key and k[3] is not None]
                if not olds:
                    break
                for old in olds:
                    await self._move(old, wide)
        except asyncio.CancelledError:
            if not self._closed:
                self._log.debug("cluster-wide move of %s called off: no subscriber left", kind_key[1])
            raise
        except Exception:
            # The namespaced streams go on serving; a later subscription may try again.
            self._log.exception("moving %s subscriptions onto %r failed", kind_key[1], wide)
        finally:
            self._pinned.discard(wide_key)
            self._promotions.pop(kind_key, None)
            if not self._closed:
                await self._release(wide)

    async def _move(self, old: Stream, wide: Stream) -> None:
        """Move every subscriber of the namespaced stream ``old`` onto the cluster-wide stream ``wide``."""
        while True:
            async with old.lock, wide.lock:
                if _at_least(wide.resource_version, old.resource_version):
                    for listener in old.listeners:
                        if isinstance(listener, Subscription):
                            namespace = listener.key[3]
                            told = {object_key(o): o for o in old.store.values()}
                            now = {object_key(o): o for o in wide.objects(namespace)}
                            old.remove_listener(listener)
                            wide.add_listener(listener, namespace)
                            listener._moved(wide, namespace, _difference(told, now))
                    break
            await wide.wait_changed()  # let the cluster-wide stream catch up with the old one
        await self._release(old)

    # -- closing -----------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop every stream; open subscriptions end their iteration. Safe to call more than once."""
        self._closed = True
        promotions, self._promotions = list(self._promotions.values()), {}
        streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            stream.cancel()  # all of them at once, even if this coroutine is interrupted below
        try:
            await stop_tasks(promotions, log=self._log)
            for stream in streams:
                await stream.stop()
        finally:
            for stream in streams:
                for listener in stream.listeners:
                    if isinstance(listener, Subscription):
                        listener._end()


def _at_least(rv: str | None, other: str | None) -> bool:
    """``rv`` is not older than ``other`` (etcd revisions are integers; anything else is not compared)."""
    if other is None:
        return True
    if rv is None:
        return False
    if rv.isdigit() and other.isdigit():
        return int(rv) >= int(other)
    return True


def _difference(told: Mapping[Key, dict[str, Any]], now: Mapping[Key, dict[str, Any]]) -> list[Change]:
    """The changes that take a subscriber from the objects it was told about to the objects in ``now``."""
    out: list[Change] = []
    for key, before in told.items():
        after = now.get(key)
        if after is None:
            out.append(Change("DELETED", before))
        elif _uid(after) != _uid(before):
            out += [Change("DELETED", before), Change("ADDED", after)]
        elif _rv(after) != _rv(before):
            out.append(Change("MODIFIED", after))
    out += [Change("ADDED", after) for key, after in now.items() if key not in told]
    return out


def _uid(obj: Mapping[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("uid")


def _rv(obj: Mapping[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("resourceVersion")


class Subscription:
    """One user's handle on a shared stream: store reads, sync state, and its own ordered changes."""

    def __init__(self, view: SharedView, key: StreamKey, changes: bool):
        self._view = view
        self.key = key
        self._changes = changes
        self._stream: Stream | None = None
        self._only: str | None = None  # namespace filter when served by a cluster-wide stream
        self._backlog: deque[dict[str, Any]] = deque()
        self._items: deque[Change] = deque()
        self._max_items = max(1, view.queue_size)
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._ended = False
        self._closed = False

    def __repr__(self) -> str:
        group, kind, _, namespace = self.key
        return f"<Subscription {kind}.{group or 'core'} ns={namespace or '*'}>"

    @property
    def kind_key(self) -> KindKey:
        return self.key[:3]

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> Subscription:
        if self._closed:
            raise RuntimeError(f"{self!r} was closed; make a new one with SharedView.subscribe()")
        if self._stream is None:
            await self._view._settle(self)
            stream, only = self._view._attach(self)
            self._stream, self._only = stream, only
            backlog = stream.add_listener(self, only)
            if self._changes:
                self._backlog = deque(backlog)
            self._view._attached(self)
        return self

    async def close(self) -> None:
        self._closed = True
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

    def _moved(self, stream: Stream, only: str | None, changes: Iterable[Change]) -> None:
        """Now served by ``stream``; ``changes`` (queued past the bound) bring it up to its store."""
        previous, self._stream, self._only = self._stream, stream, only
        if previous is not None and previous is not stream:
            previous.wake()  # whoever waits on the old stream (wait_synced) must look at the new one
        if self._changes and not self._ended:
            self._items.extend(changes)
            if self._items:
                self._not_empty.set()

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

    # -- state -------------------------------------------------------------------------------------

    @property
    def stream(self) -> Stream:
        if self._stream is None:
            raise RuntimeError(f"{self!r} is not open")
        return self._stream

    @property
    def error(self) -> Exception | None:
        """The serving stream's current failure (also after it synced); None while healthy."""
        return self.stream.error

    @property
    def failing_since(self) -> float | None:
        return self.stream.failing_since

    @property
    def error_since(self) -> float | None:
        """Loop time since when the current error's kind has lasted (see ``Stream.error_since``)."""
        return self.stream.error_since

    @property
    def disconnected_since(self) -> float | None:
        """See :attr:`~.stream.StreamHealth.disconnected_since`."""
        return self.stream.disconnected_since

    @property
    def synced(self) -> bool:
        return self.stream.synced

    def health(self) -> StreamHealth:
        return self.stream.health()

    async def wait_synced(self) -> None:
        """Until the stream serving this subscription has synced (following a move to a cluster-wide one);
        raises that stream's error while it is not synced."""
        while True:
            stream = self.stream
            if stream.synced:
                return
            if stream.error is not None:
                raise stream.error
            await stream.wait_changed()

    # -- reads -------------------------------------------------------------------------------------

    def _scope(self, namespace: str | None) -> str | None:
        """The namespace to read: ignored for cluster-scoped kinds, and never outside this subscription's."""
        resource = self.stream.resource
        if resource is not None and not resource.namespaced:
            return None
        return namespace or None

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored (projected) object; shared with every subscriber, so treat it as read-only."""
        namespace = self._scope(namespace)
        if self._only is not None and namespace is not None and namespace != self._only:
            return None
        return self.stream.store.get((namespace or "", name))

    def unreadable(self, namespace: str | None, name: str) -> str | None:
        """Why the latest version of that object could not be read (its stored one, if any, is stale)."""
        return self.stream.unreadable.get((self._scope(namespace) or "", name))

    def list(self, namespace: str | None = None, selector: Selector | None = None) -> list[dict[str, Any]]:
        """Stored objects, optionally in one namespace and matching a label selector (read-only)."""
        namespace = self._scope(namespace)
        if self._only is not None and namespace is not None and namespace != self._only:
            return []
        match = compile_selector(selector)
        result = []
        for obj in self.stream.objects(self._only):
            meta = obj.get("metadata") or {}
            if namespace is not None and (meta.get("namespace") or "") != namespace:
                continue
            if match(meta.get("labels") or {}):
                result.append(obj)
        return result

    def owned(
        self, namespace: str | None, uid: str, selector: Selector | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Stored objects with an ownerReference to ``uid`` (the store's owner index, no scan), optionally
        in one namespace and matching a label selector (read-only)."""
        namespace = self._scope(namespace)
        if self._only is not None and namespace is not None and namespace != self._only:
            return []
        candidates = self.stream.store.owned(uid)
        if not candidates:
            return []
        match = compile_selector(selector)
        result = []
        for obj in candidates:
            meta = obj.get("metadata") or {}
            found = meta.get("namespace") or ""
            if self._only is not None and found not in ("", self._only):
                continue
            if namespace is not None and found != namespace:
                continue
            if match(meta.get("labels") or {}):
                result.append(obj)
        return result

    async def wait_changed(self) -> None:
        """Until the serving stream's state (sync, error, resourceVersion) changes, or it is moved."""
        await self.stream.wait_changed()

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
