"""Folding many resources' statuses into one answer, as kstatus's aggregator does."""

from __future__ import annotations

from collections.abc import Iterable

from statuswatch.kstatus.model import Status

__all__ = ["aggregate"]


def aggregate(statuses: Iterable[Status | str], desired: Status = Status.CURRENT) -> Status:
    """One status for a set: Failed beats Unknown beats everything else; all desired gives desired.

    An empty set has nothing left to do, so it is ``desired``; a mix that is neither failed, unknown nor
    uniformly desired is InProgress.
    """
    seen = {Status(status) for status in statuses}
    if not seen:
        return desired
    if Status.FAILED in seen:
        return Status.FAILED
    if Status.UNKNOWN in seen:
        return Status.UNKNOWN
    if seen == {desired}:
        return desired
    return Status.IN_PROGRESS
