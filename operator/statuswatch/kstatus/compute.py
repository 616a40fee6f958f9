"""``compute``: the kstatus decision procedure, in kstatus's order.

1. a deletion timestamp means Terminating;
2. a generation the controller has not observed yet means InProgress;
3. a ``Reconciling=True`` or ``Stalled=True`` condition decides, the first one listed winning;
4. the kind's own rule, looked up by group and kind in :data:`~.kinds.KINDS` (the version does not matter);
5. otherwise the first ``Ready`` condition that is True, False or Unknown;
6. otherwise Current.

Opt-in stricter rules (:class:`StrictRules`) run after that and may only hold a resource back; with the
default (none enabled) the result is exactly kstatus's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from statuswatch.kstatus.fields import conditions, find_int, find_str, group_and_kind, kind_of
from statuswatch.kstatus.kinds import KINDS
from statuswatch.kstatus.model import (
    RECONCILING,
    STALLED,
    ComputeError,
    Condition,
    Result,
    Status,
    current,
    in_progress,
)
from statuswatch.kstatus.strict import StrictRules

__all__ = ["compute"]


def compute(
    obj: Mapping[str, Any], *, now: datetime | None = None, strict: StrictRules | None = None
) -> Result:
    """The status of one object as kstatus computes it.

    ``now`` replaces the clock for the time-based rules; ``strict`` enables opt-in rules beyond kstatus.
    Raises :class:`ComputeError` when a field the rules must read is malformed.
    """
    if not isinstance(obj, Mapping):
        raise ComputeError(f"expected an object, got {type(obj).__name__}")
    moment = datetime.now(UTC) if now is None else (now if now.tzinfo else now.replace(tzinfo=UTC))
    result = _kstatus(obj, moment)
    if strict is not None:
        result = strict.apply(obj, result, moment)
    return result


def _kstatus(obj: Mapping[str, Any], now: datetime) -> Result:
    decided = _generic(obj)
    if decided is not None:
        return decided
    kind = KINDS.get(group_and_kind(obj))
    if kind is not None:
        return kind.rule(obj, now)
    ready = _ready_condition(obj)
    if ready is not None:
        return ready
    return current("Resource is current")


def _generic(obj: Mapping[str, Any]) -> Result | None:
    deletion = find_str(obj, "metadata", "deletionTimestamp")
    if deletion:
        return Result(Status.TERMINATING, "Resource scheduled for deletion")

    generation = find_int(obj, "metadata", "generation")
    if generation is not None:
        observed = find_int(obj, "status", "observedGeneration")
        if observed is not None and observed != generation:
            message = (
                f"{kind_of(obj)} generation is {generation}, but latest observed generation is {observed}"
            )
            return in_progress("LatestGenerationNotObserved", message)

    for condition in conditions(obj):
        if condition.status != "True":
            continue
        if condition.type == RECONCILING:
            return Result(
                Status.IN_PROGRESS,
                condition.message,
                (Condition(RECONCILING, "True", condition.reason, condition.message),),
            )
        if condition.type == STALLED:
            return Result(
                Status.FAILED,
                condition.message,
                (Condition(STALLED, "True", condition.reason, condition.message),),
            )
    return None


def _ready_condition(obj: Mapping[str, Any]) -> Result | None:
    for condition in conditions(obj):
        if condition.type != "Ready":
            continue
        if condition.status == "True":
            return current("Resource is Ready")
        if condition.status in ("False", "Unknown"):
            return in_progress(condition.reason, condition.message)
    return None
