"""Workers on fakes, for the defects of the 2026-12 review: members counted once, writes that cannot land in
the wrong object or be refused for good, a first status that claims only what it knows (loop time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from statuswatch.controller.metrics import Metrics
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import Worker, WorkerContext
from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, ResourceStatus, ResourceUpdateEvent, SyncEvent

pytestmark = pytest.mark.looptime

EPOCH = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RBAC = "rbac.authorization.k8s.io"
SCOPES = {("apps", "Deployment"): True, ("", "ConfigMap"): True, (RBAC, "ClusterRole"): False}
WEB = ObjMetadata("apps", "Deployment", "shop", "web")
ADMIN = ObjMetadata(RBAC, "ClusterRole", "", "admin")


def clock() -> datetime:
    return EPOCH + timedelta(seconds=asyncio.get_running_loop().time())


def context(poll: ScriptedPoll, sink: MemorySink, **settings: Any) -> WorkerContext:
    return WorkerContext(
        poll=poll,
        scope_of=StaticScopes(SCOPES),
        sink=sink,
        metrics=Metrics(),
        settings=OperatorSettings(poll_restart_backoff=(1.0,), write_retry=(0.5,), **settings),
        logger=logging.getLogger("test"),
        now=clock,
    )


def body(
    identifiers: list[dict[str, Any]],
    *,
    generation: int = 1,
    uid: str = "uid-1",
    status: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": "w", "namespace": "shop", "uid": uid, "generation": generation},
        "spec": {"identifiers": identifiers, "pollInterval": "2s"},
    }
    if status is not None:
        result["status"] = dict(status)
    return result


def update(identifier: ObjMetadata, status: Status) -> ResourceUpdateEvent:
    return ResourceUpdateEvent(ResourceStatus(identifier, status, f"{status.value}!"))


async def settle(seconds: float = 0.05) -> None:
    await asyncio.sleep(seconds)


async def test_a_cluster_scoped_identifier_given_with_and_without_a_namespace_counts_once() -> None:
    # N12: the spec's repeat check cannot know the scope; planning folded both into one polled object but
    # listed it twice, so progress read 3/3 for two objects.
    poll, sink = ScriptedPoll(), MemorySink()
    identifiers = [
        {"group": RBAC, "kind": "ClusterRole", "name": "admin"},
        {"group": "apps", "kind": "Deployment", "name": "web"},
        {"group": RBAC, "kind": "ClusterRole", "name": "admin", "namespace": "other"},
    ]
    worker = Worker(context(poll, sink, allow_cluster_scoped=True), body(identifiers))
    worker.start()
    await settle()
    assert poll.current.identifiers == [ADMIN, WEB]
    poll.emit(update(ADMIN, Status.CURRENT), update(WEB, Status.CURRENT), SyncEvent())
    await settle()
    status = sink.writes[-1][1]
    assert status["progress"] == "2/2"
    assert [(entry["kind"], entry["name"]) for entry in status["resources"]] == [
        ("ClusterRole", "admin"),
        ("Deployment", "web"),
    ]
    await worker.stop()
