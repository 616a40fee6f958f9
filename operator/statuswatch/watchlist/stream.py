"""One watch stream per (resource type, namespace): sync, resume, relist, fallback, fan-out.

This is the part a plain ``watch`` loop gets wrong. The stream

* syncs with a WatchList request (``sendInitialEvents=true``) and treats the BOOKMARK annotated
  ``k8s.io/initial-events-end`` as "synced";
* falls back to paged LIST + WATCH when the server refuses WatchList (remembered per server) or when no
  end bookmark arrives in time (remembered per resource type: aggregated APIs are known to omit it);
* resumes from the last resourceVersion seen on events *and* bookmarks;
* on 410 Gone, and on the optional periodic relist, lists again and reports objects that vanished as
  DELETED (see :mod:`.store`);
* reconnects with jittered exponential back-off and a client-side inactivity timeout;
* hands every change to every subscriber in order, waiting for slow ones (back-pressure, never drops).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Protocol

import aiohttp

from .connection import ApiClient, ApiError, InactivityTimeout
from .discovery import NoMatchError, ResourceType, RestMapper
from .store import Change, Store, compact

__all__ = ["Backoff", "Projector", "Stream", "StreamSettings"]

Projector = Callable[[Mapping[str, Any]], dict[str, Any]]

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
WATCHLIST_CAPABILITY = "watchlist"  # key in ApiClient.capabilities: False once the server refused it


class Listener(Protocol):
    async def deliver(self, change: Change) -> None: ...


class StreamSettings:
    """Tunables; the defaults follow client-go and kopf practice (see docs/watchlist.md)."""

    def __init__(
        self,
        *,
        inactivity_timeout: float = 70.0,
        sync_idle_deadline: float = 30.0,
        page_size: int = 500,
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: tuple[float, float] = (0.8, 30.0),
        relist_interval: float | None = None,
        filter_size: int | None = None,
    ):
        self.inactivity_timeout = inactivity_timeout
        self.sync_idle_deadline = sync_idle_deadline
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.backoff = backoff
        self.relist_interval = relist_interval
        self.filter_size = filter_size


class Backoff:
    """Jittered exponential back-off ("full jitter" between half and the whole current delay)."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None):
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0
        self._rng = rng or random.Random()

    def reset(self) -> None:
        self._attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** min(self._attempt, 30))
        self._attempt += 1
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def sleep(self) -> None:
        await asyncio.sleep(self.next_delay())


class _WatchListRefused(Exception):
    pass


class _SyncDeadline(Exception):
    pass


class _RelistDue(Exception):
    pass


