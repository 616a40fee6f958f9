"""Fakes for the controller's seams, shipped with the package (as ``kopf.testing`` and httpx's mock transport
are): a scripted poll standing in for ``StatusPoller.poll``, an in-memory status sink standing in for the
API, and scripted selector members standing in for the shared view. Typed against the real seams
(:data:`~.worker.Poll`, :class:`~.statusapi.StatusSink`, :data:`~.membership.MemberSource`), so they cannot
drift from what the workers call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from statuswatch.polling import ErrorEvent, Event, ObjMetadata, Options, ResourceUpdateEvent, SyncEvent

from .budget import encoded_size
from .statusapi import ObjectRef, StatusRefused, WatchGone

__all__ = ["MemorySink", "PollCall", "PostedEvent", "ScriptedMembers", "ScriptedPoll", "StaticScopes"]

_END = object()


@dataclass
class PollCall:
    """One started poll: what it was asked for, and the events still to be delivered to it."""

    identifiers: list[ObjMetadata]
    options: Options
    queue: asyncio.Queue[object] = field(default_factory=asyncio.Queue)
    closed: bool = False


class ScriptedPoll:
    """A ``Poll``: every call starts a poll whose events the test feeds with :meth:`emit`."""

    def __init__(self) -> None:
        self.calls: list[PollCall] = []

    def __call__(self, identifiers: Sequence[ObjMetadata], options: Options) -> AsyncIterator[Event]:
        call = PollCall(list(identifiers), options)
        self.calls.append(call)
        return self._events(call)

    async def _events(self, call: PollCall) -> AsyncIterator[Event]:
        try:
            while True:
                item = await call.queue.get()
                if item is _END:
                    return
                assert isinstance(item, ResourceUpdateEvent | ErrorEvent | SyncEvent)
                yield item
        finally:
            call.closed = True

    @property
    def current(self) -> PollCall:
        if not self.calls:
            raise AssertionError("no poll was started")
        return self.calls[-1]

    def emit(self, *events: Event) -> None:
        """Deliver events to the latest poll."""
        for event in events:
            self.current.queue.put_nowait(event)

    def fail(self, error: BaseException) -> None:
        self.emit(ErrorEvent(error))

    def end(self) -> None:
        """End the latest poll as if its iterator ran out."""
        self.current.queue.put_nowait(_END)


@dataclass(frozen=True)
class PostedEvent:
    ref: ObjectRef
    type: str
    reason: str
    message: str


class MemorySink:
    """A ``StatusSink`` that keeps every write and Event; failures can be scripted.

    ``uids`` (namespace, name) -> uid holds the objects as the API server has them: a write whose ref
    carries another uid is refused as the real sink's uid precondition would (:class:`WatchGone`).
    ``limit``: a status larger than this many bytes of JSON is refused for good (:class:`StatusRefused`).
    """

    def __init__(self) -> None:
        self.writes: list[tuple[ObjectRef, dict[str, Any]]] = []
        self.events: list[PostedEvent] = []
        self.statuses: dict[ObjectRef, dict[str, Any]] = {}
        self.failures: list[BaseException] = []
        self.gone: set[ObjectRef] = set()
        self.uids: dict[tuple[str, str], str] = {}
        self.limit: int | None = None
        self.refused = 0

    async def write_status(
        self, ref: ObjectRef, status: Mapping[str, Any], previous: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        if ref in self.gone:
            raise WatchGone(str(ref))
        held = self.uids.get((ref.namespace, ref.name))
        if held is not None and ref.uid and held != ref.uid:
            raise WatchGone(f"{ref} is now uid {held}")
        if self.failures:
            raise self.failures.pop(0)
        if self.limit is not None and encoded_size(status) > self.limit:
            self.refused += 1
            raise StatusRefused("500 InternalError: etcdserver: request is too large")
        stored = dict(status)
        self.writes.append((ref, stored))
        self.statuses[ref] = stored
        return stored

    async def post_event(self, ref: ObjectRef, event_type: str, reason: str, message: str) -> None:
        self.events.append(PostedEvent(ref, event_type, reason, message))


class StaticScopes:
    """A ``ScopeOf`` answering from a table: (group, kind) -> namespaced; unknown kinds -> None."""

    def __init__(self, scopes: Mapping[tuple[str, str], bool]) -> None:
        self.scopes = dict(scopes)

    async def __call__(self, group: str, kind: str) -> bool | None:
        return self.scopes.get((group, kind))


class ScriptedMembers:
    """A ``MemberSource``: the test says which names each ``(group, kind)`` selector matches with :meth:`set`
    (every open selector of that kind sees the change) or makes it fail with :meth:`fail`."""

    def __init__(self, names: Mapping[tuple[str, str], Sequence[str]] | None = None) -> None:
        self.names: dict[tuple[str, str], frozenset[str]] = {
            key: frozenset(value) for key, value in (names or {}).items()
        }
        self.errors: dict[tuple[str, str], BaseException] = {}
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self._queues: dict[tuple[str, str], list[asyncio.Queue[frozenset[str]]]] = {}

    def __call__(
        self, group: str, kind: str, namespace: str, selector: Mapping[str, Any]
    ) -> AsyncIterator[frozenset[str]]:
        self.calls.append((group, kind, namespace, dict(selector)))
        return self._members((group, kind))

    async def _members(self, key: tuple[str, str]) -> AsyncIterator[frozenset[str]]:
        if key in self.errors:
            raise self.errors[key]
        queue: asyncio.Queue[frozenset[str]] = asyncio.Queue()
        self._queues.setdefault(key, []).append(queue)
        try:
            yield self.names.get(key, frozenset())
            while True:
                yield await queue.get()
        finally:
            self._queues[key].remove(queue)

    @property
    def open(self) -> int:
        """How many member iterators are open now (each one a subscription on the real view)."""
        return sum(len(queues) for queues in self._queues.values())

    def set(self, group: str, kind: str, *names: str) -> None:
        self.names[(group, kind)] = frozenset(names)
        for queue in self._queues.get((group, kind), []):
            queue.put_nowait(frozenset(names))

    def fail(self, group: str, kind: str, error: BaseException) -> None:
        """Iterators opened from now on for that kind raise ``error`` (as a kind not installed would)."""
        self.errors[(group, kind)] = error
