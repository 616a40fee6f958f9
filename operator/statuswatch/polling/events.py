"""What the poller reports: per-object statuses and the three event kinds.

The equality here is the one kstatus uses to decide whether something is news: two statuses are the same
when identifier, status, message, the object's ``metadata.generation``, the error text, the root cause
(``why``) and (recursively) the generated resources are the same. The rest of the object body is ignored
on purpose: a new resourceVersion alone is not an update worth reporting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from statuswatch.kstatus import Status

from .identifiers import ObjMetadata

__all__ = ["ErrorEvent", "Event", "ResourceStatus", "ResourceUpdateEvent", "SyncEvent", "Why"]


@dataclass(frozen=True, slots=True)
class Why:
    """The root cause of an InProgress or Failed status, beyond kstatus's message.

    ``reason`` is CamelCase (a container's waiting or terminated reason such as ``ImagePullBackOff``,
    ``Unschedulable``, ``FailedCreate``, or a Warning Event's reason); ``message`` names where it was seen
    and the detail.
    """

    reason: str
    message: str


@dataclass(frozen=True, eq=False, slots=True)
class ResourceStatus:
    """The status of one object at one moment, with the objects it generated (Deployment -> ReplicaSets
    -> Pods)."""

    identifier: ObjMetadata
    status: Status
    message: str = ""
    resource: Mapping[str, Any] | None = None
    error: BaseException | None = None
    generated_resources: tuple[ResourceStatus, ...] = field(default=())
    why: Why | None = None
    #: What decided the status (``statuswatch.rules``: ``kstatus``, ``library:<group>/<kind>``, ...); ""
    #: when nothing did (not found, unreadable).
    rule: str = ""

    @property
    def generation(self) -> int | None:
        if self.resource is None:
            return None
        generation = (self.resource.get("metadata") or {}).get("generation")
        return generation if isinstance(generation, int) and not isinstance(generation, bool) else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResourceStatus):
            return NotImplemented
        return (
            self.identifier == other.identifier
            and self.status == other.status
            and self.message == other.message
            and self.generation == other.generation
            and _error_text(self.error) == _error_text(other.error)
            and self.why == other.why
            and self.rule == other.rule
            and self.generated_resources == other.generated_resources
        )

    def __hash__(self) -> int:
        return hash((self.identifier, self.status, self.message))


def _error_text(error: BaseException | None) -> str | None:
    return None if error is None else str(error)


@dataclass(frozen=True)
class ResourceUpdateEvent:
    """An object's status changed (or is reported for the first time)."""

    resource: ResourceStatus


@dataclass(frozen=True, eq=False)
class ErrorEvent:
    """Polling cannot go on (e.g. an invalid identifier); it is the last event of its stream."""

    error: BaseException

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ErrorEvent):
            return NotImplemented
        return type(self.error) is type(other.error) and str(self.error) == str(other.error)

    def __hash__(self) -> int:
        return hash((type(self.error), str(self.error)))


@dataclass(frozen=True)
class SyncEvent:
    """Every identifier has been given a first status; sent once per stream, after the first cycle."""


Event = ResourceUpdateEvent | ErrorEvent | SyncEvent
