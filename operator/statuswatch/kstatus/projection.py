"""``project``: shrink an object to what status computation reads, so caches hold thousands cheaply.

The shared watch view keeps one copy of every object of every watched type; a Pod as the API server sends
it is several kilobytes (managedFields, the whole pod spec), of which the rules read a few hundred bytes.
Projection lives next to the rules so the two cannot drift: each kind's fields are read from its row of
the kind table (:data:`~.kinds.KINDS`), next to its rule, and for every object
``compute(project(obj)) == compute(obj)``, malformed values included (they are copied, never repaired).

It also keeps what the polling layer's root-cause extraction (``statuswatch.polling.why``) reads: container
waiting/terminated reasons, restart counts, the last termination, and of an Event (core or
events.k8s.io) only whom it is about, its type, reason, message, count and times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from statuswatch.kstatus.fields import group_and_kind
from statuswatch.kstatus.kinds import KINDS

__all__ = [
    "CONDITION_KEYS",
    "CONTAINER_STATUS_KEYS",
    "EVENT_KEYS",
    "EVENT_KINDS",
    "GENERIC_STATUS_KEYS",
    "METADATA_KEYS",
    "OWNER_KEYS",
    "REFERENCE_KEYS",
    "TERMINATED_KEYS",
    "WAITING_KEYS",
    "project",
]

# What is kept of every object (the kind's own fields come from its row in KINDS). Public: the watchlist's
# typed decoder builds its schemas from the same tables.
METADATA_KEYS = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "labels",
)
OWNER_KEYS = ("apiVersion", "kind", "name", "uid", "controller")
CONDITION_KEYS = ("type", "status", "reason", "message", "observedGeneration")
# ready/started tell a container that runs but fails its readiness probe from one that is fine.
CONTAINER_STATUS_KEYS = ("name", "state", "restartCount", "lastState", "ready", "started")
# A waiting message is dropped (long, and often a copy of the Pod's Warning Event, which a "why" reads).
WAITING_KEYS = ("reason",)
TERMINATED_KEYS = ("reason", "exitCode")
# Events carry everything at the top level; these are the fields a "why" reads (core v1 and events.k8s.io).
EVENT_KEYS = (
    "involvedObject",
    "regarding",
    "type",
    "reason",
    "message",
    "note",
    "count",
    "lastTimestamp",
    "firstTimestamp",
    "eventTime",
    "deprecatedLastTimestamp",
    "deprecatedCount",
    "series",
)
REFERENCE_KEYS = ("apiVersion", "kind", "namespace", "name", "uid")
EVENT_KINDS = frozenset({("", "Event"), ("events.k8s.io", "Event")})
GENERIC_STATUS_KEYS = ("observedGeneration", "conditions")


def project(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict with only the fields status computation and child lookup need."""
    projected: dict[str, Any] = {}
    for key in ("apiVersion", "kind"):
        if key in obj:
            projected[key] = obj[key]

    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        kept = {key: metadata[key] for key in METADATA_KEYS if key in metadata}
        owners = metadata.get("ownerReferences")
        if isinstance(owners, list):
            kept["ownerReferences"] = [_pick(owner, OWNER_KEYS) for owner in owners]
        projected["metadata"] = kept
    elif "metadata" in obj:
        projected["metadata"] = metadata

    group_kind = group_and_kind(obj)
    if group_kind in EVENT_KINDS:
        for key in EVENT_KEYS:
            if key in obj:
                value = obj[key]
                projected[key] = (
                    _pick(value, REFERENCE_KEYS) if key in ("involvedObject", "regarding") else value
                )
    kind = KINDS.get(group_kind)
    spec_keys, status_keys = (kind.spec, kind.status) if kind is not None else ((), ())
    spec = obj.get("spec")
    if spec_keys and isinstance(spec, Mapping):
        projected["spec"] = {key: spec[key] for key in spec_keys if key in spec}
    elif spec_keys and "spec" in obj:
        projected["spec"] = spec

    if "status" in obj:
        projected["status"] = _project_status(obj["status"], status_keys)
    return projected


def _project_status(status: Any, kind_keys: tuple[str, ...]) -> Any:
    if not isinstance(status, Mapping):
        return status  # malformed: keep it so compute reports the same error
    kept: dict[str, Any] = {}
    for key in (*GENERIC_STATUS_KEYS, *kind_keys):
        if key not in status:
            continue
        value = status[key]
        if key == "conditions" and isinstance(value, list):
            value = [_pick(entry, CONDITION_KEYS) for entry in value]
        elif key in ("containerStatuses", "initContainerStatuses") and isinstance(value, list):
            value = [_container_status(entry) for entry in value]
        kept[key] = value
    if not kept and status:
        # A non-empty status must stay non-empty: "has no status yet" is a question the strict rules ask.
        kept["observed"] = True
    return kept


def _pick(entry: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    return {key: entry[key] for key in keys if key in entry}


def _container_status(entry: Any) -> Any:
    if not isinstance(entry, Mapping):
        return entry
    kept = _pick(entry, CONTAINER_STATUS_KEYS)
    for key in ("state", "lastState"):
        if key in kept:
            kept[key] = _container_state(kept[key])
    return kept


def _container_state(state: Any) -> Any:
    """Waiting and terminated reasons (and exit code); a running state is kept without its details."""
    if not isinstance(state, Mapping):
        return state
    kept: dict[str, Any] = {"running": {}} if isinstance(state.get("running"), Mapping) else {}
    for phase, keys in (("waiting", WAITING_KEYS), ("terminated", TERMINATED_KEYS)):
        if phase in state:
            details = state[phase]
            kept[phase] = _pick(details, keys) if isinstance(details, Mapping) else details
    return kept
