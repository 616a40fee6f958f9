"""``status.history`` from tables: each row is a StatusWatch's life as a sequence of statuses the operator
builds (each one from the previous, as written), and the history and ended episodes that must result."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from statuswatch.controller.conditions import build_status
from statuswatch.controller.models import MAX_HISTORY, ResourceReport, StatusWatchSpec
from statuswatch.controller.testing import MemorySink, ScriptedPoll
from statuswatch.controller.worker import Worker, WorkerContext
from statuswatch.kstatus import Status
from statuswatch.polling import SyncEvent

from .cases import at, current, failed, report, rolling, spec, stamp
from .conftest import WEB, update, worker_context
from .test_worker import CFG, body, settle

ONE = spec(count=1)
ONE_TIMEOUT = spec(timeout="5m", count=1)
GONE = spec(desired="NotFound", count=1)


@dataclass(frozen=True)
class Step:
    now: datetime
    reports: tuple[ResourceReport, ...]
    generation: int = 1
    spec: StatusWatchSpec = ONE


def step(minutes: float, *reports: ResourceReport, generation: int = 1, spec: StatusWatchSpec = ONE) -> Step:
    return Step(at(minutes), reports, generation, spec)


def run(steps: list[Step], previous: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[list[str]]]:
    """The last status, and the results of the episodes each step ended."""
    ended: list[list[str]] = []
    for one in steps:
        update = build_status(
            previous=previous,
            generation=one.generation,
            spec=one.spec,
            spec_error=None,
            reports=one.reports,
            now=one.now,
        )
        ended.append([episode.result for episode in update.ended])
        previous = update.status
    assert previous is not None
    return previous, ended


def entry(
    started: datetime, finished: datetime, duration: str, result: str, generation: int = 1, **blocker: str
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "observedGeneration": generation,
        "started": stamp(started),
        "finished": stamp(finished),
        "duration": duration,
        "result": result,
    }
    if blocker:
        item["blocker"] = blocker
    return item


CASES: list[tuple[str, list[Step], list[dict[str, Any]], list[list[str]]]] = [
    (
        "first-rollout-ends-current",
        [step(0, rolling("app0")), step(1, rolling("app0", 2)), step(3, current("app0"))],
        [entry(at(0), at(3), "3m", "Current")],
        [[], [], ["Current"]],
    ),
    (
        "no-episode-while-current",
        [step(0, current("app0")), step(5, current("app0"))],
        [],
        [[], []],
    ),
    (
        "a-new-rollout-starts-when-allcurrent-stops-being-true",
        [step(0, current("app0")), step(10, rolling("app0")), step(12.5, current("app0"))],
        [entry(at(10), at(12.5), "2m30s", "Current")],
        [[], [], ["Current"]],
    ),
    (
        "unknown-and-back-stays-one-episode",
        [
            step(0, current("app0")),
            step(1, rolling("app0")),
            step(2, report("app0", Status.UNKNOWN, "watch failing")),
            step(3, rolling("app0")),
            step(4, current("app0")),
        ],
        [entry(at(1), at(4), "3m", "Current")],
        [[], [], [], [], ["Current"]],
    ),
    (
        "a-failure-stalls-with-its-blocker",
        [
            step(0, current("app0")),
            step(1, rolling("app0")),
            step(
                6,
                report(
                    "app0", Status.FAILED, "Progress deadline exceeded", reason="ProgressDeadlineExceeded"
                ),
            ),
        ],
        [
            entry(
                at(1),
                at(6),
                "5m",
                "Stalled",
                member="deployment/app0",
                reason="ProgressDeadlineExceeded",
                message="Progress deadline exceeded",
            )
        ],
        [[], [], ["Stalled"]],
    ),
    (
        "failed-straight-from-current-is-an-episode-of-no-time",
        [step(0, current("app0")), step(2, failed("app0")), step(3, failed("app0"))],
        [
            entry(
                at(2),
                at(2),
                "0s",
                "Stalled",
                member="deployment/app0",
                reason="Failed",
                message="Progress deadline exceeded",
            )
        ],
        [[], ["Stalled"], []],
    ),
    (
        "recovery-after-a-stall-is-a-new-episode",
        [
            step(0, rolling("app0")),
            step(1, failed("app0")),
            step(2, rolling("app0")),
            step(4, current("app0")),
        ],
        [
            entry(at(2), at(4), "2m", "Current"),
            entry(
                at(0),
                at(1),
                "1m",
                "Stalled",
                member="deployment/app0",
                reason="Failed",
                message="Progress deadline exceeded",
            ),
        ],
        [[], ["Stalled"], [], ["Current"]],
    ),
    (
        "timeout",
        [
            step(0, rolling("app0"), spec=ONE_TIMEOUT),
            step(4, rolling("app0"), spec=ONE_TIMEOUT),
            step(5, rolling("app0"), spec=ONE_TIMEOUT),
        ],
        [
            entry(
                at(0),
                at(5),
                "5m",
                "Timeout",
                member="deployment/app0",
                reason="Timeout",
                message="Ready: 1/3",
            )
        ],
        [[], [], ["Timeout"]],
    ),
    (
        "a-spec-change-supersedes-the-open-episode",
        [
            step(0, rolling("app0")),
            step(2, rolling("app0"), generation=2),
            step(3, current("app0"), generation=2),
        ],
        [entry(at(2), at(3), "1m", "Current", generation=2), entry(at(0), at(2), "2m", "Superseded")],
        [[], ["Superseded"], ["Current"]],
    ),
    (
        "deletion-wanted-ends-notfound",
        [
            step(0, current("app0"), spec=GONE),
            step(1, report("app0", Status.TERMINATING, "Deleting"), spec=GONE),
            step(2, report("app0", Status.NOT_FOUND, "Not found"), spec=GONE),
        ],
        [entry(at(0), at(2), "2m", "NotFound")],
        [[], [], ["NotFound"]],
    ),
]


@pytest.mark.parametrize(
    ("steps", "history", "ended"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_history(steps: list[Step], history: list[dict[str, Any]], ended: list[list[str]]) -> None:
    status, seen = run(steps)

    assert status.get("history", []) == history
    assert seen == ended


def test_the_same_inputs_give_the_same_history() -> None:
    # A restarted operator builds the status again from what is stored: nothing may change.
    status, _ = run([step(0, rolling("app0")), step(3, current("app0"))])
    again, ended = run([step(9, current("app0"))], previous=status)

    assert again == {**status, "conditions": again["conditions"]}
    assert again["history"] == status["history"]
    assert ended == [[]]


def test_an_episode_open_across_a_restart_keeps_its_start() -> None:
    # The old operator wrote InProgress at 0 and stopped; the new one, at 30, finds the member Current.
    status, _ = run([step(0, rolling("app0")), step(1, rolling("app0", 2))])
    after, ended = run([step(30, current("app0"))], previous=status)

    assert after["history"] == [entry(at(0), at(30), "30m", "Current")]
    assert ended == [["Current"]]


def test_history_keeps_the_newest_ten() -> None:
    steps = []
    for i in range(MAX_HISTORY + 3):
        steps += [step(2 * i, rolling("app0")), step(2 * i + 1, current("app0"))]
    status, _ = run(steps)

    assert len(status["history"]) == MAX_HISTORY
    assert status["history"][0]["started"] == stamp(at(2 * (MAX_HISTORY + 2)))
    assert status["history"][-1]["started"] == stamp(at(6))


def test_malformed_history_entries_are_dropped_not_fatal() -> None:
    status, _ = run([step(0, rolling("app0")), step(1, current("app0"))])
    status["history"] = [*status["history"], {"result": "Current"}, "garbage", {"started": 3}]
    after, _ = run([step(2, rolling("app0")), step(3, current("app0"))], previous=status)

    assert [e["result"] for e in after["history"]] == ["Current", "Current"]


# -- the worker: the history it writes and the duration metric, on loop time -------------------------------


def _histogram(worker_context: WorkerContext, result: str) -> tuple[float, float]:
    text = worker_context.metrics.render().decode()
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith(f'statuswatch_rollout_duration_seconds_count{{result="{result}"}}'):
            count = float(line.split()[-1])
        if line.startswith(f'statuswatch_rollout_duration_seconds_sum{{result="{result}"}}'):
            total = float(line.split()[-1])
    return count, total


@pytest.mark.looptime
async def test_the_worker_records_a_rollout_once_with_its_duration() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    ctx = worker_context(poll, sink)
    worker = Worker(ctx, body())
    worker.start()
    await settle()
    poll.emit(update(WEB, Status.IN_PROGRESS, "Ready: 1/3"), update(CFG, Status.CURRENT), SyncEvent())
    await asyncio.sleep(42)
    poll.emit(update(WEB, Status.CURRENT, "Deployment is available. Replicas: 3"))
    await settle()
    poll.emit(update(CFG, Status.CURRENT, "still"))  # nothing new: no second observation
    await settle()
    await worker.stop()

    history = sink.writes[-1][1]["history"]
    assert [(h["result"], h["duration"]) for h in history] == [("Current", "42s")]
    assert _histogram(ctx, "Current") == (1.0, 42.0)
