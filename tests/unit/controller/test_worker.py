"""Workers and the supervisor on fakes: when they write, what they poll, how they recover (loop time)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pytest

from statuswatch.controller.statusapi import ObjectRef
from statuswatch.controller.supervisor import Supervisor
from statuswatch.controller.testing import MemorySink, ScriptedPoll
from statuswatch.controller.worker import Worker
from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, SyncEvent

from .conftest import WEB, update, worker_context

pytestmark = pytest.mark.looptime

CFG = ObjMetadata("", "ConfigMap", "shop", "cfg")
DEFAULT_IDENTIFIERS = [
    {"group": "apps", "kind": "Deployment", "name": "web"},
    {"kind": "ConfigMap", "name": "cfg"},
]


context = worker_context


def body(
    identifiers: list[dict[str, str]] | None = None,
    *,
    generation: int = 1,
    uid: str = "uid-1",
    status: Mapping[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": "w", "namespace": "shop", "uid": uid, "generation": generation},
        "spec": {
            "identifiers": identifiers
            if identifiers is not None
            else [
                {"group": "apps", "kind": "Deployment", "name": "web"},
                {"kind": "ConfigMap", "name": "cfg"},
            ],
            "pollInterval": "2s",
            **spec,
        },
    }
    if status is not None:
        result["status"] = dict(status)
    return result


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


def aggregates(sink: MemorySink) -> list[tuple[str, str]]:
    return [(status["aggregateStatus"], status["progress"]) for _, status in sink.writes]


async def test_a_new_statuswatch_gets_a_waiting_status_then_one_write_per_burst() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body())
    worker.start()
    await settle()
    assert aggregates(sink) == [("Unknown", "0/2")]
    assert sink.writes[0][1]["resources"][0]["message"] == "Waiting for the first status"
    assert poll.current.identifiers == [WEB, CFG]
    assert poll.current.options.poll_interval == 2

    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    assert aggregates(sink) == [("Unknown", "0/2"), ("InProgress", "1/2")]

    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 2/3"), update(WEB, Status.CURRENT))
    await settle()
    assert aggregates(sink)[-1] == ("Current", "2/2")
    assert len(sink.writes) == 3  # the two changes arrived together: one write
    assert [(e.type, e.reason) for e in sink.events] == [("Normal", "AllCurrent")]
    await worker.stop()
    assert poll.current.closed


class _Cause:
    """Stands for kopf's cause of an event (it holds the whole decoded body)."""


_HANDLER_CAUSE: contextvars.ContextVar[_Cause | None] = contextvars.ContextVar("cause", default=None)


async def test_a_worker_keeps_nothing_of_the_context_it_was_started_from() -> None:
    # kopf calls handlers with its cause in a context variable; a task copies its creator's context and
    # holds it while it runs, which kept one decoded body per StatusWatch alive for the worker's lifetime.
    poll, sink = ScriptedPoll(), MemorySink()
    cause = _Cause()
    seen = weakref.ref(cause)
    token = _HANDLER_CAUSE.set(cause)
    worker = Worker(context(poll, sink), body())
    worker.start()
    _HANDLER_CAUSE.reset(token)
    del cause
    await settle()
    gc.collect()
    assert worker.running
    assert seen() is None
    await worker.stop()


async def test_a_body_of_read_only_mapping_views_is_read_like_plain_dicts() -> None:
    # kopf hands out body fields as mapping views, not dicts; the worker keeps them as JSON.
    poll, sink = ScriptedPoll(), MemorySink()
    plain = body()
    viewed = {
        **plain,
        "spec": MappingProxyType(
            {
                **plain["spec"],
                "identifiers": [MappingProxyType(entry) for entry in plain["spec"]["identifiers"]],
            }
        ),
    }
    worker = Worker(context(poll, sink), viewed)
    worker.start()
    await settle()
    assert poll.current.identifiers == [WEB, CFG]
    worker.observe(plain)  # the same spec as plain dicts: no re-plan
    await settle()
    assert len(poll.calls) == 1
    await worker.stop()


async def test_nothing_is_written_before_the_first_full_cycle_nor_when_the_status_is_already_right() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    first = Worker(context(poll, sink), body())
    first.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    await first.stop()
    written = sink.writes[-1][1]

    restarted_sink = MemorySink()  # an operator restart: the object carries what the first one wrote
    restarted = Worker(context(poll, restarted_sink), body(status=written))
    restarted.start()
    await settle()
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 2/3"))
    await settle()
    assert restarted_sink.writes == []  # not synced yet: a partial view is never published
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle(5)
    assert restarted_sink.writes == []
    assert restarted_sink.events == []
    await restarted.stop()


