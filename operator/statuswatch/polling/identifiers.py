"""Identifiers: which object a status is about.

Kept apart from everything else because identifiers are what callers hand in, what events carry back and what
the collector keys its table by; they must be small, hashable and free of any client type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ObjMetadata", "group_of"]


@dataclass(frozen=True, order=True, slots=True)
class ObjMetadata:
    """One object, named by group, kind, namespace and name (version is irrelevant to status).

    ``namespace`` is ``""`` for cluster-scoped objects; ``group`` is ``""`` for the core group.
    """

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_object(cls, obj: Mapping[str, Any], *, default_namespace: str = "") -> ObjMetadata:
        """The identifier of an object or manifest (``apiVersion``, ``kind`` and ``metadata``)."""
        metadata = obj.get("metadata")
        if not isinstance(metadata, Mapping):  # malformed: still an identifier, never a crash
            metadata = {}
        return cls(
            group=group_of(str(obj.get("apiVersion", ""))),
            kind=str(obj.get("kind", "")),
            namespace=str(metadata.get("namespace") or default_namespace),
            name=str(metadata.get("name", "")),
        )

    @property
    def group_kind(self) -> str:
        """``Kind.group`` (or just ``Kind`` for the core group), as kubectl spells it."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def __str__(self) -> str:
        scope = f"{self.namespace}/" if self.namespace else ""
        return f"{self.group_kind.lower()}/{scope}{self.name}"


def group_of(api_version: str) -> str:
    """The API group of an ``apiVersion`` string: ``apps/v1`` -> ``apps``, ``v1`` -> ``""``."""
    group, _, version = api_version.rpartition("/")
    return group if version else ""
