"""``status.history``: the last episodes in which a StatusWatch's AllCurrent was not True, and how each ended.

An episode opens when AllCurrent stops being True (a member rolls out, the spec changes, something fails) and
ends when AllCurrent is True again (result ``Current``, or ``NotFound`` for ``desiredStatus: NotFound``), when
Stalled becomes True (``Stalled`` for a failure, ``Timeout`` past a deadline; the blocking member and its
reason are kept), or when the spec changes first (``Superseded``; the new generation's episode starts then).

Only ended episodes are stored. The open one needs no field of its own: it is open exactly while Reconciling
is True, and it began at the later of Reconciling's ``lastTransitionTime`` and ``specObservedTime`` (a spec
change ends the old episode and starts a new one, while Reconciling stays True). Everything is read from
the previous status, so history and durations survive an operator restart, and the same inputs give the
same history (a restarted operator rewrites nothing). Pure, like :mod:`.conditions`, which calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from statuswatch.controller.models import MAX_HISTORY, Blocker, Episode, StatusRecord

__all__ = ["HistoryUpdate", "next_history", "open_since"]

_TRUE = "True"


@dataclass(frozen=True, slots=True)
class HistoryUpdate:
    #: the new ``status.history``, newest first, at most ``MAX_HISTORY``
    history: tuple[Episode, ...]
    #: the episodes that ended with this status, oldest first (for the duration metric)
    ended: tuple[Episode, ...]


def open_since(before: StatusRecord) -> datetime | None:
    """When the episode open in ``before`` began; None when none is (done, stalled, never written)."""
    reconciling = before.condition("Reconciling")
    if reconciling is None or reconciling.status != _TRUE or reconciling.last_transition_time is None:
        return None
    started = reconciling.last_transition_time
    if before.spec_observed_time is not None and before.spec_observed_time > started:
        started = before.spec_observed_time
    return started


def next_history(
    before: StatusRecord,
    *,
    generation: int,
    now: datetime,
    all_current: str,
    stalled: str,
    stalled_reason: str,
    done_result: str,
    blocker: Blocker | None,
) -> HistoryUpdate:
    """The history once the status for ``generation`` at ``now`` has AllCurrent ``all_current`` and Stalled
    ``stalled`` (with ``stalled_reason``). ``done_result`` is the result of an episode AllCurrent ends
    (``Current`` or ``NotFound``); ``blocker`` what stalls it, if it stalls."""
    ended: list[Episode] = []
    started = open_since(before)
    if started is not None and before.observed_generation != generation:
        ended.append(Episode(before.observed_generation or 0, started, now, "Superseded"))
        started = None
    is_stalled = stalled == _TRUE
    stall_result = "Timeout" if stalled_reason == "Timeout" else "Stalled"
    if started is not None:
        if all_current == _TRUE:
            ended.append(Episode(generation, started, now, done_result))
        elif is_stalled:
            ended.append(Episode(generation, started, now, stall_result, blocker))
    elif is_stalled and all_current != _TRUE and not _still_stalled(before, generation):
        # Stalled at once (from AllCurrent, or a new spec that stalls straight away): begun and ended now.
        ended.append(Episode(generation, now, now, stall_result, blocker))
    if not ended:
        return HistoryUpdate(before.history, ())
    history = (*reversed(ended), *before.history)[:MAX_HISTORY]
    return HistoryUpdate(history, tuple(ended))


def _still_stalled(before: StatusRecord, generation: int) -> bool:
    stalled = before.condition("Stalled")
    return stalled is not None and stalled.status == _TRUE and before.observed_generation == generation
