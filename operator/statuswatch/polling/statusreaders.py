"""Status readers: turn an identifier into a ``ResourceStatus``, children included.

A reader is picked per identifier: custom readers first, then the built-in ones (Deployment, ReplicaSet,
StatefulSet), the generic reader last. Expected failures (object missing, kind not installed, forbidden,
malformed fields, unreadable children) become ``NotFound``/``Unknown`` statuses here. An exception escaping
a (custom) reader is a bug, and the engine ends the poll with an ``ErrorEvent`` for it, as kstatus does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from statuswatch.kstatus import Status, compute
from statuswatch.watchlist.selector import to_query

from .clusterreader import ClusterReader
from .events import ResourceStatus
from .identifiers import ObjMetadata
from .reasons import describe_error

__all__ = [
    "Clock",
    "DeploymentStatusReader",
    "GenericStatusReader",
    "ObjectStatusReader",
    "PodControllerStatusReader",
    "StatusReader",
    "default_status_readers",
    "pick_reader",
]

Clock = Callable[[], datetime]


@runtime_checkable
class StatusReader(Protocol):
    """What a pluggable status reader provides."""

    def supports(self, group: str, kind: str) -> bool: ...

    async def read_status(self, reader: ClusterReader, identifier: ObjMetadata) -> ResourceStatus: ...

    async def read_status_for_object(
        self, reader: ClusterReader, obj: Mapping[str, Any]
    ) -> ResourceStatus: ...


def _unknown(
    identifier: ObjMetadata,
    error: BaseException,
    resource: Mapping[str, Any] | None = None,
    generated: tuple[ResourceStatus, ...] = (),
) -> ResourceStatus:
    return ResourceStatus(identifier, Status.UNKNOWN, describe_error(error), resource, error, generated)


class ObjectStatusReader:
    """Base for readers that fetch the object, then judge it: lookup and error mapping live here.

    Subclasses implement ``status_for_object``; custom readers may subclass this too.
    """

    kinds: frozenset[tuple[str, str]] = frozenset()

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock

    def now(self) -> datetime | None:
        return self._clock() if self._clock is not None else None

    def supports(self, group: str, kind: str) -> bool:
        return (group, kind) in self.kinds

    async def read_status(self, reader: ClusterReader, identifier: ObjMetadata) -> ResourceStatus:
        try:
            obj = await reader.get(identifier.group, identifier.kind, identifier.namespace, identifier.name)
        except Exception as error:  # kind not installed, forbidden, API down: all "don't know"
            return _unknown(identifier, error)
        if obj is None:
            return ResourceStatus(identifier, Status.NOT_FOUND, "Resource not found")
        return await self._judge(reader, identifier, obj)

    async def read_status_for_object(self, reader: ClusterReader, obj: Mapping[str, Any]) -> ResourceStatus:
        return await self._judge(reader, ObjMetadata.from_object(obj), obj)

    async def _judge(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        try:
            return await self.status_for_object(reader, identifier, obj)
        except Exception as error:  # malformed fields, bad selector, children unreadable
            return _unknown(identifier, error, obj)

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        result = compute(obj, now=self.now())
        return ResourceStatus(identifier, Status(result.status), result.message, obj)


class GenericStatusReader(ObjectStatusReader):
    """Any kind: the object's own status by the kstatus rules, no children."""

    def supports(self, group: str, kind: str) -> bool:
        return True


def _owned_by(child: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    if not uid:  # plain manifests in tests have no uid: the selector alone decides
        return True
    references = (child.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, Mapping) and ref.get("uid") == uid for ref in references)


def _sort_key(status: ResourceStatus) -> tuple[str, str, str, str]:
    ident = status.identifier
    return (ident.namespace, ident.group, ident.kind, ident.name)


async def _children(
    reader: ClusterReader,
    owner: Mapping[str, Any],
    identifier: ObjMetadata,
    child_kind: tuple[str, str],
    judge: Callable[[Mapping[str, Any]], Any],
) -> tuple[ResourceStatus, ...]:
    selector = (owner.get("spec") or {}).get("selector")
    if not isinstance(selector, Mapping):
        raise ValueError(f"{identifier.kind} {identifier.name} has no selector")
    to_query(selector)  # fail on a malformed selector even when nothing would be listed
    objects = await reader.list(child_kind[0], child_kind[1], identifier.namespace, selector)
    statuses = [await judge(obj) for obj in objects if _owned_by(obj, owner)]
    return tuple(sorted(statuses, key=_sort_key))


class PodControllerStatusReader(ObjectStatusReader):
    """ReplicaSet and StatefulSet: own status plus their Pods; Failed when in progress with a failed Pod."""

    kinds = frozenset({("apps", "ReplicaSet"), ("apps", "StatefulSet")})

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._pods = GenericStatusReader(clock)

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        pods = await _children(
            reader, obj, identifier, ("", "Pod"), lambda pod: self._pods.read_status_for_object(reader, pod)
        )
        try:
            own = compute(obj, now=self.now())
        except Exception as error:  # the children were read fine: keep them, as kstatus does
            return _unknown(identifier, error, obj, pods)
        status, message = Status(own.status), own.message
        failed = sum(1 for pod in pods if pod.status == Status.FAILED)
        if status == Status.IN_PROGRESS and failed:
            status, message = Status.FAILED, f"{failed} pods have failed"
        return ResourceStatus(identifier, status, message, obj, generated_resources=pods)


class DeploymentStatusReader(ObjectStatusReader):
    """Deployment: own status (never escalated, as in kstatus) plus its ReplicaSets and their Pods."""

    kinds = frozenset({("apps", "Deployment")})

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._replicasets = PodControllerStatusReader(clock)

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        replicasets = await _children(
            reader,
            obj,
            identifier,
            ("apps", "ReplicaSet"),
            lambda rs: self._replicasets.read_status_for_object(reader, rs),
        )
        try:
            own = compute(obj, now=self.now())
        except Exception as error:  # the children were read fine: keep them, as kstatus does
            return _unknown(identifier, error, obj, replicasets)
        return ResourceStatus(
            identifier, Status(own.status), own.message, obj, generated_resources=replicasets
        )


def default_status_readers(clock: Clock | None = None) -> list[StatusReader]:
    """The built-in readers in lookup order, generic last."""
    return [DeploymentStatusReader(clock), PodControllerStatusReader(clock), GenericStatusReader(clock)]


def pick_reader(readers: Sequence[StatusReader], group: str, kind: str) -> StatusReader:
    for candidate in readers:
        if candidate.supports(group, kind):
            return candidate
    raise LookupError(f"no status reader supports {kind}.{group}")
