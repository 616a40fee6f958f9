"""kstatus rules for the replica-managing controllers: Deployment, StatefulSet, DaemonSet, ReplicaSet.

Each rule compares what the spec asks for with what the controller reports in status, and returns the
first shortfall it finds, in kstatus's order, with kstatus's reason strings and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statuswatch.kstatus.fields import conditions, find_int, get_int, get_str, kind_of
from statuswatch.kstatus.model import Result, current, failed, in_progress

__all__ = ["daemon_set", "deployment", "replica_set", "stateful_set"]

_NO_DEADLINE = 2**31 - 1  # the Deployment controller's own "no progress deadline" marker


def deployment(obj: Mapping[str, Any]) -> Result:
    progressing = get_int(obj, "spec", "progressDeadlineSeconds", default=_NO_DEADLINE) == _NO_DEADLINE
    available = False
    for condition in conditions(obj):
        if condition.type == "Progressing":
            if condition.reason == "ProgressDeadlineExceeded":
                return failed("ProgressDeadlineExceeded", "Progress deadline exceeded", condition.message)
            if condition.status == "True" and condition.reason == "NewReplicaSetAvailable":
                progressing = True
        elif condition.type == "Available" and condition.status == "True":
            available = True

    wanted = get_int(obj, "spec", "replicas", default=1)
    replicas = get_int(obj, "status", "replicas", default=0)
    updated = get_int(obj, "status", "updatedReplicas", default=0)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    available_replicas = get_int(obj, "status", "availableReplicas", default=0)

    if wanted > replicas:
        return in_progress("LessReplicas", f"Replicas: {replicas}/{wanted}")
    if wanted > updated:
        return in_progress("LessUpdated", f"Updated: {updated}/{wanted}")
    if replicas > wanted:
        return in_progress("ExtraPods", f"Pending termination: {replicas - wanted}")
    if updated > available_replicas:
        return in_progress("LessAvailable", f"Available: {available_replicas}/{updated}")
    if wanted > ready:
        return in_progress("LessReady", f"Ready: {ready}/{wanted}")
    if not progressing:
        return in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available")
    if not available:
        return in_progress("DeploymentNotAvailable", "Deployment not Available")
    return current(f"Deployment is available. Replicas: {replicas}")


def stateful_set(obj: Mapping[str, Any]) -> Result:
    if get_str(obj, "spec", "updateStrategy", "type", default="") == "OnDelete":
        return current("StatefulSet is using the ondelete update strategy")

    wanted = get_int(obj, "spec", "replicas", default=1)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    current_replicas = get_int(obj, "status", "currentReplicas", default=0)
    updated = get_int(obj, "status", "updatedReplicas", default=0)
    replicas = get_int(obj, "status", "replicas", default=0)
    partition = get_int(obj, "spec", "updateStrategy", "rollingUpdate", "partition", default=-1)

    if wanted > replicas:
        return in_progress("LessReplicas", f"Replicas: {replicas}/{wanted}")
    if wanted > ready:
        return in_progress("LessReady", f"Ready: {ready}/{wanted}")
    if replicas > wanted:
        return in_progress("ExtraPods", f"Pending termination: {replicas - wanted}")
    if partition != -1:
        if updated < wanted - partition:
            return in_progress("PartitionRollout", f"updated: {updated}/{wanted - partition}")
        return current(f"Partition rollout complete. updated: {updated}")
    if wanted > current_replicas:
        return in_progress("LessCurrent", f"current: {current_replicas}/{wanted}")
    if get_str(obj, "status", "currentRevision", default="") != get_str(
        obj, "status", "updateRevision", default=""
    ):
        return in_progress("RevisionMismatch", "Waiting for updated revision to match current")
    return current(f"All replicas scheduled as expected. Replicas: {replicas}")


def daemon_set(obj: Mapping[str, Any]) -> Result:
    # Unlike the generic check, a DaemonSet must show both generations: until its controller has acted
    # on it, desiredNumberScheduled is 0 and the object would otherwise look Current at once.
    kind = kind_of(obj)
    if find_int(obj, "metadata", "generation") is None:
        return in_progress("NoGeneration", f"{kind} metadata.generation not found")
    if find_int(obj, "status", "observedGeneration") is None:
        return in_progress("NoObservedGeneration", f"{kind} status.observedGeneration not found")

    desired = get_int(obj, "status", "desiredNumberScheduled", default=-1)
    scheduled = get_int(obj, "status", "currentNumberScheduled", default=0)
    updated = get_int(obj, "status", "updatedNumberScheduled", default=0)
    available = get_int(obj, "status", "numberAvailable", default=0)
    ready = get_int(obj, "status", "numberReady", default=0)

    if desired == -1:
        return in_progress("NoDesiredNumber", "Missing .status.desiredNumberScheduled")
    if desired > scheduled:
        return in_progress("LessCurrent", f"Current: {scheduled}/{desired}")
    if desired > updated:
        return in_progress("LessUpdated", f"Updated: {updated}/{desired}")
    if desired > available:
        return in_progress("LessAvailable", f"Available: {available}/{desired}")
    if desired > ready:
        return in_progress("LessReady", f"Ready: {ready}/{desired}")
    return current(f"All replicas scheduled as expected. Replicas: {desired}")


def replica_set(obj: Mapping[str, Any]) -> Result:
    for condition in conditions(obj):
        if condition.type == "ReplicaFailure" and condition.status == "True":
            return in_progress("ReplicaFailure", "Replica Failure condition. Check Pods")

    wanted = get_int(obj, "spec", "replicas", default=1)
    replicas = get_int(obj, "status", "replicas", default=0)
    ready = get_int(obj, "status", "readyReplicas", default=0)
    available = get_int(obj, "status", "availableReplicas", default=0)
    labelled = get_int(obj, "status", "fullyLabeledReplicas", default=0)

    if wanted > labelled:
        return in_progress("LessLabelled", f"Labelled: {labelled}/{wanted}")
    if wanted > available:
        return in_progress("LessAvailable", f"Available: {available}/{wanted}")
    if wanted > ready:
        return in_progress("LessReady", f"Ready: {ready}/{wanted}")
    if replicas > wanted:
        return in_progress("ExtraPods", f"Pending termination: {replicas - wanted}")
    return current(f"ReplicaSet is available. Replicas: {replicas}")
