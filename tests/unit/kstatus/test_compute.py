"""Every kstatus rule and reason string, table-driven, plus malformed input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from statuswatch.kstatus import ComputeError, Status, compute
from statuswatch.kstatus.model import RECONCILING, STALLED

from .cases import CASES, MALFORMED, NOW, Case, cond, cr, pod


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_compute(case: Case) -> None:
    result = compute(case.obj, now=NOW)

    assert (result.status, result.reason, result.message) == (case.status, case.reason, case.message)
    assert result.status == case.status  # Status is a str enum: plain strings compare equal


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_result_carries_the_standard_condition(case: Case) -> None:
    result = compute(case.obj, now=NOW)

    if result.status is Status.IN_PROGRESS:
        assert [(c.type, c.status) for c in result.conditions] == [(RECONCILING, "True")]
    elif result.status is Status.FAILED:
        assert [(c.type, c.status) for c in result.conditions] == [(STALLED, "True")]
    else:
        assert result.conditions == ()


def test_every_reason_string_is_covered() -> None:
    reasons = {case.reason for case in CASES}
    expected = {
        "LatestGenerationNotObserved",
        "LessReplicas",
        "LessUpdated",
        "ExtraPods",
        "LessAvailable",
        "LessReady",
        "ReplicaSetNotAvailable",
        "DeploymentNotAvailable",
        "ProgressDeadlineExceeded",
        "PartitionRollout",
        "LessCurrent",
        "RevisionMismatch",
        "NoGeneration",
        "NoObservedGeneration",
        "NoDesiredNumber",
        "LessLabelled",
        "ReplicaFailure",
        "PodNotObserved",
        "PodRunningNotReady",
        "ContainerCrashLooping",
        "PodPending",
        "PodNotScheduled",
        "PodUnschedulable",
        "NotBound",
        "NoIPAssigned",
        "JobNotStarted",
        "JobFailed",
        "Installing",
    }
    assert expected <= reasons


def test_deadline_exceeded_keeps_the_controller_message_on_stalled() -> None:
    obj = next(case.obj for case in CASES if case.id == "deployment progress deadline exceeded")

    (stalled,) = compute(obj).conditions

    assert stalled.message == "RS web-1 timed out"


@pytest.mark.parametrize(("name", "obj", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_objects_raise_a_clear_error(name: str, obj: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ComputeError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        compute(obj, now=NOW)


def test_compute_error_is_a_value_error() -> None:
    assert issubclass(ComputeError, ValueError)


def test_not_an_object_is_a_compute_error() -> None:
    with pytest.raises(ComputeError, match="expected an object"):
        compute([], now=NOW)  # type: ignore[arg-type]


def test_null_conditions_and_entries_decode_as_empty() -> None:
    assert compute(cr(status={"conditions": None})).status is Status.CURRENT
    assert compute(cr(status={"conditions": [None, cond("Ready", "False", "R", "m")]})).reason == "R"


def test_pod_window_moves_with_the_clock() -> None:
    unschedulable = pod(
        {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable")]},
        created="2026-11-21T11:59:55Z",
    )

    assert compute(unschedulable, now=NOW).status is Status.IN_PROGRESS
    assert compute(unschedulable, now=NOW + timedelta(seconds=10)).status is Status.FAILED


def test_naive_now_is_taken_as_utc() -> None:
    unschedulable = pod(
        {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable")]},
        created="2026-11-21T11:59:55Z",
    )

    assert compute(unschedulable, now=NOW.replace(tzinfo=None)).status is Status.IN_PROGRESS


def test_compute_does_not_modify_the_object() -> None:
    import copy

    for case in CASES:
        before = copy.deepcopy(case.obj)
        compute(case.obj, now=NOW)
        assert case.obj == before, case.id
