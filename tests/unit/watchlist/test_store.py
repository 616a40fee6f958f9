"""Store diffing: relist tombstones, dedup by uid+resourceVersion, uid replacement, interning."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from statuswatch.watchlist.store import Change, Store, compact


def obj(name: str, rv: str, uid: str | None = None, ns: str = "default", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "uid": uid or f"uid-{name}", "resourceVersion": rv},
        "status": status,
    }


def summary(changes: list[Change]) -> list[tuple[str, str, str]]:
    return [(c.type, c.object["metadata"]["name"], c.object["metadata"]["resourceVersion"]) for c in changes]


def test_initial_snapshot_adds_everything_and_deletes_nothing() -> None:
    store = Store()
    store.begin_snapshot()
    out = store.apply_snapshot(obj("a", "1")) + store.apply_snapshot(obj("b", "2"))
    out += store.finish_snapshot()
    assert summary(out) == [("ADDED", "a", "1"), ("ADDED", "b", "2")]
    assert len(store) == 2
    assert not store.in_snapshot


def test_relist_reports_vanished_new_and_changed_objects_only() -> None:
    store = Store()
    store.begin_snapshot()
    for o in (obj("keep", "1"), obj("change", "2"), obj("gone", "3")):
        store.apply_snapshot(o)
    store.finish_snapshot()

    store.begin_snapshot()
    out = store.apply_snapshot(obj("keep", "1"))
    out += store.apply_snapshot(obj("change", "7"))
    out += store.apply_snapshot(obj("new", "8"))
    out += store.finish_snapshot()
    assert summary(out) == [("MODIFIED", "change", "7"), ("ADDED", "new", "8"), ("DELETED", "gone", "3")]
    assert store.get(("default", "gone")) is None
    assert store.get(("default", "change"))["metadata"]["resourceVersion"] == "7"  # type: ignore[index]


def test_aborted_relist_sweeps_nothing() -> None:
    store = Store()
    store.begin_snapshot()
    store.apply_snapshot(obj("a", "1"))
    store.apply_snapshot(obj("b", "1"))
    store.finish_snapshot()
    store.begin_snapshot()
    store.apply_snapshot(obj("a", "1"))
    store.abort_snapshot()
    assert store.finish_snapshot() == []
    assert len(store) == 2


def test_recreated_under_same_name_is_a_delete_then_an_add() -> None:
    store = Store()
    store.apply_event("ADDED", obj("a", "1", uid="old"))
    out = store.apply_event("ADDED", obj("a", "5", uid="new"))
    assert [(c.type, c.object["metadata"]["uid"]) for c in out] == [("DELETED", "old"), ("ADDED", "new")]
    store.begin_snapshot()
    out = store.apply_snapshot(obj("a", "9", uid="newer"))
    assert [(c.type, c.object["metadata"]["uid"]) for c in out] == [("DELETED", "new"), ("ADDED", "newer")]


def test_duplicate_and_replayed_events_are_dropped() -> None:
    store = Store()
    assert summary(store.apply_event("ADDED", obj("a", "1"))) == [("ADDED", "a", "1")]
    assert store.apply_event("ADDED", obj("a", "1")) == []
    assert summary(store.apply_event("MODIFIED", obj("a", "2", ready=True))) == [("MODIFIED", "a", "2")]
    # A replay of rv 1 after a reconnect must not roll the object back.
    assert store.apply_event("MODIFIED", obj("a", "1")) == []
    assert store.get(("default", "a"))["metadata"]["resourceVersion"] == "2"  # type: ignore[index]


def test_status_only_change_with_same_generation_is_reported() -> None:
    store = Store()
    a1 = obj("a", "1", ready=False)
    a1["metadata"]["generation"] = 3
    a2 = obj("a", "2", ready=True)
    a2["metadata"]["generation"] = 3
    store.apply_event("ADDED", a1)
    out = store.apply_event("MODIFIED", a2)
    assert summary(out) == [("MODIFIED", "a", "2")]
    assert out[0].object["status"] == {"ready": True}


def test_event_types_follow_the_store_not_the_server() -> None:
    store = Store()
    assert [c.type for c in store.apply_event("MODIFIED", obj("a", "1"))] == ["ADDED"]
    assert [c.type for c in store.apply_event("ADDED", obj("a", "2"))] == ["MODIFIED"]


def test_delete_of_unknown_or_superseded_object_is_ignored() -> None:
    store = Store()
    assert store.apply_event("DELETED", obj("never", "4")) == []
    store.apply_event("ADDED", obj("a", "5", uid="new"))
    assert store.apply_event("DELETED", obj("a", "3", uid="old")) == []
    assert summary(store.apply_event("DELETED", obj("a", "6", uid="new"))) == [("DELETED", "a", "6")]
    assert len(store) == 0


def test_filter_size_bounds_the_filter_and_zero_disables_it() -> None:
    store = Store(filter_size=2)
    for i in range(5):
        store.apply_event("ADDED", obj(f"o{i}", str(i)))
    assert len(store._seen) == 2
    unfiltered = Store(filter_size=0)
    unfiltered.apply_event("ADDED", obj("a", "1"))
    assert len(unfiltered._seen) == 0
    # The store itself still recognises an exact repeat.
    assert unfiltered.apply_event("ADDED", obj("a", "1")) == []
    with pytest.raises(ValueError, match="filter_size"):
        Store(filter_size=-1)


def test_cluster_scoped_objects_key_on_empty_namespace() -> None:
    store = Store()
    node = {"kind": "Node", "metadata": {"name": "n1", "uid": "u", "resourceVersion": "1"}}
    store.apply_event("ADDED", node)
    assert store.get(("", "n1")) is node


def test_compact_copies_and_interns() -> None:
    raw = {
        "apiVersion": "".join(["app", "s/v1"]),
        "metadata": {"labels": {"app": "".join(["w", "eb"])}, "name": "x"},
        "status": {"conditions": [{"type": "".join(["Rea", "dy"]), "status": "True"}]},
    }
    out = compact(raw)
    assert out == raw
    assert out is not raw
    assert out["metadata"] is not raw["metadata"]
    assert out["apiVersion"] is sys.intern("apps/v1")
    assert out["metadata"]["labels"]["app"] is sys.intern("web")
    assert out["status"]["conditions"][0]["type"] is sys.intern("Ready")


def test_filter_evicts_the_oldest_entry_so_a_recent_replay_cannot_roll_back() -> None:
    # Opaque resourceVersions (not etcd revisions): only the filter can tell a replay from news.
    store = Store(filter_size=2)
    store.apply_event("ADDED", obj("a", "rv-a"))
    store.apply_event("ADDED", obj("c", "rv-c"))
    store.apply_event("ADDED", obj("b", "rv-b1"))
    store.apply_event("MODIFIED", obj("b", "rv-b2", ready=True))
    # The last two deliveries are remembered; a reconnect that replays them changes nothing.
    assert store.apply_event("MODIFIED", obj("b", "rv-b1")) == []
    assert store.get(("default", "b"))["metadata"]["resourceVersion"] == "rv-b2"  # type: ignore[index]
    # The oldest ones were evicted: an entry seen before them is news again.
    assert summary(store.apply_event("MODIFIED", obj("a", "rv-a0"))) == [("MODIFIED", "a", "rv-a0")]


def test_older_etcd_revision_of_the_same_object_is_never_applied() -> None:
    store = Store(filter_size=0)  # no filter at all: the revision order alone must hold
    store.apply_event("ADDED", obj("a", "5"))
    store.apply_event("MODIFIED", obj("a", "9", ready=True))
    assert store.apply_event("MODIFIED", obj("a", "7")) == []
    assert store.get(("default", "a"))["status"] == {"ready": True}  # type: ignore[index]
    # A new object under the same name (new uid) is not "older", whatever its revision.
    out = store.apply_event("ADDED", obj("a", "3", uid="other"))
    assert [c.type for c in out] == ["DELETED", "ADDED"]


def owned_obj(name: str, rv: str, uid: str, *owners: str, ns: str = "default") -> dict[str, Any]:
    o = obj(name, rv, uid, ns)
    o["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs-{u}", "uid": u, "controller": True}
        for u in owners
    ]
    return o


def names(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in objects)


def test_owner_index_follows_add_modify_owner_change_and_delete() -> None:
    store = Store(filter_size=0)
    store.apply_event("ADDED", owned_obj("a", "1", "ua", "rs1"))
    store.apply_event("ADDED", owned_obj("b", "2", "ub", "rs1", "rs2"))
    store.apply_event("ADDED", obj("c", "3", "uc"))  # owns nothing, owned by nothing
    assert names(store.owned("rs1")) == ["a", "b"]
    assert names(store.owned("rs2")) == ["b"]
    assert store.owned("nobody") == []
    # a status change keeps the owners, and the index serves the newest object
    store.apply_event("MODIFIED", owned_obj("a", "4", "ua", "rs1"))
    assert [o["metadata"]["resourceVersion"] for o in store.owned("rs1") if o["metadata"]["name"] == "a"] == [
        "4"
    ]
    # the owner changes: a leaves rs1 for rs2
    store.apply_event("MODIFIED", owned_obj("a", "5", "ua", "rs2"))
    assert names(store.owned("rs1")) == ["b"]
    assert names(store.owned("rs2")) == ["a", "b"]
    # orphaned: no owner reference any more
    store.apply_event("MODIFIED", owned_obj("b", "6", "ub"))
    assert store.owned("rs1") == []
    assert names(store.owned("rs2")) == ["a"]
    store.apply_event("DELETED", owned_obj("a", "7", "ua", "rs2"))
    assert store.owned("rs2") == []
    assert store.owners == 0


def test_owner_index_follows_relists_and_uid_replacement() -> None:
    store = Store(filter_size=0)
    store.begin_snapshot()
    store.apply_snapshot(owned_obj("a", "1", "ua", "rs1"))
    store.apply_snapshot(owned_obj("b", "2", "ub", "rs1"))
    store.finish_snapshot()
    assert names(store.owned("rs1")) == ["a", "b"]
    # relist: b vanished (swept), a was re-created under the same name by another owner
    store.begin_snapshot()
    store.apply_snapshot(owned_obj("a", "9", "ua2", "rs2"))
    swept = store.finish_snapshot()
    assert summary(swept) == [("DELETED", "b", "2")]
    assert store.owned("rs1") == []
    assert names(store.owned("rs2")) == ["a"]
    assert store.owners == 1
