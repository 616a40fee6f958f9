"""Why a resource is not ready: the root cause behind an InProgress or Failed status, from plain objects.

kstatus says *that* a Deployment is not ready ("Ready: 0/1"); people need to know *why* (the image cannot be
pulled, the container crash-loops, the Pod cannot be scheduled, the quota refused a Pod). The causes sit in
other objects: the Pods' container states and conditions, a ReplicaSet's ReplicaFailure condition, the
Warning Events about the object. This module reads them from plain dicts (as the shared view's projection
keeps them) and never does I/O; the status readers fetch what it needs.

The result is additive: kstatus's status and message are never changed, ``ResourceStatus.why`` is set.
Precedence for one resource: its own cause (a Pod's containers or scheduling, a ReplicaFailure condition),
then the first cause among the resources it generated that are not Current, then the latest Warning Event
about it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from statuswatch.kstatus import Status

from .events import ResourceStatus, Why

__all__ = [
    "BLOCKING_WAITING_REASONS",
    "condition_why",
    "event_why",
    "explain",
    "first_blocking_pod",
    "needs_explaining",
    "own_why",
    "pod_why",
]

#: Container waiting reasons that block a rollout until someone acts (not the normal ContainerCreating).
BLOCKING_WAITING_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImageInspectError",
        "ImagePullBackOff",
        "InvalidImageName",
        "RunContainerError",
    }
)

_NOT_READY = (Status.IN_PROGRESS, Status.FAILED)
_EPOCH = datetime.min.replace(tzinfo=UTC)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _name(obj: Mapping[str, Any]) -> str:
    return _text(_mapping(obj.get("metadata")).get("name"))


def _terminated(status: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _mapping(_mapping(status.get(key)).get("terminated"))


def _container_why(pod: str, entry: Mapping[str, Any], init: bool) -> Why | None:
    where = f"pod {pod} {'init container' if init else 'container'} {_text(entry.get('name'))}"
    restarts = entry.get("restartCount")
    restarts = restarts if isinstance(restarts, int) and not isinstance(restarts, bool) else 0
    waiting = _text(_mapping(_mapping(entry.get("state")).get("waiting")).get("reason"))
    last = _terminated(entry, "lastState")
    if waiting == "CrashLoopBackOff":
        detail = f"{where}: restarts: {restarts}"
        last_reason = _text(last.get("reason"))
        if last_reason:
            detail += f", last terminated: {last_reason} (exit code {last.get('exitCode', '?')})"
        return Why("OOMKilled" if last_reason == "OOMKilled" else "CrashLoopBackOff", detail)
    if waiting in BLOCKING_WAITING_REASONS:
        return Why(waiting, f"{where}: {waiting}")
    now = _terminated(entry, "state")
    if _text(now.get("reason")) == "OOMKilled":
        return Why(
            "OOMKilled", f"{where}: OOMKilled (exit code {now.get('exitCode', '?')}), restarts: {restarts}"
        )
    # A real kubelet says CrashLoopBackOff only after a few restarts (at ~40 s here); until then a crashing
    # container is terminated with an error, or running again after one with a rising restartCount.
    if _failed(now):
        reason = _text(now.get("reason")) or "Error"
        return Why(
            reason, f"{where}: terminated: {reason} (exit code {now['exitCode']}), restarts: {restarts}"
        )
    state = _mapping(entry.get("state"))
    if "running" not in state or entry.get("ready") is not False:
        return None
    if restarts > 0 and _failed(last):
        reason = _text(last.get("reason")) or "Error"
        return Why(
            reason, f"{where}: restarted after {reason} (exit code {last['exitCode']}), restarts: {restarts}"
        )
    if entry.get("started") is True:  # started, running, not ready: its readiness probe does not pass
        return Why("ContainersNotReady", f"{where}: running, not ready: its readiness probe has not passed")
    return None


def _failed(terminated: Mapping[str, Any]) -> bool:
    code = terminated.get("exitCode")
    return isinstance(code, int) and not isinstance(code, bool) and code != 0


def pod_why(pod: Mapping[str, Any]) -> Why | None:
    """A Pod's blocking container (init containers first) or its scheduler's refusal; None if neither."""
    status = _mapping(pod.get("status"))
    name = _name(pod)
    for key, init in (("initContainerStatuses", True), ("containerStatuses", False)):
        entries = status.get(key)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, Mapping) and (why := _container_why(name, entry, init)) is not None:
                return why
    conditions = status.get("conditions")
    for condition in conditions if isinstance(conditions, list) else ():
        condition = _mapping(condition)
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            message = _text(condition.get("message")) or "the scheduler found no node"
            return Why("Unschedulable", f"pod {name}: {message}")
    return None


def condition_why(obj: Mapping[str, Any]) -> Why | None:
    """A ``ReplicaFailure=True`` condition (a ReplicaSet, or a Deployment copying it): quota, admission."""
    conditions = _mapping(obj.get("status")).get("conditions")
    for condition in conditions if isinstance(conditions, list) else ():
        condition = _mapping(condition)
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            kind = _text(obj.get("kind")).lower() or "object"
            message = _text(condition.get("message")) or "replicas could not be created"
            return Why(_text(condition.get("reason")) or "ReplicaFailure", f"{kind} {_name(obj)}: {message}")
    return None


def own_why(obj: Mapping[str, Any]) -> Why | None:
    """The cause an object shows by itself, without looking at others."""
    if obj.get("kind") == "Pod" and _text(obj.get("apiVersion")) == "v1":
        return pod_why(obj)
    return condition_why(obj)


def first_blocking_pod(pods: Iterable[Mapping[str, Any]]) -> Why | None:
    """The first (by name) Pod with a cause, for controllers whose Pods are not generated resources."""
    for pod in sorted(pods, key=_name):
        if (why := pod_why(pod)) is not None:
            return why
    return None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _event_time(event: Mapping[str, Any]) -> datetime:
    series = _mapping(event.get("series"))
    candidates = (
        series.get("lastObservedTime"),
        event.get("lastTimestamp"),
        event.get("deprecatedLastTimestamp"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        _mapping(event.get("metadata")).get("creationTimestamp"),
    )
    for candidate in candidates:
        if (parsed := _timestamp(candidate)) is not None:
            return parsed
    return _EPOCH


def _is_about(event: Mapping[str, Any], obj: Mapping[str, Any]) -> bool:
    ref = _mapping(event.get("involvedObject") or event.get("regarding"))
    metadata = _mapping(obj.get("metadata"))
    uid, ref_uid = metadata.get("uid"), ref.get("uid")
    if uid and ref_uid:
        return bool(uid == ref_uid)
    return (
        ref.get("kind") == obj.get("kind")
        and ref.get("name") == metadata.get("name")
        and (ref.get("namespace") or "") == (metadata.get("namespace") or "")
    )


def event_why(obj: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> Why | None:
    """The latest Warning Event (core v1 or events.k8s.io shape) about ``obj``, as a cause."""
    latest: tuple[datetime, Mapping[str, Any]] | None = None
    for event in events:
        if event.get("type") != "Warning" or not _is_about(event, obj):
            continue
        when = _event_time(event)
        if latest is None or when >= latest[0]:
            latest = (when, event)
    if latest is None:
        return None
    event = latest[1]
    message = _text(event.get("message")) or _text(event.get("note"))
    return Why(_text(event.get("reason")) or "Warning", message)


def needs_explaining(status: ResourceStatus) -> bool:
    """Whether a cause is worth looking for: the resource was read and is InProgress or Failed."""
    return status.why is None and status.resource is not None and status.status in _NOT_READY


def explain(status: ResourceStatus, events: Sequence[Mapping[str, Any]] = ()) -> ResourceStatus:
    """``status`` with ``why`` filled in, for it and (recursively) its generated resources."""
    children = tuple(explain(child, events) for child in status.generated_resources)
    why = status.why
    if needs_explaining(status):
        assert status.resource is not None  # needs_explaining checked it
        why = own_why(status.resource)
        if why is None:
            why = next((c.why for c in children if c.why is not None and c.status != Status.CURRENT), None)
        if why is None:
            why = event_why(status.resource, events)
    if why is status.why and children == status.generated_resources:
        return status
    return dataclasses.replace(status, why=why, generated_resources=children)
