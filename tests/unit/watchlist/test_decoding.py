"""The typed decoder gives exactly what ``project(json.loads(...))`` gives, on real and malformed objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from statuswatch.kstatus import compute, project
from statuswatch.kstatus.fields import group_and_kind
from statuswatch.watchlist import decoding
from statuswatch.watchlist.decoding import TypedDecoder, metadata_only

#: Objects as the local API server sent them (kubectl get --raw of each kind, apiVersion/kind added).
FIXTURE = Path(__file__).parent / "fixtures" / "apiserver_objects.json"


def real_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = json.loads(FIXTURE.read_text())
    return objects


def decoder_for(obj: dict[str, Any], *, audit: bool = False) -> TypedDecoder:
    group, kind = group_and_kind(obj)
    decoder = TypedDecoder(group, kind, obj["apiVersion"])
    if not audit:
        decoder._audit = 0  # the schema alone, without the safety net
    return decoder


def line(etype: str, obj: Any) -> bytes:
    return json.dumps({"type": etype, "object": obj}).encode()


def test_the_fixture_holds_every_kind_with_a_rule_and_the_heavy_parts() -> None:
    objects = real_objects()
    kinds = {o["kind"] for o in objects}
    assert {"Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "Service"} <= kinds
    assert {"Secret", "ConfigMap", "PersistentVolumeClaim", "Event", "Node", "Namespace"} <= kinds
    assert all(o["metadata"].get("managedFields") for o in objects if o["kind"] == "Pod")


@pytest.mark.parametrize("etype", ["ADDED", "MODIFIED", "DELETED"])
def test_watch_events_of_real_objects_decode_to_their_projection(etype: str) -> None:
    for obj in real_objects():
        decoder = decoder_for(obj)
        decoded = decoder.decode_event(line(etype, obj))
        assert decoded.projected
        assert decoded.event == {"type": etype, "object": project(obj)}, obj["kind"]
        assert decoder.full_decodes == 0, f"{obj['kind']} took the slow path"


def test_list_items_without_type_decode_to_the_projection_of_their_kind() -> None:
    objects = real_objects()
    for obj in objects:
        item = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        page = {"kind": "List", "metadata": {"resourceVersion": "77", "continue": "c"}, "items": [item, item]}
        decoder = decoder_for(obj)
        meta, items = decoder.decode_page(json.dumps(page).encode())
        assert meta == {"resourceVersion": "77", "continue": "c"}
        assert items == [project(obj), project(obj)]
        assert decoder.full_decodes == 0


def test_status_is_computed_the_same_from_the_decoded_object() -> None:
    for obj in real_objects():
        decoded = decoder_for(obj).decode_object(json.dumps(obj).encode())
        assert compute(decoded) == compute(obj), obj["kind"]


def pod() -> dict[str, Any]:
    return copy.deepcopy(next(o for o in real_objects() if o["kind"] == "Pod"))


def deployment() -> dict[str, Any]:
    return copy.deepcopy(next(o for o in real_objects() if o["kind"] == "Deployment"))


def malformed() -> list[dict[str, Any]]:
    """Objects whose odd values ``project`` copies as they are, which no schema can express."""
    cases: list[dict[str, Any]] = []

    def case(base: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
        target: Any = base
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        cases.append(base)

    case(deployment(), ("status",), "broken")
    case(deployment(), ("status", "conditions"), None)
    case(deployment(), ("status", "conditions"), ["not a condition"])
    case(deployment(), ("spec",), 3)
    case(deployment(), ("metadata", "ownerReferences"), "nobody")
    case(deployment(), ("metadata", "ownerReferences"), [7])
    case(deployment(), ("status", "replicas"), 10**30)
    case(pod(), ("status", "containerStatuses"), {"a": 1})
    case(pod(), ("status", "containerStatuses", 0), None)
    case(pod(), ("status", "containerStatuses", 0, "state"), None)
    case(pod(), ("status", "containerStatuses", 0, "state"), {"waiting": None})
    case(pod(), ("status", "containerStatuses", 0, "state"), {"waiting": {"reason": "X", "message": "m"}})
    case(deployment(), ("status",), {"somethingElse": 1})  # non-empty, nothing kept: {"observed": True}
    case(deployment(), ("status",), {})
    case(deployment(), ("apiVersion",), "a/b/c")  # unparsable: no kind rules
    case(deployment(), ("kind",), "ReplicaSet")  # another kind's rules
    no_meta = deployment()
    del no_meta["metadata"]
    cases.append(no_meta)
    return cases


@pytest.mark.parametrize("obj", malformed(), ids=lambda o: json.dumps(o.get("status", "-"))[:40])
def test_malformed_objects_give_the_projection_as_well(obj: dict[str, Any]) -> None:
    decoder = TypedDecoder("apps" if obj.get("kind") != "Pod" else "", "Deployment", "apps/v1")
    if obj.get("kind") == "Pod":
        decoder = TypedDecoder("", "Pod", "v1")
    assert decoder.decode_event(line("MODIFIED", obj)).event["object"] == project(obj)
    assert decoder.decode_object(json.dumps(obj).encode()) == project(obj)


def test_bookmarks_and_errors_come_back_in_full() -> None:
    decoder = TypedDecoder("", "Pod", "v1")
    bookmark = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "9", "annotations": {"a": "b"}},
    }
    decoded = decoder.decode_event(line("BOOKMARK", bookmark))
    assert decoded == decoding.Decoded({"type": "BOOKMARK", "object": bookmark}, False)
    status = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    assert decoder.decode_event(line("ERROR", status)).event == {"type": "ERROR", "object": status}


def test_an_object_of_a_drifted_projection_is_caught_by_the_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    def projection_with_a_new_field(obj: Any) -> dict[str, Any]:
        projected = project(obj)
        projected["spec"] = {**projected.get("spec", {}), "paused": obj.get("spec", {}).get("paused", False)}
        return projected

    monkeypatch.setattr(decoding, "project", projection_with_a_new_field)
    obj = deployment()
    decoder = decoder_for(obj, audit=True)
    first = decoder.decode_event(line("ADDED", obj)).event["object"]
    assert not decoder.enabled  # the schema did not know "paused": this kind is decoded in full from now on
    assert first == projection_with_a_new_field(obj)
    assert decoder.decode_event(line("ADDED", obj)).event["object"] == projection_with_a_new_field(obj)


def test_the_audit_passes_real_objects_and_stops_after_a_few() -> None:
    obj = pod()
    decoder = decoder_for(obj, audit=True)
    for _ in range(decoding.AUDITED_OBJECTS + 5):
        decoder.decode_event(line("MODIFIED", obj))
    assert decoder.enabled
    assert decoder._audit == 0
    assert decoder.full_decodes == 0


def test_metadata_only_objects_carry_the_real_type() -> None:
    assert metadata_only("", "Secret")
    assert metadata_only("", "ConfigMap")
    assert not metadata_only("", "Pod")
    assert not metadata_only("apps", "Secret")
    partial = {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {"name": "s"}}
    decoder = TypedDecoder("", "Secret", "v1", override=True)
    assert decoder.decode_event(line("ADDED", partial)).event["object"] == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
    }
    page = {"metadata": {"resourceVersion": "5"}, "items": [partial]}
    assert decoder.decode_page(json.dumps(page).encode())[1][0]["kind"] == "Secret"
