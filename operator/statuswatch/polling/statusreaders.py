"""Status readers: turn an identifier into a ``ResourceStatus``, children included.

A reader is picked per identifier: custom readers first, then the built-in ones (Deployment, ReplicaSet,
StatefulSet), the generic reader last. Expected failures (object missing, kind not installed, forbidden,
malformed fields, unreadable children) become ``NotFound``/``Unknown`` statuses here. An exception escaping
a (custom) reader is a bug, and the engine ends the poll with an ``ErrorEvent`` for it, as kstatus does.

Readers built on ``ObjectStatusReader`` also fill in ``ResourceStatus.why`` for InProgress/Failed objects
(see :mod:`.why`): first from the objects already read (Pods, ReplicaSets), then, for DaemonSets and Jobs,
from their Pods, and, when asked for (``events=True``, see ``default_status_readers``) and that finds
nothing, from the Warning Events of the object's namespace (one shared Event stream per namespace on the
view, never a GET per object; a cluster-scoped object gets no Event cause). Events are opt-in because they
cost one more stream per namespace. A failure to read Pods or Events leaves ``why`` empty: a cause is a
hint and never changes the status.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from statuswatch.kstatus import Status, compute
from statuswatch.rules import RuleSet, is_built_in_group
from statuswatch.watchlist.selector import to_query

from .clusterreader import ClusterReader
from .events import ResourceStatus
from .identifiers import ObjMetadata
from .reasons import describe_error
from .why import explain, first_blocking_pod, needs_explaining

__all__ = [
    "Clock",
    "DeploymentStatusReader",
    "GenericStatusReader",
    "ObjectStatusReader",
    "PodControllerStatusReader",
    "RulesStatusReader",
    "StatusReader",
    "default_status_readers",
    "explain_status",
    "pick_reader",
]

_log = logging.getLogger("statuswatch.polling")

# Controllers whose Pods are not generated resources: their Pods are listed only to explain them.
_POD_OWNERS = frozenset({("apps", "DaemonSet"), ("batch", "Job")})

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

    Subclasses implement ``status_for_object``; custom readers may subclass this too. ``explain=False``
    leaves ``why`` to the caller (the readers of generated resources: their parent explains the tree);
    ``events=True`` lets Warning Events explain what the objects themselves do not.
    """

    kinds: frozenset[tuple[str, str]] = frozenset()

    def __init__(self, clock: Clock | None = None, *, explain: bool = True, events: bool = False) -> None:
        self._clock = clock
        self._explain = explain
        self._events = events

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
            status = await self.status_for_object(reader, identifier, obj)
        except Exception as error:  # malformed fields, bad selector, children unreadable
            return _unknown(identifier, error, obj)
        return await explain_status(reader, status, events=self._events) if self._explain else status

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        result = compute(obj, now=self.now())
        return ResourceStatus(identifier, Status(result.status), result.message, obj, rule="kstatus")


class GenericStatusReader(ObjectStatusReader):
    """Any kind: the object's own status by :func:`statuswatch.rules.decide` (kstatus for built-in kinds,
    the library or the conventions for the others), no children."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        explain: bool = True,
        events: bool = False,
        rules: RuleSet | None = None,
    ) -> None:
        super().__init__(clock, explain=explain, events=events)
        self.rules = rules or RuleSet()

    def supports(self, group: str, kind: str) -> bool:
        return True

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        decision = self.rules.decide(obj, now=self.now())
        return ResourceStatus(identifier, decision.status, decision.message, obj, rule=decision.rule)


class RulesStatusReader(GenericStatusReader):
    """A poll's own rules (``spec.healthChecks``, cluster defaults, ``spec.rules``), put first in the
    poller's ``status_readers``: it takes the kinds a health check covers, and every custom kind (whose
    verdict depends on the mode); built-in kinds without a health check are left to the readers that also
    judge their children."""

    def supports(self, group: str, kind: str) -> bool:
        return self.rules.user_rule_for(group, kind) or not is_built_in_group(group)

    @property
    def needs_whole_objects(self) -> bool:
        """Health checks may read any field; the library and the conventions read the shared view's."""
        return bool(self.rules.health_checks or self.rules.defaults)


