"""The pieces of ``statuswatch status`` that need no cluster: manifests, kind names, identifiers, printers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from rich.console import Console

from statuswatch.cli.printers import (
    EventsPrinter,
    JsonPrinter,
    LiveTablePrinter,
    PlainTablePrinter,
    make_printer,
)
from statuswatch.cli.status import StatusRequest, UsageError, resolve_identifiers, status_readers
from statuswatch.kstatus import Status
from statuswatch.polling import (
    GenericStatusReader,
    ObjMetadata,
    PollUntil,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusCollector,
    Why,
)
from statuswatch.polling.manifests import ManifestError, load_objects
from statuswatch.polling.statusreaders import RulesStatusReader
from statuswatch.polling.testing import FakeClusterReader
from statuswatch.watchlist.discovery import NoMatchError, ResourceType, UnknownResourceError


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


class Mapper:
    """Discovery as the status command sees it: scope by group and kind, and kubectl-style names."""

    NAMES: ClassVar[dict[str, tuple[str, str]]] = {
        "deploy": ("apps", "Deployment"),
        "namespace": ("", "Namespace"),
    }

    async def resolve(self, group: str, kind: str) -> ResourceType:
        if kind == "Widget":
            raise NoMatchError(group, kind)
        return ResourceType(group, "v1", kind, kind.lower() + "s", kind != "Namespace")

    async def find(self, name: str) -> ResourceType:
        if name not in self.NAMES:
            raise UnknownResourceError(name)
        return await self.resolve(*self.NAMES[name])


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
    ids = await resolve_identifiers(request, Mapper(), "default")
    assert ids == [
        ObjMetadata("", "Namespace", "", "shop"),
        ObjMetadata("apps", "Deployment", "shop", "web"),
        ObjMetadata("apps", "Deployment", "other", "api"),
        ObjMetadata("example.com", "Widget", "shop", "w"),
    ]


@pytest.mark.parametrize("argument", ["web", "deploy/", "/web"])
async def test_malformed_kind_name_arguments(argument: str) -> None:
    with pytest.raises(UsageError, match="expected KIND/NAME"):
        await resolve_identifiers(StatusRequest(resources=(argument,)), Mapper(), "d")


async def test_unknown_kind_names_are_the_mappers_error() -> None:
    with pytest.raises(UnknownResourceError, match='resource type "widgets"'):
        await resolve_identifiers(StatusRequest(resources=("widgets/w",)), Mapper(), "d")


WEB = ObjMetadata("apps", "Deployment", "shop", "web")
CFG = ObjMetadata("", "ConfigMap", "shop", "cfg")


def consoles() -> tuple[Console, io.StringIO, Console, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Console(file=out, width=200), out, Console(file=err, width=200), err


def test_events_printer_lines_and_timeout_report() -> None:
    console, out, errors, err = consoles()
    collector = StatusCollector([WEB, CFG])
    printer = EventsPrinter(console, errors, until=PollUntil.CURRENT, timeout=timedelta(seconds=90))
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
        "timed out after 1m30s waiting for Current; 1 not ready:",
        "  deployment.apps/shop/web is InProgress: Ready: 1/3",
    ]


def test_events_printer_skips_lines_that_would_look_repeated() -> None:
    console, out, errors, _ = consoles()
    collector = StatusCollector([WEB])
    printer = EventsPrinter(console, errors, until=PollUntil.KNOWN)
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
    collector = StatusCollector([WEB])
    printer = JsonPrinter(console, until=PollUntil.CURRENT, timeout=timedelta(seconds=5))
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
    assert "error" not in records[0]
    assert records[1]["timeout"] == 5
    assert records[1]["pending"][0]["name"] == "web"
    assert records[2]["aggregate"] == "InProgress"


def test_json_printer_carries_the_cause_of_an_unknown_status() -> None:
    console, out, _, _ = consoles()
    collector = StatusCollector([WEB])
    printer = JsonPrinter(console, until=PollUntil.CURRENT)
    cause = PermissionError('deployments.apps is forbidden: cannot watch "deployments" in "shop"')
    event = ResourceUpdateEvent(ResourceStatus(WEB, Status.UNKNOWN, "stream failing", error=cause))
    collector.observe(event)
    printer.on_event(collector, event)
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (record["status"], record["error"]) == ("Unknown", str(cause))


def test_json_printer_names_an_error_without_text_by_its_type() -> None:
    console, out, _, _ = consoles()
    printer = JsonPrinter(console, until=PollUntil.KNOWN)
    event = ResourceUpdateEvent(ResourceStatus(WEB, Status.UNKNOWN, "", error=TimeoutError()))
    printer.on_event(StatusCollector([WEB]), event)
    assert json.loads(out.getvalue())["error"] == "TimeoutError"


def test_plain_table_printer_ends_with_a_table_and_progress() -> None:
    console, out, errors, _ = consoles()
    collector = StatusCollector([WEB])
    printer = PlainTablePrinter(console, errors, until=PollUntil.CURRENT)
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
    assert lines[2].split() == ["NAMESPACE", "RESOURCE", "STATUS", "AGE", "MESSAGE", "WHY"]
    assert lines[3].split()[:3] == ["shop", "deployment.apps/web", "Current"]
    assert "└ replicaset.apps/web-1" in lines[4]
    assert "└ pod/web-1-a" in lines[5]
    assert lines[-1].startswith("1/1 Current  aggregate Current  until current")


@pytest.mark.parametrize(
    ("output", "terminal", "expected"),
    [
        ("json", False, JsonPrinter),
        ("events", True, EventsPrinter),
        ("table", False, PlainTablePrinter),
        ("table", True, LiveTablePrinter),
    ],
)
def test_make_printer_picks_by_output_and_terminal(output: str, terminal: bool, expected: type) -> None:
    console = Console(file=io.StringIO(), force_terminal=terminal)
    printer = make_printer(output, console, Console(file=io.StringIO()), until=PollUntil.KNOWN, timeout=None)
    assert type(printer) is expected


def test_make_printer_refuses_an_unknown_output() -> None:
    with pytest.raises(ValueError, match="unknown output 'yaml'"):
        make_printer("yaml", Console(), Console(), until=PollUntil.KNOWN, timeout=None)


PULL = Why("ImagePullBackOff", "pod web-1-a container app: ImagePullBackOff")


def test_events_printer_shows_the_cause_and_prints_a_new_cause_as_news() -> None:
    console, out, errors, _ = consoles()
    collector = StatusCollector([WEB])
    printer = EventsPrinter(console, errors, until=PollUntil.KNOWN)
    for event in (
        ResourceUpdateEvent(ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 0/1")),
        ResourceUpdateEvent(ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 0/1", why=PULL)),
    ):
        collector.observe(event)
        printer.on_event(collector, event)
    assert out.getvalue().splitlines() == [
        "deployment.apps/shop/web is InProgress: Ready: 0/1",
        "deployment.apps/shop/web is InProgress: Ready: 0/1 "
        "(why: ImagePullBackOff: pod web-1-a container app: ImagePullBackOff)",
    ]


def test_json_printer_carries_why_for_the_resource_and_its_children() -> None:
    console, out, _, _ = consoles()
    child = ResourceStatus(
        ObjMetadata("apps", "ReplicaSet", "shop", "web-1"), Status.IN_PROGRESS, "m", why=PULL
    )
    event = ResourceUpdateEvent(
        ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 0/1", generated_resources=(child,), why=PULL)
    )
    JsonPrinter(console, until=PollUntil.KNOWN).on_event(StatusCollector([WEB]), event)
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    expected = {"reason": "ImagePullBackOff", "message": "pod web-1-a container app: ImagePullBackOff"}
    assert record["why"] == expected
    assert record["generated"][0]["why"] == expected
    assert record["message"] == "Ready: 0/1"


def test_table_has_a_why_column() -> None:
    console, out, errors, _ = consoles()
    collector = StatusCollector([WEB, CFG])
    printer = PlainTablePrinter(console, errors, until=PollUntil.KNOWN)
    for event in (
        ResourceUpdateEvent(ResourceStatus(WEB, Status.IN_PROGRESS, "Ready: 0/1", why=PULL)),
        ResourceUpdateEvent(ResourceStatus(CFG, Status.CURRENT, "Resource is always ready")),
    ):
        collector.observe(event)
    with printer:
        printer.finish(collector, timed_out=False)
    rows = [re.split(r"\s{2,}", line.strip()) for line in out.getvalue().splitlines()]
    header = next(row for row in rows if row[0] == "NAMESPACE")
    assert header == ["NAMESPACE", "RESOURCE", "STATUS", "AGE", "MESSAGE", "WHY"]
    by_name = {row[1]: row for row in rows if row[0] == "shop"}
    assert by_name["deployment.apps/web"][2:] == [
        "InProgress",
        "Ready: 0/1",
        "ImagePullBackOff: pod web-1-a container app: ImagePullBackOff",
    ]  # no AGE: the status carries no object
    assert by_name["configmap/cfg"][2:] == ["Current", "Resource is always ready"]


def test_status_readers_put_health_checks_first_and_turn_on_event_causes(tmp_path: Path) -> None:
    plain = status_readers(StatusRequest())
    assert not any(isinstance(reader, RulesStatusReader) for reader in plain)
    generic = plain[-1]
    assert isinstance(generic, GenericStatusReader)

    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "healthCheckExprs:\n"
        "- apiVersion: example.com/v1\n"
        "  kind: Widget\n"
        "  current: status.phase == 'Ready'\n"
    )
    readers = status_readers(StatusRequest(health_checks=str(checks)))
    assert isinstance(readers[0], RulesStatusReader)
    assert readers[0].supports("example.com", "Widget")
    assert not readers[0].supports("apps", "Deployment")
    assert isinstance(readers[-1], GenericStatusReader)


def test_status_readers_with_rules_kstatus_judge_custom_kinds_by_kstatus_alone() -> None:
    (reader, *_) = status_readers(StatusRequest(rules="kstatus"))
    assert isinstance(reader, RulesStatusReader)
    assert reader.supports("example.com", "Widget")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert (reader.rules.decide(widget).status, reader.rules.decide(widget).rule) == ("Current", "kstatus")


async def test_status_readers_explain_with_warning_events() -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "shop"},
        "status": {"phase": "Pending"},
    }
    warning = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "data.1", "namespace": "shop"},
        "involvedObject": {"kind": "PersistentVolumeClaim", "name": "data", "namespace": "shop"},
        "type": "Warning",
        "reason": "ProvisioningFailed",
        "message": 'storageclass.storage.k8s.io "fast" not found',
    }
    kinds = {("", "PersistentVolumeClaim"): True, ("", "Event"): True}
    reader = FakeClusterReader([pvc, warning], kinds=kinds)
    generic = status_readers(StatusRequest())[-1]
    status = await generic.read_status(reader, ObjMetadata("", "PersistentVolumeClaim", "shop", "data"))
    assert status.why == Why("ProvisioningFailed", 'storageclass.storage.k8s.io "fast" not found')


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("- apiVersion: example.com/v1\n  current: 'status.phase =='\n", "current"),
        ("just text\n", "list"),
    ],
)
def test_status_readers_refuse_a_bad_health_checks_file(tmp_path: Path, content: str, fragment: str) -> None:
    checks = tmp_path / "checks.yaml"
    checks.write_text(content)
    with pytest.raises(UsageError, match=f"--health-checks {checks}.*{fragment}"):
        status_readers(StatusRequest(health_checks=str(checks)))
    with pytest.raises(UsageError, match="No such file"):
        status_readers(StatusRequest(health_checks=str(tmp_path / "missing.yaml")))
