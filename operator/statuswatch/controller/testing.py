"""Fakes for the controller's seams, shipped with the package (as ``kopf.testing`` and httpx's mock transport
are): a scripted poll standing in for ``StatusPoller.poll`` and an in-memory status sink standing in for the
API. Typed against the real seams (:data:`~.worker.Poll`, :class:`~.statusapi.StatusSink`), so they cannot
drift from what the workers call.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from statuswatch.polling import ErrorEvent, Event, ObjMetadata, Options, ResourceUpdateEvent, SyncEvent

from .statusapi import ObjectRef, WatchGone

__all__ = ["MemorySink", "PollCall", "PostedEvent", "ScriptedPoll", "StaticScopes"]

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
    """A ``StatusSink`` that keeps every write and Event; failures can be scripted."""

    def __init__(self) -> None:
        self.writes: list[tuple[ObjectRef, dict[str, Any]]] = []
        self.events: list[PostedEvent] = []
        self.statuses: dict[ObjectRef, dict[str, Any]] = {}
        self.failures: list[BaseException] = []
        self.gone: set[ObjectRef] = set()

    async def write_status(
        self, ref: ObjectRef, status: Mapping[str, Any], previous: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        if ref in self.gone:
            raise WatchGone(str(ref))
        if self.failures:
            raise self.failures.pop(0)
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
