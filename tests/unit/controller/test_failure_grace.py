"""``failureGracePeriod`` on loop time: a Failed member reads InProgress, its failure named, until it has been
Failed that long; then Stalled. A member that recovers within the grace never stalls the StatusWatch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from statuswatch.controller.models import parse_spec
from statuswatch.controller.testing import MemorySink, ScriptedPoll
from statuswatch.controller.worker import Worker
from statuswatch.kstatus import Status
from statuswatch.polling import SyncEvent

from .conftest import WEB, condition, latest, update, worker_context
from .test_worker import CFG, body, settle

pytestmark = pytest.mark.looptime

DEPLOYMENT = [{"group": "apps", "kind": "Deployment", "name": "web"}, {"kind": "ConfigMap", "name": "cfg"}]


def web_entry(status: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = status["resources"][0]
    return entry


def stalled_ever(sink: MemorySink) -> bool:
    return any(condition(written, "Stalled")["status"] == "True" for _, written in sink.writes)


async def start(**spec: Any) -> tuple[ScriptedPoll, MemorySink, Worker]:
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(worker_context(poll, sink), body(DEPLOYMENT, **spec))
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 0/1"), update(CFG, Status.CURRENT), SyncEvent())
    await settle()
    return poll, sink, worker


async def test_failed_reads_in_progress_within_the_grace_then_stalls() -> None:
    poll, sink, worker = await start(failureGracePeriod="1m")
    poll.emit(update(WEB, Status.FAILED, "Pod web-1 CrashLoopBackOff"))
    await asyncio.sleep(30)
    within = latest(sink)
    await asyncio.sleep(31)
    after = latest(sink)
    await worker.stop()

    assert within["aggregateStatus"] == "InProgress"
    assert web_entry(within)["status"] == "InProgress"
    assert web_entry(within)["reason"] == "Failed"
    assert web_entry(within)["message"].startswith("Failed, within failureGracePeriod 1m until ")
    assert web_entry(within)["message"].endswith(": Pod web-1 CrashLoopBackOff")
    assert condition(within, "Stalled")["status"] == "False"
    assert condition(within, "Reconciling")["status"] == "True"
    assert after["aggregateStatus"] == "Failed"
    assert web_entry(after)["status"] == "Failed"
    assert condition(after, "Stalled")["status"] == "True"
    assert after["history"][0]["result"] == "Stalled"


async def test_a_member_recovering_within_the_grace_never_stalls() -> None:
    poll, sink, worker = await start(failureGracePeriod="1m")
    poll.emit(update(WEB, Status.FAILED, "Pod web-1 CrashLoopBackOff"))
    await asyncio.sleep(40)
    poll.emit(update(WEB, Status.CURRENT, "Deployment is available. Replicas: 1"))
    await asyncio.sleep(60)
    await worker.stop()

    assert not stalled_ever(sink)
    assert condition(latest(sink), "AllCurrent")["status"] == "True"


async def test_the_grace_counts_from_the_first_failure_not_from_each_report() -> None:
    poll, sink, worker = await start(failureGracePeriod="1m")
    poll.emit(update(WEB, Status.FAILED, "Pod web-1 CrashLoopBackOff"))
    await asyncio.sleep(40)
    poll.emit(update(WEB, Status.FAILED, "Pod web-1 CrashLoopBackOff (restarted 3 times)"))
    await asyncio.sleep(25)
    await worker.stop()

    assert condition(latest(sink), "Stalled")["status"] == "True"


async def test_a_members_own_grace_wins_over_the_specs() -> None:
    own = [{**DEPLOYMENT[0], "failureGracePeriod": "5m"}, DEPLOYMENT[1]]
    poll, sink = ScriptedPoll(), MemorySink()
    worker = Worker(worker_context(poll, sink), body(own, failureGracePeriod="10s"))
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.FAILED, "crash"), update(CFG, Status.CURRENT), SyncEvent())
    await asyncio.sleep(60)
    await worker.stop()

    assert condition(latest(sink), "Stalled")["status"] == "False"
    assert "within failureGracePeriod 5m" in web_entry(latest(sink))["message"]


async def test_without_a_grace_a_failure_stalls_at_once() -> None:
    poll, sink, worker = await start()
    poll.emit(update(WEB, Status.FAILED, "crash"))
    await settle()
    await worker.stop()

    assert condition(latest(sink), "Stalled")["status"] == "True"


def test_the_spec_takes_a_grace_per_statuswatch_and_per_identifier() -> None:
    spec = parse_spec(
        {"identifiers": [{**DEPLOYMENT[0], "failureGracePeriod": "2m"}], "failureGracePeriod": "30s"}
    )

    assert spec.failure_grace_period is not None
    assert spec.failure_grace_period.total_seconds() == 30
    assert spec.identifiers[0].failure_grace_period is not None
    assert spec.identifiers[0].failure_grace_period.total_seconds() == 120
