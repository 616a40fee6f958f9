"""The in-memory store of one stream, and the diffing that turns server events into changes.

Kept free of I/O so the subtle parts (dedup, relist tombstones, uid replacement) are tested on plain data.
A relist is a mark-and-sweep over the live store: snapshot objects are applied one by one as they stream in
(so no second full copy is held, cf. kubernetes#113305) and keys never seen by the end of the snapshot are
reported as DELETED, the tombstones that a plain re-watch would never deliver.

The store also keeps an owner index (owner uid -> the keys of the objects whose ``ownerReferences`` name it),
updated on every put and delete, so that a Deployment's ReplicaSets and a ReplicaSet's Pods are found in
time proportional to how many there are, not by scanning every ReplicaSet or Pod of the cluster.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["DEFAULT_FILTER_SIZE", "Change", "ChangeType", "Key", "Store", "compact", "object_key"]

ChangeType = Literal["ADDED", "MODIFIED", "DELETED"]
Key = tuple[str, str]  # (namespace, name); namespace is "" for cluster-scoped objects

DEFAULT_FILTER_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Change:
    """One change to one object, relative to what this consumer has been told before."""

    type: ChangeType
    object: dict[str, Any]


def object_key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def _uid_rv(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (meta.get("uid") or "", meta.get("resourceVersion") or "")


def _owner_uids(obj: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The uids named by ``obj``'s ownerReferences (malformed entries are ignored)."""
    if obj is None:
        return ()
    refs = (obj.get("metadata") or {}).get("ownerReferences")
    if not isinstance(refs, list):
        return ()
    uids: list[str] = []
    for ref in refs:
        uid = ref.get("uid") if isinstance(ref, Mapping) else None
        if isinstance(uid, str) and uid and uid not in uids:
            uids.append(uid)
    return tuple(uids)


def _older(rv: str, than: str) -> bool:
    """``rv`` is an older etcd revision than ``than``; opaque (non-numeric) versions are never compared."""
    return rv.isdigit() and than.isdigit() and int(rv) < int(than)


# Values repeated across many objects; interning them (and every key) shares one string per process.
_INTERNED_VALUES = frozenset(
    {"apiVersion", "kind", "namespace", "type", "status", "reason", "operator", "key"}
)


_LABEL_MAPS = frozenset({"labels", "matchLabels", "selector"})


def compact(value: Any, parent_key: str = "") -> Any:
    """A copy of a JSON value with every key and the frequently repeated strings interned."""
    if isinstance(value, dict):
        intern_all = parent_key in _LABEL_MAPS
        out: dict[str, Any] = {}
        for k, v in value.items():
            k = sys.intern(k)
            if isinstance(v, str):
                out[k] = sys.intern(v) if intern_all or k in _INTERNED_VALUES else v
            else:
                out[k] = compact(v, k)
        return out
    if isinstance(value, list):
        return [compact(v, parent_key) for v in value]
    return value


class Store:
    """Objects of one stream keyed by (namespace, name), plus a bounded (uid, resourceVersion) filter.

    ``filter_size`` bounds the filter of recently seen (uid, resourceVersion) pairs that drops duplicate or
    replayed deliveries (after a reconnect) which the store alone could not recognise as stale.
    """

    def __init__(self, filter_size: int | None = None):
        self._objects: dict[Key, dict[str, Any]] = {}
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._filter_size = DEFAULT_FILTER_SIZE if filter_size is None else filter_size
        self._marks: set[Key] | None = None
        self._owned: dict[str, dict[Key, None]] = {}  # owner uid -> keys of the objects it owns
        if self._filter_size < 0:
            raise ValueError("filter_size must be >= 0")

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: Key) -> dict[str, Any] | None:
        return self._objects.get(key)

    def values(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._objects.values()))

    def owned(self, uid: str) -> list[dict[str, Any]]:
        """The stored objects with an ownerReference to ``uid`` (from the index: no scan of the store)."""
        keys = self._owned.get(uid)
        return [self._objects[key] for key in keys] if keys else []

    @property
    def owners(self) -> int:
        """How many owner uids the index holds (for tests and diagnostics)."""
        return len(self._owned)

    def _index(self, key: Key, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
        """Move ``key`` in the owner index from ``old``'s owners to ``new``'s (either may be None)."""
        before, after = _owner_uids(old), _owner_uids(new)
        if before == after:
            return
        for uid in before:
            if uid not in after:
                keys = self._owned.get(uid)
                if keys is not None:
                    keys.pop(key, None)
                    if not keys:
                        del self._owned[uid]
        for uid in after:
            self._owned.setdefault(uid, {})[key] = None

    @property
    def in_snapshot(self) -> bool:
        return self._marks is not None

    def _remember(self, uid_rv: tuple[str, str]) -> None:
        if self._filter_size == 0:
            return
        self._seen[uid_rv] = None
        self._seen.move_to_end(uid_rv)
        while len(self._seen) > self._filter_size:
            self._seen.popitem(last=False)

    def begin_snapshot(self) -> None:
        """Start a relist: following :meth:`apply_snapshot` calls mark what still exists."""
        self._marks = set()

    def abort_snapshot(self) -> None:
        """The relist broke off; what was applied stays (each object is a valid state), nothing is swept."""
        self._marks = None

    def apply_snapshot(self, obj: dict[str, Any]) -> list[Change]:
        """One object of a full listing (a LIST item or an initial event of a WatchList)."""
        key = object_key(obj)
        if self._marks is not None:
            self._marks.add(key)
        old = self._objects.get(key)
        uid_rv = _uid_rv(obj)
        self._remember(uid_rv)
        if old is not None and _uid_rv(old) == uid_rv:
            return []
        return self._put(key, old, obj)

    def finish_snapshot(self) -> list[Change]:
        """End of the listing: everything not seen in it vanished while we were not looking."""
        marks, self._marks = self._marks, None
        if marks is None:
            return []
        gone = [k for k in self._objects if k not in marks]
        changes = []
        for key in gone:
            old = self._objects.pop(key)
            self._index(key, old, None)
            changes.append(Change("DELETED", old))
        return changes

    def apply_event(self, event_type: str, obj: dict[str, Any]) -> list[Change]:
        """One live watch event. Types are re-derived from the store so consumers see a consistent story."""
        uid_rv = _uid_rv(obj)
        if uid_rv[1] and uid_rv in self._seen:
            return []  # a duplicate or a replay of something already applied
        self._remember(uid_rv)
        key = object_key(obj)
        if self._marks is not None:
            self._marks.add(key)
        old = self._objects.get(key)
        if event_type == "DELETED":
            if old is None or _uid_rv(old)[0] != uid_rv[0]:
                return []  # already gone, or the key now belongs to a newer object
            del self._objects[key]
            self._index(key, old, None)
            return [Change("DELETED", obj)]
        if old is not None and _uid_rv(old) == uid_rv:
            return []
        if old is not None and _uid_rv(old)[0] == uid_rv[0] and _older(uid_rv[1], _uid_rv(old)[1]):
            return []  # a replay older than the filter remembers: never roll an object back
        return self._put(key, old, obj)

    def _put(self, key: Key, old: dict[str, Any] | None, obj: dict[str, Any]) -> list[Change]:
        self._objects[key] = obj
        self._index(key, old, obj)
        if old is None:
            return [Change("ADDED", obj)]
        if _uid_rv(old)[0] != _uid_rv(obj)[0]:
            # Deleted and re-created under the same name while we were not looking.
            return [Change("DELETED", old), Change("ADDED", obj)]
        return [Change("MODIFIED", obj)]
