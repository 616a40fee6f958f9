"""Pins what the case table leaves to chance: which rule wins when two shortfalls hold at once.

Each object below is short of its goal in two ways; kstatus reports the first check in its own order, so a
port that tests its checks one at a time could swap two of them and still pass every single-shortfall case.
Expected results are read from Go's ``pkg/kstatus/status/core.go`` (``deploymentConditions``,
``daemonsetConditions``, ``stsConditions``, ``replicasetConditions``) and ``generic.go``
(``checkGeneration``) at cli-utils 5895ad6; the order is also written down in docs/kstatus.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus import Status, compute

from .cases import DEP_DONE, DS_DONE, NOW, RS_DONE, STS_DONE, cond, cr, dep, ds, rs, sts


def _outcome(obj: dict[str, Any]) -> tuple[str, str, str]:
    result = compute(obj, now=NOW)
    return str(result.status), result.reason, result.message


def _dep_status(**fields: Any) -> dict[str, Any]:
    return {**DEP_DONE, **fields}


# Deployment: deadline, LessReplicas, LessUpdated, ExtraPods, LessAvailable, LessReady,
# ReplicaSetNotAvailable, DeploymentNotAvailable.
DEPLOYMENT_PAIRS = [
    pytest.param(
        dep(
            status=_dep_status(
                replicas=1, conditions=[cond("Progressing", "False", "ProgressDeadlineExceeded", "late")]
            )
        ),
        ("Failed", "ProgressDeadlineExceeded", "Progress deadline exceeded"),
        id="deadline exceeded beats too few replicas",
    ),
    pytest.param(
        dep(status=_dep_status(replicas=2, updatedReplicas=1)),
        ("InProgress", "LessReplicas", "Replicas: 2/3"),
        id="too few replicas beats too few updated",
    ),
    pytest.param(
        dep(status=_dep_status(replicas=4, updatedReplicas=2)),
        ("InProgress", "LessUpdated", "Updated: 2/3"),
        id="too few updated beats a surplus pod (mid maxSurge rollout)",
    ),
    pytest.param(
        dep(status=_dep_status(replicas=4, availableReplicas=2)),
        ("InProgress", "ExtraPods", "Pending termination: 1"),
        id="a surplus pod beats too few available",
    ),
    pytest.param(
        dep(status=_dep_status(availableReplicas=2, readyReplicas=1)),
        ("InProgress", "LessAvailable", "Available: 2/3"),
        id="too few available beats too few ready",
    ),
    pytest.param(
        dep(
            spec={"progressDeadlineSeconds": 600},
            status=_dep_status(readyReplicas=2, conditions=[cond("Available", "True")]),
        ),
        ("InProgress", "LessReady", "Ready: 2/3"),
        id="too few ready beats no NewReplicaSetAvailable",
    ),
    pytest.param(
        dep(spec={"progressDeadlineSeconds": 600}, status=_dep_status(conditions=[])),
        ("InProgress", "ReplicaSetNotAvailable", "ReplicaSet not Available"),
        id="no NewReplicaSetAvailable beats not Available",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), DEPLOYMENT_PAIRS)
def test_deployment_reports_the_first_shortfall_in_kstatus_order(
    obj: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert _outcome(obj) == expected


def test_deployment_with_exactly_one_surplus_pod_is_in_progress() -> None:
    # The usual state of a maxSurge=1 rollout near its end: the new ReplicaSet is complete and available,
    # one old pod is still terminating.
    surplus = dep(status=_dep_status(replicas=4))

    assert _outcome(surplus) == ("InProgress", "ExtraPods", "Pending termination: 1")
    assert _outcome(dep(status=_dep_status(replicas=3)))[0] == "Current"


def test_deployment_available_count_is_measured_against_updated_replicas() -> None:
    # Go divides by status.updatedReplicas, not spec.replicas; they differ only when updated exceeds spec.
    obj = dep(status=_dep_status(updatedReplicas=4, availableReplicas=3))

    assert _outcome(obj) == ("InProgress", "LessAvailable", "Available: 3/4")


# DaemonSet: LessCurrent, LessUpdated, LessAvailable, LessReady.
@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(
            {"currentNumberScheduled": 1, "updatedNumberScheduled": 1},
            ("LessCurrent", "Current: 1/2"),
            id="too few scheduled beats too few updated",
        ),
        pytest.param(
            {"updatedNumberScheduled": 1, "numberAvailable": 0},
            ("LessUpdated", "Updated: 1/2"),
            id="too few updated beats too few available",
        ),
        pytest.param(
            {"numberAvailable": 1, "numberReady": 0},
            ("LessAvailable", "Available: 1/2"),
            id="too few available beats too few ready",
        ),
        pytest.param(
            {"numberAvailable": 0, "numberReady": 1},
            ("LessAvailable", "Available: 0/2"),
            id="too few available beats too few ready whichever is smaller",
        ),
    ],
)
def test_daemonset_reports_the_first_shortfall_in_kstatus_order(
    counts: dict[str, int], expected: tuple[str, str]
) -> None:
    assert _outcome(ds({**DS_DONE, **counts})) == ("InProgress", *expected)


def test_statefulset_too_few_ready_beats_a_surplus_pod() -> None:
    obj = sts(status={**STS_DONE, "replicas": 4, "readyReplicas": 2})

    assert _outcome(obj) == ("InProgress", "LessReady", "Ready: 2/3")


def test_replicaset_too_few_available_beats_too_few_ready() -> None:
    obj = rs({**RS_DONE, "availableReplicas": 1, "readyReplicas": 0})

    assert _outcome(obj) == ("InProgress", "LessAvailable", "Available: 1/2")


# Generation: Go compares with !=, so an observedGeneration ahead of metadata.generation is InProgress too.
@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            dep(status={**DEP_DONE, "observedGeneration": 3}, generation=2),
            "Deployment generation is 2, but latest observed generation is 3",
            id="deployment observed ahead",
        ),
        pytest.param(
            cr(status={"observedGeneration": 5, "conditions": [cond("Ready", "True")]}, generation=4),
            "Widget generation is 4, but latest observed generation is 5",
            id="custom resource observed ahead",
        ),
        pytest.param(
            dep(status={**DEP_DONE, "observedGeneration": 1}, generation=2),
            "Deployment generation is 2, but latest observed generation is 1",
            id="deployment observed behind",
        ),
    ],
)
def test_any_generation_mismatch_is_not_observed(obj: dict[str, Any], message: str) -> None:
    assert _outcome(obj) == ("InProgress", "LatestGenerationNotObserved", message)


def test_equal_generations_pass_the_generation_check() -> None:
    obj = cr(status={"observedGeneration": 4, "conditions": [cond("Ready", "True")]}, generation=4)

    assert compute(obj, now=NOW).status is Status.CURRENT
