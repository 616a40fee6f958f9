"""Fakes for testing code built on the watchlist layer without an API server.

The shared view, the REST mapper and the cluster readers talk to the API server only through
:class:`~.transport.Transport`. :class:`FakeTransport` satisfies that protocol (the type checker holds it to
the same signatures as the real client, so the fake cannot drift) and answers from scripts: each watch
request pops the next scripted response, GETs are answered from discovery documents, JSON answers and LIST
pages, and every request is logged. It is not an API server: nothing is validated, nothing is stored. The
builders make the objects and watch events the scripts are written with.

A watch script is a list of watch events (plain dicts; bytes are sent as they are, e.g. a malformed line)
and markers, or an exception raised before the response starts (as an error status would be):

* :data:`HANG`: keep the connection open with nothing more to say;
* :data:`HANG_HEADERS`: as the first item, never even answer with headers (a proxy that accepted and hung):
  :class:`~.connection.HeaderTimeout` once the request's ``connect_timeout`` ran out, as the real client;
* :data:`FEED`: from here on, yield whatever the test puts into :attr:`FakeTransport.feed`;
* a :class:`Feed`: the same with a queue of the test's own (one per stream, say);
* an exception: raised at that point of the body (a connection that broke).

Answers and watch lines are JSON bytes, as the server sends them; an ``Accept`` asking for
PartialObjectMetadata reduces every object (watch events and LIST items) to its metadata as the API server
would (``Call.accept`` records what was asked).

Use it with ``looptime`` (``@pytest.mark.looptime``) and a seeded :class:`~.stream.StreamSettings` so that
time and randomness are under the test's control.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .connection import ApiError, HeaderTimeout
from .transport import Request, Transport

__all__ = [
    "CORE_RESOURCES",
    "FEED",
    "HANG",
    "HANG_HEADERS",
    "Call",
    "FakeTransport",
    "Feed",
    "Script",
    "api_resource",
    "bookmark",
    "configmap",
    "event",
    "gone_event",
    "resource_list",
    "status_event",
]

HANG: Final = "HANG"
HANG_HEADERS: Final = "HANG_HEADERS"
FEED: Final = "FEED"


@dataclass(frozen=True)
class Feed:
    """A script item: yield what the test puts into ``queue``, for as long as the connection lasts."""

    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    async def put(self, item: Any) -> None:
        await self.queue.put(item)


#: One scripted watch response: events and markers, or an exception instead of a response.
Script = list[Any] | BaseException


@dataclass(frozen=True)
class Call:
    """One logged request: ``kind`` is ``"get"``, ``"watch"`` or the HTTP method of any other request."""

    kind: str
    path: str
    params: dict[str, Any]
    #: The request's body, decoded from JSON.
    body: Any = None
    #: The ``Accept`` header asked for (None: plain JSON).
    accept: str | None = None


# -- builders ----------------------------------------------------------------------------------------------


def configmap(
    name: str,
    rv: str,
    uid: str | None = None,
    ns: str = "default",
    **data: str,
) -> dict[str, Any]:
    """A ConfigMap as the API server sends it (managedFields included, which projection drops)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid or f"uid-{ns}-{name}",
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}],
        },
        "data": data,
    }


