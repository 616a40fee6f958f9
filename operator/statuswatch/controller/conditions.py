"""Building a StatusWatch's whole status from what the operator knows: a pure function over plain data.

Everything that decides what a StatusWatch says lives here, apart from the kopf wiring, so that the rules
(conditions, reasons, messages, transition times, the timeout clock, the Events to post) can be tested
from tables without a cluster, and so that the result depends only on the inputs: the operator writes the
status only when the new dict differs from the previous one, and after a restart the same inputs must give
the same dict, or it would rewrite every StatusWatch.

The conditions follow the kstatus conventions that Flux, kpt and Helm read on any object: ``Reconciling``
True while work is under way (InProgress), ``Stalled`` True when it cannot finish (Failed), ``Ready``
for tools that only read that; ``AllCurrent`` is this operator's own answer for ``kubectl wait``.

Optional members are listed in ``resources`` but left out of everything else: the aggregate, ``progress``,
AllCurrent (whose message still names the optional ones that are not there yet), Stalled. A member with its
own ``timeout`` makes Stalled True (reason MemberTimeout, the member named) while it is past that deadline
and not in the desired status; the deadline counts from the same moment as ``spec.timeout``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from statuswatch.controller.budget import STATUS_BUDGET, fit_status
from statuswatch.controller.history import next_history
from statuswatch.controller.models import (
    MAX_BLOCKER_MESSAGE,
    MAX_RESOURCE_MESSAGE,
    Blocker,
    ConditionRecord,
    Episode,
    ResourceReport,
    StatusRecord,
    StatusWatchSpec,
    canonical_json,
    format_time,
    utc_seconds,
)
from statuswatch.durations import format_duration
from statuswatch.kstatus import Status, aggregate

__all__ = [
    "ALL_CURRENT",
    "CONDITION_TYPES",
    "MAX_CONDITION_MESSAGE",
    "MAX_ITEM_MESSAGE",
    "MAX_RESOURCE_MESSAGE",
    "MEMBER_TIMEOUT",
    "READY",
    "RECONCILING",
    "STALLED",
    "TIMEOUT",
    "StatusUpdate",
    "Transition",
    "build_status",
]

ALL_CURRENT = "AllCurrent"
READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
#: The conditions a StatusWatch carries, in the order they are written.
CONDITION_TYPES = (ALL_CURRENT, READY, RECONCILING, STALLED)

#: Stalled's reasons for time running out: ``spec.timeout`` (sticky until the spec changes or the members get
#: there), and a member's own ``timeout`` (True only while that member is late).
TIMEOUT = "Timeout"
MEMBER_TIMEOUT = "MemberTimeout"

MAX_CONDITION_MESSAGE = 1024
# Each resource's part of a condition message, so one verbose resource cannot crowd out the others.
MAX_ITEM_MESSAGE = 200

_TRUE, _FALSE, _UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True, slots=True)
class Transition:
    """A Kubernetes Event to post because a condition flipped: ``type`` is "Normal" or "Warning"."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The new status, the Events its transitions call for, and when time alone could change it.

    ``next_check`` is the timeout deadline while it lies ahead, else None: the caller re-runs
    :func:`build_status` then even if no resource changed. ``ended`` are the episodes this status adds to
    ``status.history`` (oldest first), for the rollout-duration metric once it is written.
    """

    status: dict[str, Any]
    transitions: tuple[Transition, ...]
    next_check: datetime | None
    ended: tuple[Episode, ...] = ()
    #: ``status`` as :func:`~.models.canonical_json` (b"" when not given): written and kept as it is.
    encoded: bytes = b""


@dataclass(frozen=True, slots=True)
class _Verdict:
    status: str
    reason: str
    message: str


def build_status(
    *,
    previous: Mapping[str, Any] | None,
    generation: int,
    spec: StatusWatchSpec | None,
    spec_error: str | None,
    reports: Sequence[ResourceReport],
    now: datetime,
    spec_error_reason: str = "InvalidSpec",
    budget: int = STATUS_BUDGET,
    refusal: str | None = None,
) -> StatusUpdate:
    """The whole status for ``generation`` from the previous status (any shape) and one report per identifier.

    The spec is invalid when ``spec_error`` is set or ``spec`` is None (``spec_error_reason`` is then the
    conditions' reason); ``reports`` come in spec order (refused ones included). ``now`` may be naive (taken
    as UTC); times are kept to the second. A status over ``budget`` bytes is summarised to fit
    (:func:`~.budget.fit_status`), as is one after the API server refused the full status (``refusal``).
    """
    before = StatusRecord.read(previous)
    moment = utc_seconds(now)
    reports, grace_ends = _within_grace(reports, spec, moment)
    everyone = tuple(reports)
    invalid = spec is None or spec_error is not None
    desired = spec.desired_status if spec is not None else Status.CURRENT

    spec_seen = before.spec_observed_time if before.observed_generation == generation else None
    spec_observed = moment if spec_seen is None else min(spec_seen, moment)

    # Optional members are reported and nothing else; a refusal still counts, whoever it is about.
    optional = [report for report in reports if report.optional and report.refusal is None]
    reports = [report for report in reports if not report.optional or report.refusal is not None]
    # A refused identifier is Unknown whatever the report says: nothing about the object may leak.
    statuses = [Status.UNKNOWN if report.refusal is not None else report.status for report in reports]
    overall = Status.UNKNOWN if invalid else aggregate(statuses, desired)
    done = sum(1 for status in statuses if status == desired)

    if invalid:
        message = _cut(spec_error or "spec: could not be read", MAX_CONDITION_MESSAGE)
        problem = _Verdict(_FALSE, spec_error_reason, message)
        all_current = problem
    elif any(report.refusal is not None for report in reports):
        problem = _Verdict(_FALSE, "IdentifierRefused", _refused_message(reports))
        all_current = problem
    else:
        problem = None
        all_current = _all_current(reports, statuses, desired, overall, optional)
    all_current_condition = _condition(before, ALL_CURRENT, all_current, generation, moment)

    stalled, next_check = _stalled(
        before=before,
        spec=spec,
        problem=problem,
        reports=reports,
        statuses=statuses,
        desired=desired,
        overall=overall,
        all_current=all_current_condition,
        spec_observed=spec_observed,
        generation=generation,
        now=moment,
    )
    if all_current.status != _TRUE and stalled.status != _TRUE:
        reconciling = _Verdict(_TRUE, all_current.reason, all_current.message)
    elif all_current.status == _TRUE:
        reconciling = _Verdict(_FALSE, all_current.reason, "")
    else:
        reconciling = _Verdict(_FALSE, "Stalled", "")

    conditions = (
        all_current_condition,
        _condition(before, READY, all_current, generation, moment),
        _condition(before, RECONCILING, reconciling, generation, moment),
        _condition(before, STALLED, stalled, generation, moment),
    )
    history = next_history(
        before,
        generation=generation,
        now=moment,
        all_current=all_current.status,
        stalled=stalled.status,
        stalled_reason=stalled.reason,
        done_result=desired.value,
        blocker=_blocker(reports, statuses, desired, problem, stalled),
    )
    record = StatusRecord(
        observed_generation=generation,
        aggregate_status=overall.value,
        progress=f"{done}/{len(reports)}",
        resources=everyone,
        spec_observed_time=spec_observed,
        conditions=conditions,
        history=history.history,
    )
    if grace_ends is not None:
        next_check = grace_ends if next_check is None else min(next_check, grace_ends)
    transitions = _transitions(before, all_current, stalled)
    whole = record.to_dict()
    encoded = canonical_json(whole)  # measured against the budget, then written as it is
    if refusal is None and len(encoded) <= budget:
        return StatusUpdate(whole, transitions, next_check, history.ended, encoded)
    status = fit_status(
        whole,
        previous=previous,
        desired=desired.value,
        generation=generation,
        now=moment,
        budget=budget,
        refusal=refusal,
    )
    return StatusUpdate(status, transitions, next_check, history.ended, canonical_json(status))


def _within_grace(
    reports: Sequence[ResourceReport], spec: StatusWatchSpec | None, now: datetime
) -> tuple[list[ResourceReport], datetime | None]:
    """Failed members still within their failureGracePeriod read InProgress, the failure named in their
    reason and message; and the first moment a grace runs out (the status is built again then)."""
    default = spec.failure_grace_period if spec is not None else None
    shown: list[ResourceReport] = []
    ends: list[datetime] = []
    for report in reports:
        grace = report.failure_grace if report.failure_grace is not None else default
        if (
            report.status == Status.FAILED
            and report.failed_since is not None
            and grace
            and not report.refusal
        ):
            until = utc_seconds(report.failed_since) + grace
            if now < until:
                ends.append(until)
                report = dataclasses.replace(
                    report,
                    status=Status.IN_PROGRESS,
                    reason=report.reason or "Failed",
                    message=f"Failed, within failureGracePeriod {format_duration(grace)} until "
                    f"{format_time(until)}: {report.message}",
                )
        shown.append(report)
    return shown, min(ends, default=None)


def _blocker(
    reports: Sequence[ResourceReport],
    statuses: Sequence[Status],
    desired: Status,
    problem: _Verdict | None,
    stalled: _Verdict,
) -> Blocker | None:
    """What a Stalled status is stuck on: the refused identifier or the spec, the first Failed member, or
    the first member not in ``desired`` past its deadline."""
    if stalled.status != _TRUE:
        return None
    if problem is not None:
        refused = next((report for report in reports if report.refusal is not None), None)
        member = refused.label() if refused is not None else ""
        text = refused.refusal or "" if refused is not None else problem.message
        return Blocker(member, problem.reason, _one_line(text, MAX_BLOCKER_MESSAGE))
    timed_out = stalled.reason == "Timeout"
    for report, status in zip(reports, statuses, strict=True):
        if (status != desired) if timed_out else (status == Status.FAILED):
            reason = report.reason or ("Timeout" if timed_out else status.value)
            return Blocker(report.label(), reason, _one_line(report.message, MAX_BLOCKER_MESSAGE))
    return Blocker("", stalled.reason, _one_line(stalled.message, MAX_BLOCKER_MESSAGE))


def _all_current(
    reports: Sequence[ResourceReport],
    statuses: Sequence[Status],
    desired: Status,
    overall: Status,
    optional: Sequence[ResourceReport] = (),
) -> _Verdict:
    total = len(reports)
    blocking = [
        (report, status) for report, status in zip(reports, statuses, strict=True) if status != desired
    ]
    lagging = [(report, report.status) for report in optional if report.status != desired]
    if not blocking:
        noun, verb = ("resource", "is") if total == 1 else ("resources", "are")
        reason = "AllCurrent" if desired == Status.CURRENT else "AllNotFound"
        message = f"All {total} {noun} {verb} {desired.value}"
        if lagging:
            message = _listing(f"{message}; optional, not {desired.value}: ", lagging)
        return _Verdict(_TRUE, reason, message)
    message = _listing(f"{len(blocking)} of {total} not {desired.value}: ", blocking)
    if all(status == Status.UNKNOWN for _, status in blocking):
        return _Verdict(_UNKNOWN, "ResourcesUnknown", message)
    if overall == Status.FAILED:
        reason = "ResourcesFailed"
    elif overall == Status.UNKNOWN:
        reason = "ResourcesUnknown"
    else:
        reason = "ResourcesInProgress"
    return _Verdict(_FALSE, reason, message)


def _stalled(
    *,
    before: StatusRecord,
    spec: StatusWatchSpec | None,
    problem: _Verdict | None,
    reports: Sequence[ResourceReport],
    statuses: Sequence[Status],
    desired: Status,
    overall: Status,
    all_current: ConditionRecord,
    spec_observed: datetime,
    generation: int,
    now: datetime,
) -> tuple[_Verdict, datetime | None]:
    """Stalled, and the deadline at which it would become True by time alone (if that lies ahead)."""
    if problem is not None:
        return _Verdict(_TRUE, problem.reason, problem.message), None
    if overall == Status.FAILED:
        failed = [
            (report, status) for report, status in zip(reports, statuses, strict=True) if status == overall
        ]
        return _Verdict(
            _TRUE, "ResourcesFailed", _listing(f"{len(failed)} of {len(reports)} Failed: ", failed)
        ), None
    not_stalled = _Verdict(_FALSE, "NotStalled", "")
    if spec is None or all_current.status == _TRUE:
        return not_stalled, None
    # Deadlines count from the spec change, or from when AllCurrent last stopped being True if later.
    start = max(spec_observed, all_current.last_transition_time or now)
    late, member_check = _members_late(reports, statuses, desired, start, now)
    if late:
        return _Verdict(
            _TRUE,
            MEMBER_TIMEOUT,
            _join_limited(f"{len(late)} of {len(reports)} past their own timeout: ", late),
        ), None
    if spec.timeout is None:
        return not_stalled, member_check
    blocking = [
        (report, status) for report, status in zip(reports, statuses, strict=True) if status != desired
    ]
    timed_out = _Verdict(
        _TRUE,
        TIMEOUT,
        _listing(
            f"Not all {desired.value} within {format_duration(spec.timeout)}: "
            f"{len(blocking)} of {len(reports)} not {desired.value}: ",
            blocking,
        ),
    )
    # Once timed out, a StatusWatch stays so until its resources get there or its spec changes: a flip of
    # AllCurrent between False and Unknown moves that condition's transition time but restarts nothing.
    earlier = before.condition(STALLED)
    if (
        earlier is not None
        and earlier.status == _TRUE
        and earlier.reason == TIMEOUT  # spec.timeout; a member's own (MemberTimeout) is not sticky
        and before.observed_generation == generation
    ):
        return timed_out, None
    deadline = start + spec.timeout
    if now >= deadline:
        return timed_out, None
    return not_stalled, deadline if member_check is None else min(deadline, member_check)


def _members_late(
    reports: Sequence[ResourceReport],
    statuses: Sequence[Status],
    desired: Status,
    start: datetime,
    now: datetime,
) -> tuple[list[str], datetime | None]:
    """Members past their own timeout and not in ``desired`` (described), and the next such deadline."""
    late: list[str] = []
    upcoming: list[datetime] = []
    for report, status in zip(reports, statuses, strict=True):
        if report.timeout is None or status == desired:
            continue
        deadline = start + report.timeout
        if now < deadline:
            upcoming.append(deadline)
            continue
        detail = _one_line(report.message, MAX_ITEM_MESSAGE)
        late.append(
            f"{report.label()} not {desired.value} within {format_duration(report.timeout)}"
            f" ({status.value}{': ' + detail if detail else ''})"
        )
    return late, min(upcoming, default=None)


def _condition(
    before: StatusRecord, type_: str, verdict: _Verdict, generation: int, now: datetime
) -> ConditionRecord:
    earlier = before.condition(type_)
    kept = (
        earlier is not None and earlier.status == verdict.status and earlier.last_transition_time is not None
    )
    since = now
    if kept and earlier is not None and earlier.last_transition_time is not None:
        # A time in the future was written by a clock ahead of ours (another replica): it cannot be true,
        # and kept as it is it would push every deadline counted from it back by the whole skew.
        since = min(earlier.last_transition_time, now)
    return ConditionRecord(
        type=type_,
        status=verdict.status,
        reason=verdict.reason,
        message=verdict.message,
        observed_generation=generation,
        last_transition_time=since,
    )


def _transitions(before: StatusRecord, all_current: _Verdict, stalled: _Verdict) -> tuple[Transition, ...]:
    events = []
    if all_current.status == _TRUE and not _was_true(before, ALL_CURRENT):
        events.append(Transition("Normal", all_current.reason, all_current.message))
    if stalled.status == _TRUE and not _was_true(before, STALLED):
        reason = "TimedOut" if stalled.reason in (TIMEOUT, MEMBER_TIMEOUT) else "Stalled"
        events.append(Transition("Warning", reason, stalled.message))
    return tuple(events)


def _was_true(before: StatusRecord, type_: str) -> bool:
    earlier = before.condition(type_)
    return earlier is not None and earlier.status == _TRUE


def _refused_message(reports: Sequence[ResourceReport]) -> str:
    refused = [report for report in reports if report.refusal is not None]
    parts = [f"{report.label()}: {_one_line(report.refusal or '', MAX_ITEM_MESSAGE)}" for report in refused]
    return _join_limited(f"{len(refused)} of {len(reports)} refused: ", parts)


def _listing(head: str, items: Sequence[tuple[ResourceReport, Status]]) -> str:
    """``head`` then ``deployment/web InProgress: Ready: 1/3; ...``, cut to fit a condition message."""
    parts = []
    for report, status in items:
        detail = _one_line(report.refusal if report.refusal is not None else report.message, MAX_ITEM_MESSAGE)
        why = f" ({report.reason})" if report.reason and report.refusal is None else ""
        parts.append(
            f"{report.label()} {status.value}{why}: {detail}"
            if detail
            else f"{report.label()} {status.value}{why}"
        )
    return _join_limited(head, parts)


def _join_limited(head: str, parts: Sequence[str], limit: int = MAX_CONDITION_MESSAGE) -> str:
    """``head`` and as many parts as fit in ``limit`` characters, then ``; and N more`` for the rest."""
    text = head + "; ".join(parts)
    if len(text) <= limit:
        return text
    shown, used = 0, len(head)
    for part in parts:
        added = len(part) + (2 if shown else 0)
        after = len(parts) - shown - 1
        if used + added + len(f"; and {after} more") > limit:
            break
        used += added
        shown += 1
    if not shown:
        return _cut(f"{head}{len(parts)} not listed", limit)
    return f"{head}{'; '.join(parts[:shown])}; and {len(parts) - shown} more"


def _one_line(text: str, limit: int) -> str:
    return _cut(" ".join(text.split()), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
