"""The state a StatusWatch is in and since when, read from its stored status: what alerts are written against.

Alerts want "Stalled", "Unknown for 15 minutes", "rolling out for more than 30 minutes". Each of those is a
state plus how long it has held, and both come from the conditions' ``lastTransitionTime`` in the status, so
the figure survives an operator restart (a ``for:`` clause in Prometheus starts again with every new
series; a duration read from the status does not). Stalled wins over the rest; otherwise AllCurrent decides:
True -> ``Current``, Unknown -> ``Unknown``, False -> ``InProgress`` (counted from when it last stopped being
True or Unknown). A status without conditions (never written) is ``Pending``, since nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from statuswatch.controller.models import StatusRecord

__all__ = ["STATES", "State", "state_of"]

#: every value ``State.name`` takes
STATES = ("Current", "InProgress", "Unknown", "Stalled", "Pending")


@dataclass(frozen=True, slots=True)
class State:
    name: str
    #: when it began; None when the status does not say (never written, or a malformed time)
    since: datetime | None

    def seconds(self, now: datetime) -> float:
        """How long it has held at ``now`` (0 when unknown, never negative)."""
        return 0.0 if self.since is None else max(0.0, (now - self.since).total_seconds())


_PENDING = State("Pending", None)
_BY_ALL_CURRENT = {"True": "Current", "Unknown": "Unknown", "False": "InProgress"}


def state_of(status: object) -> State:
    """The state of a StatusWatch whose ``status`` (any shape, as read from the cluster) is given."""
    record = StatusRecord.read(status)
    stalled = record.condition("Stalled")
    if stalled is not None and stalled.status == "True":
        return State("Stalled", stalled.last_transition_time)
    all_current = record.condition("AllCurrent")
    if all_current is None:
        return _PENDING
    return State(_BY_ALL_CURRENT[all_current.status], all_current.last_transition_time)
