"""KindResolver: the command line's kind names, answered by the one discovery reader (RestMapper.find)."""

from __future__ import annotations

import pytest

from statuswatch.polling.kindnames import KindName, KindResolver, UnknownResourceError
from statuswatch.watchlist import NoMatchError, RestMapper
from statuswatch.watchlist.testing import FakeTransport, api_resource


def cluster() -> FakeTransport:
    api = FakeTransport()
    names = {"singularName": "deployment", "shortNames": ["deploy"]}
    deploy = api_resource("deployments", "Deployment") | names
    api.add_group("apps", {"v1": [deploy]})
    api.add_group("example.com", {"v1": [api_resource("configmaps", "ConfigMap")]})
    return api


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deploy", KindName("apps", "Deployment", True)),
        ("Deployment.apps", KindName("apps", "Deployment", True)),
        ("configmaps", KindName("", "ConfigMap", True)),  # core first
        ("configmaps.example.com", KindName("example.com", "ConfigMap", True)),
        ("node", KindName("", "Node", False)),
    ],
)
async def test_names_resolve_to_group_kind_and_scope(text: str, expected: KindName) -> None:
    assert await KindResolver(cluster()).resolve(text) == expected


async def test_unknown_names_raise_the_error_the_cli_catches() -> None:
    with pytest.raises(UnknownResourceError, match='doesn\'t have a resource type "widgets"') as info:
        await KindResolver(cluster()).resolve("widgets")
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, NoMatchError)


async def test_a_shared_mapper_reads_discovery_once_for_names_and_paths() -> None:
    api = cluster()
    mapper = RestMapper(api)
    resolver = KindResolver(mapper)
    assert resolver.mapper is mapper
    await resolver.resolve("deploy")
    calls = len(api.calls)
    deployments = await mapper.resolve("apps", "Deployment")
    assert deployments.path("ns") == "/apis/apps/v1/namespaces/ns/deployments"
    assert len(api.calls) == calls
