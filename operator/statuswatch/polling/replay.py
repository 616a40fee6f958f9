"""Reads remembered per identifier, so that a full cycle recomputes only what changed.

The engine's full cycle (every ``poll_interval``) bounds staleness. Recomputing every identifier on it made
an idle operator burn CPU in proportion to everything it watches. A status reader sees the cluster only
through its ``ClusterReader``, and its answer is a function of what it read and, for time-based rules,
of the clock. So the engine reads each identifier through a :class:`Recorder`, which notes every ``get``
and ``list`` with the resourceVersions it returned; on the next full cycle, :func:`unchanged` replays those
reads (map lookups on the shared view, index lookups for owned objects) and, when every version is the
same, the previous status stands without a recompute.

Only *settled* statuses are remembered: time-based rules (kstatus's Pod scheduling window, the opt-in
"no status yet" grace) only ever act while an object is ``InProgress``, and ``Unknown`` is an error worth
retrying. ``InProgress`` and ``Unknown`` are therefore recomputed on every full cycle, which is also what
keeps their timers: a poll holding one of them keeps its ``poll_interval`` wake-ups. Objects without a
resourceVersion (plain manifests in tests) are never remembered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from statuswatch.kstatus import Status

from .clusterreader import ClusterReader
from .events import ResourceStatus
from .identifiers import ObjMetadata

__all__ = ["Memo", "Read", "Reads", "Recorder", "settled", "unchanged"]

_UNSETTLED = frozenset({Status.IN_PROGRESS, Status.UNKNOWN})

# One remembered read: ("get", group, kind, namespace, name, version) or
# ("list", group, kind, namespace, selector, owner_uid, versions); a version is the resourceVersion, "" for
# an object that was not there.
Read = tuple[Any, ...]
Reads = tuple[Read, ...]
#: What is remembered per identifier: the reads with the lookup they were made for or, for the common case
#: of one ``get`` of the identifier itself (a ConfigMap, a Service), just that object's resourceVersion,
#: a string the stored object already holds (memory per identifier matters at 100,000 of them).
Memo = str | tuple[Any, Reads]


def settled(status: ResourceStatus) -> bool:
    """No clock can change this status: neither it nor any generated resource is InProgress or Unknown."""
    if status.status in _UNSETTLED:
        return False
    return all(settled(child) for child in status.generated_resources)


def _version(obj: Mapping[str, Any] | None) -> str | None:
    """The object's resourceVersion ("" when absent from the cluster); None when it has none to compare."""
    if obj is None:
        return ""
    metadata = obj.get("metadata")
    rv = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
    return rv if isinstance(rv, str) and rv else None


class Recorder:
    """A ``ClusterReader`` that passes reads through and notes what they returned (see the module doc)."""

    __slots__ = ("_reader", "reads", "usable")

    def __init__(self, reader: ClusterReader) -> None:
        self._reader = reader
        self.reads: list[Read] = []
        self.usable = True  # False once a read returned something without a version

    async def namespaced(self, group: str, kind: str) -> bool | None:
        return await self._reader.namespaced(group, kind)

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        obj = await self._reader.get(group, kind, namespace, name)
        version = _version(obj)
        if version is None:
            self.usable = False
        else:
            self.reads.append(("get", group, kind, namespace, name, version))
        return obj

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> Sequence[Mapping[str, Any]]:
        objects = await self._reader.list(group, kind, namespace, selector, owner_uid=owner_uid)
        versions = tuple(_version(obj) for obj in objects)
        if None in versions:
            self.usable = False
        else:
            self.reads.append(("list", group, kind, namespace, selector, owner_uid, frozenset(versions)))
        return objects

    async def sync(self) -> None:
        await self._reader.sync()

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        return await self._reader.wait_for_change(interval, idle=idle)

    async def close(self) -> None:
        await self._reader.close()

    def memo(self, lookup: ObjMetadata) -> Memo | None:
        """What to replay next time for ``lookup``, or None when these reads cannot be compared."""
        if not self.usable or not self.reads:
            return None
        if len(self.reads) == 1:
            _, group, kind, namespace, name, *rest = self.reads[0]
            if self.reads[0][0] == "get" and (group, kind, namespace, name) == (
                lookup.group,
                lookup.kind,
                lookup.namespace,
                lookup.name,
            ):
                version: str = rest[0]
                return version
        return (lookup, tuple(self.reads))


async def unchanged(reader: ClusterReader, lookup: ObjMetadata, memo: Memo) -> bool:
    """Every remembered read returns the same versions again (any failure: changed, recompute)."""
    if isinstance(memo, str):
        reads: Reads = (("get", lookup.group, lookup.kind, lookup.namespace, lookup.name, memo),)
    elif memo[0] != lookup:
        return False
    else:
        reads = memo[1]
    try:
        for read in reads:
            if read[0] == "get":
                _, group, kind, namespace, name, version = read
                if _version(await reader.get(group, kind, namespace, name)) != version:
                    return False
            else:
                _, group, kind, namespace, selector, owner_uid, versions = read
                found = await reader.list(group, kind, namespace, selector, owner_uid=owner_uid)
                if len(found) != len(versions) or frozenset(_version(o) for o in found) != versions:
                    return False
    except Exception:
        return False
    return True
