"""kstatus rules for the other built-in kinds: Pod, PersistentVolumeClaim, Service, Job, the always-ready
kinds (ConfigMap, Secret, CronJob), PodDisruptionBudget and CustomResourceDefinition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from statuswatch.kstatus.fields import (
    conditions,
    first_condition,
    get_bool,
    get_int,
    get_str,
)
from statuswatch.kstatus.model import ComputeError, Result, current, failed, in_progress

__all__ = [
    "SCHEDULE_WINDOW",
    "always_ready",
    "creation_time",
    "custom_resource_definition",
    "job",
    "persistent_volume_claim",
    "pod",
    "pod_disruption_budget",
    "service",
    "waiting_containers",
]

#: How long a Pod may stay unschedulable before kstatus calls it Failed.
SCHEDULE_WINDOW = timedelta(seconds=15)

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def always_ready(obj: Mapping[str, Any]) -> Result:
    return current("Resource is always ready")


def pod_disruption_budget(obj: Mapping[str, Any]) -> Result:
    # The disruption controller sets no conditions; a PDB is judged by its observed generation alone,
    # which the generic step has already checked by the time this rule runs.
    return current("AllowedDisruptions has been computed.")


def persistent_volume_claim(obj: Mapping[str, Any]) -> Result:
    phase = get_str(obj, "status", "phase", default="unknown")
    if phase != "Bound":
        return in_progress("NotBound", f"PVC is not Bound. phase: {phase}")
    return current("PVC is Bound")


def service(obj: Mapping[str, Any]) -> Result:
    service_type = get_str(obj, "spec", "type", default="ClusterIP")
    if service_type == "LoadBalancer" and get_str(obj, "spec", "clusterIP", default="") == "":
        return in_progress("NoIPAssigned", f"ClusterIP not set. Service type: {service_type}")
    return current("Service is ready")


def pod(obj: Mapping[str, Any], now: datetime) -> Result:
    found = conditions(obj)
    phase = get_str(obj, "status", "phase", default="")
    if phase == "Succeeded":
        return current("Pod has completed successfully")
    if phase == "Failed":
        return current("Pod has completed, but not successfully")
    if phase == "Running":
        if first_condition(found, "Ready", "True") is not None:
            return current("Pod is Ready")
        looping = [
            name
            for name, reason in waiting_containers(obj, "containerStatuses")
            if reason == "CrashLoopBackOff"
        ]
        if looping:
            return failed("ContainerCrashLooping", f"Containers in CrashLoop state: {','.join(looping)}")
        return in_progress("PodRunningNotReady", "Pod is running but is not Ready")
    if phase == "Pending":
        scheduled = first_condition(found, "PodScheduled", "False")
        if scheduled is not None and scheduled.reason == "Unschedulable":
            if now - SCHEDULE_WINDOW < creation_time(obj):
                return in_progress("PodNotScheduled", "Pod has not been scheduled")
            return failed("PodUnschedulable", "Pod could not be scheduled")
        return in_progress("PodPending", "Pod is in the Pending phase")
    if phase == "":
        return in_progress("PodNotObserved", "Pod phase not available")
    raise ComputeError(f"unknown phase {phase}")


def job(obj: Mapping[str, Any]) -> Result:
    parallelism = get_int(obj, "spec", "parallelism", default=1)
    completions = get_int(obj, "spec", "completions", default=parallelism)
    succeeded = get_int(obj, "status", "succeeded", default=0)
    active = get_int(obj, "status", "active", default=0)
    failures = get_int(obj, "status", "failed", default=0)
    suspended = get_bool(obj, "spec", "suspend", default=False)

    for condition in conditions(obj):
        if condition.status != "True":
            continue
        if condition.type == "Complete":
            return current(f"Job Completed. succeeded: {succeeded}/{completions}")
        if condition.type == "Failed":
            return failed("JobFailed", f"Job Failed. failed: {failures}/{completions}")
        if condition.type == "Suspended" and suspended:
            return current("Job is suspended")

    if get_str(obj, "status", "startTime", default="") == "":
        return in_progress("JobNotStarted", "Job not started")
    return current(f"Job in progress. success:{succeeded}, active: {active}, failed: {failures}")


def custom_resource_definition(obj: Mapping[str, Any]) -> Result:
    for condition in conditions(obj):
        if condition.type == "NamesAccepted" and condition.status == "False":
            return failed(condition.reason, condition.message)
        if condition.type == "Established":
            if condition.status == "False" and condition.reason != "Installing":
                return failed(condition.reason, condition.message)
            if condition.status == "True":
                return current("CRD is established")
    return in_progress("Installing", "Install in progress")


def creation_time(obj: Mapping[str, Any]) -> datetime:
    """``metadata.creationTimestamp``; missing or unparsable reads as the zero time, as in Go."""
    raw = get_str(obj, "metadata", "creationTimestamp", default="")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def waiting_containers(obj: Mapping[str, Any], field: str) -> list[tuple[str, str]]:
    """(container name, waiting reason) for each container of ``status.<field>`` that is waiting."""
    status = obj.get("status")
    entries = status.get(field) if isinstance(status, Mapping) else None
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ComputeError(f".status.{field} is {type(entries).__name__}, expected a list")
    waiting: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        where = f".status.{field}[{index}]"
        if not isinstance(entry, Mapping):
            raise ComputeError(f"{where} is {type(entry).__name__}, expected an object")
        if "name" not in entry or "state" not in entry:
            continue
        name, state = entry["name"], entry["state"]
        if not isinstance(name, str) or not isinstance(state, Mapping):
            raise ComputeError(f"{where} has a malformed name or state")
        if "waiting" not in state:
            continue
        details = state["waiting"]
        if not isinstance(details, Mapping):
            raise ComputeError(f"{where}.state.waiting is {type(details).__name__}, expected an object")
        if "reason" not in details:
            continue
        reason = details["reason"]
        if not isinstance(reason, str):
            raise ComputeError(f"{where}.state.waiting.reason is {type(reason).__name__}, expected a string")
        waiting.append((name, reason))
    return waiting
