"""Discovery: from (group, kind) to the URL path, version and scope of a resource type.

Users name resources by group and kind (``apps``/``Deployment``); watch URLs need the plural and the scope.
The map is read from ``/api`` and ``/apis`` on demand, cached per group, and re-read on a miss (no more often
than ``refresh_interval``) so custom resources installed after start are found.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .connection import ApiError

__all__ = ["NoMatchError", "ResourceType", "RestMapper"]


class NoMatchError(LookupError):
    """The API server does not serve this group and kind (yet)."""

    def __init__(self, group: str, kind: str, version: str | None = None):
        gv = f"{group}/{version}" if version else (group or "core")
        super().__init__(f"no resource of kind {kind!r} in API group {gv!r} is served by this cluster")
        self.group = group
        self.kind = kind
        self.version = version


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None) -> str:
        """Collection path; ``namespace`` is ignored for cluster-scoped types."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


class _JsonGetter(Protocol):
    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]: ...


@dataclass
class _Group:
    preferred: str
    versions: list[str]
    kinds: dict[tuple[str, str], ResourceType]  # (version, kind) -> type
    fetched_at: float


class RestMapper:
    """Resolves group and kind to a :class:`ResourceType`, preferring the group's preferred version."""

    def __init__(
        self,
        client: _JsonGetter,
        *,
        refresh_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._groups: dict[str, _Group] = {}
        self._group_list: dict[str, tuple[str, list[str]]] | None = None
        self._group_list_at = float("-inf")
        self._lock = asyncio.Lock()

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        found = self._lookup(group, kind, version)
        if found is not None:
            return found
        async with self._lock:
            found = self._lookup(group, kind, version)
            if found is None and self._may_refresh(group):
                await self._refresh(group)
                found = self._lookup(group, kind, version)
        if found is None:
            raise NoMatchError(group, kind, version)
        return found

    def invalidate(self, group: str) -> None:
        """Forget a group, e.g. after a watch answered 404 (its CRD was deleted)."""
        cached = self._groups.get(group)
        if cached is not None:
            cached.fetched_at = float("-inf")
        self._group_list_at = float("-inf")

    def _lookup(self, group: str, kind: str, version: str | None) -> ResourceType | None:
        cached = self._groups.get(group)
        if cached is None:
            return None
        if version is not None:
            return cached.kinds.get((version, kind))
        for v in [cached.preferred, *cached.versions]:
            found = cached.kinds.get((v, kind))
            if found is not None:
                return found
        return None

    def _may_refresh(self, group: str) -> bool:
        cached = self._groups.get(group)
        return cached is None or self._clock() - cached.fetched_at >= self._refresh_interval

    async def _refresh(self, group: str) -> None:
        now = self._clock()
        if group == "":
            doc = await self._client.get_json("/api")
            versions = [str(v) for v in doc.get("versions") or []]
            preferred = "v1" if "v1" in versions else (versions[0] if versions else "v1")
        else:
            if self._group_list is None or now - self._group_list_at >= self._refresh_interval:
                self._group_list = await self._fetch_group_list()
                self._group_list_at = now
            if group not in self._group_list:
                self._groups[group] = _Group("", [], {}, now)
                return
            preferred, versions = self._group_list[group]
        kinds: dict[tuple[str, str], ResourceType] = {}
        for v in versions:
            path = f"/apis/{group}/{v}" if group else f"/api/{v}"
            try:
                doc = await self._client.get_json(path)
            except ApiError as exc:
                if exc.status in (404, 503):  # a version going away, or an aggregated API that is down
                    continue
                raise
            kinds.update(_parse_resource_list(group, v, doc))
        self._groups[group] = _Group(preferred, versions, kinds, now)

    async def _fetch_group_list(self) -> dict[str, tuple[str, list[str]]]:
        doc = await self._client.get_json("/apis")
        result: dict[str, tuple[str, list[str]]] = {}
        for g in doc.get("groups") or []:
            versions = [str(v.get("version")) for v in g.get("versions") or [] if v.get("version")]
            preferred = (g.get("preferredVersion") or {}).get("version") or (versions[0] if versions else "")
            result[str(g.get("name"))] = (str(preferred), versions)
        return result


def _parse_resource_list(
    group: str, version: str, doc: Mapping[str, Any]
) -> dict[tuple[str, str], ResourceType]:
    kinds: dict[tuple[str, str], ResourceType] = {}
    for r in doc.get("resources") or []:
        name = str(r.get("name") or "")
        verbs = r.get("verbs") or []
        if not name or "/" in name or "list" not in verbs or "watch" not in verbs:
            continue  # subresources and types we cannot stream
        kind = str(r.get("kind") or "")
        kinds.setdefault(
            (version, kind), ResourceType(group, version, kind, name, bool(r.get("namespaced", False)))
        )
    return kinds
