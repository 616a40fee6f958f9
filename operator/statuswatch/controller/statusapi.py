"""Where a worker's results go: the StatusWatch's status subresource and Kubernetes Events.

A small seam (:class:`StatusSink`) between the workers and the API, so the workers can be tested with an
in-memory sink and the real one stays a few lines of HTTP: a JSON merge patch of ``/status`` (which replaces
lists wholesale and deletes the keys the new status no longer has) and a core/v1 Event per transition.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Transport

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "VERSION",
    "ApiStatusSink",
    "ObjectRef",
    "StatusSink",
    "WatchGone",
    "status_patch",
]

GROUP = "statuswatch.io"
VERSION = "v1alpha1"
PLURAL = "statuswatches"
KIND = "StatusWatch"
API_VERSION = f"{GROUP}/{VERSION}"
_MESSAGE_LIMIT = 1024


class WatchGone(Exception):
    """The StatusWatch no longer exists (deleted while its status was being written)."""


@dataclass(frozen=True)
class ObjectRef:
    """One StatusWatch, as Events and logs name it."""

    namespace: str
    name: str
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class StatusSink(Protocol):
    """What a worker needs to publish its results."""

    async def write_status(
        self, ref: ObjectRef, status: Mapping[str, Any], previous: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        """Replace the status with ``status``; returns the status as stored. Raises :class:`WatchGone`."""
        ...

    async def post_event(self, ref: ObjectRef, event_type: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event about the StatusWatch (best effort)."""
        ...


def status_patch(status: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """A merge patch that turns ``previous`` into ``status``: keys that disappear are set to null."""
    body: dict[str, Any] = dict(status)
    for key in previous or {}:
        if key not in body:
            body[key] = None
    return {"status": body}


class ApiStatusSink:
    """The real sink: PATCH ``.../statuswatches/NAME/status`` and POST core/v1 Events."""

    def __init__(self, client: Transport, *, instance: str | None = None, concurrency: int = 8) -> None:
        self._client = client
        self._instance = instance or socket.gethostname()
        self._slots = asyncio.Semaphore(concurrency)

    async def write_status(
        self, ref: ObjectRef, status: Mapping[str, Any], previous: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{ref.namespace}/{PLURAL}/{ref.name}/status"
        try:
            async with self._slots:
                stored = await self._client.request_json(
                    "PATCH",
                    path,
                    body=status_patch(status, previous),
                    content_type="application/merge-patch+json",
                )
        except ApiError as error:
            if error.status == 404:
                raise WatchGone(str(ref)) from error
            raise
        result = stored.get("status")
        return result if isinstance(result, Mapping) else {}

    async def post_event(self, ref: ObjectRef, event_type: str, reason: str, message: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{ref.name}.", "namespace": ref.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": KIND,
                "namespace": ref.namespace,
                "name": ref.name,
                "uid": ref.uid,
            },
            "type": event_type,
            "reason": reason,
            "message": message[:_MESSAGE_LIMIT],
            "source": {"component": "statuswatch"},
            "reportingComponent": "statuswatch.io/operator",
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        async with self._slots:
            await self._client.request_json("POST", f"/api/v1/namespaces/{ref.namespace}/events", body=event)
