"""Clock skew (N5): times read back from a status are clamped to now, and "now" is the API server's."""

from __future__ import annotations

from datetime import timedelta

from statuswatch.controller.models import format_time

from .cases import ROLLING, T0, build, spec, written

FIVE_MINUTES = spec(timeout="5m")


def _condition(status: dict, type_: str) -> dict:  # type: ignore[type-arg]
    return next(c for c in status["conditions"] if c["type"] == type_)


def test_times_in_the_future_are_clamped_and_the_timeout_counts_from_then() -> None:
    # The spec changed at T0; a replica whose clock was an hour ahead wrote the first status, then a replica
    # with a right clock took over a minute later. Before: Stalled only at T0+1h5m.
    ahead = written(ROLLING, now=T0 + timedelta(hours=1), spec=FIVE_MINUTES)
    first = build(ROLLING, now=T0 + timedelta(minutes=1), previous=ahead, spec=FIVE_MINUTES)
    one_minute = format_time(T0 + timedelta(minutes=1))
    assert first.status["specObservedTime"] == one_minute
    assert {c["lastTransitionTime"] for c in first.status["conditions"]} == {one_minute}
    assert first.next_check == T0 + timedelta(minutes=6)

    later = build(ROLLING, now=T0 + timedelta(minutes=6), previous=first.status, spec=FIVE_MINUTES)
    stalled = _condition(later.status, "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "Timeout")


def test_a_time_in_the_past_is_kept() -> None:
    before = written(ROLLING, now=T0, spec=FIVE_MINUTES)
    update = build(ROLLING, now=T0 + timedelta(minutes=2), previous=before, spec=FIVE_MINUTES)
    assert _condition(update.status, "AllCurrent")["lastTransitionTime"] == format_time(T0)
    assert update.next_check == T0 + timedelta(minutes=5)
