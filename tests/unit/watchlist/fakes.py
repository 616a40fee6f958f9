"""A scripted stand-in for ApiClient, for driving streams through exact event sequences in unit tests.

It is not an API server: every watch request just pops the next script. The e2e tests cover the real one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from statuswatch.watchlist.connection import ApiError

HANG = "HANG"  # in a script: keep the connection open with nothing more to say


def cm(name: str, rv: str, uid: str | None = None, ns: str = "default", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid or f"uid-{name}",
            "resourceVersion": rv,
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {}}}],
        },
        "data": data,
    }


def ev(etype: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": etype, "object": obj}


def bookmark(rv: str, end: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    if end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta}}


def gone_event() -> dict[str, Any]:
    status = {"kind": "Status", "status": "Failure", "reason": "Expired", "code": 410, "message": "too old"}
    return {"type": "ERROR", "object": status}


Script = list[Any] | Exception

CORE_RESOURCES = {
    "resources": [
        {"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": ["list", "watch", "get"]},
        {"name": "nodes", "kind": "Node", "namespaced": False, "verbs": ["list", "watch"]},
        {"name": "pods/status", "kind": "Pod", "namespaced": True, "verbs": ["get"]},
        {"name": "bindings", "kind": "Binding", "namespaced": True, "verbs": ["create"]},
    ]
}


class FakeApi:
    def __init__(self) -> None:
        self.capabilities: dict[str, Any] = {}
        self.watches: deque[Script] = deque()
        self.pages: deque[dict[str, Any] | Exception] = deque()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.feed: asyncio.Queue[Any] = asyncio.Queue()  # used by the script item FEED
        self.groups: dict[str, Any] = {"groups": []}
        self.group_docs: dict[str, Any] = {}
        self.on_watch: Callable[[], None] | None = None

    def watch_calls(self) -> list[dict[str, Any]]:
        return [params for kind, _, params in self.calls if kind == "watch"]

    async def get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
        self.calls.append(("get", path, dict(params or {})))
        if path == "/api":
            return {"versions": ["v1"]}
        if path == "/api/v1":
            return CORE_RESOURCES
        if path == "/apis":
            return self.groups
        if path in self.group_docs:
            return dict(self.group_docs[path])
        if not self.pages:
            raise ApiError(500, "InternalError", f"no page scripted for {path}")
        page = self.pages.popleft()
        if isinstance(page, Exception):
            raise page
        return page

    async def stream_lines(
        self,
        path: str,
        params: Mapping[str, str | int] | None = None,
        *,
        inactivity_timeout: float = 70.0,
        on_open: Callable[[], None] | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        self.calls.append(("watch", path, dict(params or {})))
        if self.on_watch:
            self.on_watch()
        script: Script = self.watches.popleft() if self.watches else [HANG]
        if isinstance(script, Exception):
            raise script
        if on_open:
            on_open()
        for item in script:
            if isinstance(item, Exception):
                raise item
            if item == HANG:
                await asyncio.Event().wait()
            elif item == "FEED":
                while True:
                    yield await self.feed.get()
            else:
                yield item
