"""Workers with issue 13's features on fakes: selectors, CEL health checks, root causes (loop time)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.testing import MemorySink, ScriptedMembers, ScriptedPoll
from statuswatch.controller.worker import Poll, Worker, WorkerContext, load_default_health_checks
from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, StatusReader, SyncEvent, Why
from statuswatch.polling.healthchecks import HealthCheck
from statuswatch.polling.statusreaders import RulesStatusReader
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import NoMatchError
from statuswatch.watchlist.testing import FakeTransport

from .conftest import WEB, condition, latest, update, worker_context

pytestmark = pytest.mark.looptime

API = ObjMetadata("apps", "Deployment", "shop", "api")
APP_SELECTOR = {"group": "apps", "kind": "Deployment", "selector": {"matchLabels": {"app": "shop"}}}


class Pollers:
    """A ``PollerFor`` that records the readers each poll was built with and hands out one scripted poll."""

    def __init__(self, poll: ScriptedPoll) -> None:
        self.poll = poll
        self.readers: list[list[StatusReader]] = []

    def __call__(self, readers: Sequence[StatusReader]) -> Poll:
        self.readers.append(list(readers))
        return self.poll


def context(
    poll: ScriptedPoll,
    sink: MemorySink,
    members: ScriptedMembers | None = None,
    pollers: Pollers | None = None,
    defaults: tuple[HealthCheck, ...] = (),
) -> WorkerContext:
    return dataclasses.replace(
        worker_context(poll, sink),
        members=members,
        poller_for=pollers,
        default_health_checks=defaults,
        members_wait=5.0,
    )


def body(
    generation: int = 1, **spec: Any
) -> dict[str, Any]:  # keyword-only use: body(1, **spec) or body(2, ...)
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": "w", "namespace": "shop", "uid": "u1", "generation": generation},
        "spec": {"pollInterval": "2s", **spec},
    }


async def test_selector_members_join_and_leave_live_and_combine_with_identifiers() -> None:
    poll, sink, members = ScriptedPoll(), MemorySink(), ScriptedMembers({("apps", "Deployment"): ["web"]})
    spec = {
        "identifiers": [{"group": "apps", "kind": "Deployment", "name": "web"}],
        "selectors": [APP_SELECTOR],
    }
    worker = Worker(context(poll, sink, members), body(1, **spec))
    worker.start()
    await asyncio.sleep(0.05)
    assert members.calls == [("apps", "Deployment", "shop", {"matchLabels": {"app": "shop"}})]
    assert poll.current.identifiers == [WEB]  # named and selected: one member
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await asyncio.sleep(0.05)
    assert latest(sink)["progress"] == "1/1"

    members.set("apps", "Deployment", "web", "api")  # a labelled Deployment appears
    await asyncio.sleep(0.05)
    assert poll.current.identifiers == [WEB, API]
    poll.emit(update(WEB, Status.CURRENT), update(API, Status.IN_PROGRESS, "Ready: 0/1"), SyncEvent())
    await asyncio.sleep(0.05)
    assert (latest(sink)["aggregateStatus"], latest(sink)["progress"]) == ("InProgress", "1/2")
    assert [r["name"] for r in latest(sink)["resources"]] == ["web", "api"]

    members.set("apps", "Deployment", "web")  # relabelled: it leaves
    await asyncio.sleep(0.05)
    assert poll.current.identifiers == [WEB]
    poll.emit(update(WEB, Status.CURRENT), SyncEvent())
    await asyncio.sleep(0.05)
    assert (latest(sink)["aggregateStatus"], latest(sink)["progress"]) == ("Current", "1/1")
    await worker.stop()
    assert members.open == 0


async def test_an_empty_selector_is_unknown_unless_allowed() -> None:
    poll, sink, members = ScriptedPoll(), MemorySink(), ScriptedMembers()
    worker = Worker(context(poll, sink, members), body(selectors=[APP_SELECTOR]))
    worker.start()
    await asyncio.sleep(0.05)
    status = latest(sink)
    assert status["aggregateStatus"] == "Unknown"
    assert status["resources"] == [
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "",
            "status": "Unknown",
            "message": "selector app=shop matches no Deployment.apps in namespace 'shop' "
            "(set allowEmpty: true if that is fine)",
            "selector": "app=shop",
        }
    ]
    assert poll.calls == []  # nothing to poll
    worker.observe(body(2, selectors=[{**APP_SELECTOR, "allowEmpty": True}]))
    await asyncio.sleep(0.05)
    status = latest(sink)
    assert (status["aggregateStatus"], status["progress"], status["resources"]) == ("Current", "0/0", [])
    assert condition(status, "AllCurrent")["status"] == "True"
    await worker.stop()


async def test_a_selector_on_a_kind_that_cannot_be_read_is_unknown_and_retried() -> None:
    poll, sink, members = ScriptedPoll(), MemorySink(), ScriptedMembers({("apps", "Deployment"): ["web"]})
    members.fail("apps", "Deployment", NoMatchError("apps", "Widget"))
    worker = Worker(context(poll, sink, members), body(selectors=[APP_SELECTOR]))
    worker.start()
    await asyncio.sleep(0.05)
    (entry,) = latest(sink)["resources"]
    assert entry["status"] == "Unknown"
    assert entry["message"] == (
        "selector app=shop: Kind not installed: no resource of kind 'Widget' in API group 'apps' is served "
        "by this cluster"
    )
    del members.errors[("apps", "Deployment")]
    await asyncio.sleep(1.1)  # the poll restart back-off
    assert poll.current.identifiers == [WEB]
    await worker.stop()


async def test_an_unreadable_selector_backs_off_instead_of_replanning_every_second() -> None:
    # Issue 17: each re-plan took the first delay of a fresh back-off, so a selector on a kind the operator
    # may not list re-planned (and restarted the whole poll) every second, forever.
    poll, sink, members = ScriptedPoll(), MemorySink(), ScriptedMembers({("apps", "Deployment"): ["web"]})
    members.fail("apps", "Deployment", ApiError(403, "Forbidden", "deployments.apps is forbidden"))
    loop = asyncio.get_running_loop()
    opened: list[float] = []

    def source(group: str, kind: str, namespace: str, selector: Any) -> Any:
        opened.append(loop.time())
        return members(group, kind, namespace, selector)

    ctx = dataclasses.replace(
        context(poll, sink),
        members=source,
        settings=OperatorSettings(poll_restart_backoff=(1.0, 2.0, 5.0, 10.0, 30.0), write_retry=(0.5,)),
    )
    spec = {"identifiers": [{"kind": "ConfigMap", "name": "cfg"}], "selectors": [APP_SELECTOR]}
    worker = Worker(ctx, body(1, **spec))
    worker.start()
    await asyncio.sleep(60)
    assert [round(at - opened[0]) for at in opened] == [0, 1, 3, 8, 18, 48]  # 1, 2, 5, 10, 30 apart
    assert len(poll.calls) == len(opened)  # every look re-plans and restarts the poll: no more often
    assert "forbidden" in latest(sink)["resources"][1]["message"]

    del members.errors[("apps", "Deployment")]  # allowed now: the next look finds the members
    await asyncio.sleep(30)
    assert poll.current.identifiers == [ObjMetadata("", "ConfigMap", "shop", "cfg"), WEB]
    members.fail("apps", "Deployment", ApiError(403, "Forbidden", "deployments.apps is forbidden"))
    worker.observe(body(2, **spec))  # a re-plan that fails again starts the back-off over
    await asyncio.sleep(1.5)
    assert [round(at - opened[0]) for at in opened[-2:]] == [90, 91]
    await worker.stop()
    assert members.open == 0


async def test_a_selector_that_does_not_answer_in_time_is_waited_for() -> None:
    poll, sink = ScriptedPoll(), MemorySink()

    calls = []

    async def slow(group: str, kind: str, namespace: str, selector: Any) -> Any:
        calls.append(kind)
        if len(calls) == 1:  # the first subscription waits for the stream to sync; later ones find it synced
            await asyncio.sleep(8)
        yield frozenset({"web"})
        await asyncio.Event().wait()

    ctx = context(poll, sink)
    ctx.members = slow
    worker = Worker(ctx, body(selectors=[APP_SELECTOR]))
    worker.start()
    await asyncio.sleep(5.1)
    assert (
        latest(sink)["resources"][0]["message"]
        == "selector app=shop: waiting for the list of Deployment.apps objects"
    )
    await asyncio.sleep(3)
    assert poll.current.identifiers == [WEB]
    await worker.stop()


async def test_a_cluster_scoped_selector_is_refused_and_a_missing_source_is_unknown() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    cluster = {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "selector": {}}
    worker = Worker(context(poll, sink, ScriptedMembers()), body(selectors=[cluster]))
    worker.start()
    await asyncio.sleep(0.05)
    assert condition(latest(sink), "AllCurrent")["reason"] == "IdentifierRefused"
    await worker.stop()
    sink = MemorySink()
    worker = Worker(context(poll, sink, None), body(selectors=[APP_SELECTOR]))
    worker.start()
    await asyncio.sleep(0.05)
    assert latest(sink)["resources"][0]["message"] == "selectors are not served by this operator"
    await worker.stop()


async def test_health_checks_poll_with_a_cel_reader_first_and_spec_entries_beat_defaults() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    pollers = Pollers(poll)
    default_widget = HealthCheck("example.io/v1", "Widget", current="false")
    default_gadget = HealthCheck("example.io/v1", "Gadget", current="true")
    own = {"apiVersion": "example.io/v1", "kind": "Widget", "current": "status.phase == 'Running'"}
    spec = {"identifiers": [{"group": "apps", "kind": "Deployment", "name": "web"}], "healthChecks": [own]}
    worker = Worker(
        context(poll, sink, pollers=pollers, defaults=(default_widget, default_gadget)), body(1, **spec)
    )
    worker.start()
    await asyncio.sleep(0.05)
    ((reader,),) = pollers.readers
    assert isinstance(reader, RulesStatusReader)
    assert [(c.kind, c.current) for c in reader.rules.health_checks] == [("Widget", own["current"])]
    assert [(c.kind, c.current) for c in reader.rules.defaults] == [("Widget", "false"), ("Gadget", "true")]
    decided = reader.rules.decide(
        {
            "apiVersion": "example.io/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "status": {"phase": "Running"},
        }
    )
    assert (decided.status, decided.rule) == (Status.CURRENT, "healthCheck")
    assert poll.current.identifiers == [WEB]
    await worker.stop()


async def test_members_under_a_health_check_are_read_whole_the_rest_from_the_view() -> None:
    # The shared view keeps only what kstatus reads; an expression may read any field of the object.
    poll, sink = ScriptedPoll(), MemorySink()
    widget = {"group": "example.io", "kind": "Widget", "name": "w1"}
    rule = {"apiVersion": "example.io/v1", "kind": "Widget", "current": "true"}
    deployment = {"group": "apps", "kind": "Deployment", "name": "web"}
    worker = Worker(
        context(poll, sink, pollers=Pollers(poll)), body(1, identifiers=[deployment], healthChecks=[rule])
    )
    worker.start()
    await asyncio.sleep(0.05)
    first = poll.current
    assert first.options.use_cache is True
    worker.observe(body(2, identifiers=[deployment, widget], healthChecks=[rule]))
    await asyncio.sleep(0.05)
    second = poll.current
    assert second.identifiers == [WEB, ObjMetadata("example.io", "Widget", "shop", "w1")]
    assert second.options.use_cache is False
    await worker.stop()


async def test_with_a_whole_object_view_health_checked_members_are_served_from_memory() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    widget = {"group": "example.io", "kind": "Widget", "name": "w1"}
    rule = {"apiVersion": "example.io/v1", "kind": "Widget", "current": "true"}
    ctx = dataclasses.replace(context(poll, sink, pollers=Pollers(poll)), whole_objects=True)
    worker = Worker(ctx, body(1, identifiers=[widget], healthChecks=[rule]))
    worker.start()
    await asyncio.sleep(0.05)
    assert poll.current.identifiers == [ObjMetadata("example.io", "Widget", "shop", "w1")]
    assert poll.current.options.use_cache is True  # the poller_for poll reads the whole-object view
    await worker.stop()


async def test_no_health_checks_keep_the_shared_poll() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    pollers = Pollers(ScriptedPoll())
    worker = Worker(
        context(poll, sink, pollers=pollers),
        body(identifiers=[{"group": "apps", "kind": "Deployment", "name": "web"}]),
    )
    worker.start()
    await asyncio.sleep(0.05)
    assert pollers.readers == []
    assert poll.current.identifiers == [WEB]
    await worker.stop()


async def test_an_expression_that_does_not_compile_is_refused_with_a_condition_naming_it() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    bad = {"apiVersion": "example.io/v1", "kind": "Widget", "current": "status.phase ==", "failed": "false"}
    spec = {"identifiers": [{"group": "apps", "kind": "Deployment", "name": "web"}], "healthChecks": [bad]}
    worker = Worker(context(poll, sink, pollers=Pollers(poll)), body(1, **spec))
    worker.start()
    await asyncio.sleep(0.05)
    status = latest(sink)
    ready = condition(status, "Ready")
    stalled = condition(status, "Stalled")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidHealthCheck")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidHealthCheck")
    assert stalled["message"].startswith(
        "spec.healthChecks[0].current 'status.phase ==': does not compile: <input>:1:16: Syntax error"
    )
    assert poll.calls == []
    await worker.stop()


async def test_health_checks_without_a_poller_factory_are_refused() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    spec = {
        "identifiers": [{"group": "apps", "kind": "Deployment", "name": "web"}],
        "healthChecks": [{"apiVersion": "apps/v1", "current": "true"}],
    }
    worker = Worker(context(poll, sink), body(1, **spec))
    worker.start()
    await asyncio.sleep(0.05)
    assert condition(latest(sink), "Stalled")["message"] == (
        "spec.healthChecks: this operator was started without support for health checks"
    )
    await worker.stop()


async def test_the_root_cause_is_the_reason_and_joins_the_messages_optional_members_never_block() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    spec = {
        "identifiers": [
            {"group": "apps", "kind": "Deployment", "name": "web"},
            {"group": "apps", "kind": "Deployment", "name": "api", "optional": True},
        ]
    }
    worker = Worker(context(poll, sink), body(1, **spec))
    worker.start()
    await asyncio.sleep(0.05)
    pulling = Why("ImagePullBackOff", 'pod web-abc container app: Back-off pulling image "nope:1"')
    poll.emit(
        update(WEB, Status.IN_PROGRESS, "Ready: 0/1", pulling),
        update(API, Status.IN_PROGRESS, "Ready: 0/1"),
        SyncEvent(),
    )
    await asyncio.sleep(0.05)
    status = latest(sink)
    web, api = status["resources"]
    assert web["reason"] == "ImagePullBackOff"
    assert web["message"] == 'Ready: 0/1; pod web-abc container app: Back-off pulling image "nope:1"'
    assert api["optional"] is True
    assert "reason" not in api
    assert status["progress"] == "0/1"
    assert condition(status, "AllCurrent")["message"] == (
        "1 of 1 not Current: deployment/web InProgress (ImagePullBackOff): Ready: 0/1; "
        'pod web-abc container app: Back-off pulling image "nope:1"'
    )
    poll.emit(update(WEB, Status.CURRENT, "Deployment is available. Replicas: 1"))
    await asyncio.sleep(0.05)
    status = latest(sink)
    assert (status["aggregateStatus"], status["progress"]) == ("Current", "1/1")
    assert condition(status, "AllCurrent")["message"] == (
        "All 1 resource is Current; optional, not Current: deployment/api InProgress: Ready: 0/1"
    )
    await worker.stop()


async def test_a_member_timeout_stalls_naming_the_member_when_it_falls_due() -> None:
    poll, sink = ScriptedPoll(), MemorySink()
    spec = {
        "identifiers": [
            {"group": "apps", "kind": "Deployment", "name": "web", "timeout": "10s"},
            {"group": "apps", "kind": "Deployment", "name": "api"},
        ]
    }
    worker = Worker(context(poll, sink), body(1, **spec))
    worker.start()
    await asyncio.sleep(0.05)
    poll.emit(
        update(WEB, Status.IN_PROGRESS, "Ready: 0/1"),
        update(API, Status.IN_PROGRESS, "Ready: 0/1"),
        SyncEvent(),
    )
    await asyncio.sleep(9)
    assert condition(latest(sink), "Stalled")["status"] == "False"
    await asyncio.sleep(1.5)
    stalled = condition(latest(sink), "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "MemberTimeout")
    assert (
        stalled["message"]
        == "1 of 2 past their own timeout: deployment/web not Current within 10s (InProgress: Ready: 0/1)"
    )
    poll.emit(update(WEB, Status.CURRENT))  # no longer late: api has no deadline of its own
    await asyncio.sleep(0.05)
    assert condition(latest(sink), "Stalled")["status"] == "False"
    await worker.stop()


@pytest.mark.parametrize(
    ("answer", "kinds"),
    [
        (
            {"data": {"healthChecks.yaml": "- {apiVersion: example.io/v1, kind: Widget, current: 'true'}"}},
            ["Widget"],
        ),
        (
            {"data": {"healthChecks.yaml": "healthCheckExprs: [{apiVersion: x.io/v1, current: 'true'}]"}},
            [None],
        ),
        ({"data": {"healthChecks.yaml": "- {apiVersion: x.io/v1, current: 'a =='}"}}, []),  # logged, ignored
        ({"data": {}}, []),
        (ApiError(404, "NotFound", "configmaps not found"), []),
        (ApiError(403, "Forbidden", "no"), []),
        (OSError("connection refused"), []),
    ],
)
async def test_default_health_checks_come_from_a_configmap(answer: Any, kinds: list[str | None]) -> None:
    path = "/api/v1/namespaces/ops/configmaps/statuswatch-health-checks"
    client = FakeTransport()
    client.answers[path] = answer
    checks = await load_default_health_checks(client, "ops")
    assert [c.kind for c in checks] == kinds
    assert [call.path for call in client.calls] == [path]
