"""Discovery: from a group and kind, or from what people type, to the URL path, version and scope of a type.

Users name resources by group and kind (``apps``/``Deployment``) or the way kubectl accepts them (``deploy``,
``deployments.apps``); watch URLs need the plural and the scope. This is the project's only reader of the
discovery documents (``/api``, ``/apis`` and each group version's resource list). They are read on demand,
cached per group, and re-read on a miss or after :meth:`RestMapper.invalidate` (a watch answered 404), never
more often than ``refresh_interval`` per group, so that custom resources installed, re-versioned or deleted
after start are seen without hammering the API server. A group whose versions cannot be read (an aggregated
API that is down answers 503) fails alone: every other group keeps resolving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .connection import ApiError
from .transport import Transport, get_json

__all__ = ["NoMatchError", "ResourceType", "RestMapper", "UnknownResourceError"]


class NoMatchError(LookupError):
    """The API server does not serve this group and kind (yet)."""

    def __init__(self, group: str, kind: str, version: str | None = None):
        gv = f"{group}/{version}" if version else (group or "core")
        super().__init__(f"no resource of kind {kind!r} in API group {gv!r} is served by this cluster")
        self.group = group
        self.kind = kind
        self.version = version


class UnknownResourceError(NoMatchError):
    """No served resource answers to a typed name such as ``deploy`` or ``widgets.example.com``."""

    def __init__(self, text: str):
        name, _, group = text.partition(".")
        super().__init__(group, name)
        self.args = (f'the server doesn\'t have a resource type "{text}"',)
        self.text = text


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One listable and watchable resource of one group version.

    Equality and hashing cover what identifies the type on the wire; ``singular`` and ``short_names`` are
    only the extra names people may type, and are left out so that a type built by hand equals the one
    read from discovery.
    """

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = field(default="", compare=False)
    short_names: tuple[str, ...] = field(default=(), compare=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None) -> str:
        """Collection path; ``namespace`` is ignored for cluster-scoped types."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` (lower case) is this type's plural, singular, kind or one of its short names."""
        return name in (self.plural, self.singular, self.kind.lower()) or name in self.short_names


@dataclass
class _Group:
    """What one API group served when it was last read."""

    preferred: str
    versions: list[str]
    types: dict[str, list[ResourceType]]  # version -> types, in the server's order
    fetched_at: float
    stale: bool = False  # invalidated: re-read as soon as the rate limit allows
    # Versions whose resource list failed with a server error (an aggregated API that is down), so that a
    # miss can say why instead of claiming the kind is not installed.
    errors: dict[str, ApiError] = field(default_factory=dict)

    def ordered(self, version: str | None = None) -> Iterator[ResourceType]:
        versions = [version] if version is not None else [self.preferred, *self.versions]
        seen: set[str] = set()
        for v in versions:
            if v not in seen:
                seen.add(v)
                yield from self.types.get(v, ())

    def lookup(self, kind: str, version: str | None) -> ResourceType | None:
        return next((rt for rt in self.ordered(version) if rt.kind == kind), None)

    def named(self, name: str) -> ResourceType | None:
        return next((rt for rt in self.ordered() if rt.answers_to(name)), None)


@dataclass
class _GroupList:
    """``/apis``: group names in the server's order, each with its preferred version and all versions."""

    groups: dict[str, tuple[str, list[str]]]
    fetched_at: float
    stale: bool = False


