"""One watch stream per (resource type, namespace): sync, resume, relist, fallback, fan-out, health.

This is the part a plain ``watch`` loop gets wrong. The stream

* syncs with a WatchList request (``sendInitialEvents=true``) and treats the BOOKMARK annotated
  ``k8s.io/initial-events-end`` as "synced";
* falls back to paged LIST + WATCH for one resource type when the server refuses the WatchList
  parameters for it, or when no end bookmark arrives in time (aggregated APIs are known to omit it);
* resumes from the last resourceVersion seen on events *and* bookmarks;
* on 410 Gone, and on the optional periodic relist, lists again and reports objects that vanished as
  DELETED (see :mod:`.store`);
* on 404 asks the mapper to forget the type's group, so a CRD that changed its served version is followed
  and a deleted one becomes :class:`~.discovery.NoMatchError`;
* reconnects with jittered exponential back-off, reset once a connection delivered events; the wait for
  response headers and the silence on an open connection are bounded by the transport (the request
  carries :attr:`StreamSettings.connect_timeout` and :attr:`StreamSettings.inactivity_timeout`);
* never dies: an error of any kind is logged, recorded as :attr:`Stream.error` (visible through
  :meth:`Stream.health` long after the first sync) and retried; an object that cannot be read is skipped
  without marking the stream failing: it is listed in :attr:`Stream.unreadable` (readers answer Unknown for
  it, not its last good version) until a good version of it arrives, and one that cannot even be named
  makes the stream relist, so no stale version of it stays served;
* hands every change to every subscriber in order, waiting for slow ones (back-pressure, never drops);
* decodes lines and pages with a typed decoder straight into projected objects when the projector is
  kstatus's or says it is the same for the kind (:mod:`.decoding`; any other projector gets plain JSON
  dicts), and asks for Secrets and ConfigMaps as metadata only (PartialObjectMetadata): kstatus needs no
  body to call them Current, so no secret value crosses the wire or sits in memory. Stored objects still
  carry the real apiVersion and kind.

All time is the running loop's clock and all randomness comes from one ``random.Random`` per stream (seeded
by :attr:`StreamSettings.seed`), so tests drive it with a fake clock (looptime) and a fixed seed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import aiohttp

from statuswatch.aiokit import Backoff, stop_tasks
from statuswatch.kstatus import project

from .connection import ApiError, InactivityTimeout
from .decoding import TypedDecoder, metadata_only
from .discovery import NoMatchError, ResourceType
from .store import Change, Store, compact
from .transport import METADATA_LIST_ACCEPT, METADATA_WATCH_ACCEPT, Request, Transport

__all__ = [
    "INITIAL_EVENTS_END",
    "WATCHLIST_CAPABILITY",
    "Backoff",
    "Listener",
    "Projector",
    "ProtocolError",
    "Resolver",
    "Stream",
    "StreamHealth",
    "StreamMode",
    "StreamSettings",
]

Projector = Callable[[Mapping[str, Any]], dict[str, Any]]
StreamMode = Literal["watchlist", "list"]

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
#: Key in ``Transport.capabilities``: set to False by a user to make every stream of that client use LIST.
WATCHLIST_CAPABILITY = "watchlist"


class Listener(Protocol):
    """What a stream hands changes to (a :class:`~.view.Subscription`)."""

    async def deliver(self, change: Change) -> None: ...


class Resolver(Protocol):
    """What a stream asks of the REST mapper (:class:`~.discovery.RestMapper` is one)."""

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType: ...

    def invalidate(self, group: str) -> None: ...


@dataclass(frozen=True)
class StreamSettings:
    """Tunables of every stream of a view; the defaults follow client-go and kopf practice."""

    #: Seconds without a byte on an open watch before it is taken for dead (bookmarks come once a minute).
    inactivity_timeout: float = 70.0
    #: Seconds to wait for a watch response's headers; beyond that the attempt is a connection failure.
    connect_timeout: float = 30.0
    #: Seconds of server silence (no object event; bookmarks do not count) during the initial WatchList
    #: events before the type falls back to LIST+WATCH. Only time spent waiting for the server counts.
    sync_idle_deadline: float = 30.0
    #: Objects per LIST page.
    page_size: int = 500
    #: Range of the server-side ``timeoutSeconds`` of each watch, drawn at random to spread reconnects.
    watch_timeout: tuple[int, int] = (300, 600)
    #: Initial and maximum back-off delay in seconds between failed attempts.
    backoff: tuple[float, float] = (0.8, 30.0)
    #: Seconds between full relists (up to 10 % later, at random); None: only after 410 Gone.
    relist_interval: float | None = None
    #: Size of the store's (uid, resourceVersion) dedup filter; None: the store's default.
    filter_size: int | None = None
    #: Seed of each stream's random source (back-off jitter, watch timeouts, relist jitter); None: random.
    seed: int | None = None
    #: Failures of the same kind at the same resourceVersion (a malformed event the server keeps sending)
    #: after which the stream relists instead of resuming there again.
    repeat_limit: int = 3


@dataclass(frozen=True)
class StreamHealth:
    """A stream's state, for metrics, logs and staleness reasons."""

    #: Has had a full state at least once.
    synced: bool
    #: How the last full state was obtained: "watchlist", "list", or None before the first sync.
    mode: StreamMode | None
    #: A watch response is open right now.
    connected: bool
    #: Loop time of the last line received from the server (events and bookmarks), None before any.
    last_event_at: float | None
    #: The current failure; None while healthy.
    error: Exception | None
    #: Loop time of the first failure of the current streak; None while healthy.
    failing_since: float | None
    #: Loop time a synced stream's last connection ended, while it has no new one (it may be waiting for
    #: response headers without any failure yet); None while connected or before the first sync.
    disconnected_since: float | None
    #: Connections established after the first one.
    reconnects: int
    #: Times the type fell back from WatchList to LIST+WATCH.
    fallbacks: int
    #: Full state re-read after the first sync (410 Gone, periodic relist, type re-resolved).
    relists: int


