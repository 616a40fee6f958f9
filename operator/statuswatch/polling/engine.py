"""The polling loop: read every identifier, report what changed, wait, repeat.

``StatusPoller.poll`` is an async generator running in the caller's task: no background task, no thread,
and natural back-pressure. Cancelling the consuming task or calling ``aclose()`` on the stream unwinds it
and closes the cluster reader.

Cycle rules (kstatus's engine, with these additions):
- identifiers are validated first: a namespaced kind without a namespace ends the stream with an
  ``ErrorEvent``. Kinds the cluster does not know yet, or whose discovery request fails, are let through:
  they report ``Unknown`` per identifier and their scope is asked again before each full cycle (a kind
  found namespaced later, for an identifier without namespace, is ``Unknown`` with the reason);
- a cluster-scoped kind given with a namespace (as kustomize writes ClusterRoles) is looked up without
  it, and reported under the identifier the caller passed;
- a full cycle reads every identifier in input order and emits a ``ResourceUpdateEvent`` only for statuses
  that differ from the last one sent (see ``ResourceStatus.__eq__``);
- ``SyncEvent`` is emitted once, right after the first full cycle, i.e. when every identifier has its first
  status;
- between cycles the cluster reader is asked to wait up to ``poll_interval``. An event-driven reader (the
  shared view) returns early with the identifiers a change can affect and only those are re-read; when
  the interval runs out, a full cycle follows (it bounds staleness and re-evaluates time-based rules);
- a full cycle recomputes only what changed: a settled status (see :mod:`.replay`) whose reads return
  the same resourceVersions again stands as it is;
- when every status is settled and every kind's scope is known, the wait is *idle*: an event-driven
  reader may then wait for a change (or a change of its streams' health) without waking every interval,
  since nothing can change without an event; readers that cannot tell what changed ignore it;
- an exception from ``sync()`` or escaping a status reader ends the stream with an ``ErrorEvent``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from statuswatch.kstatus import Status

from .clusterreader import ClusterReader, kinds_to_read
from .errors import IdentifierError
from .events import ErrorEvent, Event, ResourceStatus, ResourceUpdateEvent, SyncEvent
from .identifiers import ObjMetadata
from .reasons import describe_error
from .replay import Memo, Recorder, settled, unchanged
from .statusreaders import StatusReader, default_status_readers, pick_reader

if TYPE_CHECKING:
    from statuswatch.watchlist.discovery import RestMapper
    from statuswatch.watchlist.transport import Transport

    from .router import View

__all__ = ["ClusterReaderFactory", "Options", "StatusPoller"]

ClusterReaderFactory = Callable[[Sequence[ObjMetadata], "Options"], ClusterReader]
_Scopes = dict[tuple[str, str], bool]  # (group, kind) -> namespaced, for the kinds discovery has answered


@dataclass(frozen=True)
class Options:
    """How to poll: ``poll_interval`` in seconds; ``use_cache`` picks the shared view over direct GETs."""

    poll_interval: float = 2.0
    use_cache: bool = True

    def __post_init__(self) -> None:
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval must be positive, got {self.poll_interval!r}")


class StatusPoller:
    """Streams status events for a set of identifiers.

    Either pass ``cluster_reader_factory`` (tests, custom transports) or let ``poll`` build the reader that
    ``Options.use_cache`` asks for from ``client`` and ``mapper`` (and ``view``, an already-open shared view
    to reuse: every poll on one view, from any poller, shares one subscription per stream key, see
    ``polling.router``). ``status_readers`` are tried before the built-in ones.
    """

    def __init__(
        self,
        client: Transport | None = None,
        mapper: RestMapper | None = None,
        *,
        view: View | None = None,
        status_readers: Iterable[StatusReader] = (),
        cluster_reader_factory: ClusterReaderFactory | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._mapper = mapper
        self._view = view
        self._readers: list[StatusReader] = [*status_readers, *default_status_readers(clock)]
        self._factory = cluster_reader_factory

    def _cluster_reader(self, identifiers: Sequence[ObjMetadata], options: Options) -> ClusterReader:
        if self._factory is not None:
            return self._factory(identifiers, options)
        if self._mapper is None or (self._client is None and (self._view is None or not options.use_cache)):
            raise TypeError("StatusPoller needs client and mapper, or a cluster_reader_factory")
        if options.use_cache:
            from .viewreader import ViewClusterReader

            return ViewClusterReader(
                identifiers, self._client, self._mapper, view=self._view, poll_interval=options.poll_interval
            )
        from .directreader import DirectClusterReader

        assert self._client is not None  # checked above
        return DirectClusterReader(self._client, self._mapper)

    async def poll(
        self, identifiers: Iterable[ObjMetadata], options: Options | None = None
    ) -> AsyncGenerator[Event, None]:
        """Status events for ``identifiers`` until cancelled or closed (see the module docstring)."""
        options = options or Options()
        ids = list(dict.fromkeys(identifiers))
        reader = self._cluster_reader(ids, options)
        try:
            scopes: _Scopes = {}
            kinds = len({(identifier.group, identifier.kind) for identifier in ids})
            await _learn_scopes(reader, ids, scopes)
            for identifier in ids:
                if scopes.get((identifier.group, identifier.kind)) and not identifier.namespace:
                    yield ErrorEvent(IdentifierError(f"namespace is not set for {identifier}"))
                    return
            sent: dict[ObjMetadata, ResourceStatus] = {}
            remembered: dict[ObjMetadata, Memo] = {}
            to_read: Sequence[ObjMetadata] = ids
            full_cycle, synced = True, False
            while True:
                if full_cycle:
                    await _learn_scopes(reader, ids, scopes)
                    try:
                        await reader.sync()
                    except Exception as error:
                        yield ErrorEvent(error)
                        return
                for identifier in to_read:
                    try:
                        status = await self._read(reader, identifier, scopes, sent, remembered)
                    except Exception as error:
                        yield ErrorEvent(error)
                        return
                    if sent.get(identifier) != status:
                        sent[identifier] = status
                        yield ResourceUpdateEvent(status)
                if not synced:
                    synced = True
                    yield SyncEvent()
                idle = len(scopes) >= kinds and all(settled(status) for status in sent.values())
                changed = await reader.wait_for_change(options.poll_interval, idle=idle)
                full_cycle = changed is None
                to_read = ids if changed is None else _affected(ids, changed, scopes)
        finally:
            await reader.close()

    async def _read(
        self,
        reader: ClusterReader,
        identifier: ObjMetadata,
        scopes: _Scopes,
        sent: Mapping[ObjMetadata, ResourceStatus],
        remembered: dict[ObjMetadata, Memo],
    ) -> ResourceStatus:
        namespaced = scopes.get((identifier.group, identifier.kind))
        if namespaced and not identifier.namespace:
            error = IdentifierError(f"namespace is not set for {identifier}")
            return ResourceStatus(identifier, Status.UNKNOWN, describe_error(error), error=error)
        lookup = _lookup(identifier, namespaced)
        memo = remembered.get(identifier)
        previous = sent.get(identifier)
        if memo is not None and previous is not None and await unchanged(reader, lookup, memo):
            return previous
        status_reader = pick_reader(self._readers, identifier.group, identifier.kind)
        recorder = Recorder(reader)
        status = await status_reader.read_status(recorder, lookup)
        if lookup != identifier:
            status = dataclasses.replace(status, identifier=identifier)
        memo = recorder.memo(lookup) if settled(status) else None
        if memo is None:
            remembered.pop(identifier, None)
        else:
            remembered[identifier] = memo
        return status


async def _learn_scopes(reader: ClusterReader, ids: Sequence[ObjMetadata], scopes: _Scopes) -> None:
    """Ask the reader for the scope of every kind not known yet; failures leave it unknown (asked again)."""
    for group, kind in dict.fromkeys((i.group, i.kind) for i in ids):
        if (group, kind) in scopes:
            continue
        try:
            namespaced = await reader.namespaced(group, kind)
        except Exception:  # discovery failing is reported per identifier by the reads, never fatal
            continue
        if namespaced is not None:
            scopes[(group, kind)] = namespaced


def _lookup(identifier: ObjMetadata, namespaced: bool | None) -> ObjMetadata:
    """The identifier to read: a cluster-scoped kind's namespace is ignored."""
    if namespaced is False and identifier.namespace:
        return dataclasses.replace(identifier, namespace="")
    return identifier


def _affected(ids: Sequence[ObjMetadata], changed: set[ObjMetadata], scopes: _Scopes) -> list[ObjMetadata]:
    """Identifiers whose status may depend on one of the changed objects: itself, or a kind it generates
    in the same namespace (a Pod change re-reads the Deployments, ReplicaSets and StatefulSets next to it)."""
    if not changed:
        return []
    kinds_by_namespace: dict[str, set[tuple[str, str]]] = {}
    for obj in changed:
        kinds_by_namespace.setdefault(obj.namespace, set()).add((obj.group, obj.kind))
    affected = []
    for identifier in ids:
        lookup = _lookup(identifier, scopes.get((identifier.group, identifier.kind)))
        if identifier in changed or lookup in changed:
            affected.append(identifier)
            continue
        nearby = kinds_by_namespace.get(identifier.namespace)
        if nearby and nearby.intersection(kinds_to_read(identifier.group, identifier.kind)[1:]):
            affected.append(identifier)
    return affected
