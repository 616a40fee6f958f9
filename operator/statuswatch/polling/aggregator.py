"""One status for many: kstatus's aggregation over ``ResourceStatus`` values (rules live in ``kstatus``)."""

from __future__ import annotations

from collections.abc import Iterable

from statuswatch.kstatus import Status, aggregate

from .events import ResourceStatus

__all__ = ["aggregate_status"]


def aggregate_status(statuses: Iterable[ResourceStatus], desired: Status = Status.CURRENT) -> Status:
    """Empty -> ``desired``; any Failed -> Failed; any Unknown -> Unknown; all ``desired`` -> it; else
    InProgress."""
    return Status(aggregate([status.status for status in statuses], desired))