def event(etype: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """A watch event line: ``{"type": etype, "object": obj}``."""
    return {"type": etype, "object": dict(obj)}


def bookmark(rv: str, end: bool = False, kind: str = "ConfigMap", api_version: str = "v1") -> dict[str, Any]:
    """A BOOKMARK event; ``end=True`` adds the ``k8s.io/initial-events-end`` annotation of WatchList."""
    meta: dict[str, Any] = {"resourceVersion": rv}
    if end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": meta}}


def status_event(code: int, reason: str, message: str = "") -> dict[str, Any]:
    """An ERROR watch event carrying a ``metav1.Status``."""
    status = {"kind": "Status", "status": "Failure", "reason": reason, "code": code, "message": message}
    return {"type": "ERROR", "object": status}


def gone_event() -> dict[str, Any]:
    """The ERROR event of a watch whose resourceVersion was compacted away (410 Expired)."""
    return status_event(410, "Expired", "too old resource version")


def api_resource(
    plural: str, kind: str, *, namespaced: bool = True, verbs: tuple[str, ...] = ("get", "list", "watch")
) -> dict[str, Any]:
    """One entry of an APIResourceList."""
    return {"name": plural, "kind": kind, "namespaced": namespaced, "verbs": list(verbs)}


def resource_list(group_version: str, *resources: Mapping[str, Any]) -> dict[str, Any]:
    """An APIResourceList document (``/api/v1`` or ``/apis/<group>/<version>``)."""
    return {
        "kind": "APIResourceList",
        "groupVersion": group_version,
        "resources": [dict(r) for r in resources],
    }


CORE_RESOURCES: Final = resource_list(
    "v1",
    api_resource("configmaps", "ConfigMap"),
    api_resource("nodes", "Node", namespaced=False, verbs=("list", "watch")),
    api_resource("pods", "Pod"),
    api_resource("pods/status", "Pod", verbs=("get",)),
    api_resource("bindings", "Binding", verbs=("create",)),
)


# -- the fake ----------------------------------------------------------------------------------------------


class FakeTransport:
    """A scripted :class:`~.transport.Transport`.

    * ``watches``: scripts for watch requests, popped in order by any path; ``watches_by_path`` first
      (per collection path, for tests that run several streams at once). No script left: :data:`HANG`.
    * ``pages``: LIST answers (dicts or exceptions) for GETs not answered by discovery or ``answers``.
    * ``answers``: fixed answers (a dict, or an exception to raise) per path, for GETs and any other method.
    * ``groups`` / ``group_docs``: ``/apis`` and the per-version resource lists (``/api`` and ``/api/v1``
      default to the core group with ConfigMaps and Nodes); see :meth:`add_group`.
    * ``calls``: the request log; :meth:`watch_calls` gives the parameters of every watch.
    * ``on_watch``: called at each watch request, before its script runs.
    """

    def __init__(self, server: str = "https://fake.invalid") -> None:
        self.capabilities: dict[str, Any] = {}
        self.watches: deque[Script] = deque()
        self.watches_by_path: dict[str, deque[Script]] = {}
        self.pages: deque[dict[str, Any] | BaseException] = deque()
        self.answers: dict[str, dict[str, Any] | BaseException] = {}
        self.calls: list[Call] = []
        self.feed: asyncio.Queue[Any] = asyncio.Queue()
        self.groups: dict[str, Any] = {"kind": "APIGroupList", "groups": []}
        self.group_docs: dict[str, dict[str, Any] | BaseException] = {
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/api/v1": CORE_RESOURCES,
        }
        self.on_watch: Callable[[], None] | None = None
        self.open_watches = 0
        self._server = server

    @property
    def server(self) -> str:
        return self._server

    # -- scripting -------------------------------------------------------------------------------------

    def add_group(
        self, group: str, versions: Mapping[str, list[dict[str, Any]]], preferred: str = ""
    ) -> None:
        """Serve an API group: ``versions`` maps each version to its resources (:func:`api_resource`)."""
        names = list(versions)
        entry = {
            "name": group,
            "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in names],
            "preferredVersion": {"version": preferred or names[0]},
        }
        self.groups["groups"] = [g for g in self.groups["groups"] if g.get("name") != group] + [entry]
        for version, resources in versions.items():
            self.group_docs[f"/apis/{group}/{version}"] = resource_list(f"{group}/{version}", *resources)

    def remove_group(self, group: str) -> None:
        """Stop serving an API group (its CRD was deleted)."""
        self.groups["groups"] = [g for g in self.groups["groups"] if g.get("name") != group]
        for path in [p for p in self.group_docs if p.startswith(f"/apis/{group}/")]:
            del self.group_docs[path]

    def script_watch(self, path: str, *scripts: Script) -> None:
        """Queue watch responses for one collection path."""
        self.watches_by_path.setdefault(path, deque()).extend(scripts)

    def watch_calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """Parameters of every watch request so far (of one path, if given)."""
        return [c.params for c in self.calls if c.kind == "watch" and (path is None or c.path == path)]

    def get_calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """Parameters of every GET so far (of one path, if given)."""
        return [c.params for c in self.calls if c.kind == "get" and (path is None or c.path == path)]

    # -- Transport -------------------------------------------------------------------------------------

    async def send(self, request: Request) -> bytes:
        method = request.method.upper()
        params = dict(request.params or {})
        if method != "GET":
            body = json.loads(request.body) if request.body else None
            self.calls.append(Call(method, request.path, params, body))
            await asyncio.sleep(0)
            if request.path in self.answers:
                return _encode(_answer(self.answers[request.path]))
            raise ApiError(405, "MethodNotAllowed", f"no answer scripted for {method} {request.path}")
        self.calls.append(Call("get", request.path, params, accept=request.accept))
        await asyncio.sleep(0)
        answer = self._get(request.path)
        if _partial(request.accept):
            items = answer.get("items")
            if isinstance(items, list):
                answer = {**answer, "items": [_metadata_of(item) for item in items]}
            answer = {**answer, "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList"}
        return _encode(answer)

    def _get(self, path: str) -> dict[str, Any]:
        if path == "/apis":
            return dict(self.groups)
        for table in (self.group_docs, self.answers):
            if path in table:
                return _answer(table[path])
        parts = path.strip("/").split("/")
        if (parts[0] == "apis" and len(parts) <= 3) or (parts[0] == "api" and len(parts) <= 2):
            # A discovery document of a group or version that is not served.
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")
        if not self.pages:
            raise ApiError(500, "InternalError", f"no page scripted for {path}")
        return _answer(self.pages.popleft())

    async def stream(self, request: Request) -> AsyncGenerator[bytes, None]:
        path = request.path
        self.calls.append(Call("watch", path, dict(request.params or {}), accept=request.accept))
        if self.on_watch is not None:
            self.on_watch()
        queue = self.watches_by_path.get(path)
        script: Script = queue.popleft() if queue else (self.watches.popleft() if self.watches else [HANG])
        await asyncio.sleep(0)
        if isinstance(script, BaseException):
            raise script
        items = list(script)
        if items and items[0] == HANG_HEADERS:
            # What the real client does when no headers come: the request's one connect deadline.
            await asyncio.sleep(request.connect_timeout)
            raise HeaderTimeout(f"no response headers within {request.connect_timeout:g}s for {path}")
        return self._lines(items, request.accept)

    async def _lines(self, items: list[Any], accept: str | None) -> AsyncGenerator[bytes, None]:
        self.open_watches += 1
        try:
            for item in items:
                if isinstance(item, BaseException):
                    raise item
                if item == HANG:
                    await asyncio.Event().wait()
                elif item == FEED or isinstance(item, Feed):
                    source = self.feed if item == FEED else item.queue
                    while True:
                        fed = await source.get()
                        if isinstance(fed, BaseException):
                            raise fed
                        yield _line(fed, accept)
                else:
                    yield _line(item, accept)
        finally:
            self.open_watches -= 1


def _answer(value: dict[str, Any] | BaseException) -> dict[str, Any]:
    if isinstance(value, BaseException):
        raise value
    return dict(value)


def _encode(answer: Mapping[str, Any]) -> bytes:
    return json.dumps(answer).encode()


def _line(item: Any, accept: str | None) -> bytes:
    """One watch line: an event as the server would send it, or bytes given as they are (malformed)."""
    if isinstance(item, bytes):
        return item
    if _partial(accept) and isinstance(item, dict) and item.get("type") != "BOOKMARK":
        item = {**item, "object": _metadata_of(item.get("object"))}
    return json.dumps(item).encode()


def _partial(accept: str | None) -> bool:
    return accept is not None and "as=PartialObjectMetadata" in accept


def _metadata_of(obj: Any) -> Any:
    """What the API server sends of an object asked for as PartialObjectMetadata."""
    if not isinstance(obj, Mapping) or obj.get("kind") == "Status":
        return obj
    return {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": obj.get("metadata")}


def _check_protocol(fake: FakeTransport) -> Transport:
    return fake  # the type checker proves here that the fake satisfies the protocol
