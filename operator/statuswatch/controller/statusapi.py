"""Where a worker's results go: the StatusWatch's status subresource and Kubernetes Events.

A small seam (:class:`StatusSink`) between the workers and the API, so the workers can be tested with an
in-memory sink and the real one stays a few lines of HTTP: a core/v1 Event per transition, and a JSON patch
of ``/status`` that first tests ``/metadata/uid``. The name alone is not enough: a StatusWatch deleted and
re-created under the same name (``kubectl replace --force``, Argo CD's ``Replace=true``) would take the old
worker's status and read Ready for members it never had; a uid in a merge patch is ignored by the status
strategy, whereas a failed JSON patch ``test`` is refused with 422.

A refusal is told apart by asking again: the object gone (a 404 naming it, or another uid under the name)
is :class:`WatchGone`; a 404 that does not name it (a CRD no longer serving the version, a proxy) is an
error to retry; a write the server refuses for good (413, 422, etcd's "request is too large") is
:class:`StatusRefused`, which the worker answers with a status that fits and says why.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Transport, get_json, request_json

__all__ = [
    "API_VERSION",
    "GROUP",
    "KIND",
    "PLURAL",
    "VERSION",
    "ApiStatusSink",
    "ObjectRef",
    "StatusRefused",
    "StatusSink",
    "WatchGone",
    "retry_after",
]

GROUP = "statuswatch.io"
VERSION = "v1alpha1"
PLURAL = "statuswatches"
KIND = "StatusWatch"
API_VERSION = f"{GROUP}/{VERSION}"
_MESSAGE_LIMIT = 1024


class WatchGone(Exception):
    """The StatusWatch no longer exists (deleted while its status was being written, or re-created)."""


class StatusRefused(Exception):
    """The API server refused this status for good (too large, invalid): writing it again cannot help."""


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
        """Replace the status of the object ``ref`` names (its uid too, when set); returns the status as
        stored. Raises :class:`WatchGone` when that object is gone, :class:`StatusRefused` when the server
        refuses this status for good."""
        ...

    async def post_event(self, ref: ObjectRef, event_type: str, reason: str, message: str) -> None:
        """Record a Kubernetes Event about the StatusWatch (best effort)."""
        ...


def retry_after(error: BaseException) -> float:
    """The seconds an API error asks the client to wait before trying again, or 0.

    The API server sends ``Retry-After`` with 429 (priority and fairness) and some 5xx answers, and writes
    the same value into the Status body as ``details.retryAfterSeconds``; capped at 10 minutes.
    """
    if not isinstance(error, ApiError):
        return 0.0
    seconds = error.details.get("retryAfterSeconds")
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return float(min(seconds, 600))
    return 0.0


def _object_path(ref: ObjectRef) -> str:
    return f"/apis/{GROUP}/{VERSION}/namespaces/{ref.namespace}/{PLURAL}/{ref.name}"


def _refused_for_good(error: ApiError) -> bool:
    """413, 422 (a schema or webhook refusal), or etcd's size limit (the API server passes it on as 500)."""
    return error.status in (413, 422) or (error.status == 500 and "too large" in error.message)


class ApiStatusSink:
    """The real sink: PATCH ``.../statuswatches/NAME/status`` and POST core/v1 Events."""

    def __init__(self, client: Transport, *, instance: str | None = None, concurrency: int = 8) -> None:
        self._client = client
        self._instance = instance or socket.gethostname()
        self._slots = asyncio.Semaphore(concurrency)

    async def write_status(
        self, ref: ObjectRef, status: Mapping[str, Any], previous: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        path = f"{_object_path(ref)}/status"
        # "add" replaces /status whole (keys the new status lacks go too) and works when there is none yet.
        patch: list[dict[str, Any]] = [{"op": "add", "path": "/status", "value": dict(status)}]
        if ref.uid:
            patch.insert(0, {"op": "test", "path": "/metadata/uid", "value": ref.uid})
        try:
            async with self._slots:
                stored = await request_json(
                    self._client, "PATCH", path, body=patch, content_type="application/json-patch+json"
                )
        except ApiError as error:
            if error.status in (404, 422) and await self._gone(ref):
                raise WatchGone(str(ref)) from error
            if _refused_for_good(error):
                raise StatusRefused(str(error)) from error
            raise
        result = stored.get("status")
        return result if isinstance(result, Mapping) else {}

    async def _gone(self, ref: ObjectRef) -> bool:
        """Whether the object ``ref`` names is no longer there (asked again, after a refused write)."""
        try:
            async with self._slots:
                current = await get_json(self._client, _object_path(ref))
        except ApiError as error:
            # A 404 for the object names it; one that does not (the type is not served) says nothing.
            return error.status == 404 and error.details.get("name") == ref.name
        uid = (current.get("metadata") or {}).get("uid")
        return bool(ref.uid) and uid != ref.uid

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
            await request_json(self._client, "POST", f"/api/v1/namespaces/{ref.namespace}/events", body=event)
