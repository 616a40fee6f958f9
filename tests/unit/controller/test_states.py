"""A StatusWatch's state and since when, from its stored status; and the gauge the alerts read it from."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from statuswatch.controller.metrics import Metrics
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.states import State, state_of
from statuswatch.controller.supervisor import Supervisor
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import WorkerContext

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 22, 12, 5, tzinfo=UTC)


def condition(type_: str, status: str, at: str) -> dict[str, str]:
    return {"type": type_, "status": status, "reason": "R", "message": "", "lastTransitionTime": at}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, State("Pending", None)),
        ({}, State("Pending", None)),
        ("garbage", State("Pending", None)),
        ({"conditions": [condition("AllCurrent", "True", "2026-11-22T12:00:00Z")]}, State("Current", T0)),
        ({"conditions": [condition("AllCurrent", "False", "2026-11-22T12:00:00Z")]}, State("InProgress", T0)),
        ({"conditions": [condition("AllCurrent", "Unknown", "2026-11-22T12:05:00Z")]}, State("Unknown", T1)),
        (
            {
                "conditions": [
                    condition("AllCurrent", "False", "2026-11-22T12:00:00Z"),
                    condition("Stalled", "True", "2026-11-22T12:05:00Z"),
                ]
            },
            State("Stalled", T1),
        ),
        (
            {
                "conditions": [
                    condition("AllCurrent", "False", "2026-11-22T12:00:00Z"),
                    condition("Stalled", "False", "2026-11-22T12:05:00Z"),
                ]
            },
            State("InProgress", T0),
        ),
        ({"conditions": [condition("AllCurrent", "True", "not a time")]}, State("Current", None)),
    ],
)
def test_state_of(status: Any, expected: State) -> None:
    assert state_of(status) == expected


def test_seconds_in_state_never_negative_and_zero_when_unknown() -> None:
    assert State("Current", T0).seconds(T1) == 300
    assert State("Current", T1).seconds(T0) == 0
    assert State("Pending", None).seconds(T1) == 0


def body(name: str, uid: str, status: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "shop", "uid": uid, "generation": 1},
        "spec": {"identifiers": [{"kind": "ConfigMap", "name": "cfg"}]},
    }
    if status is not None:
        result["status"] = status
    return result


def samples(metrics: Metrics) -> list[str]:
    return [
        line
        for line in metrics.render().decode().splitlines()
        if line.startswith("statuswatch_state_seconds{")
    ]


async def test_the_gauge_has_one_series_per_statuswatch_from_its_stored_status() -> None:
    metrics = Metrics()
    context = WorkerContext(
        poll=ScriptedPoll(),
        scope_of=StaticScopes({("", "ConfigMap"): True}),
        sink=MemorySink(),
        metrics=metrics,
        settings=OperatorSettings(),
        logger=logging.getLogger("test"),
        now=lambda: T1,
    )
    supervisor = Supervisor(context)
    stalled = {
        "conditions": [
            condition("AllCurrent", "False", "2026-11-22T12:00:00Z"),
            condition("Stalled", "True", "2026-11-22T12:04:00Z"),
        ]
    }
    await supervisor.observe(None, body("a", "uid-a", stalled))
    await supervisor.observe(None, body("b", "uid-b", None))
    try:
        assert samples(metrics) == [
            'statuswatch_state_seconds{name="a",namespace="shop",state="Stalled"} 60.0',
            'statuswatch_state_seconds{name="b",namespace="shop",state="Pending"} 0.0',
        ]
        current = {"conditions": [condition("AllCurrent", "True", "2026-11-22T12:00:00Z")]}
        await supervisor.observe("MODIFIED", body("a", "uid-a", current))
        await supervisor.observe("DELETED", body("b", "uid-b", None))
        assert samples(metrics) == [
            'statuswatch_state_seconds{name="a",namespace="shop",state="Current"} 300.0'
        ]
    finally:
        await supervisor.close()
