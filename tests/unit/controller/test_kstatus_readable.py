"""A StatusWatch reads right to Flux, kpt and Helm, which apply kstatus's generic rules to any object.

Each case builds a whole StatusWatch (metadata.generation plus the status build_status wrote) and runs this
project's kstatus ``compute`` on it: rolling out must read InProgress, done Current, failed, timed out,
refused or invalid Failed, and a spec change the operator has not observed yet InProgress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from statuswatch.kstatus import Status, compute

from .cases import (
    ALL_CURRENT,
    ROLLING,
    SPEC_10M,
    T0,
    at,
    build,
    current,
    failed,
    gone,
    report,
    spec,
    unknown,
    written,
)


def statuswatch(generation: int, status: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation, "uid": "u-1"},
        "spec": {"identifiers": [{"group": "apps", "kind": "Deployment", "name": "app0"}]},
        "status": dict(status),
    }


@dataclass(frozen=True)
class Readable:
    id: str
    generation: int
    status: Mapping[str, Any]
    reads: Status
    reason: str


_TIMED_OUT = written(ROLLING, spec=SPEC_10M, now=at(10), previous=written(ROLLING, spec=SPEC_10M))
_NOT_FOUND = spec(desired="NotFound")
_REFUSED = (current("app0"), report("app1", Status.CURRENT, "", namespace="other", refusal="other namespace"))

CASES = (
    Readable("rolling-out", 1, written(ROLLING), Status.IN_PROGRESS, "ResourcesInProgress"),
    Readable("done", 1, written(ALL_CURRENT), Status.CURRENT, ""),
    Readable("failed", 1, written((failed("app0"), current("app1"))), Status.FAILED, "ResourcesFailed"),
    Readable("timed-out", 1, _TIMED_OUT, Status.FAILED, "Timeout"),
    Readable(
        "invalid-spec",
        3,
        build((), spec=None, spec_error="spec.timeout (1s) must be longer", generation=3).status,
        Status.FAILED,
        "InvalidSpec",
    ),
    Readable("refused", 1, written(_REFUSED), Status.FAILED, "IdentifierRefused"),
    Readable(
        "only-unknown-blocks",
        1,
        written((current("app0"), unknown("app1"))),
        Status.IN_PROGRESS,
        "ResourcesUnknown",
    ),
    Readable(
        "spec-changed-not-yet-observed",
        2,
        written(ALL_CURRENT),
        Status.IN_PROGRESS,
        "LatestGenerationNotObserved",
    ),
    Readable(
        "timed-out-then-spec-changed-not-yet-observed",
        2,
        _TIMED_OUT,
        Status.IN_PROGRESS,
        "LatestGenerationNotObserved",
    ),
    Readable("not-found-done", 1, written((gone("app0"), gone("app1")), spec=_NOT_FOUND), Status.CURRENT, ""),
    Readable(
        "not-found-waiting",
        1,
        written((gone("app0"), current("app1")), spec=_NOT_FOUND),
        Status.IN_PROGRESS,
        "ResourcesInProgress",
    ),
    Readable(
        "timeout-cleared-when-current",
        1,
        written(ALL_CURRENT, spec=SPEC_10M, now=at(12), previous=_TIMED_OUT),
        Status.CURRENT,
        "",
    ),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_kstatus_reads_the_statuswatch(case: Readable) -> None:
    result = compute(statuswatch(case.generation, case.status), now=T0)

    assert (result.status, result.reason) == (case.reads, case.reason)


def test_done_reads_current_through_ready_not_by_default() -> None:
    """Done reads Current because Ready is True, not by kstatus's default for objects without conditions."""
    status = written(ALL_CURRENT)
    without_ready = dict(status, conditions=[c for c in status["conditions"] if c["type"] != "Ready"])
    rolling = written(ROLLING)

    assert compute(statuswatch(1, status), now=T0).message == "Resource is Ready"
    assert compute(statuswatch(1, without_ready), now=T0).message == "Resource is current"
    assert compute(statuswatch(1, rolling), now=T0).status == Status.IN_PROGRESS
