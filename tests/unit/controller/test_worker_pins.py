"""What the worker promises, pinned one behaviour per test (the 2026-12 mutation audit found these unpinned):
when it marks itself dirty, how it tells a spec change, that it writes only what changed, the scope check
of a kind unknown at planning, and the Events metric (loop time)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuswatch.controller.metrics import Metrics
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import Worker, WorkerContext
from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, ResourceStatus, ResourceUpdateEvent, SyncEvent

pytestmark = pytest.mark.looptime

EPOCH = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
WEB = ObjMetadata("apps", "Deployment", "shop", "web")
WIDGET = ObjMetadata("example.io", "Widget", "shop", "w1")


def clock() -> datetime:
    return EPOCH + timedelta(seconds=asyncio.get_running_loop().time())


def make(
    sink: MemorySink, poll: ScriptedPoll, scopes: dict[tuple[str, str], bool] | None = None, **kw: Any
) -> WorkerContext:
    return WorkerContext(
        poll=poll,
        scope_of=StaticScopes(scopes if scopes is not None else {("apps", "Deployment"): True}),
        sink=sink,
        metrics=Metrics(),
        settings=OperatorSettings(poll_restart_backoff=(1.0,), write_retry=(0.5,), **kw),
        logger=logging.getLogger("test"),
        now=clock,
    )


def body(generation: int = 1, identifiers: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "w", "namespace": "shop", "uid": "uid-1", "generation": generation},
        "spec": {
            "identifiers": identifiers or [{"group": "apps", "kind": "Deployment", "name": "web"}],
            "pollInterval": "2s",
            **spec,
        },
    }


def update(identifier: ObjMetadata, status: Status, message: str = "") -> ResourceUpdateEvent:
    return ResourceUpdateEvent(ResourceStatus(identifier, status, message or f"{status.value}!"))


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def started(ctx: WorkerContext, poll: ScriptedPoll, sink: MemorySink, **spec: Any) -> Worker:
    worker = Worker(ctx, body(**spec))
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"), SyncEvent())
    await settle()
    return worker


async def test_nothing_is_written_before_the_first_full_cycle_and_one_write_follows_it() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(make(sink, poll), body())
    worker.start()
    await settle()
    assert len(sink.writes) == 1  # the waiting status only
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"))
    await settle(10)
    assert len(sink.writes) == 1  # a report before the sync marks dirty, but nothing is written yet
    poll.emit(SyncEvent())
    await settle()
    assert [s["aggregateStatus"] for _, s in sink.writes] == ["Unknown", "InProgress"]
    await worker.stop()


async def test_an_unchanged_report_writes_nothing_and_a_changed_message_writes_once() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = await started(make(sink, poll), poll, sink)
    writes = len(sink.writes)
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"), SyncEvent())
    await settle(5)
    assert len(sink.writes) == writes  # same status: no request
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 2/3"))
    await settle()
    assert len(sink.writes) == writes + 1
    assert sink.writes[-1][1]["resources"][0]["message"] == "Ready: 2/3"
    await worker.stop()


async def test_a_spec_change_replans_and_the_same_spec_again_does_not() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = await started(make(sink, poll), poll, sink)
    assert len(poll.calls) == 1
    worker.observe(body())  # the same generation and spec (e.g. the event of our own write)
    await settle()
    assert len(poll.calls) == 1
    worker.observe(body(pollInterval="3s"))  # same generation, other spec: still a change
    await settle()
    assert len(poll.calls) == 2
    assert poll.current.options.poll_interval == 3
    worker.observe(body(generation=2, pollInterval="3s"))  # other generation, same spec: a change too
    await settle()
    assert len(poll.calls) == 3
    await worker.stop()


async def test_a_kind_unknown_when_planned_is_refused_once_it_turns_out_cluster_scoped() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    scopes: dict[tuple[str, str], bool] = {("apps", "Deployment"): True}
    ctx = make(sink, poll, scopes)
    identifiers = [
        {"group": "apps", "kind": "Deployment", "name": "web"},
        {"group": "example.io", "kind": "Widget", "name": "w1"},
    ]
    worker = Worker(ctx, body(identifiers=identifiers))
    worker.start()
    await settle()
    assert poll.current.identifiers == [WEB, WIDGET]  # not known yet: polled in the StatusWatch's namespace
    assert isinstance(ctx.scope_of, StaticScopes)
    ctx.scope_of.scopes[("example.io", "Widget")] = False  # its CRD appears, cluster-scoped
    poll.emit(update(WIDGET, Status.UNKNOWN, "Kind not installed"))
    await settle()
    assert len(poll.calls) == 1  # an Unknown answer is no news about the scope
    poll.emit(update(WIDGET, Status.CURRENT), update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    assert len(poll.calls) == 2
    assert poll.current.identifiers == [WEB]
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    refused = sink.writes[-1][1]["resources"][1]
    assert refused["status"] == "Unknown"
    assert "cluster-scoped" in refused["message"]
    await worker.stop()


async def test_posted_events_are_counted_by_reason_and_failed_posts_are_not() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = make(sink, poll)
    worker = await started(ctx, poll, sink)
    poll.emit(update(WEB, Status.CURRENT))
    await settle()
    events = ctx.metrics.events_posted
    assert events.labels(reason="AllCurrent")._value.get() == 1

    async def refuse(*args: Any) -> None:
        raise ConnectionError("events are down")

    sink.post_event = refuse  # type: ignore[method-assign,assignment]
    poll.emit(update(WEB, Status.IN_PROGRESS))
    await settle()
    poll.emit(update(WEB, Status.CURRENT))
    await settle()
    assert events.labels(reason="AllCurrent")._value.get() == 1
    assert sink.writes[-1][1]["aggregateStatus"] == "Current"  # a failed Event never stops the status
    await worker.stop()


async def test_a_burst_of_changes_is_one_write_and_one_latency_sample_from_its_first_change() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = make(sink, poll)
    worker = await started(ctx, poll, sink)
    registry = ctx.metrics.registry

    def samples() -> float:
        return registry.get_sample_value("statuswatch_change_to_status_seconds_count") or 0.0

    count = samples()
    writes = len(sink.writes)
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 2/3"), update(WEB, Status.IN_PROGRESS, "Ready: 3/3"))
    await settle()
    assert len(sink.writes) == writes + 1
    assert samples() == count + 1
    await worker.stop()
