"""The pieces of ``statuswatch status`` that need no cluster: durations, manifests, kind names, printers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, PollUntil, ResourceStatus, ResourceUpdateEvent, StatusCollector
from statuswatch.polling.kindnames import KindResolver, UnknownResourceError
from statuswatch.polling.manifests import ManifestError, load_objects
from statuswatch.status_command import StatusRequest, UsageError, parse_duration, resolve_identifiers
from statuswatch.status_printers import EventsPrinter, JsonPrinter, PlainTablePrinter
from statuswatch.watchlist.discovery import NoMatchError, ResourceType


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600), ("12", 12), ("0", 0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m5", "1m 30s", "s"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_load_objects_from_a_directory_with_lists_and_multiple_documents(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\n---\n"
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: two}}\n"
    )
    (tmp_path / "b.json").write_text(
        '{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}}'
    )
    (tmp_path / "notes.txt").write_text("ignored")
    names = [obj["metadata"]["name"] for obj in load_objects([str(tmp_path)])]
    assert names == ["one", "two", "w"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: ConfigMap\nmetadata: {name: x}\n", "without apiVersion"),
        ("- a\n", "not a mapping"),
        (": :\n", "YAML"),
    ],
)
def test_load_objects_rejects_non_objects(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(content)
    with pytest.raises(ManifestError, match=message):
        load_objects([str(tmp_path / "bad.yaml")])


def test_load_objects_missing_path() -> None:
    with pytest.raises(ManifestError, match="no such file"):
        load_objects(["/nonexistent/manifests"])


DISCOVERY: dict[str, dict[str, Any]] = {
    "/api/v1": {
        "resources": [
            {"name": "pods", "singularName": "pod", "kind": "Pod", "namespaced": True, "shortNames": ["po"]},
            {"name": "pods/status", "kind": "Pod", "namespaced": True},
            {"name": "namespaces", "singularName": "namespace", "kind": "Namespace", "namespaced": False},
        ]
    },
    "/apis": {
        "groups": [
            {"name": "apps", "preferredVersion": {"groupVersion": "apps/v1"}},
            {"name": "example.com", "preferredVersion": {"groupVersion": "example.com/v1"}},
        ]
    },
    "/apis/apps/v1": {
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "kind": "Deployment",
                "namespaced": True,
                "shortNames": ["deploy"],
            }
        ]
    },
    "/apis/example.com/v1": {"resources": [{"name": "pods", "kind": "Pod", "namespaced": True}]},
}


class Discovery:
    def __init__(self) -> None:
        self.requests: list[str] = []

    async def get_json(self, path: str, params: Any = None) -> dict[str, Any]:
        self.requests.append(path)
        return DISCOVERY[path]


@pytest.mark.parametrize(
    ("text", "group", "kind"),
    [
        ("deployment", "apps", "Deployment"),
        ("deployments", "apps", "Deployment"),
        ("deploy", "apps", "Deployment"),
        ("Deployment.apps", "apps", "Deployment"),
        ("deployments.apps", "apps", "Deployment"),
        ("po", "", "Pod"),
        ("pods", "", "Pod"),  # the core group wins ties
        ("pods.example.com", "example.com", "Pod"),
    ],
)
async def test_kind_names(text: str, group: str, kind: str) -> None:
    resolved = await KindResolver(Discovery()).resolve(text)
    assert (resolved.group, resolved.kind) == (group, kind)


async def test_unknown_kind_name_and_discovery_read_once() -> None:
    discovery = Discovery()
    resolver = KindResolver(discovery)
    with pytest.raises(UnknownResourceError, match='doesn\'t have a resource type "widgets"'):
        await resolver.resolve("widgets")
    await resolver.resolve("deploy")
    assert len(discovery.requests) == 4


class Mapper:
    async def resolve(self, group: str, kind: str) -> ResourceType:
        if kind == "Widget":
            raise NoMatchError(group, kind)
        return ResourceType(group, "v1", kind, kind.lower() + "s", kind != "Namespace")


async def test_identifiers_get_namespaces_by_scope(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: other}\n---\n"
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    )
    request = StatusRequest(
        resources=("deploy/web", "namespace/shop"), files=(str(tmp_path),), namespace="shop"
    )
    ids = await resolve_identifiers(request, KindResolver(Discovery()), Mapper(), "default")
    assert ids == [
        ObjMetadata("", "Namespace", "", "shop"),
        ObjMetadata("apps", "Deployment", "shop", "web"),
        ObjMetadata("apps", "Deployment", "other", "api"),
        ObjMetadata("example.com", "Widget", "shop", "w"),
    ]


@pytest.mark.parametrize("argument", ["web", "deploy/", "/web"])
async def test_malformed_kind_name_arguments(argument: str) -> None:
    with pytest.raises(UsageError, match="expected KIND/NAME"):
        await resolve_identifiers(
            StatusRequest(resources=(argument,)), KindResolver(Discovery()), Mapper(), "d"
        )


WEB = ObjMetadata("apps", "Deployment", "shop", "web")
CFG = ObjMetadata("", "ConfigMap", "shop", "cfg")


def consoles() -> tuple[Console, io.StringIO, Console, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(file=out, width=200), out, Console(file=err, width=200), err


def test_events_printer_lines_and_timeout_report() -> None:
    console, out, errors, err = consoles()
    request = StatusRequest(until=PollUntil.CURRENT, timeout=30)
    collector = StatusCollector([WEB, CFG])
    printer = EventsPrinter(request, console, errors)
    for event in (
        ResourceUpdateEvent(ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 1/3")),
        ResourceUpdateEvent(ResourceStatus(CFG, Status.CURRENT, "Resource is always ready")),
    ):
        collector.observe(event)
        printer.on_event(collector, event)
    printer.finish(collector, timed_out=True)
    assert out.getvalue().splitlines() == [
        "deployment.apps/shop/web is InProgress: Ready: 1/3",
        "configmap/shop/cfg is Current: Resource is always ready",
    ]
    assert err.getvalue().splitlines() == [
        "timed out after 30s waiting for Current; 1 not ready:",
        "  deployment.apps/shop/web is InProgress: Ready: 1/3",
    ]


def test_events_printer_skips_lines_that_would_look_repeated() -> None:
    console, out, errors, _ = consoles()
    collector = StatusCollector([WEB])
    printer = EventsPrinter(StatusRequest(), console, errors)
    child = ResourceStatus(ObjMetadata("apps", "ReplicaSet", "shop", "web-1"), Status.IN_PROGRESS, "m")
    for event in (
        ResourceUpdateEvent(ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 1/3")),
        ResourceUpdateEvent(
            ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 1/3", generated_resources=(child,))
        ),
        ResourceUpdateEvent(
            ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 2/3", generated_resources=(child,))
        ),
    ):
        collector.observe(event)
        printer.on_event(collector, event)
    assert out.getvalue().splitlines() == [
        "deployment.apps/shop/web is InProgress: Ready: 1/3",
        "deployment.apps/shop/web is InProgress: Ready: 2/3",
    ]


def test_json_printer_one_object_per_line() -> None:
    console, out, _, _ = consoles()
    request = StatusRequest(until=PollUntil.CURRENT, timeout=5)
    collector = StatusCollector([WEB])
    printer = JsonPrinter(request, console)
    child = ResourceStatus(ObjMetadata("apps", "ReplicaSet", "shop", "web-1"), Status.CURRENT, "ok")
    event = ResourceUpdateEvent(
        ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 1/3", generated_resources=(child,))
    )
    collector.observe(event)
    printer.on_event(collector, event)
    printer.finish(collector, timed_out=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["type"] for r in records] == ["status", "timeout", "summary"]
    assert {k: records[0][k] for k in ("group", "kind", "namespace", "name", "status", "message")} == {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "status": "InProgress",
        "message": "Ready: 1/3",
    }
    assert records[0]["generated"][0]["name"] == "web-1"
    assert records[0]["timestamp"].endswith("Z")
    assert records[1]["pending"][0]["name"] == "web"
    assert records[2]["aggregate"] == "InProgress"


def test_plain_table_printer_ends_with_a_table_and_progress() -> None:
    console, out, errors, _ = consoles()
    request = StatusRequest(until=PollUntil.CURRENT)
    collector = StatusCollector([WEB])
    printer = PlainTablePrinter(request, console, errors)
    pod = ResourceStatus(ObjMetadata("", "Pod", "shop", "web-1-a"), Status.CURRENT, "Pod is Ready")
    rs = ResourceStatus(
        ObjMetadata("apps", "ReplicaSet", "shop", "web-1"), Status.CURRENT, "ok", None, None, (pod,)
    )
    event = ResourceUpdateEvent(
        ResourceStatus(WEB, Status.CURRENT, "Deployment is available.", None, None, (rs,))
    )
    collector.observe(event)
    with printer:
        printer.on_event(collector, event)
        printer.finish(collector, timed_out=False)
    lines = out.getvalue().splitlines()
    assert lines[0] == "deployment.apps/shop/web is Current: Deployment is available."
    assert lines[2].split() == ["NAMESPACE", "RESOURCE", "STATUS", "AGE", "MESSAGE"]
    assert lines[3].split()[:3] == ["shop", "deployment.apps/web", "Current"]
    assert "└ replicaset.apps/web-1" in lines[4]
    assert "└ pod/web-1-a" in lines[5]
    assert lines[-1].startswith("1/1 Current  aggregate Current  until current")