class _WatchListRefused(Exception):
    pass


class _SyncDeadline(Exception):
    pass


class _RelistDue(Exception):
    pass


class ProtocolError(ValueError):
    """The server answered with something the watch protocol does not allow (e.g. a LIST without RV)."""


# A malformed answer or an object the projector cannot handle: counted per resourceVersion, so one that the
# server keeps sending from the same point leads to a relist instead of the same resume forever.
_DETERMINISTIC = (ValueError, TypeError, KeyError, AttributeError)


class Stream:
    """The single watch of one (group, kind[, version]) in one namespace, or cluster-wide."""

    def __init__(
        self,
        client: Transport,
        mapper: Resolver,
        group: str,
        kind: str,
        namespace: str | None = None,
        *,
        version: str | None = None,
        projector: Projector,
        settings: StreamSettings | None = None,
        logger: logging.Logger | None = None,
    ):
        self.client = client
        self.mapper = mapper
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.version = version
        self.settings = settings or StreamSettings()
        self.store = Store(self.settings.filter_size)
        self.resource: ResourceType | None = None
        self.error: Exception | None = None
        self.failing_since: float | None = None
        #: Loop time since when the current error's kind (its class and HTTP status) has lasted: a streak that
        #: began with a lost connection and goes on with 403 counts the 403 from its first one.
        self.error_since: float | None = None
        #: Objects whose latest version could not be read, by (namespace or "", name): why.
        self.unreadable: dict[tuple[str, str], str] = {}
        self._skipped_in_snapshot: set[tuple[str, str]] = set()
        #: See :attr:`StreamHealth.disconnected_since`.
        self.disconnected_since: float | None = None
        self.synced = False
        self.connected = False
        self.last_event_at: float | None = None
        self.sync_mode: StreamMode | None = None
        self.stats = {
            "connects": 0,
            "syncs": 0,
            "gone": 0,
            "fallbacks": 0,
            "relists": 0,
            "skipped": 0,
            "failures": 0,
        }
        #: Held while a change is applied to the store and handed to listeners: whoever holds it sees a
        #: store that every listener has been told about in full (the view relies on it to move listeners).
        self.lock = asyncio.Lock()
        self._project = projector
        # Typed decoding must reproduce the projector: kstatus's, or one that says it is the same for this
        # kind (the rules' projector, for built-in kinds).
        self._typed = projector is project or _same_as_kstatus(projector, group, kind)
        self._decoder: TypedDecoder | None = None
        #: Objects are requested as PartialObjectMetadata (their bodies never reach this process).
        self.metadata_only = self._typed and metadata_only(group, kind)
        self._log = logger or logging.getLogger("statuswatch.watchlist")
        self._rng = random.Random(self.settings.seed)
        self._rv: str | None = None
        self._relist_at: float | None = None
        self._listeners: dict[Listener, str | None] = {}
        # Listeners by the namespace they are limited to (None: everything), so that a change on a
        # cluster-wide stream costs the subscribers of its namespace, not every subscriber.
        self._by_namespace: dict[str | None, dict[Listener, None]] = {}
        self._state = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._delivered = False
        self._repeat: tuple[str | None, int] = (None, 0)

    def __repr__(self) -> str:
        return f"<Stream {self.kind}.{self.group or 'core'} ns={self.namespace or '*'}>"

    @property
    def resource_version(self) -> str | None:
        """The resourceVersion the stream would resume from (None: it will list)."""
        return self._rv

    def health(self) -> StreamHealth:
        return StreamHealth(
            synced=self.synced,
            mode=self.sync_mode,
            connected=self.connected,
            last_event_at=self.last_event_at,
            error=self.error,
            failing_since=self.failing_since,
            disconnected_since=self.disconnected_since,
            reconnects=max(0, self.stats["connects"] - 1),
            fallbacks=self.stats["fallbacks"],
            relists=self.stats["relists"],
        )

    # -- lifecycle and listeners -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=repr(self))

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def cancel(self) -> None:
        """Ask the stream's task to stop, without waiting (see :meth:`stop`)."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self) -> None:
        """Cancel the stream's task and wait for it. Never raises but for the caller's own cancellation."""
        task, self._task = self._task, None
        self.connected = False
        if task is None:
            return
        await stop_tasks([task], log=self._log)

    def add_listener(self, listener: Listener, namespace: str | None = None) -> list[dict[str, Any]]:
        """Register; returns the objects the listener must be told about first (as ADDED).

        ``namespace``: hand this listener only objects of that namespace (and cluster-scoped ones).
        """
        self.remove_listener(listener)
        self._listeners[listener] = namespace or None
        self._by_namespace.setdefault(namespace or None, {})[listener] = None
        return list(self.objects(namespace))

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            namespace = self._listeners.pop(listener)
            group = self._by_namespace[namespace]
            del group[listener]
            if not group:
                del self._by_namespace[namespace]

    def objects(self, namespace: str | None = None) -> Iterable[dict[str, Any]]:
        """Stored objects, all or those of one namespace (cluster-scoped objects belong to every one)."""
        if not namespace:
            return self.store.values()
        return (o for o in self.store.values() if _namespace_of(o) in ("", namespace))

    @property
    def listeners(self) -> list[Listener]:
        return list(self._listeners)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)

    async def wait_synced(self) -> None:
        """Until the first full state has arrived; raises the stream's error while it is not synced."""
        while not self.synced:
            if self.error is not None:
                raise self.error
            await self._state.wait()

    async def wait_changed(self) -> None:
        """Until the stream's state (sync, error, resourceVersion) changes next, or :meth:`wake`."""
        await self._state.wait()

    def wake(self) -> None:
        """Wake everyone waiting on this stream's state, e.g. its subscribers moved to another stream."""
        self._notify()

    def _notify(self) -> None:
        self._state.set()
        self._state = asyncio.Event()

    async def _apply(self, changes: Callable[[], Sequence[Change]]) -> None:
        """Apply to the store and hand the result to every listener, as one step under :attr:`lock`."""
        async with self.lock:
            await self._emit(changes())

    async def _emit(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        # Taken once per batch: a listener joining mid-batch already saw the store.
        everyone = list(self._listeners)
        unlimited = list(self._by_namespace.get(None, ()))
        by_namespace = {ns: list(group) for ns, group in self._by_namespace.items() if ns is not None}
        for change in changes:
            namespace = _namespace_of(change.object)
            targets = unlimited + by_namespace.get(namespace, []) if namespace else everyone
            for listener in targets:
                await listener.deliver(change)

    # -- the loop ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        backoff = Backoff(*self.settings.backoff, rng=self._rng)
        task = asyncio.current_task()
        while True:
            if task is not None and task.cancelling():
                # A cancellation that some cleanup swallowed (an exception raised while closing a
                # connection replaces it) must still end the stream.
                raise asyncio.CancelledError()
            self._delivered = False
            started = loop.time()
            try:
                await self._attempt()
            except asyncio.CancelledError:
                raise
            except _RelistDue:
                self._log.debug("%r: periodic relist", self)
                self._rv = None
                continue
            except _WatchListRefused as exc:
                self._log.info("%r: WatchList refused for this type (%s); using LIST+WATCH for it", self, exc)
                self._fall_back()
                continue
            except _SyncDeadline:
                self._log.warning("%r: no initial-events-end bookmark in time; using LIST+WATCH for it", self)
                self._fall_back()
                continue
            except ApiError as exc:
                if exc.is_gone:
                    self._log.info("%r: resourceVersion %s is gone; relisting", self, self._rv)
                    self.stats["gone"] += 1
                    self._rv = None
                    if self.stats["gone"] % 5 == 0:  # repeated 410s: do not hammer the server
                        await backoff.sleep()
                    continue
                if exc.status == 404:
                    # The type moved or vanished: resolve it afresh and list it from scratch.
                    self.mapper.invalidate(self.group)
                    self._rv = None
                if 400 <= exc.status < 500 and exc.status != 429:
                    self._log.warning("%r: %s", self, exc)
                else:
                    self._log.info("%r: transient API error: %s", self, exc)
                self._failed(exc)
            except NoMatchError as exc:
                self._failed(exc)
            except (aiohttp.ClientError, OSError, InactivityTimeout, TimeoutError) as exc:
                self._log.info("%r: connection lost (%s: %s); reconnecting", self, type(exc).__name__, exc)
                self._failed(exc)
            except Exception as exc:
                self._log.exception("%r: unexpected %s; retrying", self, type(exc).__name__)
                self._failed(exc)
                if isinstance(exc, _DETERMINISTIC):
                    self._count_repeat()
            else:
                # The server ended the watch (timeoutSeconds): not a failure. One that ends at once without
                # a single line is a failure in disguise, though, and must not become a hot loop.
                if self._delivered or loop.time() - started > 1.0:
                    backoff.reset()
                    continue
            if self._delivered:
                backoff.reset()  # this connection was healthy before it broke
            await backoff.sleep()

    async def _attempt(self) -> None:
        rt = self.resource = await self.mapper.resolve(self.group, self.kind, self.version)
        if self._typed and (self._decoder is None or self._decoder.api_version != rt.api_version):
            self._decoder = TypedDecoder(self.group, rt.kind, rt.api_version, override=self.metadata_only)
        if self._relist_at is not None and asyncio.get_running_loop().time() >= self._relist_at:
            self._rv = None
        if self._rv is None:
            if self._use_watchlist():
                await self._watchlist(rt)
                return
            await self._list(rt)
        await self._watch(rt)

    def _failed(self, error: Exception) -> None:
        self.stats["failures"] += 1
        now = asyncio.get_running_loop().time()
        if self.error is None or _error_kind(self.error) != _error_kind(error):
            self.error_since = now
        self.error = error
        if self.failing_since is None:
            self.failing_since = now
        self._notify()

    def _count_repeat(self) -> None:
        rv, count = self._repeat
        count = count + 1 if rv == self._rv else 1
        if count >= self.settings.repeat_limit and self._rv is not None:
            self._log.warning("%r: %d failures in a row at resourceVersion %s; relisting", self, count, rv)
            self._rv = None
            count = 0
        self._repeat = (self._rv, count)

    def _fall_back(self) -> None:
        self.client.capabilities[self._type_capability()] = False
        self.stats["fallbacks"] += 1
        self._notify()

    def _type_capability(self) -> str:
        return f"{WATCHLIST_CAPABILITY}:{self.group}/{self.kind}"

    def _use_watchlist(self) -> bool:
        caps = self.client.capabilities
        return caps.get(WATCHLIST_CAPABILITY) is not False and caps.get(self._type_capability()) is not False

    def _watch_params(self) -> dict[str, str | int]:
        return {
            "watch": 1,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": self._rng.randint(*self.settings.watch_timeout),
        }

    def _connected(self) -> None:
        """A new connection answered (watch headers OK, or the first LIST page): the failure is over."""
        self.stats["connects"] += 1
        self.error = None
        self.failing_since = None
        self.error_since = None
        self.disconnected_since = None
        self._notify()

    def _mark_synced(self, mode: StreamMode) -> None:
        # A full state was read: an object marked unreadable, then neither read nor skipped in it, is gone.
        for key in [key for key in self.unreadable if key not in self._skipped_in_snapshot]:
            if self.store.get(key) is None:
                del self.unreadable[key]
        self._skipped_in_snapshot = set()
        self.sync_mode = mode
        self.stats["syncs"] += 1
        if self.synced:
            self.stats["relists"] += 1
        if self.settings.relist_interval:
            jitter = 1 + self._rng.random() * 0.1
            self._relist_at = asyncio.get_running_loop().time() + self.settings.relist_interval * jitter
        self.synced = True
        self._notify()

    def _set_rv(self, rv: Any) -> None:
        if rv and isinstance(rv, str) and rv != self._rv:
            self._rv = rv
            self._notify()

    def _ingest(self, raw: Mapping[str, Any], rt: ResourceType) -> dict[str, Any]:
        """Project (unless the typed decoder did already), intern and check one object."""
        if not isinstance(raw.get("metadata"), Mapping):
            raise ProtocolError(f"object without metadata: {str(raw)[:200]}")
        if self._decoder is None and (not raw.get("apiVersion") or not raw.get("kind")):
            # LIST items carry no apiVersion/kind, and the projection keeps a kind's fields by them.
            raw = {
                **raw,
                "apiVersion": raw.get("apiVersion") or rt.api_version,
                "kind": raw.get("kind") or rt.kind,
            }
        obj: dict[str, Any] = compact(raw if self._decoder is not None else self._project(raw))
        meta = obj.get("metadata")
        if not isinstance(meta, Mapping) or not meta.get("name"):
            raise ProtocolError(f"projection lost the object's name: {str(raw)[:200]}")
        # List items carry no apiVersion/kind; consumers rely on both.
        if not obj.get("apiVersion"):
            obj["apiVersion"] = rt.api_version
        if not obj.get("kind"):
            obj["kind"] = rt.kind
        return obj

    def _skip(self, raw: Mapping[str, Any], error: Exception) -> bool:
        """An object the stream cannot read: log it and mark it unreadable; the rest of the stream is fine.

        False when the object cannot even be named (no metadata, no name): then nothing can be marked.
        """
        self.stats["skipped"] += 1
        self._log.error("%r: skipping an object it cannot read: %s", self, str(raw)[:200], exc_info=error)
        key = _identity(raw)
        if key is None:
            return False
        self.unreadable[key] = f"{type(error).__name__}: {error}"
        if self.store.in_snapshot:
            self._skipped_in_snapshot.add(key)
        self._notify()
        return True

    def _readable_again(self, obj: Mapping[str, Any]) -> None:
        key = _identity(obj)
        if key is not None and self.unreadable.pop(key, None) is not None:
            self._notify()

    async def _events(
        self, path: str, params: Mapping[str, str | int], syncing: bool
    ) -> AsyncGenerator[dict[str, Any], bool | None]:
        """Events of one watch request, cut short when the initial sync or a relist is overdue.

        Only the wait for the next line is bounded: a change being handed to subscribers is never
        interrupted, and time spent waiting for slow subscribers never counts as server silence. The wait
        for the response headers is the transport's (the request's ``connect_timeout``).
        """
        loop = asyncio.get_running_loop()
        settings = self.settings
        request = Request(
            path,
            params,
            accept=METADATA_WATCH_ACCEPT if self.metadata_only else None,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.inactivity_timeout,
        )
        lines = await self.client.stream(request)
        try:
            self.connected = True
            self._connected()
            silence = 0.0  # time spent waiting for the server since the last object event (initial sync only)
            while True:
                started = loop.time()
                deadline = started + settings.sync_idle_deadline - silence if syncing else self._relist_at
                bound = asyncio.timeout_at(deadline)
                try:
                    async with bound:
                        line = await anext(lines)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    if not bound.expired():
                        raise  # the transport's own timeout, not one of ours
                    raise (_SyncDeadline() if syncing else _RelistDue()) from None
                event = self._decode_event(line)
                now = loop.time()
                self.last_event_at = now
                self._delivered = True
                if syncing:
                    silence += now - started
                    if event.get("type") != "BOOKMARK":
                        silence = 0.0
                syncing = bool((yield event))
        finally:
            self.connected = False
            if self.synced:
                # From here on changes may be missed: the staleness rule counts from now, so that a
                # reconnect whose headers are slow to come counts although nothing has failed yet.
                self.disconnected_since = loop.time()
                self._notify()
            await lines.aclose()

    def _decode_event(self, line: bytes) -> dict[str, Any]:
        if self._decoder is not None:
            return self._decoder.decode_event(line).event
        event: dict[str, Any] = json.loads(line)
        return event

    async def _page(self, path: str, params: Mapping[str, str | int]) -> tuple[Mapping[str, Any], list[Any]]:
        """One LIST page: its metadata and its items (projected already when the decoder is in use)."""
        accept = METADATA_LIST_ACCEPT if self.metadata_only else None
        raw = await self.client.send(Request(path, params, accept=accept))
        if self._decoder is not None:
            return self._decoder.decode_page(raw)
        page = json.loads(raw)
        return page.get("metadata") or {}, page.get("items") or []

    async def _watchlist(self, rt: ResourceType) -> None:
        params = self._watch_params()
        params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan", resourceVersion="")
        self.store.begin_snapshot()
        events = self._events(rt.path(self.namespace), params, syncing=True)
        try:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return
            except ApiError as exc:
                if _refuses_watchlist(exc):
                    raise _WatchListRefused(exc.message) from exc
                raise
            while True:
                syncing = self.store.in_snapshot
                await self._handle(event, rt, syncing)
                try:
                    event = await events.asend(self.store.in_snapshot)
                except StopAsyncIteration:
                    break
        finally:
            await events.aclose()
            self.store.abort_snapshot()  # no-op when the end bookmark came

    async def _handle(self, event: Mapping[str, Any], rt: ResourceType, syncing: bool) -> None:
        etype, obj = _split(event)
        meta = obj.get("metadata")
        rv = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
        if etype == "BOOKMARK":
            annotations = (meta.get("annotations") if isinstance(meta, Mapping) else None) or {}
            if syncing and annotations.get(INITIAL_EVENTS_END) == "true":
                async with self.lock:
                    await self._emit(self.store.finish_snapshot())
                    self._set_rv(rv)
                    self._mark_synced("watchlist")
            elif not syncing:
                self._set_rv(rv)
            return
        try:
            ingested = self._ingest(obj, rt)
        except Exception as exc:
            named = self._skip(obj, exc)
            if not syncing:
                self._set_rv(rv)  # resume after it, not at it
                if not named:  # some stored object may now be stale, and which one is unknown: list again
                    raise _RelistDue() from exc
            return
        self._readable_again(ingested)
        if syncing:
            await self._apply(functools.partial(self.store.apply_snapshot, ingested))
            return
        async with self.lock:
            await self._emit(self.store.apply_event(etype, ingested))
            self._set_rv(rv)

    async def _list(self, rt: ResourceType) -> None:
        path = rt.path(self.namespace)
        params: dict[str, str | int] = {"limit": self.settings.page_size}
        self.store.begin_snapshot()
        first = True
        try:
            while True:
                meta, items = await self._page(path, params)
                if first:
                    self._connected()
                    first = False
                for item in items:
                    try:
                        ingested = self._ingest(item, rt)
                    except Exception as exc:
                        self._skip(item, exc)
                        continue
                    self._readable_again(ingested)
                    await self._apply(functools.partial(self.store.apply_snapshot, ingested))
                token = meta.get("continue")
                if not token:
                    break
                params = {"limit": self.settings.page_size, "continue": token}
            rv = meta.get("resourceVersion")
            if not rv or not isinstance(rv, str):
                raise ProtocolError(f"LIST {path} answered without metadata.resourceVersion")
            async with self.lock:
                await self._emit(self.store.finish_snapshot())
                self._set_rv(rv)
                self._mark_synced("list")
        finally:
            self.store.abort_snapshot()

    async def _watch(self, rt: ResourceType) -> None:
        if self._rv is None:
            return
        params = self._watch_params()
        params["resourceVersion"] = self._rv
        events = self._events(rt.path(self.namespace), params, syncing=False)
        try:
            async for event in events:
                await self._handle(event, rt, syncing=False)
        finally:
            await events.aclose()


def _error_kind(error: Exception) -> tuple[type, int | None]:
    return type(error), getattr(error, "status", None)


def _identity(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace or "", name) as the store keys an object, or None when it has no name to key it by."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    name, namespace = meta.get("name"), meta.get("namespace") or ""
    if not isinstance(name, str) or not name or not isinstance(namespace, str):
        return None
    return namespace, name


def _namespace_of(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    return str(meta.get("namespace") or "") if isinstance(meta, Mapping) else ""


def _split(event: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    etype = str(event.get("type") or "")
    obj = event.get("object")
    if not isinstance(obj, Mapping):
        raise ProtocolError(f"malformed watch event: {str(event)[:200]}")
    if etype == "ERROR":
        raise ApiError.from_status(obj)
    if etype not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        raise ProtocolError(f"unknown watch event type {etype!r}")
    return etype, obj


def _refuses_watchlist(exc: ApiError) -> bool:
    """A 4xx that rejects the WatchList parameters (feature gate off, an old server, an aggregated API)."""
    if exc.status not in (400, 403, 422) or exc.is_gone:
        return False
    text = " ".join([exc.message, *(str(c.get("field", "")) + str(c.get("message", "")) for c in exc.causes)])
    return any(s in text for s in ("sendInitialEvents", "WatchList", "resourceVersionMatch"))


def _same_as_kstatus(projector: Projector, group: str, kind: str) -> bool:
    """A projector may say that for some kinds it is exactly kstatus's (``same_as_kstatus(group, kind)``)."""
    same = getattr(projector, "same_as_kstatus", None)
    return bool(same(group, kind)) if callable(same) else False