class RestMapper:
    """Resolves group and kind, or a typed name, to a :class:`ResourceType`, preferring preferred versions."""

    def __init__(
        self,
        client: Transport,
        *,
        refresh_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._client = client
        self._refresh_interval = refresh_interval
        self._clock = clock
        self._groups: dict[str, _Group] = {}
        self._group_list: _GroupList | None = None
        self._lock = asyncio.Lock()

    async def resolve(self, group: str, kind: str, version: str | None = None) -> ResourceType:
        """The type serving ``kind`` in ``group`` (at ``version``, else the preferred one that has it).

        Raises :class:`NoMatchError` when discovery does not list it, or the :class:`ApiError` that kept
        discovery from reading the group (503 from an aggregated API that is down).
        """
        cached = self._groups.get(group)
        if cached is not None and not cached.stale:
            found = cached.lookup(kind, version)
            if found is not None:
                return found
        async with self._lock:
            cached = self._groups.get(group)
            found = cached.lookup(kind, version) if cached is not None and not cached.stale else None
            if found is None and self._may_refresh(cached):
                cached = await self._refresh(group)
                found = cached.lookup(kind, version)
            if found is None and cached is not None and cached.stale:
                # Invalidated, but re-read too recently: keep the last answer until the rate limit allows.
                found = cached.lookup(kind, version)
        if found is not None:
            return found
        if cached is not None and cached.errors:
            raise next(iter(cached.errors.values()))
        raise NoMatchError(group, kind, version)

    async def find(self, name: str) -> ResourceType:
        """Resolve what people type, as kubectl does: plural, singular, kind (any case) or short name,
        optionally followed by ``.group`` or by the first dot-separated labels of the group.

        The core group is searched first, then the groups in the order the server lists them; in each
        group the preferred version first. Raises :class:`UnknownResourceError` when nothing matches.
        """
        wanted, _, hint = name.lower().partition(".")
        if wanted:
            for refresh_if_due in (False, True):
                for group in await self._group_names(refresh_if_due):
                    if hint and group != hint and not group.startswith(hint + "."):
                        continue
                    cached = await self._loaded(group, refresh_if_due)
                    found = cached.named(wanted)
                    if found is not None:
                        return found
        raise UnknownResourceError(name)

    def invalidate(self, group: str) -> None:
        """Drop the cached resolution of a group, e.g. after a watch answered 404 (its CRD was deleted or
        stopped serving that version): the next :meth:`resolve` re-reads discovery once the rate limit
        allows, and answers from the old documents only until then."""
        cached = self._groups.get(group)
        if cached is not None:
            cached.stale = True
        if self._group_list is not None and group:
            self._group_list.stale = True

    def _may_refresh(self, cached: _Group | None) -> bool:
        return cached is None or self._clock() - cached.fetched_at >= self._refresh_interval

    async def _group_names(self, refresh_if_due: bool) -> list[str]:
        async with self._lock:
            listing = self._group_list
            if listing is None or (
                refresh_if_due and self._clock() - listing.fetched_at >= self._refresh_interval
            ):
                listing = await self._fetch_group_list()
            return ["", *listing.groups]

    async def _loaded(self, group: str, refresh_if_due: bool) -> _Group:
        async with self._lock:
            cached = self._groups.get(group)
            if cached is None or ((cached.stale or refresh_if_due) and self._may_refresh(cached)):
                cached = await self._refresh(group)
            return cached

    async def _refresh(self, group: str) -> _Group:
        """Re-read one group; the caller holds the lock."""
        now = self._clock()
        if group == "":
            doc = await get_json(self._client, "/api")
            versions = [str(v) for v in doc.get("versions") or []]
            preferred = "v1" if "v1" in versions else (versions[0] if versions else "v1")
        else:
            listing = self._group_list
            if listing is None or listing.stale or now - listing.fetched_at >= self._refresh_interval:
                listing = await self._fetch_group_list()
            if group not in listing.groups:
                self._groups[group] = _Group("", [], {}, now)
                return self._groups[group]
            preferred, versions = listing.groups[group]
        types: dict[str, list[ResourceType]] = {}
        errors: dict[str, ApiError] = {}
        for v in versions:
            path = f"/apis/{group}/{v}" if group else f"/api/{v}"
            try:
                doc = await get_json(self._client, path)
            except ApiError as exc:
                if exc.status == 404:  # the version went away between the two reads
                    continue
                if exc.status >= 500:  # an aggregated API that is down: this group only
                    errors[v] = exc
                    continue
                raise
            types[v] = _parse_resource_list(group, v, doc)
        self._groups[group] = _Group(preferred, versions, types, now, errors=errors)
        return self._groups[group]

    async def _fetch_group_list(self) -> _GroupList:
        doc = await get_json(self._client, "/apis")
        groups: dict[str, tuple[str, list[str]]] = {}
        for g in doc.get("groups") or []:
            if not isinstance(g, Mapping) or not g.get("name"):
                continue
            versions = [str(v.get("version")) for v in g.get("versions") or [] if v.get("version")]
            preferred = str((g.get("preferredVersion") or {}).get("version") or "")
            if not preferred:
                preferred = versions[0] if versions else ""
            groups[str(g["name"])] = (preferred, versions or ([preferred] if preferred else []))
        self._group_list = _GroupList(groups, self._clock())
        return self._group_list


def _parse_resource_list(group: str, version: str, doc: Mapping[str, Any]) -> list[ResourceType]:
    types: list[ResourceType] = []
    kinds: set[str] = set()
    for r in doc.get("resources") or []:
        name = str(r.get("name") or "")
        verbs = r.get("verbs") or []
        if not name or "/" in name or "list" not in verbs or "watch" not in verbs:
            continue  # subresources and types we cannot stream
        kind = str(r.get("kind") or "")
        if kind in kinds:
            continue  # the first resource of a kind is the one kubectl resolves to
        kinds.add(kind)
        short = tuple(str(s).lower() for s in r.get("shortNames") or [] if s)
        singular = str(r.get("singularName") or "").lower()
        types.append(ResourceType(group, version, kind, name, bool(r.get("namespaced")), singular, short))
    return types
