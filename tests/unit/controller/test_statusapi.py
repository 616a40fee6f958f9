"""The real status sink against a name-keyed in-memory API that applies JSON patches as the API server does:
a write meant for one object never lands in another of the same name (N2), a 404 that does not name the
object is not a deletion (N1), and refusals for good are told apart from errors worth retrying (N3)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from statuswatch.controller.statusapi import ApiStatusSink, ObjectRef, StatusRefused, WatchGone
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Lines, Request

PATH = "/apis/statuswatch.io/v1alpha1/namespaces/shop/statuswatches/w"


class NameKeyedApi:
    """One StatusWatch collection held by name; PATCH takes RFC 6902 JSON patches (test and add only)."""

    def __init__(self) -> None:
        self.capabilities: dict[str, Any] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self.patch_error: ApiError | None = None
        self.requests: list[tuple[str, str, Any, str]] = []

    @property
    def server(self) -> str:
        return "https://fake.invalid"

    def create(self, name: str, uid: str) -> None:
        self.objects[name] = {"metadata": {"name": name, "namespace": "shop", "uid": uid}, "status": {}}

    def _name(self, path: str) -> str:
        return path.removeprefix(PATH[: -len("/w")] + "/").removesuffix("/status")

    async def send(self, request: Request) -> bytes:
        body = json.loads(request.body) if request.body is not None else None
        answer = self._answer(request.method, request.path, body, request.content_type)
        return json.dumps(answer).encode()

    async def stream(self, request: Request) -> Lines:
        raise AssertionError("the sink never watches")

    def _answer(self, method: str, path: str, body: Any, content_type: str) -> dict[str, Any]:
        self.requests.append((method, path, copy.deepcopy(body), content_type))
        name = self._name(path)
        stored = self.objects.get(name)
        if stored is None:
            details = {"name": name, "group": "statuswatch.io", "kind": "statuswatches"}
            raise ApiError(404, "NotFound", f'statuswatches.statuswatch.io "{name}" not found', details)
        if method == "GET":
            return copy.deepcopy(stored)
        assert method == "PATCH"
        if self.patch_error is not None:
            raise self.patch_error
        result = copy.deepcopy(stored)
        if content_type == "application/merge-patch+json":  # the status strategy keeps the metadata
            result["status"] = {
                key: value
                for key, value in {**result["status"], **body["status"]}.items()
                if value is not None
            }
            self.objects[name] = result
            return copy.deepcopy(result)
        assert content_type == "application/json-patch+json"
        for op in body:
            if op["op"] == "test":
                assert op["path"] == "/metadata/uid"
                if result["metadata"]["uid"] != op["value"]:
                    raise ApiError(422, "", "the server rejected our request due to an error in our request")
            elif op["op"] == "add" and op["path"] == "/status":
                result["status"] = copy.deepcopy(op["value"])
            else:
                raise AssertionError(f"unexpected op {op}")
        self.objects[name] = result
        return copy.deepcopy(result)


async def test_a_write_for_a_deleted_object_never_lands_in_the_one_recreated_under_its_name() -> None:
    api = NameKeyedApi()
    api.create("w", "uid-1")
    sink = ApiStatusSink(api)
    old = ObjectRef("shop", "w", "uid-1")
    await sink.write_status(old, {"aggregateStatus": "InProgress"}, None)
    assert api.objects["w"]["status"] == {"aggregateStatus": "InProgress"}

    api.create("w", "uid-2")  # deleted and re-created: generation 1 again, no status
    with pytest.raises(WatchGone):
        await sink.write_status(old, {"aggregateStatus": "Current", "observedGeneration": 1}, None)
    assert api.objects["w"]["status"] == {}

    stored = await sink.write_status(ObjectRef("shop", "w", "uid-2"), {"aggregateStatus": "Unknown"}, None)
    assert stored == {"aggregateStatus": "Unknown"}


async def test_the_whole_status_is_replaced_so_keys_it_no_longer_has_go() -> None:
    api = NameKeyedApi()
    api.create("w", "uid-1")
    sink = ApiStatusSink(api)
    ref = ObjectRef("shop", "w", "uid-1")
    await sink.write_status(ref, {"resourcesOmitted": 3, "progress": "1/9"}, None)
    await sink.write_status(ref, {"progress": "9/9"}, {"resourcesOmitted": 3, "progress": "1/9"})
    assert api.objects["w"]["status"] == {"progress": "9/9"}
    assert api.requests[-1][2][0] == {"op": "test", "path": "/metadata/uid", "value": "uid-1"}


async def test_deleted_for_good_is_gone() -> None:
    api = NameKeyedApi()
    sink = ApiStatusSink(api)
    with pytest.raises(WatchGone):
        await sink.write_status(ObjectRef("shop", "w", "uid-1"), {"progress": "0/1"}, None)


async def test_a_404_that_does_not_name_the_object_is_an_error_to_retry_not_a_deletion() -> None:
    # N1: a CRD no longer serving the version, or a proxy, answers 404 without the object's name.
    api = NameKeyedApi()
    api.create("w", "uid-1")
    api.patch_error = ApiError(404, "NotFound", "the server could not find the requested resource")
    sink = ApiStatusSink(api)
    with pytest.raises(ApiError) as raised:
        await sink.write_status(ObjectRef("shop", "w", "uid-1"), {"progress": "0/1"}, None)
    assert not isinstance(raised.value, WatchGone | StatusRefused)
    assert raised.value.status == 404


@pytest.mark.parametrize(
    "error",
    [
        ApiError(500, "InternalError", "etcdserver: request is too large"),
        ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"),
        ApiError(422, "Invalid", 'StatusWatch.statuswatch.io "w" is invalid: status.progress: Invalid value'),
    ],
    ids=["etcd-too-large", "413", "422-same-uid"],
)
async def test_a_status_refused_for_good_is_told_apart(error: ApiError) -> None:
    api = NameKeyedApi()
    api.create("w", "uid-1")
    api.patch_error = error
    sink = ApiStatusSink(api)
    with pytest.raises(StatusRefused, match=error.message[:20]):
        await sink.write_status(ObjectRef("shop", "w", "uid-1"), {"progress": "0/1"}, None)


async def test_a_passing_error_is_passed_on() -> None:
    api = NameKeyedApi()
    api.create("w", "uid-1")
    api.patch_error = ApiError(429, "TooManyRequests", "slow down")
    with pytest.raises(ApiError) as raised:
        await ApiStatusSink(api).write_status(ObjectRef("shop", "w", "uid-1"), {}, None)
    assert raised.value.status == 429