async def test_a_spec_change_replans_the_poll_at_once() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body())
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    old = poll.current

    worker.observe(body([{"kind": "ConfigMap", "name": "cfg"}], generation=2))
    await settle()
    assert old.closed
    assert poll.current is not old
    assert poll.current.identifiers == [CFG]
    poll.emit(update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    latest = sink.writes[-1][1]
    assert latest["observedGeneration"] == 2
    assert latest["progress"] == "1/1"
    await worker.stop()


async def test_timeout_is_reported_when_it_falls_due_without_any_change() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body(timeout="10s"))
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    writes = len(sink.writes)
    await asyncio.sleep(9)
    assert len(sink.writes) == writes
    await asyncio.sleep(1.5)
    stalled = {c["type"]: c for c in sink.writes[-1][1]["conditions"]}["Stalled"]
    assert (stalled["status"], stalled["reason"]) == ("True", "Timeout")
    assert ("Warning", "TimedOut") in [(e.type, e.reason) for e in sink.events]
    await worker.stop()


async def test_a_failed_poll_reads_unknown_with_the_reason_and_is_restarted() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body())
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    poll.fail(RuntimeError("reader bug"))
    await settle()
    failed = sink.writes[-1][1]
    assert failed["aggregateStatus"] == "Unknown"
    assert failed["resources"][0]["message"] == "polling stopped (RuntimeError: reader bug); retrying in 1s"
    assert len(poll.calls) == 1
    await asyncio.sleep(1.1)
    assert len(poll.calls) == 2
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    assert sink.writes[-1][1]["aggregateStatus"] == "Current"
    await worker.stop()


async def test_other_namespaces_and_cluster_scoped_kinds_are_refused_and_never_polled() -> None:
    identifiers = [
        {"kind": "ConfigMap", "name": "cfg"},
        {"kind": "ConfigMap", "namespace": "other", "name": "secret-ish"},
        {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
    ]
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body(identifiers))
    worker.start()
    await settle()
    assert poll.current.identifiers == [CFG]
    poll.emit(update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    resources = sink.writes[-1][1]["resources"]
    assert [r["status"] for r in resources] == ["Current", "Unknown", "Unknown"]
    assert resources[1]["message"].startswith(
        "namespace 'other' is not this StatusWatch's namespace ('shop')"
    )
    assert resources[2]["message"].startswith("ClusterRole.rbac.authorization.k8s.io is cluster-scoped")
    await worker.stop()

    allowed = ScriptedPoll()
    permissive = Worker(context(allowed, MemorySink(), allow_cluster_scoped=True), body(identifiers[2:]))
    permissive.start()
    await settle()
    assert allowed.current.identifiers == [
        ObjMetadata("rbac.authorization.k8s.io", "ClusterRole", "", "admin")
    ]
    await permissive.stop()


async def test_an_invalid_spec_is_reported_and_nothing_is_polled() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body(pollInterval="soon"))
    worker.start()
    await settle()
    assert poll.calls == []
    (_, status), *_ = sink.writes
    stalled = {c["type"]: c for c in status["conditions"]}["Stalled"]
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert "spec.pollInterval" in stalled["message"]
    await worker.stop()


async def test_failed_writes_are_retried_and_a_deleted_watch_stops_its_worker() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    sink.failures.append(ConnectionError("API server restarting"))
    worker = Worker(context(poll, sink), body())
    worker.start()
    await settle()
    assert sink.writes == []
    await asyncio.sleep(0.6)
    assert aggregates(sink) == [("Unknown", "0/2")]

    sink.gone.add(ObjectRef("shop", "w", "uid-1"))
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    assert not worker.running
    assert poll.current.closed


async def test_someone_elses_status_edit_is_put_right() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body())
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.CURRENT), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    ours = sink.writes[-1][1]
    worker.observe(body(status={**ours, "aggregateStatus": "Failed"}))
    await settle()
    assert sink.writes[-1][1] == ours
    writes = len(sink.writes)
    worker.observe(body(status=ours))  # the event of our own write: nothing to do
    await settle()
    assert len(sink.writes) == writes
    await worker.stop()


async def test_supervisor_keeps_one_worker_per_object_and_follows_its_lifecycle() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = context(poll, sink)
    supervisor = Supervisor(ctx)
    await supervisor.observe(None, body())
    await supervisor.observe("MODIFIED", body())
    await settle()
    assert len(supervisor) == 1
    assert len(poll.calls) == 1
    first = supervisor.workers[("shop", "w")]

    await supervisor.observe("MODIFIED", body(uid="uid-2"))  # deleted and re-created meanwhile
    await settle()
    assert not first.running
    assert supervisor.workers[("shop", "w")].ref.uid == "uid-2"

    await supervisor.observe("DELETED", body(uid="uid-2"))
    await settle()
    assert len(supervisor) == 0
    assert all(call.closed for call in poll.calls)
    assert "controller_runtime_active_workers" in ctx.metrics.render().decode()
    await supervisor.close()


async def test_the_crds_default_status_counts_as_never_written() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(context(poll, sink), body(status={"observedGeneration": 0}))
    worker.start()
    await settle()
    assert aggregates(sink) == [("Unknown", "0/2")]  # the "waiting" status at once, as for no status
    await worker.stop()