def _uid(owner: Mapping[str, Any]) -> str | None:
    """The owner's uid, to list its children by (None: plain manifests without one, selector alone)."""
    uid = (owner.get("metadata") or {}).get("uid")
    return uid if isinstance(uid, str) and uid else None


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
    objects = await reader.list(
        child_kind[0], child_kind[1], identifier.namespace, selector, owner_uid=_uid(owner)
    )
    statuses = [await judge(obj) for obj in objects if _owned_by(obj, owner)]
    return tuple(sorted(statuses, key=_sort_key))


class PodControllerStatusReader(ObjectStatusReader):
    """ReplicaSet and StatefulSet: own status plus their Pods; Failed when in progress with a failed Pod."""

    kinds = frozenset({("apps", "ReplicaSet"), ("apps", "StatefulSet")})

    def __init__(self, clock: Clock | None = None, *, explain: bool = True, events: bool = False) -> None:
        super().__init__(clock, explain=explain, events=events)
        self._pods = GenericStatusReader(clock, explain=False)

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
        return ResourceStatus(identifier, status, message, obj, generated_resources=pods, rule="kstatus")


class DeploymentStatusReader(ObjectStatusReader):
    """Deployment: own status (never escalated, as in kstatus) plus its ReplicaSets and their Pods."""

    kinds = frozenset({("apps", "Deployment")})

    def __init__(self, clock: Clock | None = None, *, explain: bool = True, events: bool = False) -> None:
        super().__init__(clock, explain=explain, events=events)
        self._replicasets = PodControllerStatusReader(clock, explain=False)

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
            identifier, Status(own.status), own.message, obj, generated_resources=replicasets, rule="kstatus"
        )


async def explain_status(
    reader: ClusterReader, status: ResourceStatus, *, events: bool = False
) -> ResourceStatus:
    """``status`` with ``why`` filled in (see the module docstring); reads only when the tree has no cause."""
    explained = explain(status)
    if not needs_explaining(explained):
        return explained
    assert explained.resource is not None  # needs_explaining checked it
    ident, obj = explained.identifier, explained.resource
    if (ident.group, ident.kind) in _POD_OWNERS:
        try:
            selector = (obj.get("spec") or {}).get("selector")
            if isinstance(selector, Mapping):
                pods = await reader.list("", "Pod", ident.namespace, selector, owner_uid=_uid(obj))
                why = first_blocking_pod(pod for pod in pods if _owned_by(pod, obj))
                if why is not None:
                    return dataclasses.replace(explained, why=why)
        except Exception as error:
            _log.debug("no Pods to explain %s: %s", ident, error)
    if not events or not ident.namespace:
        return explained
    try:
        found = await reader.list("", "Event", ident.namespace, {})
    except Exception as error:
        _log.debug("no Events to explain %s: %s", ident, error)
        return explained
    return explain(status, found)


def default_status_readers(clock: Clock | None = None, *, events: bool = False) -> list[StatusReader]:
    """The built-in readers in lookup order, generic last; ``events=True``: Warning Events explain too.

    ``StatusPoller(..., status_readers=default_status_readers(events=True))`` turns Event causes on (the
    poller tries these before its own defaults, so they serve every kind).
    """
    return [
        DeploymentStatusReader(clock, events=events),
        PodControllerStatusReader(clock, events=events),
        GenericStatusReader(clock, events=events),
    ]


def pick_reader(readers: Sequence[StatusReader], group: str, kind: str) -> StatusReader:
    for candidate in readers:
        if candidate.supports(group, kind):
            return candidate
    raise LookupError(f"no status reader supports {kind}.{group}")
