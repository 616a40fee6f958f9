"""RestMapper: resolution by group and kind, typed names, refresh on a miss, invalidation, failing groups."""

from __future__ import annotations

import pytest

from statuswatch.watchlist import ApiError, NoMatchError, ResourceType, RestMapper
from statuswatch.watchlist.discovery import UnknownResourceError
from statuswatch.watchlist.testing import FakeTransport, api_resource, resource_list

WIDGET = api_resource("widgets", "Widget")
WIDGET_STATUS = api_resource("widgets/status", "Widget", verbs=("get", "patch"))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cluster() -> FakeTransport:
    """Core group with names as a real server lists them, then apps, then a CRD group, then metrics."""
    api = FakeTransport()
    pods = api_resource("pods", "Pod") | {"singularName": "pod", "shortNames": ["po"]}
    events = api_resource("events", "Event") | {"singularName": "event", "shortNames": ["ev"]}
    namespaces = api_resource("namespaces", "Namespace", namespaced=False) | {"shortNames": ["ns"]}
    api.group_docs["/api/v1"] = resource_list(
        "v1", pods, api_resource("pods/log", "Pod", verbs=("get",)), events, namespaces
    )
    names = {"singularName": "deployment", "shortNames": ["deploy"]}
    deploy = api_resource("deployments", "Deployment") | names
    api.add_group("apps", {"v1": [deploy]})
    api.add_group("events.k8s.io", {"v1": [api_resource("events", "Event") | {"singularName": "event"}]})
    api.add_group(
        "example.com",
        {
            "v1": [api_resource("pods", "Pod"), WIDGET | {"singularName": "widget", "shortNames": ["wd"]}],
            "v2": [WIDGET, WIDGET_STATUS],
        },
    )
    api.add_group("metrics.k8s.io", {"v1beta1": [api_resource("pods", "PodMetrics")]})
    return api


async def test_core_types_and_subresources() -> None:
    mapper = RestMapper(FakeTransport())
    cm = await mapper.resolve("", "ConfigMap")
    assert cm == ResourceType("", "v1", "ConfigMap", "configmaps", True)
    assert cm.path("ns") == "/api/v1/namespaces/ns/configmaps"
    assert cm.path(None) == "/api/v1/configmaps"
    node = await mapper.resolve("", "Node")
    assert node.path("ignored") == "/api/v1/nodes"
    with pytest.raises(NoMatchError):
        await mapper.resolve("", "Binding")  # cannot be watched


async def test_group_prefers_the_preferred_version_and_caches() -> None:
    api = FakeTransport()
    api.add_group("example.com", {"v2": [WIDGET], "v1": [WIDGET, WIDGET_STATUS]}, preferred="v1")
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
    api = FakeTransport()
    clock = Clock()
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    with pytest.raises(NoMatchError, match="Widget"):
        await mapper.resolve("example.com", "Widget")
    # The CRD gets installed; within the interval the mapper does not ask again.
    api.add_group("example.com", {"v1": [WIDGET]})
    calls = len(api.calls)
    with pytest.raises(NoMatchError):
        await mapper.resolve("example.com", "Widget")
    assert len(api.calls) == calls
    clock.now += 6.0
    assert (await mapper.resolve("example.com", "Widget")).plural == "widgets"


async def test_invalidate_re_resolves_a_crd_that_switched_versions() -> None:
    api = FakeTransport()
    clock = Clock()
    api.add_group("example.com", {"v1": [WIDGET]})
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    assert (await mapper.resolve("example.com", "Widget")).version == "v1"
    # The CRD stops serving v1 and serves v2; a watch on the v1 path answers 404 and invalidates.
    api.add_group("example.com", {"v2": [WIDGET]})
    clock.now += 1.0
    mapper.invalidate("example.com")
    # Re-read too recently: the old answer holds until the rate limit allows a refresh...
    assert (await mapper.resolve("example.com", "Widget")).version == "v1"
    assert api.get_calls("/apis/example.com/v2") == []
    clock.now += 5.0
    # ...then discovery (the group list too) is read again and the new version is found.
    assert (await mapper.resolve("example.com", "Widget")).version == "v2"
    assert len(api.get_calls("/apis")) == 2


async def test_invalidate_long_after_the_last_read_refreshes_at_once() -> None:
    api = FakeTransport()
    clock = Clock()
    api.add_group("example.com", {"v1": [WIDGET]})
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    await mapper.resolve("example.com", "Widget")
    clock.now += 60.0
    api.add_group("example.com", {"v2": [WIDGET]})
    mapper.invalidate("example.com")
    assert (await mapper.resolve("example.com", "Widget")).version == "v2"


async def test_without_invalidate_a_cached_type_is_not_re_read() -> None:
    api = FakeTransport()
    clock = Clock()
    api.add_group("example.com", {"v1": [WIDGET]})
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    await mapper.resolve("example.com", "Widget")
    clock.now += 60.0
    api.add_group("example.com", {"v2": [WIDGET]})
    assert (await mapper.resolve("example.com", "Widget")).version == "v1"


