"""Opt-in strict rules: each holds a result back only when enabled; the default is plain kstatus."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statuswatch.kstatus import Status, StrictRules, compute

from .cases import CASES, NOW, Case, cond, cr, make, pod, waiting

ALL_ON = StrictRules(
    load_balancer_ingress=True, container_failures=True, no_status_grace=timedelta(minutes=5)
)
LB = make("v1", "Service", spec={"type": "LoadBalancer", "clusterIP": "10.0.0.9"})


def test_defaults_are_all_off() -> None:
    assert StrictRules() == StrictRules(False, False, None)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_disabled_rules_change_nothing(case: Case) -> None:
    assert compute(case.obj, now=NOW, strict=StrictRules()) == compute(case.obj, now=NOW)


def test_load_balancer_waits_for_an_ingress_address() -> None:
    strict = StrictRules(load_balancer_ingress=True)
    with_address = {**LB, "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
    with_hostname = {**LB, "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}}

    pending = compute(LB, strict=strict)

    assert (pending.status, pending.reason) == (Status.IN_PROGRESS, "LoadBalancerPending")
    assert compute({**LB, "status": {"loadBalancer": {}}}, strict=strict).status is Status.IN_PROGRESS
    assert compute(with_address, strict=strict).status is Status.CURRENT
    assert compute(with_hostname, strict=strict).status is Status.CURRENT
    assert compute(LB).status is Status.CURRENT
    assert (
        compute(make("v1", "Service", spec={"clusterIP": "10.0.0.1"}), strict=strict).status is Status.CURRENT
    )


@pytest.mark.parametrize("reason", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"])
def test_image_pull_failures_are_failed(reason: str) -> None:
    stuck = pod({"phase": "Pending", "containerStatuses": [waiting("app", reason)]})

    result = compute(stuck, strict=StrictRules(container_failures=True))

    assert (result.status, result.reason) == (Status.FAILED, "ImagePullFailed")
    assert result.message == f"Containers cannot pull their image: app ({reason})"
    assert compute(stuck).status is Status.IN_PROGRESS


def test_init_container_crash_loop_is_failed() -> None:
    looping = pod({"phase": "Pending", "initContainerStatuses": [waiting("migrate", "CrashLoopBackOff")]})

    result = compute(looping, strict=StrictRules(container_failures=True))

    assert (result.status, result.reason) == (Status.FAILED, "InitContainerCrashLooping")
    assert result.message == "Init containers in CrashLoop state: migrate"
    assert compute(looping).status is Status.IN_PROGRESS


def test_completed_pods_are_not_held_back() -> None:
    done = pod({"phase": "Succeeded", "initContainerStatuses": [waiting("init", "ErrImagePull")]})

    assert compute(done, strict=ALL_ON).status is Status.CURRENT


def test_ready_pod_with_a_stuck_sidecar_image_is_failed() -> None:
    running = pod(
        {
            "phase": "Running",
            "conditions": [cond("Ready", "True")],
            "containerStatuses": [waiting("sidecar", "ImagePullBackOff")],
        }
    )

    assert compute(running, strict=StrictRules(container_failures=True)).status is Status.FAILED


def test_young_custom_resource_without_status_is_in_progress() -> None:
    strict = StrictRules(no_status_grace=timedelta(minutes=5))
    young = make("example.com/v1", "Widget", created="2026-11-21T11:58:00Z")
    old = make("example.com/v1", "Widget", created="2026-11-21T11:50:00Z")

    result = compute(young, now=NOW, strict=strict)

    assert (result.status, result.reason, result.message) == (
        Status.IN_PROGRESS,
        "NoStatusYet",
        "Resource has no status yet",
    )
    assert compute({**young, "status": {}}, now=NOW, strict=strict).status is Status.IN_PROGRESS
    assert compute(old, now=NOW, strict=strict).status is Status.CURRENT
    assert compute(young, now=NOW).status is Status.CURRENT
    assert compute(cr(status={"phase": "Ok"}), now=NOW, strict=strict).status is Status.CURRENT


def test_no_status_rule_leaves_built_in_kinds_alone() -> None:
    namespace = make("v1", "Namespace", created="2026-11-21T11:59:00Z")

    assert compute(namespace, now=NOW, strict=ALL_ON).status is Status.CURRENT


def test_strict_rules_never_soften_a_failure() -> None:
    stalled = cr(status={"conditions": [cond("Stalled", "True", "Bad", "bad")]})

    assert compute(stalled, now=NOW, strict=ALL_ON).status is Status.FAILED
