"""Which status changes count as news (kstatus event_test.go TestDeepEqual)."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import ErrorEvent, ObjMetadata, ResourceStatus, ResourceUpdateEvent, SyncEvent

DEP = ObjMetadata("apps", "Deployment", "ns", "web")


def rs(**changes: Any) -> ResourceStatus:
    fields: dict[str, Any] = {
        "identifier": DEP,
        "status": Status.CURRENT,
        "message": "ok",
        "resource": {"metadata": {"name": "web", "generation": 1, "resourceVersion": "1"}},
        "error": None,
        "generated_resources": (),
    }
    fields.update(changes)
    return ResourceStatus(**fields)


def child(status: Status = Status.CURRENT) -> ResourceStatus:
    return ResourceStatus(ObjMetadata("apps", "ReplicaSet", "ns", "web-1"), status, "m")


def test_same_resource_is_equal() -> None:
    assert rs() == rs()
    assert hash(rs()) == hash(rs())


def test_other_resource_version_alone_is_not_news() -> None:
    assert rs() == rs(resource={"metadata": {"name": "web", "generation": 1, "resourceVersion": "2"}})


@pytest.mark.parametrize(
    "changes",
    [
        {"identifier": ObjMetadata("apps", "Deployment", "ns", "api")},
        {"identifier": ObjMetadata("apps", "StatefulSet", "ns", "web")},
        {"status": Status.IN_PROGRESS},
        {"message": "other"},
        {"resource": {"metadata": {"name": "web", "generation": 2}}},
        {"error": ValueError("boom")},
        {"generated_resources": (child(),)},
    ],
    ids=["name", "group-kind", "status", "message", "generation", "error", "generated count"],
)
def test_differences_that_are_news(changes: dict[str, Any]) -> None:
    assert rs() != rs(**changes)


def test_same_error_text_is_equal_and_different_text_is_not() -> None:
    assert rs(error=ValueError("boom")) == rs(error=ValueError("boom"))
    assert rs(error=ValueError("boom")) != rs(error=ValueError("bang"))


def test_status_of_a_generated_resource_is_compared() -> None:
    assert rs(generated_resources=(child(),)) == rs(generated_resources=(child(),))
    assert rs(generated_resources=(child(),)) != rs(generated_resources=(child(Status.FAILED),))


def test_events_compare_by_value() -> None:
    assert ResourceUpdateEvent(rs()) == ResourceUpdateEvent(rs())
    assert ErrorEvent(RuntimeError("x")) == ErrorEvent(RuntimeError("x"))
    assert ErrorEvent(RuntimeError("x")) != ErrorEvent(ValueError("x"))
    assert SyncEvent() == SyncEvent()


def test_identifier_from_object_and_printing() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    expected = ObjMetadata("apps", "Deployment", "shop", "web")
    assert ObjMetadata.from_object(obj, default_namespace="shop") == expected
    assert str(ObjMetadata("apps", "Deployment", "shop", "web")) == "deployment.apps/shop/web"
    assert str(ObjMetadata("", "Namespace", "", "shop")) == "namespace/shop"
    assert len({DEP, ObjMetadata("apps", "Deployment", "ns", "web")}) == 1
