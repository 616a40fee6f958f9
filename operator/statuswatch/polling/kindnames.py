"""Resolve what people type (``deploy``, ``deployments.apps``, ``Deployment``) to a group, kind and scope.

The names themselves come from discovery, which has exactly one reader in this project:
:meth:`statuswatch.watchlist.discovery.RestMapper.find`. This module only gives the command line the small
answer it needs (:class:`KindName`) and keeps the names it has always imported from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from statuswatch.watchlist.discovery import RestMapper, UnknownResourceError

__all__ = ["KindName", "KindResolver", "UnknownResourceError"]


class _JsonGetter(Protocol):
    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class KindName:
    group: str
    kind: str
    namespaced: bool


class KindResolver:
    """Turns ``kind``/``resource[.group]`` text into a :class:`KindName`.

    Give it the :class:`RestMapper` the rest of the program uses, so that discovery is read once; given a
    client instead, it makes its own mapper.
    """

    def __init__(self, discovery: RestMapper | _JsonGetter) -> None:
        self.mapper = discovery if isinstance(discovery, RestMapper) else RestMapper(discovery)

    async def resolve(self, text: str) -> KindName:
        """Raises :class:`UnknownResourceError` when no served resource answers to ``text``."""
        found = await self.mapper.find(text)
        return KindName(found.group, found.kind, found.namespaced)
