"""build_status: every reason, the transition times, the timeout clock, Events, trimming and determinism."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from statuswatch.controller.conditions import (
    CONDITION_TYPES,
    MAX_CONDITION_MESSAGE,
    MAX_RESOURCE_MESSAGE,
    StatusUpdate,
    build_status,
)
from statuswatch.controller.models import canonical_json
from statuswatch.kstatus import Status

from .cases import (
    ALL_CURRENT,
    ROLLING,
    SPEC,
    SPEC_10M,
    STATUS_CASES,
    StatusCase,
    at,
    build,
    current,
    failed,
    observed,
    report,
    rolling,
    spec,
    unknown,
    written,
)


def _picked(flat: Mapping[str, Any], expect: Mapping[str, Any]) -> dict[str, Any]:
    """The observed values of the expected keys; a condition expected with message None is compared on
    status and reason only."""
    picked: dict[str, Any] = {}
    for key, wanted in expect.items():
        value = flat[key]
        if isinstance(wanted, tuple) and len(wanted) == 3 and wanted[2] is None:
            value = (*value[:2], None)
        picked[key] = value
    return picked


@pytest.mark.parametrize("case", STATUS_CASES, ids=lambda case: case.id)
def test_status_case(case: StatusCase) -> None:
    update = build_status(
        previous=case.previous,
        generation=case.generation,
        spec=case.spec,
        spec_error=case.spec_error,
        reports=case.reports,
        now=case.now,
        spec_error_reason=case.spec_error_reason,
    )

    assert _picked(observed(update), case.expect) == dict(case.expect)


def _build(case: StatusCase, **changes: Any) -> StatusUpdate:
    inputs: dict[str, Any] = {
        "previous": case.previous,
        "generation": case.generation,
        "spec": case.spec,
        "spec_error": case.spec_error,
        "reports": case.reports,
        "now": case.now,
    }
    return build_status(**(inputs | changes))


@pytest.mark.parametrize("case", STATUS_CASES, ids=lambda case: case.id)
def test_shape_of_every_status(case: StatusCase) -> None:
    status = _build(case).status

    assert list(status) == [
        "observedGeneration",
        "aggregateStatus",
        "progress",
        "resources",
        "specObservedTime",
        "conditions",
        *(["history"] if "history" in status else []),  # only once an episode has ended
    ]
    assert [condition["type"] for condition in status["conditions"]] == list(CONDITION_TYPES)
    for condition in status["conditions"]:
        assert list(condition) == [
            "type",
            "status",
            "observedGeneration",
            "lastTransitionTime",
            "reason",
            "message",
        ]
        assert condition["observedGeneration"] == status["observedGeneration"]
        assert condition["lastTransitionTime"].endswith("Z")
        assert condition["reason"].isalnum()
        assert len(condition["message"]) <= MAX_CONDITION_MESSAGE
    # Reconciling and Stalled are never both True: kstatus would read whichever comes first.
    by_type = {condition["type"]: condition["status"] for condition in status["conditions"]}
    assert (by_type["Reconciling"], by_type["Stalled"]) != ("True", "True")
    assert by_type["Ready"] == by_type["AllCurrent"]


@pytest.mark.parametrize("case", STATUS_CASES, ids=lambda case: case.id)
def test_rebuilding_from_the_written_status_changes_nothing(case: StatusCase) -> None:
    """What a restarted operator sees: its own last write as previous, the same reports, a little later."""
    first = _build(case)
    later = case.now + timedelta(seconds=1)
    if first.next_check is not None and later.replace(tzinfo=first.next_check.tzinfo) >= first.next_check:
        later = case.now  # the case sits one second before its deadline

    again = _build(case, previous=copy.deepcopy(first.status), now=later)

    assert again.status == first.status
    assert again.transitions == ()
    assert again.next_check == first.next_check


def test_same_inputs_give_an_equal_dict() -> None:
    previous = written(ROLLING, spec=SPEC_10M)
    one = build(ALL_CURRENT, spec=SPEC_10M, previous=previous, now=at(3))
    two = build(ALL_CURRENT, spec=SPEC_10M, previous=copy.deepcopy(previous), now=at(3))

    assert one == two
    assert one.status is not two.status


def test_the_previous_status_is_not_modified() -> None:
    previous = written(ROLLING, spec=SPEC_10M)
    kept = copy.deepcopy(previous)

    build(ALL_CURRENT, spec=SPEC_10M, previous=previous, now=at(30))

    assert previous == kept


def test_resource_message_is_trimmed_to_512() -> None:
    long = "x" * 600
    status = build((current("app0"), report("app1", Status.IN_PROGRESS, long), current("app2"))).status

    message = status["resources"][1]["message"]
    assert len(message) == MAX_RESOURCE_MESSAGE
    assert message == "x" * (MAX_RESOURCE_MESSAGE - 3) + "..."


def test_each_resource_gets_about_200_characters_in_a_condition() -> None:
    status = build((current("app0"), report("app1", Status.IN_PROGRESS, "y" * 300), current("app2"))).status

    message = status["conditions"][0]["message"]
    assert message == "1 of 3 not Current: deployment/app1 InProgress: " + "y" * 197 + "..."


def test_condition_message_is_one_line() -> None:
    status = build(
        (current("app0"), report("app1", Status.UNKNOWN, "line one\n  line two\t!"), current("app2"))
    ).status

    assert (
        status["conditions"][0]["message"]
        == "1 of 3 not Current: deployment/app1 Unknown: line one line two !"
    )
    assert status["resources"][1]["message"] == "line one\n  line two\t!"


def test_many_blocking_resources_end_with_and_n_more() -> None:
    reports = [rolling(f"app-with-a-rather-long-name-{index:03d}") for index in range(300)]

    message = build(reports, spec=spec(count=300)).status["conditions"][0]["message"]

    assert len(message) <= MAX_CONDITION_MESSAGE
    assert message.startswith(
        "300 of 300 not Current: deployment/app-with-a-rather-long-name-000 InProgress: Ready: 1/3; "
    )
    listed = message.count("InProgress: Ready: 1/3")
    assert message.endswith(f"; and {300 - listed} more")
    assert 10 < listed < 300
    # As many as fit: the next one would not have.
    following = f"deployment/app-with-a-rather-long-name-{listed:03d} InProgress: Ready: 1/3"
    assert len(message) + len("; ") + len(following) > MAX_CONDITION_MESSAGE


def test_timeout_message_is_trimmed_too() -> None:
    reports = [report(f"app{index}", Status.IN_PROGRESS, "z" * 400) for index in range(50)]
    previous = written(reports, spec=spec(timeout="10m", count=50))

    stalled = build(reports, spec=spec(timeout="10m", count=50), previous=previous, now=at(10)).status[
        "conditions"
    ][3]

    assert (stalled["status"], stalled["reason"]) == ("True", "Timeout")
    assert stalled["message"].startswith(
        "Not all Current within 10m: 50 of 50 not Current: deployment/app0 InProgress: zzz"
    )
    assert stalled["message"].endswith("; and 46 more")
    assert len(stalled["message"]) <= MAX_CONDITION_MESSAGE


def test_a_huge_spec_error_is_trimmed() -> None:
    status = build((), spec=None, spec_error="spec.identifiers: " + "bad; " * 1000).status

    assert len(status["conditions"][0]["message"]) == MAX_CONDITION_MESSAGE
    assert status["conditions"][0]["message"].endswith("...")


def test_refused_messages_list_each_refusal_and_never_the_object() -> None:
    reports = (
        report("a", Status.FAILED, "secret detail", namespace="other", refusal="namespace other is not shop"),
        report(
            "ns1",
            Status.CURRENT,
            "exists",
            kind="Namespace",
            group="",
            namespace="",
            refusal="cluster-scoped kinds are not allowed",
        ),
        current("app2"),
    )

    status = build(reports).status

    assert status["conditions"][0]["message"] == (
        "2 of 3 refused: deployment/a: namespace other is not shop; "
        "namespace/ns1: cluster-scoped kinds are not allowed"
    )
    assert [(entry["status"], entry["message"]) for entry in status["resources"][:2]] == [
        ("Unknown", "namespace other is not shop"),
        ("Unknown", "cluster-scoped kinds are not allowed"),
    ]
    assert "secret detail" not in str(status)
    assert "exists" not in str(status)
    # A refused Failed report does not make the whole watch Failed: it was never looked at.
    assert status["aggregateStatus"] == "Unknown"


def test_a_whole_rollout_posts_one_event_per_transition() -> None:
    """Polls in a row post Events only when a condition flips, never per poll."""
    steps = [
        (at(0), ROLLING),
        (at(1), ROLLING),
        (at(2), (current("app0"), rolling("app1", 2), current("app2"))),
        (at(3), ALL_CURRENT),
        (at(4), ALL_CURRENT),
        (at(5), (failed("app0"), current("app1"), current("app2"))),
        (at(6), (failed("app0"), current("app1"), current("app2"))),
        (at(7), (unknown("app0"), current("app1"), current("app2"))),
        (at(8), ALL_CURRENT),
    ]
    previous: dict[str, Any] | None = None
    reasons: list[tuple[int, str, str]] = []
    for now, reports in steps:
        update = build(reports, previous=previous, now=now, spec=SPEC)
        reasons.extend((now.minute, event.type, event.reason) for event in update.transitions)
        previous = update.status

    assert reasons == [(3, "Normal", "AllCurrent"), (5, "Warning", "Stalled"), (8, "Normal", "AllCurrent")]


def test_the_status_comes_encoded_once_as_the_worker_keeps_it() -> None:
    update = build((current("app0"), rolling("app1")))
    assert update.encoded == canonical_json(update.status)
    assert json.loads(update.encoded) == update.status
    # Sorted keys, UTF-8 (not \u escapes): the same bytes for the same status, its size as the server counts.
    assert canonical_json({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'.encode()