async def test_invalidate_after_the_crd_was_deleted_gives_no_match() -> None:
    api = FakeTransport()
    clock = Clock()
    api.add_group("example.com", {"v1": [WIDGET]})
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    await mapper.resolve("example.com", "Widget")
    api.remove_group("example.com")
    clock.now += 5.0
    mapper.invalidate("example.com")
    with pytest.raises(NoMatchError, match=r"'Widget' in API group 'example\.com'"):
        await mapper.resolve("example.com", "Widget")
    # Re-created later: found again after the interval, with no further invalidation needed (a miss).
    api.add_group("example.com", {"v1": [WIDGET]})
    clock.now += 5.0
    assert (await mapper.resolve("example.com", "Widget")).version == "v1"


async def test_core_group_invalidation_rereads_the_core_documents() -> None:
    api = FakeTransport()
    clock = Clock()
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    await mapper.resolve("", "ConfigMap")
    clock.now += 5.0
    mapper.invalidate("")
    await mapper.resolve("", "ConfigMap")
    assert len(api.get_calls("/api/v1")) == 2


async def test_an_aggregated_api_that_is_down_fails_only_its_own_group() -> None:
    api = cluster()
    down = ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
    api.group_docs["/apis/metrics.k8s.io/v1beta1"] = down
    mapper = RestMapper(api)
    with pytest.raises(ApiError) as info:
        await mapper.resolve("metrics.k8s.io", "PodMetrics")
    assert info.value.status == 503  # the reason, not a claim that the kind is not installed
    assert (await mapper.resolve("apps", "Deployment")).plural == "deployments"
    assert (await mapper.find("widgets")).group == "example.com"
    with pytest.raises(UnknownResourceError):
        await mapper.find("podmetrics")


async def test_other_discovery_errors_are_raised() -> None:
    api = cluster()
    api.group_docs["/apis/apps/v1"] = ApiError(403, "Forbidden", "no discovery for you")
    with pytest.raises(ApiError, match="403"):
        await RestMapper(api).resolve("apps", "Deployment")


@pytest.mark.parametrize(
    ("text", "group", "kind"),
    [
        ("deployment", "apps", "Deployment"),
        ("deployments", "apps", "Deployment"),
        ("deploy", "apps", "Deployment"),
        ("Deployment", "apps", "Deployment"),
        ("DEPLOYMENTS.apps", "apps", "Deployment"),
        ("deployment.apps", "apps", "Deployment"),
        ("po", "", "Pod"),
        ("pods", "", "Pod"),  # the core group wins ties
        ("pods.example.com", "example.com", "Pod"),
        ("pods.example", "example.com", "Pod"),  # leading labels of the group
        ("events", "", "Event"),
        ("events.events.k8s.io", "events.k8s.io", "Event"),
        ("events.events", "events.k8s.io", "Event"),
        ("ns", "", "Namespace"),
        ("wd", "example.com", "Widget"),
        ("widget", "example.com", "Widget"),
    ],
)
async def test_find_resolves_what_people_type(text: str, group: str, kind: str) -> None:
    found = await RestMapper(cluster()).find(text)
    assert (found.group, found.kind) == (group, kind)


async def test_find_returns_the_preferred_version_with_names_and_scope() -> None:
    found = await RestMapper(cluster()).find("widgets")
    assert found == ResourceType("example.com", "v1", "Widget", "widgets", True)
    assert (found.singular, found.short_names) == ("widget", ("wd",))
    namespaces = await RestMapper(cluster()).find("namespaces")
    assert not namespaces.namespaced


@pytest.mark.parametrize("text", ["widgets.apps", "pods.exam", "gadgets", "", "pods/log", "log"])
async def test_find_unknown_names(text: str) -> None:
    with pytest.raises(UnknownResourceError, match=f'doesn\'t have a resource type "{text}"'):
        await RestMapper(cluster()).find(text)


async def test_find_reads_only_the_groups_it_needs_and_caches_them() -> None:
    api = cluster()
    mapper = RestMapper(api)
    await mapper.find("po")
    assert [c.path for c in api.calls] == ["/apis", "/api", "/api/v1"]
    await mapper.find("deploy")
    assert [c.path for c in api.calls][3:] == ["/apis/apps/v1"]
    calls = len(api.calls)
    await mapper.find("deployments.apps")
    assert (await mapper.resolve("apps", "Deployment")).plural == "deployments"
    assert len(api.calls) == calls


async def test_find_sees_a_crd_installed_later_after_the_interval() -> None:
    api = FakeTransport()
    clock = Clock()
    mapper = RestMapper(api, refresh_interval=5.0, clock=clock)
    with pytest.raises(UnknownResourceError):
        await mapper.find("widgets")
    api.add_group("example.com", {"v1": [WIDGET]})
    calls = len(api.calls)
    with pytest.raises(UnknownResourceError):
        await mapper.find("widgets")
    assert len(api.calls) == calls  # a miss within the interval asks nothing
    clock.now += 5.0
    assert (await mapper.find("widgets")).plural == "widgets"
