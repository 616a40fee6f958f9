"""Direct cluster reader: a GET per identifier and a LIST (label selector) per generated lookup, every cycle.

This is kstatus's uncached path, kept for comparison and for tiny clusters: nothing is held between cycles and
nothing tells the engine about changes, so the engine simply re-reads everything each ``poll_interval``.
A cluster-scoped kind is read without namespace, whatever namespace the identifier carries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import RestMapper
from statuswatch.watchlist.selector import to_query
from statuswatch.watchlist.transport import Transport, get_json

from .clusterreader import scope_of
from .identifiers import ObjMetadata

__all__ = ["DirectClusterReader"]

_PAGE_SIZE = 500


class DirectClusterReader:
    """Reads straight from the API server; the client and mapper belong to the caller."""

    def __init__(self, client: Transport, mapper: RestMapper) -> None:
        self._client = client
        self._mapper = mapper

    async def namespaced(self, group: str, kind: str) -> bool | None:
        return await scope_of(self._mapper, group, kind)

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        resource = await self._mapper.resolve(group, kind)
        namespace = namespace if resource.namespaced else ""
        try:
            return await get_json(self._client, f"{resource.path(namespace)}/{name}")
        except ApiError as error:
            if error.status == 404:
                return None
            raise

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> list[Mapping[str, Any]]:
        resource = await self._mapper.resolve(group, kind)
        namespace = namespace if resource.namespaced else ""
        params: dict[str, str | int] = {"labelSelector": to_query(selector), "limit": _PAGE_SIZE}
        items: list[Mapping[str, Any]] = []
        while True:
            page = await get_json(self._client, resource.path(namespace), params)
            for item in page.get("items") or []:
                # list items carry no apiVersion/kind; the status readers need both
                if owner_uid is None or _owned_by(item, owner_uid):
                    items.append({"apiVersion": resource.api_version, "kind": resource.kind, **item})
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = token

    async def sync(self) -> None:
        return None

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        await asyncio.sleep(interval)
        return None

    async def close(self) -> None:
        return None


def _owned_by(item: Mapping[str, Any], uid: str) -> bool:
    refs = (item.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(ref, Mapping) and ref.get("uid") == uid for ref in refs)
