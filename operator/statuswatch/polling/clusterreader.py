"""The one interface through which status readers see the cluster, and the kinds each kind generates.

Two implementations sit behind it (the shared watch view and direct GETs, in ``viewreader`` and
``directreader``); tests use an in-memory one. Status readers never know which they got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from statuswatch.watchlist.discovery import NoMatchError, RestMapper

from .identifiers import ObjMetadata

__all__ = ["GENERATED_KINDS", "ClusterReader", "kinds_to_read", "scope_of"]

# (group, kind) -> the (group, kind)s its status readers list as generated resources
GENERATED_KINDS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("apps", "Deployment"): (("apps", "ReplicaSet"),),
    ("apps", "ReplicaSet"): (("", "Pod"),),
    ("apps", "StatefulSet"): (("", "Pod"),),
}


@runtime_checkable
class ClusterReader(Protocol):
    """Reads objects (as plain dicts) for one poll; created per ``poll()`` call and closed at its end."""

    async def namespaced(self, group: str, kind: str) -> bool | None:
        """Whether the kind is namespaced; ``None`` when the cluster does not know the kind (yet)."""
        ...

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The object, or ``None`` when it does not exist; other failures raise."""
        ...

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> Sequence[Mapping[str, Any]]:
        """Objects of a kind in a namespace whose labels match ``selector`` (matchLabels/matchExpressions)
        and, with ``owner_uid``, that have an ownerReference to that uid (the shared view answers this from
        its owner index instead of scanning the kind's store)."""
        ...

    async def sync(self) -> None:
        """Called before each full cycle; a raised exception ends the poll with an ``ErrorEvent``."""
        ...

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        """Wait up to ``interval`` seconds; return the objects that changed, or ``None`` on time-out.

        Readers that cannot tell what changed just sleep and return ``None`` (everything is re-read).
        ``idle``: every status is settled (no time-based rule pending), so a reader that is told of every
        change may wait past ``interval`` until something changes (returning ``None`` when its streams'
        health changes, so that the engine reads everything again).
        """
        ...

    async def close(self) -> None:
        """Release streams, subscriptions and tasks."""
        ...


def kinds_to_read(group: str, kind: str) -> list[tuple[str, str]]:
    """The kind itself followed by every kind it generates, transitively (Deployment -> RS -> Pod)."""
    ordered: list[tuple[str, str]] = []
    pending = [(group, kind)]
    while pending:
        current = pending.pop(0)
        if current in ordered:
            continue
        ordered.append(current)
        pending.extend(GENERATED_KINDS.get(current, ()))
    return ordered


async def scope_of(mapper: RestMapper, group: str, kind: str) -> bool | None:
    """Whether discovery says the kind is namespaced; None while the cluster does not serve it."""
    try:
        return (await mapper.resolve(group, kind)).namespaced
    except NoMatchError:
        return None
