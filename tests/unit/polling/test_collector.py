"""Aggregation and the "poll until" collector (kstatus aggregator_test.go and collector_test.go)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    Event,
    ObjMetadata,
    PollUntil,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusCollector,
    SyncEvent,
    aggregate_status,
    collect,
)

A = ObjMetadata("apps", "Deployment", "ns", "a")
B = ObjMetadata("", "Service", "ns", "b")


def update(identifier: ObjMetadata, status: Status) -> ResourceUpdateEvent:
    return ResourceUpdateEvent(ResourceStatus(identifier, status, str(status)))


@pytest.mark.parametrize(
    ("statuses", "desired", "expected"),
    [
        ([], Status.CURRENT, Status.CURRENT),
        ([], Status.NOT_FOUND, Status.NOT_FOUND),
        ([Status.CURRENT], Status.CURRENT, Status.CURRENT),
        ([Status.IN_PROGRESS], Status.CURRENT, Status.IN_PROGRESS),
        ([Status.CURRENT, Status.UNKNOWN], Status.CURRENT, Status.UNKNOWN),
        ([Status.NOT_FOUND, Status.FAILED, Status.UNKNOWN], Status.CURRENT, Status.FAILED),
        ([Status.CURRENT, Status.NOT_FOUND], Status.CURRENT, Status.IN_PROGRESS),
        ([Status.NOT_FOUND, Status.NOT_FOUND], Status.NOT_FOUND, Status.NOT_FOUND),
        ([Status.CURRENT, Status.NOT_FOUND], Status.NOT_FOUND, Status.IN_PROGRESS),
    ],
)
def test_aggregate(statuses: list[Status], desired: Status, expected: Status) -> None:
    resources = [ResourceStatus(ObjMetadata("", "Pod", "ns", str(i)), s) for i, s in enumerate(statuses)]
    assert aggregate_status(resources, desired) == expected


async def stream(
    events: Sequence[Event], closed: list[bool], *, then_wait: bool = False
) -> AsyncIterator[Event]:
    try:
        for event in events:
            yield event
        if then_wait:
            await asyncio.Event().wait()
    finally:
        closed.append(True)


def test_collector_starts_unknown_and_keeps_the_latest() -> None:
    collector = StatusCollector([B, A])
    assert [s.status for s in collector.observation().statuses] == [Status.UNKNOWN, Status.UNKNOWN]
    collector.observe(update(A, Status.IN_PROGRESS))
    collector.observe(update(A, Status.CURRENT))
    collector.observe(SyncEvent())
    observation = collector.observation()
    assert [s.identifier for s in observation.statuses] == [B, A]  # by namespace, group, kind, name
    assert observation.statuses[1].status == Status.CURRENT
    assert observation.last_event is SyncEvent
    assert observation.synced


class Untouched:
    """An event stream that records whether it was read from and whether it was closed."""

    def __init__(self) -> None:
        self.reads = 0
        self.closed = False

    def __aiter__(self) -> Untouched:
        return self

    async def __anext__(self) -> Event:
        self.reads += 1
        await asyncio.sleep(0.001)  # a source that takes (loop) time, so a time-out can fall due
        return update(A, Status.IN_PROGRESS)

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("until", [PollUntil.KNOWN, PollUntil.CURRENT, PollUntil.DELETED])
async def test_no_resources_is_done_before_reading_any_event(until: PollUntil) -> None:
    events = Untouched()
    observation = await collect(events, StatusCollector([]), until)
    assert events.reads == 0  # the goal held before the first event: nothing was waited for
    assert events.closed
    assert observation.last_event is None


async def test_forever_with_no_resources_still_reads_events() -> None:
    events = Untouched()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await collect(events, StatusCollector([]), PollUntil.FOREVER)
    assert events.reads > 0
    assert events.closed


async def test_stream_end_ends_collection() -> None:
    closed: list[bool] = []
    observation = await collect(
        stream([update(A, Status.IN_PROGRESS)], closed), StatusCollector([A]), PollUntil.FOREVER
    )
    assert observation.statuses[0].status == Status.IN_PROGRESS
    assert closed == [True]


@pytest.mark.parametrize(
    ("until", "events", "used"),
    [
        (
            PollUntil.KNOWN,
            [update(A, Status.IN_PROGRESS), update(B, Status.NOT_FOUND), update(A, Status.CURRENT)],
            2,
        ),
        (
            PollUntil.CURRENT,
            [update(A, Status.CURRENT), update(B, Status.IN_PROGRESS), update(B, Status.CURRENT)],
            3,
        ),
        (
            PollUntil.DELETED,
            [update(A, Status.NOT_FOUND), update(B, Status.CURRENT), update(B, Status.NOT_FOUND)],
            3,
        ),
    ],
)
async def test_until_modes_stop_at_the_first_event_that_satisfies_them(
    until: PollUntil, events: list[Event], used: int
) -> None:
    closed: list[bool] = []
    seen: list[Event] = []
    observation = await collect(
        stream(events, closed, then_wait=True),
        StatusCollector([A, B]),
        until,
        observer=lambda _c, event: seen.append(event),
    )
    assert seen == events[:used]
    assert closed == [True]
    assert observation.error is None


async def test_forever_runs_until_cancelled() -> None:
    closed: list[bool] = []
    events = [update(A, Status.CURRENT), update(B, Status.CURRENT)]
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await collect(stream(events, closed, then_wait=True), StatusCollector([A, B]), PollUntil.FOREVER)
    assert closed == [True]


async def test_fatal_error_is_recorded_and_ends_collection() -> None:
    closed: list[bool] = []
    events: list[Event] = [
        update(A, Status.IN_PROGRESS),
        ErrorEvent(RuntimeError("gone")),
        update(A, Status.CURRENT),
    ]
    observation = await collect(stream(events, closed), StatusCollector([A]), PollUntil.CURRENT)
    assert str(observation.error) == "gone"
    assert observation.last_event is ErrorEvent
    assert observation.statuses[0].status == Status.IN_PROGRESS


def test_pending_lists_what_keeps_the_goal_away() -> None:
    collector = StatusCollector([A, B])
    collector.observe(update(A, Status.CURRENT))
    assert [s.identifier for s in collector.pending(PollUntil.CURRENT)] == [B]
    assert [s.identifier for s in collector.pending(PollUntil.KNOWN)] == [B]
    assert [s.identifier for s in collector.pending(PollUntil.DELETED)] == [B, A]
    assert collector.pending(PollUntil.FOREVER) == []
