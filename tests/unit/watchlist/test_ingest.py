"""How a stream ingests: typed decoding, metadata-only Secrets, plain JSON for a projector of its own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from statuswatch.kstatus import compute, project
from statuswatch.watchlist import RestMapper, SharedView, StreamSettings
from statuswatch.watchlist.stream import Projector
from statuswatch.watchlist.testing import FakeTransport, api_resource, bookmark, event, resource_list
from statuswatch.watchlist.transport import (
    METADATA_LIST_ACCEPT,
    METADATA_WATCH_ACCEPT,
    Lines,
    Request,
    Transport,
)

pytestmark = [pytest.mark.timeout(10), pytest.mark.looptime]

FIXTURE = Path(__file__).parent / "fixtures" / "apiserver_objects.json"


def real(kind: str) -> list[dict[str, Any]]:
    return [o for o in json.loads(FIXTURE.read_text()) if o["kind"] == kind]


class Passing:
    """A wrapper of the narrow pair, as a user's (or the operator's request counter) would write it."""

    def __init__(self, inner: FakeTransport) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.requests: list[Request] = []

    @property
    def server(self) -> str:
        return self.inner.server

    async def send(self, request: Request) -> bytes:
        self.requests.append(request)
        return await self.inner.send(request)

    async def stream(self, request: Request) -> Lines:
        self.requests.append(request)
        return await self.inner.stream(request)


def own_projection(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A projector of the user's: the stream cannot decode typed for it, so it decodes plain JSON."""
    return project(obj)


def fake() -> FakeTransport:
    api = FakeTransport()
    api.group_docs["/api/v1"] = resource_list(
        "v1",
        api_resource("secrets", "Secret"),
        api_resource("pods", "Pod"),
        api_resource("configmaps", "ConfigMap"),
    )
    api.add_group("apps", {"v1": [api_resource("deployments", "Deployment")]})
    return api


def view(client: Transport, projector: Projector | None = None) -> SharedView:
    settings = StreamSettings(backoff=(1.0, 1.0), seed=3)
    return SharedView(client, RestMapper(client), settings=settings, projector=projector)


def secret(name: str, rv: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default", "uid": f"u-{name}", "resourceVersion": rv},
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="},
    }


async def test_a_wrapper_of_the_pair_keeps_typed_decoding_and_metadata_only_secrets() -> None:
    api = fake()
    api.watches.append([event("ADDED", secret("db", "5")), bookmark("6", end=True, kind="Secret")])
    wrapper = Passing(api)
    async with view(wrapper) as v, v.subscribe("", "Secret", "default", changes=False) as sub:
        await sub.wait_synced()
        assert sub.stream.metadata_only
        assert sub.stream._decoder is not None
        assert "aHVudGVyMg" not in json.dumps(sub.get("default", "db"))
        assert wrapper.requests[-1].accept == METADATA_WATCH_ACCEPT


async def test_secrets_are_watched_as_metadata_only_and_stay_current() -> None:
    api = fake()
    api.watches.append([event("ADDED", secret("db", "5")), bookmark("6", end=True, kind="Secret")])
    async with view(api) as v, v.subscribe("", "Secret", "default", changes=False) as sub:
        await sub.wait_synced()
        stored = sub.get("default", "db")
        assert stored is not None
        assert stored["apiVersion"] == "v1"
        assert stored["kind"] == "Secret"
        assert '"data"' not in json.dumps(stored)
        assert "aHVudGVyMg" not in json.dumps(stored)
        assert compute(stored).status == "Current"
        assert sub.stream.metadata_only
        assert api.calls[-1].accept == METADATA_WATCH_ACCEPT


async def test_secrets_listed_after_a_watchlist_refusal_are_metadata_only_too() -> None:
    api = fake()
    api.capabilities["watchlist"] = False
    api.pages.append({"metadata": {"resourceVersion": "9"}, "items": [secret("db", "5")]})
    async with view(api) as v, v.subscribe("", "Secret", "default", changes=False) as sub:
        await sub.wait_synced()
        stored = sub.get("default", "db")
        assert stored == {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default", "uid": "u-db", "resourceVersion": "5"},
        }
        gets = [c for c in api.calls if c.kind == "get" and c.path.endswith("/secrets")]
        assert [c.accept for c in gets] == [METADATA_LIST_ACCEPT]
        assert api.calls[-1].accept == METADATA_WATCH_ACCEPT


async def test_pods_are_decoded_typed_into_their_projection() -> None:
    pods = real("Pod")[:3]
    api = fake()
    api.watches.append([*(event("ADDED", p) for p in pods), bookmark("1", end=True, kind="Pod")])
    async with view(api) as v, v.subscribe("", "Pod", None, changes=False) as sub:
        await sub.wait_synced()
        stream = sub.stream
        assert stream._decoder is not None
        assert stream._decoder.full_decodes == 0
        assert not stream.metadata_only
        assert api.calls[-1].accept is None
        for p in pods:
            assert sub.get(p["metadata"]["namespace"], p["metadata"]["name"]) == project(p)


async def test_an_own_projector_gets_full_objects_decoded_as_json_and_projected() -> None:
    api = fake()
    api.watches.append([event("ADDED", secret("db", "5")), bookmark("6", end=True, kind="Secret")])
    async with view(api, own_projection) as v, v.subscribe("", "Secret", "default", changes=False) as sub:
        await sub.wait_synced()
        assert not sub.stream.metadata_only
        assert sub.stream._decoder is None
        stored = sub.get("default", "db")
        assert stored == project(secret("db", "5"))
        assert api.calls[-1].accept is None


async def test_list_items_are_projected_with_their_kind_fields_by_an_own_projector() -> None:
    deployment = real("Deployment")[0]
    item = {k: v for k, v in deployment.items() if k not in ("apiVersion", "kind")}
    api = fake()
    api.capabilities["watchlist"] = False
    api.pages.append({"metadata": {"resourceVersion": "9"}, "items": [item]})
    async with view(api, own_projection) as v, v.subscribe("apps", "Deployment", None, changes=False) as sub:
        await sub.wait_synced()
        meta = deployment["metadata"]
        stored = sub.get(meta["namespace"], meta["name"])
        assert stored == project(deployment)
        assert "replicas" in stored["status"]  # before: projected as a kind-less object, rule fields lost
