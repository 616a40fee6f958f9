"""kstatus aggregation: empty is desired, Failed beats Unknown beats the rest."""

from __future__ import annotations

import pytest

from statuswatch.kstatus import Status, aggregate

S = Status


@pytest.mark.parametrize(
    ("statuses", "desired", "expected"),
    [
        ([], S.CURRENT, S.CURRENT),
        ([], S.NOT_FOUND, S.NOT_FOUND),
        ([S.CURRENT], S.CURRENT, S.CURRENT),
        ([S.CURRENT, S.CURRENT], S.CURRENT, S.CURRENT),
        ([S.CURRENT, S.IN_PROGRESS], S.CURRENT, S.IN_PROGRESS),
        ([S.CURRENT, S.UNKNOWN, S.IN_PROGRESS], S.CURRENT, S.UNKNOWN),
        ([S.UNKNOWN, S.FAILED], S.CURRENT, S.FAILED),
        ([S.NOT_FOUND, S.FAILED], S.NOT_FOUND, S.FAILED),
        ([S.NOT_FOUND, S.NOT_FOUND], S.NOT_FOUND, S.NOT_FOUND),
        ([S.NOT_FOUND, S.CURRENT], S.NOT_FOUND, S.IN_PROGRESS),
        ([S.TERMINATING], S.CURRENT, S.IN_PROGRESS),
        ([S.TERMINATING], S.NOT_FOUND, S.IN_PROGRESS),
        (["Current", "Current"], S.CURRENT, S.CURRENT),
    ],
)
def test_aggregate(statuses: list[Status | str], desired: Status, expected: Status) -> None:
    assert aggregate(statuses, desired) is expected


def test_aggregate_accepts_any_iterable() -> None:
    assert aggregate(status for status in (S.CURRENT, S.CURRENT)) is S.CURRENT


def test_aggregate_rejects_unknown_strings() -> None:
    with pytest.raises(ValueError, match="Done"):
        aggregate(["Done"])
