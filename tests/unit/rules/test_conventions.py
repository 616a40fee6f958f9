"""Conventions for custom kinds without a rule, from tables: what controllers write, and what it means."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus import Condition, Status
from statuswatch.rules import Library, decide
from statuswatch.rules.conventions import classify_condition_type, classify_word, is_failure_reason

NO_LIBRARY = Library()


def cr(status: Any = None, *, generation: int | None = 1, spec: Any = None, **kind: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": kind.get("api_version", "example.io/v1"),
        "kind": kind.get("kind", "Widget"),
        "metadata": {"name": "w", "namespace": "ns"},
    }
    if generation is not None:
        obj["metadata"]["generation"] = generation
    if spec is not None:
        obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def cond(type_: str, status: str, reason: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": "", **extra}


# (object, expected status, expected rule)
CASES: list[tuple[str, dict[str, Any], Status, str]] = [
    ("no status at all", cr(), Status.IN_PROGRESS, "convention:no-status"),
    ("an empty status", cr({}), Status.IN_PROGRESS, "convention:no-status"),
    (
        "a configuration-only kind without status",
        cr(api_version="monitoring.coreos.com/v1", kind="ServiceMonitor"),
        Status.CURRENT,
        "convention:config-only",
    ),
    (
        "a provider config of any Crossplane provider",
        cr(api_version="aws.upbound.io/v1beta1", kind="ProviderConfig"),
        Status.CURRENT,
        "convention:config-only",
    ),
    (
        "a kind named like configuration, without status",
        cr(api_version="gateway.envoyproxy.io/v1alpha1", kind="EnvoyProxyTemplate"),
        Status.CURRENT,
        "convention:config-only",
    ),
    (
        "a kind named like configuration that has a status is read as any other",
        cr({"conditions": [cond("Accepted", "False", "InvalidParameters")]}, kind="WidgetClass"),
        Status.FAILED,
        "convention:conditions",
    ),
    ("Ready=True", cr({"conditions": [cond("Ready", "True")]}), Status.CURRENT, "kstatus"),
    (
        "Ready=False with a progress reason",
        cr({"conditions": [cond("Ready", "False", "Creating")]}),
        Status.IN_PROGRESS,
        "kstatus",
    ),
    (
        "Ready=False with a failure reason",
        cr({"conditions": [cond("Ready", "False", "ReconcileError")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Synced=False with ReconcileError (Crossplane)",
        cr({"conditions": [cond("Ready", "True"), cond("Synced", "False", "ReconcileError")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Synced=Unknown",
        cr({"conditions": [cond("Synced", "Unknown")]}),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    (
        "Available=False with a neutral reason",
        cr({"conditions": [cond("Available", "False", "MinimumReplicasUnavailable")]}),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    (
        "every summary condition True (no Ready)",
        cr({"conditions": [cond("Synced", "True"), cond("Healthy", "True")]}),
        Status.CURRENT,
        "convention:conditions",
    ),
    (
        "a suffix type False (ControlPlaneReady)",
        cr(
            {
                "conditions": [
                    cond("Ready", "True"),
                    cond("ControlPlaneReady", "False", "WaitingForControlPlane"),
                ]
            }
        ),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    (
        "Cluster API severity Error",
        cr({"conditions": [cond("InfrastructureReady", "False", "ProvisionFailed", severity="Error")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Gateway Accepted=False Invalid",
        cr(
            {
                "conditions": [
                    cond("Accepted", "False", "InvalidParameters"),
                    cond("Programmed", "False", "Pending"),
                ]
            }
        ),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Degraded=True",
        cr({"conditions": [cond("Degraded", "True", "Whatever")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    ("Degraded=False", cr({"conditions": [cond("Degraded", "False")]}), Status.CURRENT, "kstatus"),
    (
        "InstallFailed=True",
        cr({"conditions": [cond("InstallFailed", "True", "Whatever")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Progressing=True while rolling",
        cr({"conditions": [cond("Progressing", "True", "ReplicaSetUpdated")]}),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    (
        "Progressing=True once done (NewReplicaSetAvailable)",
        cr({"conditions": [cond("Progressing", "True", "NewReplicaSetAvailable")]}),
        Status.CURRENT,
        "kstatus",
    ),
    (
        "Progressing=False with ProgressDeadlineExceeded",
        cr({"conditions": [cond("Progressing", "False", "ProgressDeadlineExceeded")]}),
        Status.FAILED,
        "convention:conditions",
    ),
    (
        "Strimzi NotReady=True",
        cr({"conditions": [cond("NotReady", "True", "Creating")]}),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    (
        "a Warning type says nothing",
        cr({"conditions": [cond("Warning", "True", "Deprecated")]}),
        Status.CURRENT,
        "kstatus",
    ),
    ("Paused=False says nothing", cr({"conditions": [cond("Paused", "False")]}), Status.CURRENT, "kstatus"),
    (
        "Ready=True for an older generation",
        cr({"conditions": [cond("Ready", "True", observedGeneration=1)]}, generation=2),
        Status.IN_PROGRESS,
        "convention:stale-condition",
    ),
    (
        "Ready=True for this generation",
        cr({"conditions": [cond("Ready", "True", observedGeneration=2)]}, generation=2),
        Status.CURRENT,
        "kstatus",
    ),
    (
        "route conditions per parent (Gateway API)",
        cr(
            {
                "parents": [
                    {
                        "parentRef": {"name": "gw"},
                        "conditions": [cond("Accepted", "False", "NotAllowedByListeners")],
                    }
                ]
            }
        ),
        Status.IN_PROGRESS,
        "convention:conditions",
    ),
    ("phase Failed", cr({"phase": "Failed"}), Status.FAILED, "convention:phase"),
    ("phase CrashLoopBackOff", cr({"phase": "CrashLoopBackOff"}), Status.FAILED, "convention:phase"),
    ("phase PartiallyFailed (Velero)", cr({"phase": "PartiallyFailed"}), Status.FAILED, "convention:phase"),
    ("phase Pending", cr({"phase": "Pending"}), Status.IN_PROGRESS, "convention:phase"),
    (
        "phase provisioning (lower case)",
        cr({"phase": "provisioning"}),
        Status.IN_PROGRESS,
        "convention:phase",
    ),
    ("phase Running", cr({"phase": "Running"}), Status.CURRENT, "convention:phase"),
    ("phase Succeeded", cr({"phase": "Succeeded"}), Status.CURRENT, "convention:phase"),
    ("an unknown phase word", cr({"phase": "Glorious"}), Status.CURRENT, "kstatus"),
    ("an unknown phase verb in -ing", cr({"phase": "Blooming"}), Status.IN_PROGRESS, "convention:phase"),
    ("state error", cr({"state": "error"}), Status.FAILED, "convention:state"),
    ("state initializing (Percona)", cr({"state": "initializing"}), Status.IN_PROGRESS, "convention:state"),
    ("health red (ECK)", cr({"health": "red"}), Status.FAILED, "convention:health"),
    ("health yellow (ECK)", cr({"health": "yellow"}), Status.IN_PROGRESS, "convention:health"),
    (
        "health.status Degraded (Argo CD)",
        cr({"health": {"status": "Degraded"}}),
        Status.FAILED,
        "convention:health.status",
    ),
    (
        "health.status Progressing (Argo CD)",
        cr({"health": {"status": "Progressing"}}),
        Status.IN_PROGRESS,
        "convention:health.status",
    ),
    (
        "sync.status OutOfSync (Argo CD)",
        cr({"sync": {"status": "OutOfSync"}}),
        Status.IN_PROGRESS,
        "convention:sync.status",
    ),
    (
        "a phase says Running but Ready=False",
        cr({"phase": "Running", "conditions": [cond("Ready", "False", "Starting")]}),
        Status.IN_PROGRESS,
        "kstatus",
    ),
    (
        "a phase says Failed while Ready=True: the worst wins",
        cr({"phase": "Failed", "conditions": [cond("Ready", "True")]}),
        Status.FAILED,
        "convention:phase",
    ),
    (
        "replicas short of spec",
        cr({"replicas": 3, "readyReplicas": 1}, spec={"replicas": 3}),
        Status.IN_PROGRESS,
        "convention:replicas",
    ),
    (
        "replicas all ready",
        cr({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3}, spec={"replicas": 3}),
        Status.CURRENT,
        "kstatus",
    ),
    ("status.ready false", cr({"ready": False}), Status.IN_PROGRESS, "convention:flags"),
    (
        "status.readyToUse false (VolumeSnapshot)",
        cr({"readyToUse": False}),
        Status.IN_PROGRESS,
        "convention:flags",
    ),
    ("status.ready true", cr({"ready": True}), Status.CURRENT, "convention:flags"),
    ("status.ready the string False", cr({"ready": "False"}), Status.IN_PROGRESS, "convention:flags"),
    ("status.ready 1/3", cr({"ready": "1/3"}), Status.IN_PROGRESS, "convention:flags"),
    ("status.ready 3/3", cr({"ready": "3/3"}), Status.CURRENT, "kstatus"),
    (
        "ready instances short of the instances the status gives",
        cr({"instances": 3, "readyInstances": 1}),
        Status.IN_PROGRESS,
        "convention:counts",
    ),
    ("all instances ready", cr({"instances": 3, "readyInstances": 3}), Status.CURRENT, "kstatus"),
    (
        "a phase in words that says work is under way",
        cr({"phase": "Setting up primary"}),
        Status.IN_PROGRESS,
        "convention:phase",
    ),
    (
        "Cluster API failureReason",
        cr({"failureReason": "InvalidConfiguration", "failureMessage": "bad", "phase": "Provisioning"}),
        Status.FAILED,
        "convention:failure-reason",
    ),
    (
        "a hash in observedGeneration (Argo Rollouts) skips the generation check",
        cr({"observedGeneration": "6b8f7c9d5", "phase": "Healthy"}, generation=3),
        Status.CURRENT,
        "convention:phase",
    ),
    (
        "an integer observedGeneration behind the generation",
        cr({"observedGeneration": 2, "phase": "Running"}, generation=3),
        Status.IN_PROGRESS,
        "kstatus",
    ),
    (
        "Stalled=True stays kstatus's",
        cr({"conditions": [cond("Stalled", "True", "Broken")]}),
        Status.FAILED,
        "kstatus",
    ),
    ("only observedGeneration", cr({"observedGeneration": 1}), Status.CURRENT, "kstatus"),
    (
        "a deleting object is Terminating",
        {**cr({"phase": "Failed"}), "metadata": {"name": "w", "deletionTimestamp": "2026-01-01T00:00:00Z"}},
        Status.TERMINATING,
        "kstatus",
    ),
    (
        "malformed conditions are Unknown",
        cr({"conditions": "nope"}),
        Status.UNKNOWN,
        "kstatus",
    ),
]


@pytest.mark.parametrize(
    ("obj", "status", "rule"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_conventions(obj: dict[str, Any], status: Status, rule: str) -> None:
    decision = decide(obj, library=NO_LIBRARY)
    assert (decision.status, decision.rule) == (status, rule), decision


@pytest.mark.parametrize("obj", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_kstatus_mode_is_exact_kstatus(obj: dict[str, Any]) -> None:
    from statuswatch.kstatus import ComputeError, compute

    decision = decide(obj, library=NO_LIBRARY, mode="kstatus")
    assert decision.rule == "kstatus"
    said: tuple[Status, str, tuple[Condition, ...]]
    try:
        expected = compute(obj)
    except ComputeError as error:
        said = (Status.UNKNOWN, str(error), ())
    else:
        said = (expected.status, expected.message, expected.conditions)
    assert (decision.status, decision.message, decision.conditions) == said


@pytest.mark.parametrize("obj", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_a_convention_never_calls_current_what_kstatus_holds_back(obj: dict[str, Any]) -> None:
    from statuswatch.kstatus import ComputeError, compute

    try:
        expected = compute(obj).status
    except ComputeError:
        return
    rank = {Status.CURRENT: 0, Status.IN_PROGRESS: 1, Status.FAILED: 2}
    decided = decide(obj, library=NO_LIBRARY).status
    if expected in rank and decided in rank:
        assert rank[decided] >= rank[expected]


@pytest.mark.parametrize(
    ("reason", "failure"),
    [
        ("ReconcileError", True),
        ("CrashLoopBackOff", True),
        ("ErrImagePull", True),
        ("InvalidSpec", True),
        ("ProgressDeadlineExceeded", True),
        ("BackOff", True),
        ("UnsupportedValue", True),
        ("NoErrors", False),
        ("NotFailed", False),
        ("Creating", False),
        ("Terraforming", False),
        ("Deferred", False),
        ("", False),
    ],
)
def test_failure_reasons(reason: str, failure: bool) -> None:
    assert is_failure_reason(reason) is failure


@pytest.mark.parametrize(
    ("type_", "kind"),
    [
        ("Ready", "positive"),
        ("MachinesReady", "positive"),
        ("ResourcesAvailable", "positive"),
        ("Degraded", "failed"),
        ("ReconcileFailed", "failed"),
        ("ComparisonError", "failed"),
        ("Progressing", "progress"),
        ("InstallPlanPending", "progress"),
        ("NotReady", "progress"),
        ("Paused", None),
        ("Active", None),
        ("OrphanedResourceWarning", None),
        ("LastBackupSucceeded", None),
    ],
)
def test_condition_type_polarity(type_: str, kind: str | None) -> None:
    assert classify_condition_type(type_) == kind


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Failed", Status.FAILED),
        ("CREATE_FAILED", Status.FAILED),
        ("degraded", Status.FAILED),
        ("Pending", Status.IN_PROGRESS),
        ("Applying Changes", Status.IN_PROGRESS),
        ("unknown", Status.IN_PROGRESS),
        ("Running", Status.CURRENT),
        ("Bound", Status.CURRENT),
        ("up", Status.CURRENT),
        ("Blooming", Status.IN_PROGRESS),  # an unknown verb in -ing: work under way
        ("Setting up primary", Status.IN_PROGRESS),
        ("Serving", Status.CURRENT),
        ("Glorious", None),
        ("", None),
    ],
)
def test_vocabulary(word: str, status: Status | None) -> None:
    assert classify_word(word) == status
