"""The change router: one subscription and one drain task per stream key, shared by every poll on a view.

The operator runs one ``poll()`` per StatusWatch on one shared view. Without this module each poll would
hold its own subscription per (group, kind, namespace), with its own task draining it, and every change
would wake every poll on that stream: work per change would grow with the number of StatusWatches. Here a
:class:`ViewRouter` (one per view, see :func:`router_for`) holds each stream key once, ref-counted by the
polls that need it, and hands each change only to the polls it can affect:

* a poll watching exactly that object;
* for generated kinds, the polls watching its owner, found through the object's ownerReferences: a Pod
  goes to its ReplicaSet or StatefulSet and, through the ReplicaSet's own ownerReference (looked up in the
  view's store), to its Deployment;
* an object whose owner cannot be resolved (no ownerReference, owner not in the store yet) wakes the polls
  that watch a kind generating it in that namespace, so nothing is missed while streams catch up.

Polls register as :class:`ChangeListener`; the router calls ``notify`` synchronously from the drain task
with the listener's own identifiers that need a re-read. A poll therefore owns no task of its own.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Protocol

from statuswatch.aiokit import stop_tasks
from statuswatch.watchlist.store import Change

from .clusterreader import GENERATED_KINDS, kinds_to_read
from .identifiers import ObjMetadata, group_of
from .staleness import GRACE_FLOOR

__all__ = [
    "ChangeListener",
    "HealthListener",
    "SubKey",
    "View",
    "ViewRouter",
    "ViewSubscription",
    "router_for",
]

SubKey = tuple[str, str, str | None]  # group, kind, namespace (None: cluster-wide)

# child (group, kind) -> the (group, kind)s that generate it: Pod <- ReplicaSet, StatefulSet
_GENERATORS: dict[tuple[str, str], set[tuple[str, str]]] = {}
for _parent, _children in GENERATED_KINDS.items():
    for _child in _children:
        _GENERATORS.setdefault(_child, set()).add(_parent)

_log = logging.getLogger("statuswatch.polling")

_REFRESH_EVERY = 5.0  # seconds between re-subscriptions of one key (the RestMapper's own refresh pace)
_MAX_OWNER_DEPTH = 4  # Pod -> ReplicaSet -> Deployment is two; anything deeper is a loop in bad data


class ViewSubscription(Protocol):
    """What the router and the view reader use of a ``statuswatch.watchlist.Subscription``."""

    @property
    def synced(self) -> bool: ...

    @property
    def error(self) -> Exception | None: ...

    @property
    def failing_since(self) -> float | None:
        """Loop time of the first failure in the current streak; ``None`` while healthy."""
        ...

    @property
    def error_since(self) -> float | None:
        """Loop time since when failures of the current error's kind have lasted; ``None`` while healthy."""
        ...

    @property
    def disconnected_since(self) -> float | None:
        """Loop time the synced stream's last connection ended while it has none; ``None`` while connected."""
        ...

    async def open(self) -> ViewSubscription: ...

    async def close(self) -> None: ...

    async def wait_synced(self) -> None: ...

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None: ...

    def unreadable(self, namespace: str | None, name: str) -> str | None:
        """Why the latest version of that object could not be read; None when it could."""
        ...

    def list(
        self, namespace: str | None = None, selector: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    def owned(
        self, namespace: str | None, uid: str, selector: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Stored objects owned by ``uid`` (an index lookup), in ``namespace``, matching ``selector``."""
        ...

    async def wait_changed(self) -> None:
        """Until the subscription's stream changes state (sync, error, resourceVersion)."""
        ...

    def __aiter__(self) -> AsyncIterator[Change]: ...


class View(Protocol):
    """What the router uses of a ``statuswatch.watchlist.SharedView``."""

    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> ViewSubscription: ...


class ChangeListener(Protocol):
    """A poll, as the router sees it."""

    def notify(self, identifiers: set[ObjMetadata]) -> None:
        """Some of this listener's identifiers may have a new status (called synchronously)."""
        ...


class HealthListener(Protocol):
    """A poll holding a key, told when that key's stream changes health (synced, failing, recovered)."""

    def stale(self) -> None: ...


class _Entry:
    """One stream key: its subscription, drain and health tasks, who uses it, its one bounded sync wait."""

    def __init__(self, key: SubKey, sub: ViewSubscription, deadline: float) -> None:
        self.key = key
        self.sub: ViewSubscription | None = sub
        self.users = 0
        self.holders: dict[HealthListener, None] = {}
        self.drain: asyncio.Task[None] | None = None
        self.health: asyncio.Task[None] | None = None
        self.waiter: asyncio.Task[None] | None = None
        self.deadline = deadline
        self.refreshed_at = float("-inf")
        self.opened = asyncio.Event()

    def describe(self) -> str:
        group, kind, namespace = self.key
        scope = f" in {namespace}" if namespace else ""
        return f"{kind.lower()}{'.' + group if group else ''}{scope}"


class ViewRouter:
    """Shares subscriptions among the polls of one view and routes each change to the polls it affects.

    ``sync_timeout`` bounds the one wait for a stream's first full state, counted from when the key was
    first acquired; polls arriving later wait only for what is left of it.
    """

    def __init__(self, view: View, *, sync_timeout: float = 30.0) -> None:
        self._view = weakref.ref(view)  # the registry maps view -> router; a strong one would pin the view
        self.sync_timeout = sync_timeout
        self._entries: dict[SubKey, _Entry] = {}
        # The listener itself, or a tuple of several: most objects have one listener, and even a 1-tuple
        # costs 56 bytes per identifier (a set 216).
        self._exact: dict[ObjMetadata, ChangeListener | tuple[ChangeListener, ...]] = {}
        # (child group, child kind, namespace) -> listener -> its identifiers that generate that kind there
        self._generating: dict[tuple[str, str, str], dict[ChangeListener, set[ObjMetadata]]] = {}
        self._interests: dict[ChangeListener, tuple[ObjMetadata, ...]] = {}  # a tuple: a third of a set

    # -- subscriptions -----------------------------------------------------------------------------

    @property
    def keys(self) -> Mapping[SubKey, int]:
        """Every held stream key with its number of users (for diagnostics and tests)."""
        return {key: entry.users for key, entry in self._entries.items()}

    def subscription(self, key: SubKey) -> ViewSubscription | None:
        entry = self._entries.get(key)
        return entry.sub if entry is not None else None

    def describe(self, key: SubKey) -> str:
        entry = self._entries.get(key)
        return entry.describe() if entry is not None else str(key)

    def _subscribe(self, key: SubKey) -> ViewSubscription:
        view = self._view()
        if view is None:
            raise RuntimeError("the shared view is gone")
        group, kind, namespace = key
        return view.subscribe(group, kind, namespace)

    async def acquire(self, key: SubKey, holder: HealthListener | None = None) -> None:
        """Hold ``key`` (opening its subscription and drain task for the first user); ``holder`` is told
        of every change of the key's stream health until it releases the key."""
        entry = self._entries.get(key)
        if entry is None:
            loop = asyncio.get_running_loop()
            sub = self._subscribe(key)
            entry = _Entry(key, sub, loop.time() + self.sync_timeout)
            self._entries[key] = entry
            try:
                await sub.open()
            except BaseException:
                del self._entries[key]
                entry.sub = None
                raise
            finally:
                entry.opened.set()
            self._start(entry, sub)
        elif not entry.opened.is_set():  # another poll is opening it right now
            await entry.opened.wait()
            if self._entries.get(key) is not entry:
                raise RuntimeError(f"could not subscribe to {entry.describe()}")
        entry.users += 1
        if holder is not None:
            entry.holders[holder] = None

    def _start(self, entry: _Entry, sub: ViewSubscription) -> None:
        loop = asyncio.get_running_loop()
        entry.drain = loop.create_task(self._drain(entry, sub), name=f"statuswatch drain {entry.key}")
        entry.health = loop.create_task(self._health(entry, sub), name=f"statuswatch health {entry.key}")

    async def release(self, key: SubKey, holder: HealthListener | None = None) -> None:
        """Drop one use of ``key``; the last user closes its subscription and stops its tasks.

        The bookkeeping happens before the first await, so a cancelled caller never leaves a count behind;
        closing is finished even when the caller is cancelled meanwhile, and the cancellation re-raised.
        """
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.users -= 1
        if holder is not None:
            entry.holders.pop(holder, None)
        if entry.users > 0:
            return
        del self._entries[key]
        await _finish(entry)

    async def refresh(self, key: SubKey) -> None:
        """Replace the subscription of ``key`` with a fresh one (the kind is served again after a NoMatch),
        so the stream starts over instead of waiting out its back-off. Users and listeners are kept."""
        entry = self._entries.get(key)
        loop = asyncio.get_running_loop()
        if entry is None or entry.sub is None or loop.time() - entry.refreshed_at < _REFRESH_EVERY:
            return
        entry.refreshed_at = loop.time()
        old = _Entry(key, entry.sub, entry.deadline)
        old.drain, old.waiter, old.health = entry.drain, entry.waiter, entry.health
        entry.sub, entry.drain, entry.waiter, entry.health = None, None, None, None
        try:
            await _finish(old)
        finally:  # even when cancelled meanwhile: the key's other users must not be left without one
            if self._entries.get(key) is entry:  # else released meanwhile
                sub = self._subscribe(key)
                await sub.open()
                entry.sub, entry.deadline = sub, loop.time() + self.sync_timeout
                self._start(entry, sub)
                _tell_stale(entry)  # a new stream: its holders must look at it

    async def wait_synced(self, keys: Iterable[SubKey]) -> None:
        """Wait until each key's stream synced or failed, at most until its sync deadline.

        One waiter task per key, shared by every poll; a poll that is cancelled here leaves the waiter to
        end on its own at the deadline (or with its entry).
        """
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Task[None]] = []
        deadline = loop.time()
        for key in keys:
            entry = self._entries.get(key)
            if entry is None or entry.sub is None or entry.sub.synced or entry.sub.error is not None:
                continue
            if loop.time() >= entry.deadline:
                continue
            if entry.waiter is None:
                entry.waiter = loop.create_task(
                    _wait_synced(entry.sub, entry.deadline), name=f"statuswatch sync {key}"
                )
            waits.append(entry.waiter)
            deadline = max(deadline, entry.deadline)
        if waits:
            await asyncio.wait(waits, timeout=max(0.0, deadline - loop.time()))

    async def close(self) -> None:
        """Release everything (the view's owner closes the view)."""
        entries, self._entries = list(self._entries.values()), {}
        for entry in entries:
            await _finish(entry)

    # -- routing -----------------------------------------------------------------------------------

    def watch(self, listener: ChangeListener, identifiers: Iterable[ObjMetadata]) -> None:
        """Route changes of ``identifiers`` (and of what they generate) to ``listener``; replaces any
        previous registration of the same listener."""
        wanted = tuple(dict.fromkeys(identifiers))
        before = self._interests.get(listener)
        if before is not None and frozenset(before) == frozenset(wanted):
            return
        self.unwatch(listener)
        self._interests[listener] = wanted
        for identifier in wanted:
            others = self._listeners(identifier)
            self._exact[identifier] = (*others, listener) if others else listener
            for group, kind in kinds_to_read(identifier.group, identifier.kind)[1:]:
                place = (group, kind, identifier.namespace)
                self._generating.setdefault(place, {}).setdefault(listener, set()).add(identifier)

    def unwatch(self, listener: ChangeListener) -> None:
        wanted = self._interests.pop(listener, ())
        for identifier in wanted:
            others = tuple(other for other in self._listeners(identifier) if other is not listener)
            if len(others) > 1:
                self._exact[identifier] = others
            elif others:
                self._exact[identifier] = others[0]
            else:
                self._exact.pop(identifier, None)
            for group, kind in kinds_to_read(identifier.group, identifier.kind)[1:]:
                place = (group, kind, identifier.namespace)
                by_listener = self._generating.get(place)
                if by_listener is not None:
                    by_listener.pop(listener, None)
                    if not by_listener:
                        del self._generating[place]

    def _listeners(self, identifier: ObjMetadata) -> tuple[ChangeListener, ...]:
        found = self._exact.get(identifier)
        if found is None:
            return ()
        return found if isinstance(found, tuple) else (found,)

    @property
    def listener_count(self) -> int:
        return len(self._interests)

    def route(self, obj: Mapping[str, Any]) -> dict[ChangeListener, set[ObjMetadata]]:
        """Which listeners a change of ``obj`` can affect, each with its identifiers to re-read."""
        hits: dict[ChangeListener, set[ObjMetadata]] = {}
        self._route(ObjMetadata.from_object(obj), obj, hits, 0)
        return hits

    def _route(
        self,
        ident: ObjMetadata,
        obj: Mapping[str, Any] | None,
        hits: dict[ChangeListener, set[ObjMetadata]],
        depth: int,
    ) -> None:
        for listener in self._listeners(ident):
            hits.setdefault(listener, set()).add(ident)
        generators = _GENERATORS.get((ident.group, ident.kind))
        if not generators or depth >= _MAX_OWNER_DEPTH:
            return
        owners = _owners(obj, ident.namespace, generators) if obj is not None else None
        if not owners:
            # No usable ownerReference (or the object is not in the store): everyone who could own it.
            for listener, ids in self._generating.get((ident.group, ident.kind, ident.namespace), {}).items():
                hits.setdefault(listener, set()).update(ids)
            return
        for owner in owners:
            owner_obj = self._stored(owner) if (owner.group, owner.kind) in _GENERATORS else None
            self._route(owner, owner_obj, hits, depth + 1)

    def _stored(self, ident: ObjMetadata) -> Mapping[str, Any] | None:
        for namespace in (ident.namespace or None, None):
            entry = self._entries.get((ident.group, ident.kind, namespace))
            if entry is not None and entry.sub is not None:
                found = entry.sub.get(ident.namespace or None, ident.name)
                if found is not None:
                    return found
        return None

    async def _health(self, entry: _Entry, sub: ViewSubscription) -> None:
        """Tell the key's holders when its stream's health changes (idle polls have no timer to notice).

        A lost connection without a failure is news only once it has lasted the shortest staleness grace:
        reconnects after a watch's server-side time-out take milliseconds and must not wake every poll
        twice. (A failure is news at once, and from then on the polls wake every interval anyway.)
        """
        loop = asyncio.get_running_loop()
        state = _health_state(sub, loop.time())
        try:
            while True:
                since = sub.disconnected_since
                if since is not None and sub.error is None and not state[-1]:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout_at(since + GRACE_FLOOR):
                            await sub.wait_changed()
                else:
                    await sub.wait_changed()
                now = _health_state(sub, loop.time())
                if now != state:
                    state = now
                    _tell_stale(entry)
        except Exception:
            _log.exception("health of %s is no longer followed", entry.describe())
            _tell_stale(entry)

    async def _drain(self, entry: _Entry, sub: ViewSubscription) -> None:
        try:
            async for change in sub:
                try:
                    hits = self.route(change.object)
                except Exception:  # malformed object: the polls' full cycles still cover it
                    _log.exception("cannot route a change of %s", entry.describe())
                    continue
                for listener, ids in hits.items():
                    try:
                        listener.notify(ids)
                    except Exception:  # one broken listener must not starve the others
                        _log.exception("a poll failed to take a change of %s", entry.describe())
        except Exception:
            _log.exception(
                "changes of %s are no longer routed; polls fall back to full cycles", entry.describe()
            )


def _owners(obj: Mapping[str, Any], namespace: str, generators: set[tuple[str, str]]) -> list[ObjMetadata]:
    """The owners of ``obj`` among the kinds that generate it (controller references first)."""
    metadata = obj.get("metadata")
    references = metadata.get("ownerReferences") if isinstance(metadata, Mapping) else None
    if not isinstance(references, list):
        return []
    owners = []
    for ref in sorted(
        (r for r in references if isinstance(r, Mapping)), key=lambda r: r.get("controller") is not True
    ):
        owner = ObjMetadata(
            group_of(str(ref.get("apiVersion", ""))),
            str(ref.get("kind", "")),
            namespace,
            str(ref.get("name", "")),
        )
        if (owner.group, owner.kind) in generators and owner.name:
            owners.append(owner)
    return owners


def _health_state(sub: ViewSubscription, now: float) -> tuple[bool, type[Exception] | None, object, bool]:
    """What of a stream's state decides the staleness verdict (the failure's class, not its text, or without
    a failure whether it has been without a connection for the shortest grace)."""
    error = sub.error
    if error is None:
        since = sub.disconnected_since
        return (sub.synced, None, None, since is not None and now - since >= GRACE_FLOOR)
    return (sub.synced, type(error), getattr(error, "status", None), False)


def _tell_stale(entry: _Entry) -> None:
    for holder in list(entry.holders):
        try:
            holder.stale()
        except Exception:  # one broken poll must not starve the others
            _log.exception("a poll failed to take a health change of %s", entry.describe())


async def _wait_synced(sub: ViewSubscription, deadline: float) -> None:
    try:
        async with asyncio.timeout_at(deadline):
            await sub.wait_synced()
    except Exception:  # failed or timed out: either way the wait is over, reads report why
        return


async def _finish(entry: _Entry) -> None:
    """Stop an entry's tasks and close its subscription, even if the caller is cancelled meanwhile."""
    tasks = [task for task in (entry.drain, entry.waiter, entry.health) if task is not None]
    sub, entry.sub = entry.sub, None
    cancelled = False
    try:
        await stop_tasks(tasks)
    except asyncio.CancelledError:
        cancelled = True
    if sub is not None:
        try:
            await sub.close()
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


_routers: weakref.WeakKeyDictionary[Any, ViewRouter] = weakref.WeakKeyDictionary()


def router_for(view: View, *, sync_timeout: float = 30.0) -> ViewRouter:
    """The one router of ``view`` (made on first use), so that every poll on a view shares it, whichever
    ``StatusPoller`` started it. Held weakly: an idle router keeps no reference to its view."""
    router = _routers.get(view)
    if router is None:
        router = ViewRouter(view, sync_timeout=sync_timeout)
        _routers[view] = router
    return router
