"""RestMapper: core and group resolution, preferred versions, subresources, refresh on a miss."""

from __future__ import annotations

import pytest

from statuswatch.watchlist import NoMatchError, ResourceType, RestMapper

from .fakes import FakeApi

WIDGETS = {
    "resources": [
        {"name": "widgets", "kind": "Widget", "namespaced": True, "verbs": ["list", "watch"]},
        {"name": "widgets/status", "kind": "Widget", "namespaced": True, "verbs": ["get", "patch"]},
    ]
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_core_types_and_subresources() -> None:
    mapper = RestMapper(FakeApi())
    cm = await mapper.resolve("", "ConfigMap")
    assert cm == ResourceType("", "v1", "ConfigMap", "configmaps", True)
    assert cm.path("ns") == "/api/v1/namespaces/ns/configmaps"
    assert cm.path(None) == "/api/v1/configmaps"
    node = await mapper.resolve("", "Node")
    assert node.path("ignored") == "/api/v1/nodes"
    with pytest.raises(NoMatchError):
        await mapper.resolve("", "Binding")  # cannot be watched


async def test_group_prefers_the_preferred_version_and_caches() -> None:
    api = FakeApi()
    api.groups = {
        "groups": [
            {
                "name": "example.com",
                "versions": [{"version": "v2"}, {"version": "v1"}],
                "preferredVersion": {"version": "v1"},
            }
        ]
    }
    api.group_docs["/apis/example.com/v1"] = WIDGETS
    api.group_docs["/apis/example.com/v2"] = WIDGETS
    mapper = RestMapper(api)
    rt = await mapper.resolve("example.com", "Widget")
    assert rt.version == "v1"
    assert rt.api_version == "example.com/v1"
    assert rt.path("n") == "/apis/example.com/v1/namespaces/n/widgets"
    assert (await mapper.resolve("example.com", "Widget", "v2")).version == "v2"
    calls = len(api.calls)
    await mapper.resolve("example.com", "Widget")
    assert len(api.calls) == calls


async def test_miss_refreshes_but_not_more_often_than_the_interval() -> None:
    api = FakeApi()
    clock = Clock()
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    with pytest.raises(NoMatchError, match="Widget"):
        await mapper.resolve("example.com", "Widget")
    # The CRD gets installed; within the interval the mapper does not ask again.
    api.groups = {"groups": [{"name": "example.com", "versions": [{"version": "v1"}]}]}
    api.group_docs["/apis/example.com/v1"] = WIDGETS
    calls = len(api.calls)
    with pytest.raises(NoMatchError):
        await mapper.resolve("example.com", "Widget")
    assert len(api.calls) == calls
    clock.now = 6.0
    assert (await mapper.resolve("example.com", "Widget")).plural == "widgets"
