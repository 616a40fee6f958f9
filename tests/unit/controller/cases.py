"""Tables for the controller's pure core: specs and the problems they raise, and status-building scenarios.

Each status case gives the inputs of ``build_status`` (previous status, spec, reports, generation, now) and
the fields it must produce, read through :func:`observed` so that a case names only what it is about.
Previous statuses are made by ``build_status`` itself at an earlier moment, as the operator would have
written them, or written by hand where the case is about what a human or an older version left behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from statuswatch.controller.conditions import StatusUpdate, Transition, build_status
from statuswatch.controller.models import ResourceReport, StatusWatchSpec, parse_spec
from statuswatch.kstatus import Status

T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
STAMP0 = "2026-11-21T12:00:00Z"


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def spec(timeout: str | None = None, desired: str = "Current", count: int = 3) -> StatusWatchSpec:
    raw: dict[str, Any] = {
        "identifiers": [{"group": "apps", "kind": "Deployment", "name": f"app{i}"} for i in range(count)],
        "desiredStatus": desired,
    }
    if timeout is not None:
        raw["timeout"] = timeout
    return parse_spec(raw)


def report(
    name: str,
    status: Status,
    message: str = "",
    *,
    kind: str = "Deployment",
    group: str = "apps",
    namespace: str = "shop",
    refusal: str | None = None,
    reason: str = "",
    optional: bool = False,
    timeout: timedelta | None = None,
    selector: str = "",
) -> ResourceReport:
    return ResourceReport(
        group,
        kind,
        namespace,
        name,
        status,
        message,
        refusal,
        reason=reason,
        optional=optional,
        timeout=timeout,
        selector=selector,
    )


def current(name: str) -> ResourceReport:
    return report(name, Status.CURRENT, "Deployment is available. Replicas: 3")


def rolling(name: str, ready: int = 1) -> ResourceReport:
    return report(name, Status.IN_PROGRESS, f"Ready: {ready}/3")


def failed(name: str) -> ResourceReport:
    return report(name, Status.FAILED, "Progress deadline exceeded")


def unknown(name: str) -> ResourceReport:
    return report(name, Status.UNKNOWN, "deployments.apps is forbidden")


def gone(name: str) -> ResourceReport:
    return report(name, Status.NOT_FOUND, "Resource not found")


ALL_CURRENT = (current("app0"), current("app1"), current("app2"))
ROLLING = (current("app0"), rolling("app1"), current("app2"))
SPEC = spec()
SPEC_10M = spec(timeout="10m")


def build(
    reports: Sequence[ResourceReport],
    *,
    now: datetime = T0,
    previous: Mapping[str, Any] | None = None,
    spec: StatusWatchSpec | None = SPEC,
    spec_error: str | None = None,
    generation: int = 1,
) -> StatusUpdate:
    return build_status(
        previous=previous,
        generation=generation,
        spec=spec,
        spec_error=spec_error,
        reports=reports,
        now=now,
    )


def written(
    reports: Sequence[ResourceReport],
    *,
    now: datetime = T0,
    previous: Mapping[str, Any] | None = None,
    spec: StatusWatchSpec | None = SPEC,
    generation: int = 1,
) -> dict[str, Any]:
    """The status the operator would have written at ``now``."""
    return build(reports, now=now, previous=previous, spec=spec, generation=generation).status


def observed(update: StatusUpdate) -> dict[str, Any]:
    """The update flattened: top-level fields, each condition as (status, reason, message), its time as
    ``<Type>@``, plus ``transitions`` and ``next_check``."""
    flat: dict[str, Any] = {key: value for key, value in update.status.items() if key != "conditions"}
    for condition in update.status["conditions"]:
        flat[condition["type"]] = (condition["status"], condition["reason"], condition["message"])
        flat[condition["type"] + "@"] = condition["lastTransitionTime"]
    flat["transitions"] = update.transitions
    flat["next_check"] = update.next_check
    return flat


@dataclass(frozen=True)
class StatusCase:
    id: str
    reports: tuple[ResourceReport, ...]
    expect: Mapping[str, Any]
    spec: StatusWatchSpec | None = SPEC
    spec_error: str | None = None
    previous: Mapping[str, Any] | None = None
    generation: int = 1
    now: datetime = T0
    notes: str = field(default="", compare=False)
    spec_error_reason: str = "InvalidSpec"


ROLLING_MESSAGE = "1 of 3 not Current: deployment/app1 InProgress: Ready: 1/3"
DONE = ("False", "AllCurrent", "")
NOT_STALLED = ("False", "NotStalled", "")
TIMED_OUT_MESSAGE = f"Not all Current within 10m: {ROLLING_MESSAGE}"
REFUSAL = "namespace other is outside this StatusWatch's namespace shop"
SPEC_PROBLEM = "spec.pollInterval: invalid duration '5x': use a number with a unit, e.g. 30s, 2m"

# Hand-written previous statuses: what garbage, partial edits and older operators may leave behind.
GARBAGE_PREVIOUS: dict[str, Any] = {
    "observedGeneration": "1",
    "aggregateStatus": 7,
    "progress": None,
    "resources": "all of them",
    "specObservedTime": "yesterday",
    "conditions": [
        "AllCurrent",
        {"type": "AllCurrent", "status": "Yes"},
        {"status": "True"},
        None,
        {"type": 5, "status": "True"},
    ],
}
TRUE_WITH_BAD_TIME: dict[str, Any] = {
    "observedGeneration": 1,
    "specObservedTime": STAMP0,
    "conditions": [
        {"type": "AllCurrent", "status": "True", "reason": "AllCurrent", "lastTransitionTime": "soon"},
        {"type": "Ready", "status": "True", "reason": "AllCurrent", "lastTransitionTime": STAMP0},
        {"type": "Stalled", "status": "False", "reason": "NotStalled", "lastTransitionTime": 12},
    ],
}
FUTURE_SPEC_TIME: dict[str, Any] = {"observedGeneration": 1, "specObservedTime": "2027-01-01T00:00:00Z"}


def _flip_to_unknown_after_timeout() -> dict[str, Any]:
    timed_out = written(ROLLING, spec=SPEC_10M, now=at(10), previous=written(ROLLING, spec=SPEC_10M))
    return written(
        (current("app0"), unknown("app1"), current("app2")), spec=SPEC_10M, now=at(11), previous=timed_out
    )


STATUS_CASES: tuple[StatusCase, ...] = (
    StatusCase(
        "rolling-out-first-sight",
        ROLLING,
        {
            "observedGeneration": 1,
            "aggregateStatus": "InProgress",
            "progress": "2/3",
            "specObservedTime": STAMP0,
            "AllCurrent": ("False", "ResourcesInProgress", ROLLING_MESSAGE),
            "Ready": ("False", "ResourcesInProgress", ROLLING_MESSAGE),
            "Reconciling": ("True", "ResourcesInProgress", ROLLING_MESSAGE),
            "Stalled": NOT_STALLED,
            "AllCurrent@": STAMP0,
            "Stalled@": STAMP0,
            "transitions": (),
            "next_check": None,
        },
    ),
    StatusCase(
        "all-current-first-sight-posts-an-event",
        ALL_CURRENT,
        {
            "aggregateStatus": "Current",
            "progress": "3/3",
            "AllCurrent": ("True", "AllCurrent", "All 3 resources are Current"),
            "Ready": ("True", "AllCurrent", "All 3 resources are Current"),
            "Reconciling": DONE,
            "Stalled": NOT_STALLED,
            "transitions": (Transition("Normal", "AllCurrent", "All 3 resources are Current"),),
            "next_check": None,
        },
    ),
    StatusCase(
        "one-resource-is-singular",
        (current("app0"),),
        {"AllCurrent": ("True", "AllCurrent", "All 1 resource is Current"), "progress": "1/1"},
        spec=spec(count=1),
    ),
    StatusCase(
        "still-current-keeps-times-and-posts-nothing",
        ALL_CURRENT,
        {"AllCurrent@": STAMP0, "Reconciling@": STAMP0, "Stalled@": STAMP0, "transitions": ()},
        previous=written(ALL_CURRENT),
        now=at(5),
    ),
    StatusCase(
        "became-current-moves-only-flipped-conditions",
        ALL_CURRENT,
        {
            "AllCurrent": ("True", "AllCurrent", "All 3 resources are Current"),
            "AllCurrent@": stamp(at(5)),
            "Ready@": stamp(at(5)),
            "Reconciling@": stamp(at(5)),
            "Stalled@": STAMP0,
            "transitions": (Transition("Normal", "AllCurrent", "All 3 resources are Current"),),
        },
        previous=written(ROLLING),
        now=at(5),
    ),
    StatusCase(
        "message-change-without-flip-keeps-the-time",
        (current("app0"), rolling("app1", ready=2), current("app2")),
        {
            "AllCurrent": (
                "False",
                "ResourcesInProgress",
                "1 of 3 not Current: deployment/app1 InProgress: Ready: 2/3",
            ),
            "AllCurrent@": STAMP0,
            "transitions": (),
        },
        previous=written(ROLLING),
        now=at(1),
    ),
    StatusCase(
        "failed-stalls-and-names-the-failed-ones",
        (failed("app0"), rolling("app1"), current("app2")),
        {
            "aggregateStatus": "Failed",
            "progress": "1/3",
            "AllCurrent": (
                "False",
                "ResourcesFailed",
                "2 of 3 not Current: deployment/app0 Failed: Progress deadline exceeded; "
                "deployment/app1 InProgress: Ready: 1/3",
            ),
            "Stalled": (
                "True",
                "ResourcesFailed",
                "1 of 3 Failed: deployment/app0 Failed: Progress deadline exceeded",
            ),
            "Reconciling": ("False", "Stalled", ""),
            "transitions": (
                Transition(
                    "Warning", "Stalled", "1 of 3 Failed: deployment/app0 Failed: Progress deadline exceeded"
                ),
            ),
        },
    ),
    StatusCase(
        "failed-beats-unknown",
        (failed("app0"), unknown("app1"), current("app2")),
        {
            "aggregateStatus": "Failed",
            "AllCurrent": ("False", "ResourcesFailed", None),
            "Stalled": ("True", "ResourcesFailed", None),
        },
    ),
    StatusCase(
        "only-unknown-blocks",
        (current("app0"), unknown("app1"), current("app2")),
        {
            "aggregateStatus": "Unknown",
            "AllCurrent": (
                "Unknown",
                "ResourcesUnknown",
                "1 of 3 not Current: deployment/app1 Unknown: deployments.apps is forbidden",
            ),
            "Ready": ("Unknown", "ResourcesUnknown", None),
            "Reconciling": ("True", "ResourcesUnknown", None),
            "Stalled": NOT_STALLED,
        },
    ),
    StatusCase(
        "unknown-and-in-progress-is-false-unknown",
        (rolling("app0"), unknown("app1"), current("app2")),
        {
            "aggregateStatus": "Unknown",
            "AllCurrent": ("False", "ResourcesUnknown", None),
            "Reconciling": ("True", "ResourcesUnknown", None),
        },
    ),
    StatusCase(
        "not-found-blocks-current",
        (current("app0"), gone("app1"), current("app2")),
        {
            "aggregateStatus": "InProgress",
            "AllCurrent": (
                "False",
                "ResourcesInProgress",
                "1 of 3 not Current: deployment/app1 NotFound: Resource not found",
            ),
        },
    ),
    StatusCase(
        "empty-message-lists-the-status-alone",
        (current("app0"), report("app1", Status.TERMINATING), current("app2")),
        {"AllCurrent": ("False", "ResourcesInProgress", "1 of 3 not Current: deployment/app1 Terminating")},
    ),
    StatusCase(
        "refused-is-unknown-and-stalls",
        (
            current("app0"),
            report("app1", Status.CURRENT, "leaked detail", namespace="other", refusal=REFUSAL),
            current("app2"),
        ),
        {
            "aggregateStatus": "Unknown",
            "progress": "2/3",
            "AllCurrent": ("False", "IdentifierRefused", f"1 of 3 refused: deployment/app1: {REFUSAL}"),
            "Ready": ("False", "IdentifierRefused", f"1 of 3 refused: deployment/app1: {REFUSAL}"),
            "Stalled": ("True", "IdentifierRefused", f"1 of 3 refused: deployment/app1: {REFUSAL}"),
            "Reconciling": ("False", "Stalled", ""),
            "transitions": (Transition("Warning", "Stalled", f"1 of 3 refused: deployment/app1: {REFUSAL}"),),
            "next_check": None,
        },
        spec=SPEC_10M,
    ),
    StatusCase(
        "invalid-spec",
        (),
        {
            "observedGeneration": 4,
            "aggregateStatus": "Unknown",
            "progress": "0/0",
            "resources": [],
            "AllCurrent": ("False", "InvalidSpec", SPEC_PROBLEM),
            "Ready": ("False", "InvalidSpec", SPEC_PROBLEM),
            "Reconciling": ("False", "Stalled", ""),
            "Stalled": ("True", "InvalidSpec", SPEC_PROBLEM),
            "transitions": (Transition("Warning", "Stalled", SPEC_PROBLEM),),
            "next_check": None,
        },
        spec=None,
        spec_error=SPEC_PROBLEM,
        generation=4,
    ),
    StatusCase(
        "invalid-spec-error-wins-over-a-spec",
        ALL_CURRENT,
        {
            "aggregateStatus": "Unknown",
            "progress": "3/3",
            "AllCurrent": ("False", "InvalidSpec", SPEC_PROBLEM),
        },
        spec_error=SPEC_PROBLEM,
    ),
    StatusCase(
        "invalid-spec-without-a-message",
        (),
        {"AllCurrent": ("False", "InvalidSpec", "spec: could not be read")},
        spec=None,
    ),
    StatusCase(
        "desired-not-found-done",
        (gone("app0"), gone("app1"), gone("app2")),
        {
            "aggregateStatus": "NotFound",
            "progress": "3/3",
            "AllCurrent": ("True", "AllNotFound", "All 3 resources are NotFound"),
            "Reconciling": ("False", "AllNotFound", ""),
            "transitions": (Transition("Normal", "AllNotFound", "All 3 resources are NotFound"),),
        },
        spec=spec(desired="NotFound"),
    ),
    StatusCase(
        "desired-not-found-waits-for-deletion",
        (
            gone("app0"),
            current("app1"),
            report("app2", Status.TERMINATING, "Resource scheduled for deletion"),
        ),
        {
            "aggregateStatus": "InProgress",
            "progress": "1/3",
            "AllCurrent": (
                "False",
                "ResourcesInProgress",
                "2 of 3 not NotFound: deployment/app1 Current: Deployment is available. Replicas: 3; "
                "deployment/app2 Terminating: Resource scheduled for deletion",
            ),
        },
        spec=spec(desired="NotFound"),
    ),
    StatusCase(
        "desired-not-found-timeout-says-not-found",
        (gone("app0"), current("app1"), gone("app2")),
        {
            "Stalled": (
                "True",
                "Timeout",
                "Not all NotFound within 10m: 1 of 3 not NotFound: "
                "deployment/app1 Current: Deployment is available. Replicas: 3",
            )
        },
        spec=spec(desired="NotFound", timeout="10m"),
        previous=written(
            (gone("app0"), current("app1"), gone("app2")), spec=spec(desired="NotFound", timeout="10m")
        ),
        now=at(10),
    ),
    StatusCase(
        "timeout-not-yet-reached-sets-next-check",
        ROLLING,
        {
            "Stalled": NOT_STALLED,
            "Reconciling": ("True", "ResourcesInProgress", ROLLING_MESSAGE),
            "next_check": at(10),
        },
        spec=SPEC_10M,
    ),
    StatusCase(
        "timeout-one-second-early",
        ROLLING,
        {"Stalled": NOT_STALLED, "next_check": at(10), "transitions": ()},
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M),
        now=at(10, seconds=-1),
    ),
    StatusCase(
        "timeout-reached",
        ROLLING,
        {
            "aggregateStatus": "InProgress",
            "AllCurrent": ("False", "ResourcesInProgress", ROLLING_MESSAGE),
            "Stalled": ("True", "Timeout", TIMED_OUT_MESSAGE),
            "Stalled@": stamp(at(10)),
            "Reconciling": ("False", "Stalled", ""),
            "Reconciling@": stamp(at(10)),
            "transitions": (Transition("Warning", "TimedOut", TIMED_OUT_MESSAGE),),
            "next_check": None,
        },
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M),
        now=at(10),
    ),
    StatusCase(
        "timed-out-stays-without-a-second-event",
        ROLLING,
        {"Stalled": ("True", "Timeout", TIMED_OUT_MESSAGE), "Stalled@": stamp(at(10)), "transitions": ()},
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M, now=at(10), previous=written(ROLLING, spec=SPEC_10M)),
        now=at(30),
    ),
    StatusCase(
        "timeout-clears-when-all-current",
        ALL_CURRENT,
        {
            "AllCurrent": ("True", "AllCurrent", "All 3 resources are Current"),
            "Stalled": NOT_STALLED,
            "Stalled@": stamp(at(12)),
            "Reconciling": DONE,
            "transitions": (Transition("Normal", "AllCurrent", "All 3 resources are Current"),),
            "next_check": None,
        },
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M, now=at(10), previous=written(ROLLING, spec=SPEC_10M)),
        now=at(12),
    ),
    StatusCase(
        "spec-change-restarts-the-timeout",
        ROLLING,
        {
            "observedGeneration": 2,
            "specObservedTime": stamp(at(12)),
            "Stalled": NOT_STALLED,
            "Reconciling": ("True", "ResourcesInProgress", ROLLING_MESSAGE),
            "next_check": at(22),
            "transitions": (),
        },
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M, now=at(10), previous=written(ROLLING, spec=SPEC_10M)),
        generation=2,
        now=at(12),
    ),
    StatusCase(
        "same-generation-keeps-spec-observed-time",
        ROLLING,
        {"specObservedTime": STAMP0, "next_check": at(10)},
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M),
        now=at(3),
    ),
    StatusCase(
        "regression-after-success-gets-a-full-timeout",
        ROLLING,
        {
            "specObservedTime": STAMP0,
            "AllCurrent": ("False", "ResourcesInProgress", ROLLING_MESSAGE),
            "AllCurrent@": stamp(at(60)),
            "Stalled": NOT_STALLED,
            "next_check": at(70),
            "transitions": (),
        },
        spec=SPEC_10M,
        previous=written(ALL_CURRENT, spec=SPEC_10M),
        now=at(60),
    ),
    StatusCase(
        "regression-times-out-from-when-it-left-current",
        ROLLING,
        {
            "Stalled": ("True", "Timeout", TIMED_OUT_MESSAGE),
            "transitions": (Transition("Warning", "TimedOut", TIMED_OUT_MESSAGE),),
        },
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M, now=at(60), previous=written(ALL_CURRENT, spec=SPEC_10M)),
        now=at(70),
    ),
    StatusCase(
        "unknown-flip-after-timeout-stays-timed-out",
        ROLLING,
        {
            "AllCurrent@": stamp(at(12)),
            "Stalled": ("True", "Timeout", TIMED_OUT_MESSAGE),
            "Stalled@": stamp(at(10)),
            "transitions": (),
            "next_check": None,
        },
        spec=SPEC_10M,
        previous=_flip_to_unknown_after_timeout(),
        now=at(12),
    ),
    StatusCase(
        "failed-past-the-deadline-stays-failed-not-timed-out",
        (failed("app0"), rolling("app1"), current("app2")),
        {"Stalled": ("True", "ResourcesFailed", None), "next_check": None},
        spec=SPEC_10M,
        previous=written(ROLLING, spec=SPEC_10M),
        now=at(20),
    ),
    StatusCase(
        "failure-resolved-after-the-deadline-times-out-without-a-second-event",
        ROLLING,
        {"Stalled": ("True", "Timeout", TIMED_OUT_MESSAGE), "Stalled@": stamp(at(5)), "transitions": ()},
        spec=SPEC_10M,
        previous=written(
            (failed("app0"), rolling("app1"), current("app2")),
            spec=SPEC_10M,
            now=at(5),
            previous=written(ROLLING, spec=SPEC_10M),
        ),
        now=at(20),
    ),
    StatusCase(
        "garbage-previous-is-first-sight",
        ALL_CURRENT,
        {
            "observedGeneration": 1,
            "specObservedTime": stamp(at(1)),
            "AllCurrent@": stamp(at(1)),
            "transitions": (Transition("Normal", "AllCurrent", "All 3 resources are Current"),),
        },
        previous=GARBAGE_PREVIOUS,
        now=at(1),
    ),
    StatusCase(
        "true-with-a-bad-time-gets-now-but-no-event",
        ALL_CURRENT,
        {"AllCurrent@": stamp(at(1)), "Ready@": STAMP0, "Stalled@": stamp(at(1)), "transitions": ()},
        previous=TRUE_WITH_BAD_TIME,
        now=at(1),
    ),
    StatusCase(
        "other-generation-moves-spec-observed-time",
        ALL_CURRENT,
        {"specObservedTime": stamp(at(1)), "observedGeneration": 2},
        previous=TRUE_WITH_BAD_TIME,
        generation=2,
        now=at(1),
    ),
    StatusCase(
        "future-spec-observed-time-is-clamped-to-now",
        ROLLING,
        {"specObservedTime": stamp(at(1)), "next_check": at(11)},
        spec=SPEC_10M,
        previous=FUTURE_SPEC_TIME,
        now=at(1),
    ),
    StatusCase(
        "naive-now-is-utc-and-to-the-second",
        ROLLING,
        {
            "specObservedTime": "2026-11-21T12:00:07Z",
            "AllCurrent@": "2026-11-21T12:00:07Z",
            "next_check": at(10, seconds=7),
        },
        spec=SPEC_10M,
        now=datetime(2026, 11, 21, 12, 0, 7, 999_999),
    ),
    StatusCase(
        "cluster-scoped-entries-leave-namespace-out",
        (
            report(
                "crontabs.example.com",
                Status.CURRENT,
                "",
                kind="CustomResourceDefinition",
                group="apiextensions.k8s.io",
                namespace="",
            ),
        ),
        {
            "resources": [
                {
                    "group": "apiextensions.k8s.io",
                    "kind": "CustomResourceDefinition",
                    "name": "crontabs.example.com",
                    "status": "Current",
                    "message": "",
                }
            ]
        },
    ),
    StatusCase(
        "resources-in-report-order-with-their-messages",
        (rolling("b"), current("a")),
        {
            "resources": [
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "namespace": "shop",
                    "name": "b",
                    "status": "InProgress",
                    "message": "Ready: 1/3",
                },
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "namespace": "shop",
                    "name": "a",
                    "status": "Current",
                    "message": "Deployment is available. Replicas: 3",
                },
            ]
        },
    ),
)


# -- issue 13: optional members, per-member deadlines, root causes, health-check refusals, selectors -------

PULLING = 'Ready: 0/3; pod app1-x container app: Back-off pulling image "nope:1"'
SPEC_2 = spec(count=2)
SPEC_2_10M = spec(timeout="10m", count=2)


def late(name: str, seconds: float = 30, ready: int = 1) -> ResourceReport:
    """A rolling member with its own deadline."""
    return report(name, Status.IN_PROGRESS, f"Ready: {ready}/3", timeout=timedelta(seconds=seconds))


def optional_(report_: ResourceReport) -> ResourceReport:
    return ResourceReport(
        report_.group,
        report_.kind,
        report_.namespace,
        report_.name,
        Status(report_.status),
        report_.message,
        report_.refusal,
        optional=True,
    )


def _stalled_by_member(spec_: StatusWatchSpec, first: ResourceReport) -> dict[str, Any]:
    """What was written 30 s after the spec change, ``app1`` past its 30 s deadline (Stalled=True)."""
    reports = (first, late("app1"))
    status = written(reports, spec=spec_, now=at(seconds=30), previous=written(reports, spec=spec_))
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "MemberTimeout")
    return status


MEMBER_LATE_MESSAGE = (
    "1 of 2 past their own timeout: deployment/app1 not Current within 30s (InProgress: Ready: 1/3)"
)

ISSUE_13_CASES: tuple[StatusCase, ...] = (
    StatusCase(
        "optional-member-never-blocks-and-is-not-counted",
        (current("app0"), optional_(rolling("app1"))),
        {
            "aggregateStatus": "Current",
            "progress": "1/1",
            "AllCurrent": (
                "True",
                "AllCurrent",
                "All 1 resource is Current; optional, not Current: deployment/app1 InProgress: Ready: 1/3",
            ),
            "Stalled": NOT_STALLED,
        },
        spec=SPEC_2,
    ),
    StatusCase(
        "optional-member-failed-stalls-nothing",
        (rolling("app0"), optional_(failed("app1"))),
        {
            "aggregateStatus": "InProgress",
            "progress": "0/1",
            "AllCurrent": (
                "False",
                "ResourcesInProgress",
                "1 of 1 not Current: deployment/app0 InProgress: Ready: 1/3",
            ),
            "Stalled": NOT_STALLED,
        },
        spec=SPEC_2,
    ),
    StatusCase(
        "optional-member-is-marked-in-resources",
        (optional_(current("app0")),),
        {
            "resources": [
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "namespace": "shop",
                    "name": "app0",
                    "status": "Current",
                    "message": "Deployment is available. Replicas: 3",
                    "optional": True,
                }
            ],
            "progress": "0/0",
        },
        spec=spec(count=1),
    ),
    StatusCase(
        "root-cause-is-the-reason-and-is-named-in-all-current",
        (current("app0"), report("app1", Status.IN_PROGRESS, PULLING, reason="ImagePullBackOff")),
        {
            "AllCurrent": (
                "False",
                "ResourcesInProgress",
                f"1 of 2 not Current: deployment/app1 InProgress (ImagePullBackOff): {PULLING}",
            ),
        },
        spec=SPEC_2,
    ),
    StatusCase(
        "member-deadline-ahead-is-the-next-check",
        (current("app0"), late("app1")),
        {"Stalled": NOT_STALLED, "next_check": at(seconds=30)},
        spec=SPEC_2,
    ),
    StatusCase(
        "nearest-of-member-and-spec-deadline-is-the-next-check",
        (current("app0"), late("app1")),
        {"next_check": at(seconds=30)},
        spec=SPEC_2_10M,
    ),
    StatusCase(
        "member-past-its-deadline-stalls-naming-it",
        (current("app0"), late("app1")),
        {
            "Stalled": ("True", "MemberTimeout", MEMBER_LATE_MESSAGE),
            "Reconciling": ("False", "Stalled", ""),
            "transitions": (Transition("Warning", "TimedOut", MEMBER_LATE_MESSAGE),),
            "next_check": None,
        },
        spec=SPEC_2,
        previous=written((current("app0"), late("app1")), spec=SPEC_2),
        now=at(seconds=30),
    ),
    StatusCase(
        "member-deadline-is-not-sticky-once-the-member-arrives",
        (current("app0"), report("app1", Status.CURRENT, "ok", timeout=timedelta(seconds=30))),
        {"Stalled": NOT_STALLED, "AllCurrent": ("True", "AllCurrent", "All 2 resources are Current")},
        spec=SPEC_2,
        previous=_stalled_by_member(SPEC_2, current("app0")),
        now=at(seconds=40),
    ),
    StatusCase(
        "a-member-deadline-does-not-make-the-spec-timeout-sticky",
        (rolling("app0"), report("app1", Status.CURRENT, "ok", timeout=timedelta(seconds=30))),
        {"Stalled": NOT_STALLED, "next_check": at(10)},
        spec=SPEC_2_10M,
        previous=_stalled_by_member(SPEC_2_10M, rolling("app0")),
        now=at(seconds=40),
    ),
    StatusCase(
        "health-check-that-does-not-compile-has-its-own-reason",
        ALL_CURRENT,
        {
            "aggregateStatus": "Unknown",
            "AllCurrent": (
                "False",
                "InvalidHealthCheck",
                "spec.healthChecks[0].current 'a ==': does not compile",
            ),
            "Stalled": (
                "True",
                "InvalidHealthCheck",
                "spec.healthChecks[0].current 'a ==': does not compile",
            ),
        },
        spec=None,
        spec_error="spec.healthChecks[0].current 'a ==': does not compile",
        spec_error_reason="InvalidHealthCheck",
    ),
    StatusCase(
        "empty-selector-stand-in-is-named-by-its-selector",
        (
            current("app0"),
            report("", Status.UNKNOWN, "selector app=shop matches no Deployment.apps", selector="app=shop"),
        ),
        {
            "aggregateStatus": "Unknown",
            "AllCurrent": (
                "Unknown",
                "ResourcesUnknown",
                "1 of 2 not Current: deployment selector app=shop Unknown: selector app=shop matches no "
                "Deployment.apps",
            ),
        },
        spec=SPEC_2,
    ),
    StatusCase(
        "a-refused-optional-member-is-still-refused",
        (
            current("app0"),
            ResourceReport(
                "apps", "Deployment", "other", "x", Status.UNKNOWN, REFUSAL, REFUSAL, optional=True
            ),
        ),
        {
            "AllCurrent": ("False", "IdentifierRefused", f"1 of 2 refused: deployment/x: {REFUSAL}"),
            "progress": "1/2",
        },
        spec=SPEC_2,
    ),
)

STATUS_CASES = STATUS_CASES + ISSUE_13_CASES