class Stream:
    """The single watch of one (group, kind[, version]) in one namespace, or cluster-wide."""

    def __init__(
        self,
        client: ApiClient,
        mapper: RestMapper,
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
        self.synced = False
        self.sync_mode: str | None = None  # "watchlist" or "list", for diagnostics and tests
        self.stats = {"connects": 0, "syncs": 0, "gone": 0, "fallbacks": 0}
        self._project = projector
        self._log = logger or logging.getLogger("statuswatch.watchlist")
        self._rv: str | None = None
        self._relist_at: float | None = None
        self._listeners: list[Listener] = []
        self._state = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Stream {self.kind}.{self.group or 'core'} ns={self.namespace or '*'}>"

    # -- lifecycle and listeners -------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=repr(self))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def add_listener(self, listener: Listener) -> list[dict[str, Any]]:
        """Register; returns the objects the listener must be told about first (as ADDED)."""
        self._listeners.append(listener)
        return list(self.store.values())

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

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

    def _notify(self) -> None:
        self._state.set()
        self._state = asyncio.Event()

    def _set_error(self, error: Exception | None) -> None:
        if error is not self.error:
            self.error = error
            self._notify()

    async def _emit(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        for listener in list(self._listeners):  # a listener joining mid-batch already saw the store
            for change in changes:
                await listener.deliver(change)

    # -- the loop ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = Backoff(*self.settings.backoff)
        while True:
            started = time.monotonic()
            received = False
            try:
                rt = self.resource = await self.mapper.resolve(self.group, self.kind, self.version)
                if self._relist_at is not None and time.monotonic() >= self._relist_at:
                    self._rv = None
                if self._rv is None:
                    if self._use_watchlist(rt):
                        received = await self._watchlist(rt)
                    else:
                        received = await self._list(rt)
                        received = await self._watch(rt) or received
                else:
                    received = await self._watch(rt)
                if received or time.monotonic() - started > 1.0:
                    backoff.reset()
                    continue
                # A watch that ends at once without a single event is a failure in disguise.
                await backoff.sleep()
            except asyncio.CancelledError:
                raise
            except _RelistDue:
                self._log.debug("%r: periodic relist", self)
                self._rv = None
            except _WatchListRefused as exc:
                self._log.info("%r: server refuses WatchList (%s); using LIST+WATCH from now on", self, exc)
                self.client.capabilities[WATCHLIST_CAPABILITY] = False
                self.stats["fallbacks"] += 1
            except _SyncDeadline:
                self._log.warning("%r: no initial-events-end bookmark in time; using LIST+WATCH for it", self)
                self.client.capabilities[self._type_capability()] = False
                self.stats["fallbacks"] += 1
            except ApiError as exc:
                if exc.is_gone:
                    self._log.info("%r: resourceVersion %s is gone; relisting", self, self._rv)
                    self.stats["gone"] += 1
                    self._rv = None
                    if self.stats["gone"] % 5 == 0:  # repeated 410s: do not hammer the server
                        await backoff.sleep()
                    continue
                if exc.status == 404:
                    self.mapper.invalidate(self.group)
                if 400 <= exc.status < 500 and exc.status != 429:
                    self._set_error(exc)
                    self._log.warning("%r: %s", self, exc)
                else:
                    self._log.info("%r: transient API error: %s", self, exc)
                await backoff.sleep()
            except NoMatchError as exc:
                self._set_error(exc)
                await backoff.sleep()
            except (aiohttp.ClientError, OSError, InactivityTimeout, TimeoutError, ValueError) as exc:
                self._log.info("%r: connection lost (%s: %s); reconnecting", self, type(exc).__name__, exc)
                await backoff.sleep()

    def _type_capability(self) -> str:
        return f"{WATCHLIST_CAPABILITY}:{self.group}/{self.kind}"

    def _use_watchlist(self, rt: ResourceType) -> bool:
        caps = self.client.capabilities
        refused = caps.get(WATCHLIST_CAPABILITY) is False or caps.get(self._type_capability()) is False
        return not refused

    def _watch_params(self) -> dict[str, str | int]:
        return {
            "watch": 1,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": random.randint(*self.settings.watch_timeout),
        }

    def _healthy(self) -> None:
        self.stats["connects"] += 1
        self._set_error(None)

    def _mark_synced(self, mode: str) -> None:
        self.sync_mode = mode
        self.stats["syncs"] += 1
        if self.settings.relist_interval:
            jitter = 1 + random.random() * 0.1
            self._relist_at = time.monotonic() + self.settings.relist_interval * jitter
        if not self.synced:
            self.synced = True
            self._notify()

    def _ingest(self, raw: Mapping[str, Any], rt: ResourceType) -> dict[str, Any]:
        obj: dict[str, Any] = compact(self._project(raw))
        # List items carry no apiVersion/kind; consumers rely on both.
        if not obj.get("apiVersion"):
            obj["apiVersion"] = rt.api_version
        if not obj.get("kind"):
            obj["kind"] = rt.kind
        return obj

    async def _events(
        self, path: str, params: Mapping[str, str | int], syncing: bool
    ) -> AsyncGenerator[dict[str, Any], bool | None]:
        """Events of one watch request, cut short when a relist is due or the initial sync stalls.

        Only the wait for the next line is bounded: a change being handed to subscribers is never
        interrupted half-way.
        """
        lines = self.client.stream_lines(
            path,
            params,
            inactivity_timeout=self.settings.inactivity_timeout,
            on_open=self._healthy,
        )
        last_progress = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                budget: float | None = None
                if syncing:
                    budget = last_progress + self.settings.sync_idle_deadline - now
                elif self._relist_at is not None:
                    budget = self._relist_at - now
                try:
                    async with asyncio.timeout(max(budget, 0.0) if budget is not None else None):
                        event = await anext(lines)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise (_SyncDeadline() if syncing else _RelistDue()) from None
                if event.get("type") != "BOOKMARK":
                    last_progress = time.monotonic()
                syncing = bool((yield event))
        finally:
            await lines.aclose()

    async def _watchlist(self, rt: ResourceType) -> bool:
        params = self._watch_params()
        params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan", resourceVersion="")
        self.store.begin_snapshot()
        received = False
        events = self._events(rt.path(self.namespace), params, syncing=True)
        try:
            try:
                event = await anext(events)
            except StopAsyncIteration:
                return False
            except ApiError as exc:
                if _refuses_watchlist(exc):
                    raise _WatchListRefused(exc.message) from exc
                raise
            while True:
                received = True
                etype, obj = _split(event)
                syncing = self.store.in_snapshot
                if etype == "BOOKMARK":
                    annotations = (obj.get("metadata") or {}).get("annotations") or {}
                    rv = (obj.get("metadata") or {}).get("resourceVersion")
                    if syncing and annotations.get(INITIAL_EVENTS_END) == "true":
                        await self._emit(self.store.finish_snapshot())
                        self._rv = rv or None
                        self._mark_synced("watchlist")
                    elif not syncing and rv:
                        self._rv = rv
                elif syncing:
                    await self._emit(self.store.apply_snapshot(self._ingest(obj, rt)))
                else:
                    await self._emit(self.store.apply_event(etype, self._ingest(obj, rt)))
                    self._rv = (obj.get("metadata") or {}).get("resourceVersion") or self._rv
                try:
                    event = await events.asend(self.store.in_snapshot)
                except StopAsyncIteration:
                    break
        finally:
            await events.aclose()
            self.store.abort_snapshot()  # no-op when the end bookmark came
        return received

    async def _list(self, rt: ResourceType) -> bool:
        path = rt.path(self.namespace)
        params: dict[str, str | int] = {"limit": self.settings.page_size}
        self.store.begin_snapshot()
        try:
            while True:
                page = await self.client.get_json(path, params)
                self._healthy()
                for item in page.get("items") or []:
                    await self._emit(self.store.apply_snapshot(self._ingest(item, rt)))
                meta = page.get("metadata") or {}
                token = meta.get("continue")
                if not token:
                    break
                params = {"limit": self.settings.page_size, "continue": token}
            await self._emit(self.store.finish_snapshot())
        finally:
            self.store.abort_snapshot()
        self._rv = meta.get("resourceVersion") or None
        self._mark_synced("list")
        return True

    async def _watch(self, rt: ResourceType) -> bool:
        if self._rv is None:
            return False
        params = self._watch_params()
        params["resourceVersion"] = self._rv
        received = False
        events = self._events(rt.path(self.namespace), params, syncing=False)
        try:
            async for event in events:
                received = True
                etype, obj = _split(event)
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if etype != "BOOKMARK":
                    await self._emit(self.store.apply_event(etype, self._ingest(obj, rt)))
                if rv:
                    self._rv = rv
        finally:
            await events.aclose()
        return received


def _split(event: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    etype = str(event.get("type") or "")
    obj = event.get("object")
    if not isinstance(obj, Mapping):
        raise ValueError(f"malformed watch event: {str(event)[:200]}")
    if etype == "ERROR":
        raise ApiError.from_status(obj)
    if etype not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK"):
        raise ValueError(f"unknown watch event type {etype!r}")
    return etype, obj


def _refuses_watchlist(exc: ApiError) -> bool:
    """A 4xx that rejects the WatchList parameters (feature gate off, or an old server)."""
    if exc.status not in (400, 403, 422) or exc.is_gone:
        return False
    text = " ".join([exc.message, *(str(c.get("field", "")) + str(c.get("message", "")) for c in exc.causes)])
    return any(s in text for s in ("sendInitialEvents", "WatchList", "resourceVersionMatch"))
