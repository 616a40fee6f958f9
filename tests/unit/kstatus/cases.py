"""The table of objects and the status kstatus gives each, shared by the compute and projection tests.

Written from the rules (one case per rule and per reason string, plus the edges), not copied from Go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    id: str
    obj: dict[str, Any]
    status: str
    reason: str
    message: str


def make(
    api_version: str,
    kind: str,
    *,
    spec: dict[str, Any] | None = None,
    status: Any = None,
    generation: Any = None,
    created: str | None = "2026-11-21T11:00:00Z",
    **metadata: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x", "namespace": "ns", "uid": "u-1", "resourceVersion": "7", **metadata}
    if generation is not None:
        meta["generation"] = generation
    if created is not None:
        meta["creationTimestamp"] = created
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = spec
    if status is not None:
        obj["status"] = status
    return obj


def cond(type_: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-11-21T11:00:00Z",
    }


def dep(spec: dict[str, Any] | None = None, status: Any = None, **kw: Any) -> dict[str, Any]:
    return make("apps/v1", "Deployment", spec={"replicas": 3, **(spec or {})}, status=status, **kw)


DEP_DONE_CONDITIONS = [
    cond("Available", "True", "MinimumReplicasAvailable"),
    cond("Progressing", "True", "NewReplicaSetAvailable"),
]
DEP_DONE = {
    "observedGeneration": 2,
    "replicas": 3,
    "updatedReplicas": 3,
    "readyReplicas": 3,
    "availableReplicas": 3,
    "conditions": DEP_DONE_CONDITIONS,
}


def sts(spec: dict[str, Any] | None = None, status: Any = None) -> dict[str, Any]:
    return make("apps/v1", "StatefulSet", spec={"replicas": 3, **(spec or {})}, status=status, generation=1)


STS_DONE = {
    "observedGeneration": 1,
    "replicas": 3,
    "readyReplicas": 3,
    "currentReplicas": 3,
    "updatedReplicas": 3,
    "currentRevision": "r1",
    "updateRevision": "r1",
}


def ds(status: Any = None, generation: Any = 1) -> dict[str, Any]:
    return make("apps/v1", "DaemonSet", spec={}, status=status, generation=generation)


DS_DONE = {
    "observedGeneration": 1,
    "desiredNumberScheduled": 2,
    "currentNumberScheduled": 2,
    "updatedNumberScheduled": 2,
    "numberAvailable": 2,
    "numberReady": 2,
}


def rs(status: Any = None, replicas: int = 2) -> dict[str, Any]:
    return make("apps/v1", "ReplicaSet", spec={"replicas": replicas}, status=status, generation=1)


RS_DONE = {
    "observedGeneration": 1,
    "replicas": 2,
    "fullyLabeledReplicas": 2,
    "readyReplicas": 2,
    "availableReplicas": 2,
}


def pod(status: Any = None, created: str | None = "2026-11-21T11:00:00Z") -> dict[str, Any]:
    return make("v1", "Pod", spec={"containers": [{"name": "app"}]}, status=status, created=created)


def waiting(name: str, reason: str) -> dict[str, Any]:
    return {"name": name, "ready": False, "state": {"waiting": {"reason": reason, "message": "..."}}}


def job(spec: dict[str, Any] | None = None, status: Any = None) -> dict[str, Any]:
    return make("batch/v1", "Job", spec={"completions": 4, "parallelism": 2, **(spec or {})}, status=status)


def crd(conditions: list[dict[str, Any]] | None) -> dict[str, Any]:
    status = None if conditions is None else {"conditions": conditions}
    return make("apiextensions.k8s.io/v1", "CustomResourceDefinition", spec={}, status=status)


def cr(status: Any = None, generation: Any = None) -> dict[str, Any]:
    return make("example.com/v1", "Widget", spec={"size": 1}, status=status, generation=generation)


C, P, F, T = "Current", "InProgress", "Failed", "Terminating"

CASES: list[Case] = [
    # --- generic steps, in order --------------------------------------------------------------------
    Case(
        "terminating beats everything",
        dep(
            status={"conditions": [cond("Stalled", "True", "Boom", "boom")]},
            deletionTimestamp="2026-11-21T11:59:00Z",
        ),
        T,
        "",
        "Resource scheduled for deletion",
    ),
    Case(
        "empty deletionTimestamp is ignored",
        make("example.com/v1", "Widget", deletionTimestamp=""),
        C,
        "",
        "Resource is current",
    ),
    Case(
        "generation not observed",
        dep(status={**DEP_DONE, "observedGeneration": 1}, generation=2),
        P,
        "LatestGenerationNotObserved",
        "Deployment generation is 2, but latest observed generation is 1",
    ),
    Case(
        "generation check skipped without observedGeneration",
        cr(status={"conditions": []}, generation=5),
        C,
        "",
        "Resource is current",
    ),
    Case(
        "generation check skipped without generation",
        cr(status={"observedGeneration": 3}),
        C,
        "",
        "Resource is current",
    ),
    Case(
        "Reconciling=True decides",
        dep(
            status={**DEP_DONE, "conditions": [cond("Reconciling", "True", "Working", "still at it")]},
            generation=2,
        ),
        P,
        "Working",
        "still at it",
    ),
    Case(
        "Stalled=True decides over the kind rule",
        dep(status={**DEP_DONE, "conditions": [cond("Stalled", "True", "Stuck", "gave up")]}, generation=2),
        F,
        "Stuck",
        "gave up",
    ),
    Case(
        "first of Stalled and Reconciling wins (Stalled first)",
        cr(status={"conditions": [cond("Stalled", "True", "S", "s"), cond("Reconciling", "True", "R", "r")]}),
        F,
        "S",
        "s",
    ),
    Case(
        "first of Stalled and Reconciling wins (Reconciling first)",
        cr(status={"conditions": [cond("Reconciling", "True", "R", "r"), cond("Stalled", "True", "S", "s")]}),
        P,
        "R",
        "r",
    ),
    Case(
        "Reconciling=False is ignored",
        cr(status={"conditions": [cond("Reconciling", "False", "R", "r")]}),
        C,
        "",
        "Resource is current",
    ),
    # --- generic kinds: Ready fallback and default ---------------------------------------------------
    Case("custom resource without status", cr(), C, "", "Resource is current"),
    Case(
        "custom resource Ready=True",
        cr(status={"conditions": [cond("Ready", "True", "Done")]}),
        C,
        "",
        "Resource is Ready",
    ),
    Case(
        "custom resource Ready=False",
        cr(status={"conditions": [cond("Ready", "False", "NotReadyYet", "waiting for db")]}),
        P,
        "NotReadyYet",
        "waiting for db",
    ),
    Case(
        "custom resource Ready=Unknown",
        cr(status={"conditions": [cond("Ready", "Unknown", "Pending", "unsure")]}),
        P,
        "Pending",
        "unsure",
    ),
    Case(
        "first Ready condition wins",
        cr(status={"conditions": [cond("Ready", "Unknown", "First", "1"), cond("Ready", "True", "Second")]}),
        P,
        "First",
        "1",
    ),
    Case(
        "Ready with an odd status is skipped",
        cr(status={"conditions": [cond("Ready", "Maybe"), cond("Ready", "False", "Later", "2")]}),
        P,
        "Later",
        "2",
    ),
    Case(
        "unknown condition types are ignored",
        cr(status={"conditions": [cond("Healthy", "False", "Bad")]}),
        C,
        "",
        "Resource is current",
    ),
    Case(
        "generation mismatch on a custom resource",
        cr(status={"observedGeneration": 1, "conditions": [cond("Ready", "True")]}, generation=2),
        P,
        "LatestGenerationNotObserved",
        "Widget generation is 2, but latest observed generation is 1",
    ),
    Case(
        "kind rules ignore the version",
        make("apps/v1beta2", "Deployment", spec={"replicas": 1}),
        P,
        "LessReplicas",
        "Replicas: 0/1",
    ),
    Case(
        "a built-in kind name in another group is generic",
        make("example.com/v1", "Deployment", spec={"replicas": 1}),
        C,
        "",
        "Resource is current",
    ),
    Case(
        "Namespace is generic",
        make("v1", "Namespace", status={"phase": "Active"}),
        C,
        "",
        "Resource is current",
    ),
    # --- Deployment ----------------------------------------------------------------------------------
    Case("deployment without status", dep(), P, "LessReplicas", "Replicas: 0/3"),
    Case(
        "deployment current",
        dep(status=DEP_DONE, generation=2),
        C,
        "",
        "Deployment is available. Replicas: 3",
    ),
    Case(
        "deployment spec.replicas defaults to 1",
        make(
            "apps/v1",
            "Deployment",
            spec={},
            status={
                **DEP_DONE,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            },
        ),
        C,
        "",
        "Deployment is available. Replicas: 1",
    ),
    Case(
        "deployment progress deadline exceeded",
        dep(
            status={
                **DEP_DONE,
                "conditions": [
                    cond("Progressing", "False", "ProgressDeadlineExceeded", "RS web-1 timed out")
                ],
            }
        ),
        F,
        "ProgressDeadlineExceeded",
        "Progress deadline exceeded",
    ),
    Case(
        "deployment deadline exceeded whatever the condition status",
        dep(status={**DEP_DONE, "conditions": [cond("Progressing", "Unknown", "ProgressDeadlineExceeded")]}),
        F,
        "ProgressDeadlineExceeded",
        "Progress deadline exceeded",
    ),
    Case(
        "deployment less updated",
        dep(status={**DEP_DONE, "updatedReplicas": 1}),
        P,
        "LessUpdated",
        "Updated: 1/3",
    ),
    Case(
        "deployment extra pods",
        dep(status={**DEP_DONE, "replicas": 5}),
        P,
        "ExtraPods",
        "Pending termination: 2",
    ),
    Case(
        "deployment less available",
        dep(status={**DEP_DONE, "availableReplicas": 2}),
        P,
        "LessAvailable",
        "Available: 2/3",
    ),
    Case(
        "deployment less ready",
        dep(status={**DEP_DONE, "readyReplicas": 1, "updatedReplicas": 3, "availableReplicas": 3}),
        P,
        "LessReady",
        "Ready: 1/3",
    ),
    Case(
        "deployment with a deadline but no Progressing condition",
        dep(
            spec={"progressDeadlineSeconds": 600}, status={**DEP_DONE, "conditions": DEP_DONE_CONDITIONS[:1]}
        ),
        P,
        "ReplicaSetNotAvailable",
        "ReplicaSet not Available",
    ),
    Case(
        "deployment Progressing=False (not deadline)",
        dep(
            spec={"progressDeadlineSeconds": 600},
            status={
                **DEP_DONE,
                "conditions": [DEP_DONE_CONDITIONS[0], cond("Progressing", "False", "ReplicaSetUpdated")],
            },
        ),
        P,
        "ReplicaSetNotAvailable",
        "ReplicaSet not Available",
    ),
    Case(
        "deployment without a deadline counts as progressing",
        dep(status={**DEP_DONE, "conditions": DEP_DONE_CONDITIONS[:1]}),
        C,
        "",
        "Deployment is available. Replicas: 3",
    ),
    Case(
        "deployment not available",
        dep(status={**DEP_DONE, "conditions": [DEP_DONE_CONDITIONS[1], cond("Available", "False")]}),
        P,
        "DeploymentNotAvailable",
        "Deployment not Available",
    ),
    Case(
        "deployment replicas as float read as the default",
        dep(
            spec={"replicas": 3.0},
            status={
                **DEP_DONE,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            },
        ),
        C,
        "",
        "Deployment is available. Replicas: 1",
    ),
    Case(
        "deployment replicas as bool read as the default",
        dep(
            spec={"replicas": True},
            status={
                **DEP_DONE,
                "replicas": 1,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
            },
        ),
        C,
        "",
        "Deployment is available. Replicas: 1",
    ),
    Case(
        "extensions/Deployment uses the same rule",
        make("extensions/v1beta1", "Deployment", spec={"replicas": 2}),
        P,
        "LessReplicas",
        "Replicas: 0/2",
    ),
    # --- StatefulSet ---------------------------------------------------------------------------------
    Case(
        "statefulset OnDelete",
        sts({"updateStrategy": {"type": "OnDelete"}}),
        C,
        "",
        "StatefulSet is using the ondelete update strategy",
    ),
    Case("statefulset without status", sts(), P, "LessReplicas", "Replicas: 0/3"),
    Case(
        "statefulset only currentReplicas",
        sts(status={"currentReplicas": 3}),
        P,
        "LessReplicas",
        "Replicas: 0/3",
    ),
    Case(
        "statefulset less ready",
        sts(status={**STS_DONE, "readyReplicas": 2}),
        P,
        "LessReady",
        "Ready: 2/3",
    ),
    Case(
        "statefulset extra pods",
        sts(status={**STS_DONE, "replicas": 4}),
        P,
        "ExtraPods",
        "Pending termination: 1",
    ),
    Case(
        "statefulset partition rollout",
        sts(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            {**STS_DONE, "updatedReplicas": 1},
        ),
        P,
        "PartitionRollout",
        "updated: 1/2",
    ),
    Case(
        "statefulset partition complete skips revisions",
        sts(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}},
            {**STS_DONE, "updatedReplicas": 2, "updateRevision": "r2"},
        ),
        C,
        "",
        "Partition rollout complete. updated: 2",
    ),
    Case(
        "statefulset partition 0 is a partition",
        sts(
            {"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
            {**STS_DONE, "updatedReplicas": 3},
        ),
        C,
        "",
        "Partition rollout complete. updated: 3",
    ),
    Case(
        "statefulset less current",
        sts(status={**STS_DONE, "currentReplicas": 1}),
        P,
        "LessCurrent",
        "current: 1/3",
    ),
    Case(
        "statefulset revision mismatch",
        sts(status={**STS_DONE, "updateRevision": "r2"}),
        P,
        "RevisionMismatch",
        "Waiting for updated revision to match current",
    ),
    Case(
        "statefulset current",
        sts(status=STS_DONE),
        C,
        "",
        "All replicas scheduled as expected. Replicas: 3",
    ),
    # --- DaemonSet -----------------------------------------------------------------------------------
    Case(
        "daemonset without generation",
        ds(generation=None),
        P,
        "NoGeneration",
        "DaemonSet metadata.generation not found",
    ),
    Case(
        "daemonset without status",
        ds(),
        P,
        "NoObservedGeneration",
        "DaemonSet status.observedGeneration not found",
    ),
    Case(
        "daemonset without desired number",
        ds({"observedGeneration": 1, "currentNumberScheduled": 1}),
        P,
        "NoDesiredNumber",
        "Missing .status.desiredNumberScheduled",
    ),
    Case(
        "daemonset less current",
        ds({**DS_DONE, "currentNumberScheduled": 1}),
        P,
        "LessCurrent",
        "Current: 1/2",
    ),
    Case(
        "daemonset less updated",
        ds({**DS_DONE, "updatedNumberScheduled": 0}),
        P,
        "LessUpdated",
        "Updated: 0/2",
    ),
    Case(
        "daemonset less available",
        ds({**DS_DONE, "numberAvailable": 1}),
        P,
        "LessAvailable",
        "Available: 1/2",
    ),
    Case("daemonset less ready", ds({**DS_DONE, "numberReady": 1}), P, "LessReady", "Ready: 1/2"),
    Case(
        "daemonset generation not observed",
        ds({**DS_DONE, "observedGeneration": 1}, generation=2),
        P,
        "LatestGenerationNotObserved",
        "DaemonSet generation is 2, but latest observed generation is 1",
    ),
    Case("daemonset current", ds(DS_DONE), C, "", "All replicas scheduled as expected. Replicas: 2"),
    Case(
        "daemonset with nothing to schedule",
        ds({"observedGeneration": 1, "desiredNumberScheduled": 0}),
        C,
        "",
        "All replicas scheduled as expected. Replicas: 0",
    ),
    # --- ReplicaSet ----------------------------------------------------------------------------------
    Case("replicaset without status", rs(), P, "LessLabelled", "Labelled: 0/2"),
    Case(
        "replicaset ReplicaFailure is InProgress",
        rs({**RS_DONE, "conditions": [cond("ReplicaFailure", "True", "FailedCreate", "quota")]}),
        P,
        "ReplicaFailure",
        "Replica Failure condition. Check Pods",
    ),
    Case(
        "replicaset ReplicaFailure=False is ignored",
        rs({**RS_DONE, "conditions": [cond("ReplicaFailure", "False")]}),
        C,
        "",
        "ReplicaSet is available. Replicas: 2",
    ),
    Case(
        "replicaset less available",
        rs({**RS_DONE, "availableReplicas": 1}),
        P,
        "LessAvailable",
        "Available: 1/2",
    ),
    Case("replicaset less ready", rs({**RS_DONE, "readyReplicas": 0}), P, "LessReady", "Ready: 0/2"),
    Case("replicaset extra pods", rs({**RS_DONE, "replicas": 3}), P, "ExtraPods", "Pending termination: 1"),
    Case("replicaset current", rs(RS_DONE), C, "", "ReplicaSet is available. Replicas: 2"),
    Case(
        "replicaset scaled to zero",
        rs({"observedGeneration": 1, "replicas": 0}, replicas=0),
        C,
        "",
        "ReplicaSet is available. Replicas: 0",
    ),
    # --- Pod -----------------------------------------------------------------------------------------
    Case("pod without status", pod(), P, "PodNotObserved", "Pod phase not available"),
    Case("pod succeeded", pod({"phase": "Succeeded"}), C, "", "Pod has completed successfully"),
    Case(
        "pod failed phase is Current",
        pod({"phase": "Failed"}),
        C,
        "",
        "Pod has completed, but not successfully",
    ),
    Case(
        "pod running and ready",
        pod({"phase": "Running", "conditions": [cond("Ready", "True")]}),
        C,
        "",
        "Pod is Ready",
    ),
    Case(
        "pod ready found past a Ready=False entry",
        pod({"phase": "Running", "conditions": [cond("Ready", "False"), cond("Ready", "True")]}),
        C,
        "",
        "Pod is Ready",
    ),
    Case(
        "pod running not ready",
        pod({"phase": "Running", "conditions": [cond("Ready", "False")]}),
        P,
        "PodRunningNotReady",
        "Pod is running but is not Ready",
    ),
    Case(
        "pod crash looping",
        pod(
            {
                "phase": "Running",
                "containerStatuses": [
                    waiting("app", "CrashLoopBackOff"),
                    waiting("side", "ContainerCreating"),
                    waiting("log", "CrashLoopBackOff"),
                ],
            }
        ),
        F,
        "ContainerCrashLooping",
        "Containers in CrashLoop state: app,log",
    ),
    Case(
        "pod pending",
        pod({"phase": "Pending", "conditions": [cond("PodScheduled", "True")]}),
        P,
        "PodPending",
        "Pod is in the Pending phase",
    ),
    Case(
        "pod unschedulable inside the window",
        pod(
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable")]},
            created="2026-11-21T11:59:50Z",
        ),
        P,
        "PodNotScheduled",
        "Pod has not been scheduled",
    ),
    Case(
        "pod unschedulable after the window",
        pod(
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable")]},
            created="2026-11-21T11:59:45Z",
        ),
        F,
        "PodUnschedulable",
        "Pod could not be scheduled",
    ),
    Case(
        "pod unschedulable without creationTimestamp",
        pod(
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "Unschedulable")]}, created=None
        ),
        F,
        "PodUnschedulable",
        "Pod could not be scheduled",
    ),
    Case(
        "pod not scheduled for another reason is pending",
        pod(
            {"phase": "Pending", "conditions": [cond("PodScheduled", "False", "SchedulerError")]},
            created=None,
        ),
        P,
        "PodPending",
        "Pod is in the Pending phase",
    ),
    Case(
        "pod image pull backoff stays InProgress by default",
        pod({"phase": "Pending", "containerStatuses": [waiting("app", "ImagePullBackOff")]}),
        P,
        "PodPending",
        "Pod is in the Pending phase",
    ),
    # --- PVC, Service, always-ready kinds, PDB ------------------------------------------------------------
    Case(
        "pvc without status",
        make("v1", "PersistentVolumeClaim", spec={}),
        P,
        "NotBound",
        "PVC is not Bound. phase: unknown",
    ),
    Case(
        "pvc pending",
        make("v1", "PersistentVolumeClaim", spec={}, status={"phase": "Pending"}),
        P,
        "NotBound",
        "PVC is not Bound. phase: Pending",
    ),
    Case(
        "pvc bound",
        make("v1", "PersistentVolumeClaim", spec={}, status={"phase": "Bound"}),
        C,
        "",
        "PVC is Bound",
    ),
    Case(
        "service default type",
        make("v1", "Service", spec={"clusterIP": "10.0.0.3"}),
        C,
        "",
        "Service is ready",
    ),
    Case(
        "service NodePort",
        make("v1", "Service", spec={"type": "NodePort", "clusterIP": "10.0.0.4"}),
        C,
        "",
        "Service is ready",
    ),
    Case(
        "service LoadBalancer without cluster IP",
        make("v1", "Service", spec={"type": "LoadBalancer"}),
        P,
        "NoIPAssigned",
        "ClusterIP not set. Service type: LoadBalancer",
    ),
    Case(
        "service LoadBalancer with cluster IP",
        make("v1", "Service", spec={"type": "LoadBalancer", "clusterIP": "10.0.0.5"}),
        C,
        "",
        "Service is ready",
    ),
    Case("configmap", make("v1", "ConfigMap"), C, "", "Resource is always ready"),
    Case("secret", make("v1", "Secret"), C, "", "Resource is always ready"),
    Case("cronjob without status", make("batch/v1", "CronJob", spec={}), C, "", "Resource is always ready"),
    Case(
        "cronjob with status",
        make("batch/v1", "CronJob", spec={}, status={"lastScheduleTime": "2026-11-21T11:00:00Z"}),
        C,
        "",
        "Resource is always ready",
    ),
    Case(
        "pdb not observed",
        make("policy/v1", "PodDisruptionBudget", spec={}, status={"observedGeneration": 1}, generation=2),
        P,
        "LatestGenerationNotObserved",
        "PodDisruptionBudget generation is 2, but latest observed generation is 1",
    ),
    Case(
        "pdb observed",
        make("policy/v1", "PodDisruptionBudget", spec={}, status={"observedGeneration": 2}, generation=2),
        C,
        "",
        "AllowedDisruptions has been computed.",
    ),
    # --- Job -----------------------------------------------------------------------------------------
    Case("job without status", job(), P, "JobNotStarted", "Job not started"),
    Case(
        "job complete",
        job(status={"succeeded": 4, "conditions": [cond("Complete", "True")], "startTime": "t"}),
        C,
        "",
        "Job Completed. succeeded: 4/4",
    ),
    Case(
        "job failed",
        job(
            status={
                "failed": 3,
                "conditions": [cond("Failed", "True", "BackoffLimitExceeded")],
                "startTime": "t",
            }
        ),
        F,
        "JobFailed",
        "Job Failed. failed: 3/4",
    ),
    Case(
        "job running is Current",
        job(status={"succeeded": 1, "active": 2, "failed": 1, "startTime": "2026-11-21T11:00:00Z"}),
        C,
        "",
        "Job in progress. success:1, active: 2, failed: 1",
    ),
    Case(
        "job completions default to parallelism",
        make(
            "batch/v1",
            "Job",
            spec={"parallelism": 3},
            status={"succeeded": 3, "conditions": [cond("Complete", "True")]},
        ),
        C,
        "",
        "Job Completed. succeeded: 3/3",
    ),
    Case(
        "job suspended",
        job({"suspend": True}, {"conditions": [cond("Suspended", "True", "JobSuspended")]}),
        C,
        "",
        "Job is suspended",
    ),
    Case(
        "job resumed but condition still says suspended",
        job({"suspend": False}, {"conditions": [cond("Suspended", "True", "JobSuspended")]}),
        P,
        "JobNotStarted",
        "Job not started",
    ),
    Case(
        "job suspended in spec before the controller reacts",
        job({"suspend": True}, {"conditions": [cond("Suspended", "False", "JobResumed")]}),
        P,
        "JobNotStarted",
        "Job not started",
    ),
    Case(
        "job previously suspended and started",
        job(
            {"suspend": False},
            {"conditions": [cond("Suspended", "False", "JobResumed")], "startTime": "t", "active": 4},
        ),
        C,
        "",
        "Job in progress. success:0, active: 4, failed: 0",
    ),
    Case(
        "job first true condition wins",
        job(status={"conditions": [cond("Failed", "True"), cond("Complete", "True")], "startTime": "t"}),
        F,
        "JobFailed",
        "Job Failed. failed: 0/4",
    ),
    # --- CustomResourceDefinition --------------------------------------------------------------------
    Case("crd without conditions", crd(None), P, "Installing", "Install in progress"),
    Case(
        "crd installing",
        crd([cond("NamesAccepted", "True"), cond("Established", "False", "Installing", "installing")]),
        P,
        "Installing",
        "Install in progress",
    ),
    Case(
        "crd names not accepted",
        crd(
            [
                cond("NamesAccepted", "False", "SomeReason", "plural clashes"),
                cond("Established", "False", "NotAccepted"),
            ]
        ),
        F,
        "SomeReason",
        "plural clashes",
    ),
    Case(
        "crd not established for another reason",
        crd([cond("Established", "False", "NotAccepted", "not accepted")]),
        F,
        "NotAccepted",
        "not accepted",
    ),
    Case(
        "crd established",
        crd([cond("NamesAccepted", "True"), cond("Established", "True", "InitialNamesAccepted")]),
        C,
        "",
        "CRD is established",
    ),
]

# Objects whose status cannot be decided: compute raises ComputeError with a message naming the field.
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("string generation", cr(generation="3", status={"observedGeneration": 3}), "metadata.generation"),
    ("float generation", cr(generation=3.0, status={"observedGeneration": 3}), "metadata.generation"),
    (
        "bool observedGeneration",
        cr(generation=1, status={"observedGeneration": True}),
        "status.observedGeneration",
    ),
    (
        "null observedGeneration",
        cr(generation=1, status={"observedGeneration": None}),
        "status.observedGeneration",
    ),
    ("status is a string with generation", cr(generation=1, status="broken"), "status"),
    ("status is a string", cr(status="broken"), ".status"),
    ("conditions is a dict", cr(status={"conditions": {"Ready": "True"}}), ".status.conditions"),
    ("condition is a string", cr(status={"conditions": ["Ready"]}), ".status.conditions[0]"),
    (
        "condition type is a number",
        cr(status={"conditions": [{"type": 1, "status": "True"}]}),
        ".status.conditions[0].type",
    ),
    (
        "deletionTimestamp is a number",
        make("v1", "ConfigMap", deletionTimestamp=5),
        "metadata.deletionTimestamp",
    ),
    ("metadata is a list", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": []}, "metadata"),
    ("pod with unknown phase", pod({"phase": "Unknown"}), "unknown phase Unknown"),
    (
        "pod containerStatuses not a list",
        pod({"phase": "Running", "containerStatuses": {}}),
        "containerStatuses",
    ),
    (
        "pod containerStatus not an object",
        pod({"phase": "Running", "containerStatuses": [3]}),
        "containerStatuses[0]",
    ),
    ("deployment conditions malformed", dep(status={"conditions": "none"}), ".status.conditions"),
]
