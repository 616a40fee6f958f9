"""Collect a stream of events into the latest status per identifier, and stop when a goal is reached.

``aggregate_status`` lives here, beside its only user in this package: it applies kstatus's aggregation
rules (in ``statuswatch.kstatus``) to ``ResourceStatus`` values, it is not a second set of rules.

The engine never stops by itself; deciding "done" is the caller's business. ``StatusCollector`` keeps the
latest observation (every identifier starts ``Unknown``, as in kstatus) and ``PollUntil`` names the four
stopping rules of kstatus's status command. ``collect`` drives a stream with them and closes it when done.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

from statuswatch.kstatus import Status, aggregate

from .events import ErrorEvent, Event, ResourceStatus, ResourceUpdateEvent, SyncEvent
from .identifiers import ObjMetadata

__all__ = ["Observation", "PollUntil", "StatusCollector", "aggregate_status", "collect"]


def aggregate_status(statuses: Iterable[ResourceStatus], desired: Status = Status.CURRENT) -> Status:
    """Empty -> ``desired``; any Failed -> Failed; any Unknown -> Unknown; all ``desired`` -> it; else
    InProgress."""
    return Status(aggregate([status.status for status in statuses], desired))


class PollUntil(enum.StrEnum):
    """When to stop: every status known, all Current, all NotFound, or never."""

    KNOWN = "known"
    CURRENT = "current"
    DELETED = "deleted"
    FOREVER = "forever"

    def reached(self, collector: StatusCollector) -> bool:
        if self is PollUntil.KNOWN:
            return all(status.status != Status.UNKNOWN for status in collector.statuses.values())
        if self is PollUntil.CURRENT:
            return collector.aggregate(Status.CURRENT) == Status.CURRENT
        if self is PollUntil.DELETED:
            return collector.aggregate(Status.NOT_FOUND) == Status.NOT_FOUND
        return False

    @property
    def desired(self) -> Status | None:
        """The status every identifier should reach, for the modes that have one."""
        return {PollUntil.CURRENT: Status.CURRENT, PollUntil.DELETED: Status.NOT_FOUND}.get(self)


@dataclass(frozen=True)
class Observation:
    """A snapshot: the latest status per identifier (sorted), the last event kind and any fatal error."""

    statuses: tuple[ResourceStatus, ...]
    last_event: type[Event] | None
    error: BaseException | None
    synced: bool


class StatusCollector:
    """The latest ``ResourceStatus`` per identifier, fed one event at a time."""

    def __init__(self, identifiers: Iterable[ObjMetadata]) -> None:
        self.statuses: dict[ObjMetadata, ResourceStatus] = {
            identifier: ResourceStatus(identifier, Status.UNKNOWN) for identifier in identifiers
        }
        self.last_event: type[Event] | None = None
        self.error: BaseException | None = None
        self.synced = False

    def observe(self, event: Event) -> None:
        self.last_event = type(event)
        if isinstance(event, ResourceUpdateEvent):
            self.statuses[event.resource.identifier] = event.resource
        elif isinstance(event, ErrorEvent):
            self.error = event.error
        elif isinstance(event, SyncEvent):
            self.synced = True

    def aggregate(self, desired: Status = Status.CURRENT) -> Status:
        return aggregate_status(self.statuses.values(), desired)

    def pending(self, until: PollUntil) -> list[ResourceStatus]:
        """Statuses that keep ``until`` from being reached (for "still not ready" reports)."""
        desired = until.desired
        if until is PollUntil.KNOWN:
            return [s for s in self.observation().statuses if s.status == Status.UNKNOWN]
        if desired is None:
            return []
        return [s for s in self.observation().statuses if s.status != desired]

    def observation(self) -> Observation:
        ordered = tuple(
            self.statuses[key]
            for key in sorted(self.statuses, key=lambda i: (i.namespace, i.group, i.kind, i.name))
        )
        return Observation(ordered, self.last_event, self.error, self.synced)


async def collect(
    events: AsyncIterator[Event],
    collector: StatusCollector,
    until: PollUntil,
    *,
    observer: Callable[[StatusCollector, Event], None] | None = None,
) -> Observation:
    """Feed ``events`` into ``collector`` until ``until`` holds, an ``ErrorEvent`` comes or the stream ends.

    The stream is closed on return (and on cancellation, e.g. by an enclosing ``asyncio.timeout``).
    """
    try:
        if until.reached(collector):
            return collector.observation()
        async for event in events:
            collector.observe(event)
            if observer is not None:
                observer(collector, event)
            if isinstance(event, ErrorEvent) or until.reached(collector):
                break
        return collector.observation()
    finally:
        closer = getattr(events, "aclose", None)
        if closer is not None:
            await closer()
