"""What the worker tests share: one clock on loop time, one table of scopes, one way to build a context.

The worker modules import these (``from .conftest import ...``) rather than each writing them out again;
``OperatorSettings`` default to a one-second poll restart and a half-second write retry, so that a test's
waits say what they wait for.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from statuswatch.controller.metrics import Metrics
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import WorkerContext
from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, ResourceStatus, ResourceUpdateEvent, Why

EPOCH = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SCOPES = {
    ("apps", "Deployment"): True,
    ("", "ConfigMap"): True,
    ("rbac.authorization.k8s.io", "ClusterRole"): False,
}
WEB = ObjMetadata("apps", "Deployment", "shop", "web")


def clock() -> datetime:
    """The wall clock of a worker under test: EPOCH plus the loop's time."""
    return EPOCH + timedelta(seconds=asyncio.get_running_loop().time())


def worker_context(poll: ScriptedPoll, sink: MemorySink, **settings: Any) -> WorkerContext:
    """A context on fakes; ``settings`` override the test defaults of ``OperatorSettings``."""
    return WorkerContext(
        poll=poll,
        scope_of=StaticScopes(SCOPES),
        sink=sink,
        metrics=Metrics(),
        settings=OperatorSettings(**{"poll_restart_backoff": (1.0,), "write_retry": (0.5,), **settings}),
        logger=logging.getLogger("test"),
        now=clock,
    )


def update(
    identifier: ObjMetadata, status: Status, message: str = "", why: Why | None = None
) -> ResourceUpdateEvent:
    """A poll's answer for one member (the message defaults to ``Current!`` and the like)."""
    return ResourceUpdateEvent(ResourceStatus(identifier, status, message or f"{status.value}!", why=why))


def latest(sink: MemorySink) -> dict[str, Any]:
    """The status last written."""
    return sink.writes[-1][1]


def condition(status: dict[str, Any], type_: str) -> dict[str, Any]:
    """The condition of that type in a written status."""
    return next(c for c in status["conditions"] if c["type"] == type_)
