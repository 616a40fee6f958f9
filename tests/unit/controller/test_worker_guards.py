"""Workers on fakes, for the defects of the 2026-12 review: members counted once, writes that cannot land in
the wrong object or be refused for good, a first status that claims only what it knows (loop time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuswatch.controller.metrics import Metrics
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.supervisor import Supervisor
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import Worker, WorkerContext
from statuswatch.kstatus import Status
from statuswatch.polling import (
    NotSyncedError,
    ObjMetadata,
    ResourceStatus,
    ResourceUpdateEvent,
    SyncEvent,
    describe_error,
)
from statuswatch.watchlist.connection import ApiError

pytestmark = pytest.mark.looptime

EPOCH = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RBAC = "rbac.authorization.k8s.io"
SCOPES = {("apps", "Deployment"): True, ("", "ConfigMap"): True, (RBAC, "ClusterRole"): False}
WEB = ObjMetadata("apps", "Deployment", "shop", "web")
ADMIN = ObjMetadata(RBAC, "ClusterRole", "", "admin")


def clock() -> datetime:
    return EPOCH + timedelta(seconds=asyncio.get_running_loop().time())


def context(poll: ScriptedPoll, sink: MemorySink, **settings: Any) -> WorkerContext:
    return WorkerContext(
        poll=poll,
        scope_of=StaticScopes(SCOPES),
        sink=sink,
        metrics=Metrics(),
        settings=OperatorSettings(poll_restart_backoff=(1.0,), write_retry=(0.5,), **settings),
        logger=logging.getLogger("test"),
        now=clock,
    )


def body(
    identifiers: list[dict[str, Any]],
    *,
    generation: int = 1,
    uid: str = "uid-1",
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": "w", "namespace": "shop", "uid": uid, "generation": generation},
        "spec": {"identifiers": identifiers, "pollInterval": "2s"},
    }
    if status is not None:
        result["status"] = dict(status)
    return result


def update(identifier: ObjMetadata, status: Status) -> ResourceUpdateEvent:
    return ResourceUpdateEvent(ResourceStatus(identifier, status, f"{status.value}!"))


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def test_a_cluster_scoped_identifier_given_with_and_without_a_namespace_counts_once() -> None:
    # N12: the spec's repeat check cannot know the scope; planning folded both into one polled object but
    # listed it twice, so progress read 3/3 for two objects.
    poll, sink = ScriptedPoll(), MemorySink()
    identifiers = [
        {"group": RBAC, "kind": "ClusterRole", "name": "admin"},
        {"group": "apps", "kind": "Deployment", "name": "web"},
        {"group": RBAC, "kind": "ClusterRole", "name": "admin", "namespace": "other"},
    ]
    worker = Worker(context(poll, sink, allow_cluster_scoped=True), body(identifiers))
    worker.start()
    await settle()
    assert poll.current.identifiers == [ADMIN, WEB]
    poll.emit(update(ADMIN, Status.CURRENT), update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    status = sink.writes[-1][1]
    assert status["progress"] == "2/2"
    assert [(entry["kind"], entry["name"]) for entry in status["resources"]] == [
        ("ClusterRole", "admin"),
        ("Deployment", "web"),
    ]
    await worker.stop()


async def test_a_worker_of_a_deleted_statuswatch_stops_rather_than_write_into_its_successor() -> None:
    # N2: the successor has the same name (and generation 1), but another uid.
    poll, sink = ScriptedPoll(), MemorySink()
    sink.uids[("shop", "w")] = "uid-1"
    worker = Worker(context(poll, sink), body([{"group": "apps", "kind": "Deployment", "name": "web"}]))
    worker.start()
    await settle()
    assert len(sink.writes) == 1
    sink.uids[("shop", "w")] = "uid-2"
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    assert len(sink.writes) == 1
    assert not worker.running
    await worker.stop()


async def test_a_status_refused_for_good_becomes_a_summary_that_says_why_and_spec_changes_still_count() -> (
    None
):
    # N3: the refused write was retried forever and the worker never looked at its spec again.
    poll, sink = ScriptedPoll(), MemorySink()
    names = [f"web-{index:03d}-" + "n" * 200 for index in range(120)]
    identifiers = [{"group": "apps", "kind": "Deployment", "name": name} for name in names]
    worker = Worker(context(poll, sink), body(identifiers))
    worker.start()
    await settle()
    sink.limit = 20 * 1024  # the full status is ~40 KiB; a summary gets 16 KiB
    members = [ObjMetadata("apps", "Deployment", "shop", name) for name in names]
    poll.emit(*(update(member, Status.CURRENT) for member in members[1:]), SyncEvent())
    await settle()
    assert sink.refused >= 1
    status = sink.writes[-1][1]
    summary = status["conditions"][-1]
    assert (summary["type"], summary["status"], summary["reason"]) == (
        "ResourcesSummarized",
        "True",
        "WriteRefused",
    )
    assert "etcdserver: request is too large" in summary["message"]
    assert status["resourceCounts"] == {"Current": 119, "Unknown": 1}
    assert status["resources"][0]["name"] == names[0]  # the one not Current comes first
    assert status["progress"] == "119/120"

    writes, refused = len(sink.writes), sink.refused
    poll.emit(update(members[0], Status.CURRENT))
    await settle()
    assert sink.refused == refused  # not the full status again: straight to the summary
    assert len(sink.writes) == writes + 1
    assert sink.writes[-1][1]["progress"] == "120/120"

    worker.observe(body(identifiers[:2], generation=2))
    await settle()
    assert poll.current.identifiers == members[:2]
    poll.emit(update(members[0], Status.CURRENT), update(members[1], Status.CURRENT), SyncEvent())
    await settle()
    status = sink.writes[-1][1]
    assert status["observedGeneration"] == 2
    assert "resourceCounts" not in status
    await worker.stop()


async def test_a_spec_edited_while_planning_never_gets_a_status_claiming_it_with_the_old_members() -> None:
    # N10: the waiting status of the old plan claimed the new generation.
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = context(poll, sink)

    async def slow_scope(group: str, kind: str) -> bool | None:
        await asyncio.sleep(0.2)  # discovery on a slow API server
        return True

    ctx.scope_of = slow_scope
    worker = Worker(ctx, body([{"group": "apps", "kind": "Deployment", "name": "old"}]))
    worker.start()
    await settle()
    worker.observe(body([{"group": "apps", "kind": "Deployment", "name": "new"}], generation=2))
    await settle(1.0)
    claims = [
        (status["observedGeneration"], [r["name"] for r in status["resources"]]) for _, status in sink.writes
    ]
    assert claims
    assert all(claim in ((1, ["old"]), (2, ["new"])) for claim in claims), claims
    assert claims[-1] == (2, ["new"])
    await worker.stop()


# -- N1: workers that recover ---------------------------------------------------------------------------

RULE = {"apiVersion": "apps/v1", "kind": "Deployment", "current": "true"}


class FlakyPollers:
    """A ``PollerFor`` that fails the first ``failures`` times (a bug, an unforeseen answer)."""

    def __init__(self, poll: ScriptedPoll, failures: int) -> None:
        self.poll, self.failures, self.calls = poll, failures, 0

    def __call__(self, readers: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("an unforeseen bug")
        return self.poll


def watched(**spec: Any) -> dict[str, Any]:
    result = body([{"group": "apps", "kind": "Deployment", "name": "web"}])
    result["spec"].update(spec)
    return result


async def test_a_worker_that_fails_is_started_again_by_the_supervisor() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = context(poll, sink)
    pollers = FlakyPollers(poll, failures=2)
    ctx.poller_for = pollers
    supervisor = Supervisor(ctx)
    await supervisor.observe("ADDED", watched(healthChecks=[RULE]))
    await settle(0.5)
    assert pollers.calls == 1
    assert not supervisor.workers[("shop", "w")].running
    await settle(1.0)  # poll_restart_backoff: 1 s
    assert pollers.calls == 2
    await settle(1.0)
    assert pollers.calls == 3
    worker = supervisor.workers[("shop", "w")]
    assert worker.running
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    assert sink.writes[-1][1]["aggregateStatus"] == "Current"
    # Later events reach the new worker.
    await supervisor.observe(
        "MODIFIED", watched(healthChecks=[RULE]) | {"metadata": worker.body()["metadata"]}
    )
    assert len(supervisor) == 1
    await supervisor.close()
    assert len(supervisor) == 0


async def test_a_worker_whose_object_is_gone_is_dropped_and_the_next_event_serves_it_again() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    supervisor = Supervisor(context(poll, sink))
    await supervisor.observe("ADDED", watched())
    await settle()
    ref = supervisor.workers[("shop", "w")].ref
    sink.gone.add(ref)
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    assert len(supervisor) == 0  # never outlives its object
    sink.gone.clear()
    await supervisor.observe("MODIFIED", watched())
    await settle()
    assert supervisor.workers[("shop", "w")].running
    await supervisor.close()


async def test_a_restart_pending_when_the_statuswatch_is_deleted_never_happens() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = context(poll, sink)
    pollers = FlakyPollers(poll, failures=1)
    ctx.poller_for = pollers
    supervisor = Supervisor(ctx)
    await supervisor.observe("ADDED", watched(healthChecks=[RULE]))
    await settle(0.5)
    await supervisor.observe("DELETED", watched(healthChecks=[RULE]))
    await settle(2.0)
    assert pollers.calls == 1
    assert len(supervisor) == 0


# -- N9: retries from the latest state ------------------------------------------------------------------


async def test_a_failed_write_is_retried_with_the_latest_status_not_the_one_that_failed() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), watched())
    worker.start()
    await settle()
    assert len(sink.writes) == 1  # the waiting status
    sink.failures.extend([ApiError(500, "InternalError", "etcd leader changed")] * 3)
    poll.emit(update(WEB, Status.IN_PROGRESS), SyncEvent())
    await settle()
    poll.emit(update(WEB, Status.CURRENT))  # while the InProgress status is still failing
    await settle(3.0)
    assert [status["aggregateStatus"] for _, status in sink.writes] == ["Unknown", "Current"]
    await worker.stop()


async def test_retry_after_is_honoured_and_a_spec_change_meanwhile_is_followed() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), watched())
    worker.start()
    await settle()
    throttled = ApiError(429, "TooManyRequests", "too many requests", {"retryAfterSeconds": 7})
    sink.failures.append(throttled)
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle(6.5)
    assert len(sink.writes) == 1  # write_retry says 0.5 s; the API server said 7
    await settle(1.0)
    assert sink.writes[-1][1]["aggregateStatus"] == "Current"

    sink.failures.extend([ApiError(503, "ServiceUnavailable", "restarting", {"retryAfterSeconds": 30})])
    poll.emit(update(WEB, Status.IN_PROGRESS))
    await settle()
    worker.observe(body([{"kind": "ConfigMap", "name": "cfg"}], generation=2))
    await settle()
    assert poll.current.identifiers == [ObjMetadata("", "ConfigMap", "shop", "cfg")]  # not stuck in a retry
    await worker.stop()


# -- N4: after an operator restart, the status found stands until the view has synced --------------------


def not_synced(identifier: ObjMetadata) -> ResourceUpdateEvent:
    error = NotSyncedError("deployment.apps in shop")
    return ResourceUpdateEvent(ResourceStatus(identifier, Status.UNKNOWN, describe_error(error), error=error))


async def _restarted(**settings: Any) -> tuple[ScriptedPoll, MemorySink, Worker, dict[str, Any]]:
    """A worker started (as after an operator restart) on a StatusWatch whose status is right and Current."""
    poll, sink = ScriptedPoll(), MemorySink()
    first = Worker(context(poll, sink), watched())
    first.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    await first.stop()
    written = sink.writes[-1][1]
    sink.writes.clear()
    sink.events.clear()
    restarted = Worker(context(poll, sink, **settings), watched() | {"status": written})
    restarted.start()
    await settle()
    return poll, sink, restarted, written


async def test_a_restarted_operator_keeps_the_status_while_the_view_is_slow_to_sync() -> None:
    poll, sink, worker, _ = await _restarted()
    poll.emit(not_synced(WEB), SyncEvent())  # the engine's first cycle gave up waiting (30 s)
    await settle(60)
    assert sink.writes == []  # not Unknown "not synced yet" and back
    poll.emit(update(WEB, Status.CURRENT))
    await settle()
    assert sink.writes == []
    assert sink.events == []
    await worker.stop()


async def test_the_status_found_stands_only_for_the_grace() -> None:
    poll, sink, worker, _ = await _restarted(restart_grace=20.0)
    poll.emit(not_synced(WEB), SyncEvent())
    await settle(19)
    assert sink.writes == []
    await settle(2)
    assert [status["aggregateStatus"] for _, status in sink.writes] == ["Unknown"]
    assert "not synced yet" in sink.writes[-1][1]["resources"][0]["message"]
    await worker.stop()


async def test_a_real_change_after_the_restart_is_written_at_once() -> None:
    poll, sink, worker, _ = await _restarted()
    poll.emit(update(WEB, Status.IN_PROGRESS), SyncEvent())
    await settle()
    assert [status["aggregateStatus"] for _, status in sink.writes] == ["InProgress"]
    await worker.stop()


async def test_the_late_event_of_an_older_write_of_ours_changes_nothing_and_posts_no_second_event() -> None:
    # N8: kopf delivered the waiting status's event after the Current one had been written; the worker took
    # it for an outside edit, wrote Current again and posted AllCurrent a second time.
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), watched())
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    waiting, current = (status for _, status in sink.writes)
    assert [e.reason for e in sink.events] == ["AllCurrent"]
    worker.observe(watched() | {"status": waiting})  # late
    worker.observe(watched() | {"status": current})
    await settle()
    assert len(sink.writes) == 2
    assert [e.reason for e in sink.events] == ["AllCurrent"]
    await worker.stop()
