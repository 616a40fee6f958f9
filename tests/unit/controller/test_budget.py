"""The status byte budget (N3): a status over it is summarised to fit, says so, and stays deterministic."""

from __future__ import annotations

from datetime import timedelta

from statuswatch.controller.budget import MINIMAL_BUDGET, STATUS_BUDGET, SUMMARIZED, encoded_size
from statuswatch.controller.conditions import CONDITION_TYPES, build_status
from statuswatch.kstatus import Status

from .cases import T0, current, report, rolling, spec


def _big(count: int, stuck: tuple[int, ...] = ()) -> list:  # type: ignore[type-arg]
    # Names and messages as long as the CRD allows: ~800 bytes an entry.
    return [
        (rolling if index in stuck else current)(f"{index:04d}-" + "n" * 240)
        if index not in stuck
        else report(f"{index:04d}-" + "n" * 240, Status.IN_PROGRESS, "Ready: 0/3 " + "m" * 500)
        for index in range(count)
    ]


def test_a_status_within_the_budget_is_written_exactly_as_before() -> None:
    update = build_status(
        previous=None, generation=1, spec=spec(count=1), spec_error=None, reports=_big(3), now=T0
    )
    assert [c["type"] for c in update.status["conditions"]] == list(CONDITION_TYPES)
    assert "resourceCounts" not in update.status
    assert "resourcesOmitted" not in update.status
    assert len(update.status["resources"]) == 3


def test_a_status_over_the_budget_is_summarised_with_the_blocking_members_first() -> None:
    reports = _big(2000, stuck=(1500, 1999))
    update = build_status(
        previous=None, generation=1, spec=spec(count=1), spec_error=None, reports=reports, now=T0
    )
    status = update.status
    assert encoded_size(status) <= STATUS_BUDGET
    assert status["resourceCounts"] == {"Current": 1998, "InProgress": 2}
    shown = status["resources"]
    assert [entry["name"][:4] for entry in shown[:2]] == ["1500", "1999"]
    assert shown[2]["name"].startswith("0000")
    assert status["resourcesOmitted"] == 2000 - len(shown)
    assert 100 < len(shown) < 2000
    summary = status["conditions"][-1]
    assert summary["type"] == SUMMARIZED
    assert summary["status"] == "True"
    assert summary["reason"] == "StatusTooLarge"
    assert summary["message"].startswith(
        f"the full status would exceed 256 KiB; status.resources lists {len(shown)}"
    )
    assert f"those not Current first; {2000 - len(shown)} left out" in summary["message"]
    assert summary["message"].endswith(
        "counts per status in status.resourceCounts: Current 1998, InProgress 2"
    )
    # The verdict is over every member, not just those listed.
    assert status["progress"] == "1998/2000"
    assert status["aggregateStatus"] == "InProgress"


def test_the_summary_is_deterministic_and_keeps_its_transition_time() -> None:
    reports = _big(1500, stuck=(7,))
    first = build_status(
        previous=None, generation=1, spec=spec(count=1), spec_error=None, reports=reports, now=T0
    )
    again = build_status(
        previous=first.status,
        generation=1,
        spec=spec(count=1),
        spec_error=None,
        reports=reports,
        now=T0 + timedelta(minutes=5),
    )
    assert again.status == first.status


def test_a_refused_status_is_rewritten_with_counts_only_and_says_why() -> None:
    reports = _big(300)
    refusal = "500 : etcdserver: request is too large"
    update = build_status(
        previous=None,
        generation=1,
        spec=spec(count=1),
        spec_error=None,
        reports=reports,
        now=T0,
        budget=MINIMAL_BUDGET,
        refusal=refusal,
    )
    status = update.status
    assert encoded_size(status) <= MINIMAL_BUDGET
    summary = status["conditions"][-1]
    assert (summary["type"], summary["reason"]) == (SUMMARIZED, "WriteRefused")
    assert summary["message"].startswith(
        "the API server refused the full status (500 : etcdserver: request is too large)"
    )
    assert status["resourceCounts"] == {"Current": 300}
    assert status["resourcesOmitted"] + len(status["resources"]) == 300
    assert status["progress"] == "300/300"
