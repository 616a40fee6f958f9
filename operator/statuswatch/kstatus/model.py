"""The vocabulary of status computation: statuses, conditions, results and the error for malformed input.

Kept apart from the rules so that readers, aggregators and printers can speak about statuses without
importing any rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "RECONCILING",
    "STALLED",
    "ComputeError",
    "Condition",
    "Result",
    "Status",
    "current",
    "failed",
    "in_progress",
]


class Status(enum.StrEnum):
    """How far a resource is from its desired state, in kstatus's words."""

    IN_PROGRESS = "InProgress"
    FAILED = "Failed"
    CURRENT = "Current"
    TERMINATING = "Terminating"
    NOT_FOUND = "NotFound"
    UNKNOWN = "Unknown"


RECONCILING = "Reconciling"
STALLED = "Stalled"


@dataclass(frozen=True, slots=True)
class Condition:
    """A kstatus standard condition (``Reconciling`` or ``Stalled``) that explains a result."""

    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Result:
    """What :func:`statuswatch.kstatus.compute` decides about one object."""

    status: Status
    message: str
    conditions: tuple[Condition, ...] = field(default=())

    @property
    def reason(self) -> str:
        """The reason of the explaining condition, or "" for Current and Terminating results."""
        return self.conditions[0].reason if self.conditions else ""


class ComputeError(ValueError):
    """The object is malformed in a way that makes its status undecidable (callers report ``Unknown``)."""


def current(message: str) -> Result:
    return Result(Status.CURRENT, message)


def in_progress(reason: str, message: str) -> Result:
    return Result(Status.IN_PROGRESS, message, (Condition(RECONCILING, "True", reason, message),))


def failed(reason: str, message: str, condition_message: str | None = None) -> Result:
    detail = message if condition_message is None else condition_message
    return Result(Status.FAILED, message, (Condition(STALLED, "True", reason, detail),))
