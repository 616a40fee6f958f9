"""Resolve what people type (``deploy``, ``deployments.apps``, ``Deployment``) to a group and kind.

kubectl accepts a resource's plural, singular, kind or short name, optionally followed by ``.group``. The
names come from the discovery documents (``/api/v1`` and each group's preferred version), read once per
resolver; the core group wins ties, then groups in the server's order, as kubectl does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["KindName", "KindResolver", "UnknownResourceError"]


class UnknownResourceError(LookupError):
    """No served resource answers to the name."""


class _JsonGetter(Protocol):
    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class KindName:
    group: str
    kind: str
    namespaced: bool


@dataclass(frozen=True)
class _Entry:
    group: str
    kind: str
    namespaced: bool
    names: frozenset[str]


class KindResolver:
    """Turns ``kind``/``resource[.group]`` text into a ``KindName`` using discovery."""

    def __init__(self, client: _JsonGetter) -> None:
        self._client = client
        self._entries: list[_Entry] | None = None

    async def _load(self) -> list[_Entry]:
        if self._entries is not None:
            return self._entries
        entries = _parse("", await self._client.get_json("/api/v1"))
        groups = (await self._client.get_json("/apis")).get("groups") or []
        for group in groups:
            version = (group.get("preferredVersion") or {}).get("groupVersion")
            if isinstance(version, str):
                entries += _parse(str(group.get("name")), await self._client.get_json(f"/apis/{version}"))
        self._entries = entries
        return entries

    async def resolve(self, text: str) -> KindName:
        name, _, group = text.partition(".")
        wanted = name.lower()
        for entry in await self._load():
            if group and entry.group != group and not entry.group.startswith(group + "."):
                continue
            if wanted in entry.names:
                return KindName(entry.group, entry.kind, entry.namespaced)
        raise UnknownResourceError(f'the server doesn\'t have a resource type "{text}"')


def _parse(group: str, doc: Mapping[str, Any]) -> list[_Entry]:
    entries = []
    for resource in doc.get("resources") or []:
        plural = str(resource.get("name") or "")
        if not plural or "/" in plural:
            continue  # subresources
        kind = str(resource.get("kind") or "")
        names = {plural, kind.lower(), str(resource.get("singularName") or "").lower()}
        names.update(str(short).lower() for short in resource.get("shortNames") or [])
        names.discard("")
        entries.append(_Entry(group, kind, bool(resource.get("namespaced")), frozenset(names)))
    return entries
