"""Fakes for testing code built on the polling engine without an API server.

* :class:`FakeClusterReader` satisfies :class:`~.clusterreader.ClusterReader`: objects in a dict, scripted
  waits between cycles, injected errors. Hand it to ``StatusPoller(cluster_reader_factory=...)``.
* :class:`FakeView` satisfies the :class:`~.router.View` protocol the shared-view reader and its router
  use: an in-memory store per (group, kind), subscriptions whose sync state and failure the test sets, and
  changes pushed to every open subscription of the object's kind and namespace.
* Builders for the objects the tests are written with (Deployments, ReplicaSets, Pods, ...).

The type checker holds the fakes to the same protocols as the real readers and view, so they cannot drift.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from statuswatch.watchlist.selector import compile_selector, matches
from statuswatch.watchlist.store import Change

from .clusterreader import ClusterReader
from .identifiers import ObjMetadata
from .router import View, ViewSubscription

__all__ = [
    "DEFAULT_KINDS",
    "FakeClusterReader",
    "FakeSubscription",
    "FakeView",
    "Step",
    "configmap",
    "deployment",
    "ident",
    "meta",
    "pod",
    "replicaset",
    "statefulset",
]

_Key = tuple[str, str, str, str]
Step = Callable[["FakeClusterReader"], "set[ObjMetadata] | None"]

DEFAULT_KINDS: Mapping[tuple[str, str], bool] = {
    ("apps", "Deployment"): True,
    ("apps", "ReplicaSet"): True,
    ("apps", "StatefulSet"): True,
    ("", "Pod"): True,
    ("", "ConfigMap"): True,
    ("", "Namespace"): False,
    ("rbac.authorization.k8s.io", "ClusterRole"): False,
}


class FakeClusterReader:
    """Objects in a dict; ``script`` drives what each wait between cycles returns.

    Each step mutates the store and returns the changed identifiers (event-driven wake-up) or ``None``
    (interval elapsed). Once the script is exhausted the reader waits forever, until the test cancels.
    ``kinds`` maps (group, kind) to namespaced; a kind missing from it is "not installed" (reads raise
    ``LookupError``). ``errors`` makes reads of a kind raise; ``scope_errors`` makes scope questions raise.
    Cluster-scoped kinds are stored without namespace and, like a real server, read without one.
    """

    def __init__(
        self,
        objects: Sequence[Mapping[str, Any]] = (),
        *,
        kinds: Mapping[tuple[str, str], bool] | None = None,
        script: Sequence[Step] = (),
    ) -> None:
        self.kinds: dict[tuple[str, str], bool] = dict(DEFAULT_KINDS if kinds is None else kinds)
        self.objects: dict[_Key, Mapping[str, Any]] = {}
        for obj in objects:
            self.put(obj)
        self.errors: dict[tuple[str, str], Exception] = {}
        self.scope_errors: dict[tuple[str, str], Exception] = {}
        self.sync_error: Exception | None = None
        self.script = list(script)
        self.gets: list[ObjMetadata] = []
        self.syncs = 0
        self.idle_waits: list[bool] = []
        self.closed = False

    def _namespace(self, group: str, kind: str, namespace: str) -> str:
        return "" if self.kinds.get((group, kind)) is False else namespace

    def put(self, obj: Mapping[str, Any]) -> ObjMetadata:
        ident = ObjMetadata.from_object(obj)
        namespace = self._namespace(ident.group, ident.kind, ident.namespace)
        self.objects[(ident.group, ident.kind, namespace, ident.name)] = obj
        return ident

    async def namespaced(self, group: str, kind: str) -> bool | None:
        if (group, kind) in self.scope_errors:
            raise self.scope_errors[(group, kind)]
        return self.kinds.get((group, kind))

    def _check(self, group: str, kind: str) -> None:
        if (group, kind) in self.errors:
            raise self.errors[(group, kind)]
        if (group, kind) not in self.kinds:
            raise LookupError(f"no kind {kind} in group {group!r}")

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        self.gets.append(ObjMetadata(group, kind, namespace, name))
        self._check(group, kind)
        return self.objects.get((group, kind, self._namespace(group, kind, namespace), name))

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> list[Mapping[str, Any]]:
        self._check(group, kind)
        namespace = self._namespace(group, kind, namespace)
        return [
            obj
            for (g, k, ns, _), obj in self.objects.items()
            if (g, k, ns) == (group, kind, namespace)
            and matches(selector, obj)
            and (owner_uid is None or owner_uid in _owner_uids(obj))
        ]

    async def sync(self) -> None:
        self.syncs += 1
        if self.sync_error is not None:
            raise self.sync_error

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        self.idle_waits.append(idle)
        await asyncio.sleep(0)
        if not self.script:
            await asyncio.Event().wait()
        return self.script.pop(0)(self)

    async def close(self) -> None:
        self.closed = True


class FakeSubscription:
    """One subscription of a :class:`FakeView`: reads its store, yields the changes pushed to it."""

    def __init__(self, view: FakeView, key: tuple[str, str, str | None]) -> None:
        self.view = view
        self.key = key
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self.opened = False
        self.closed = False

    @property
    def synced(self) -> bool:
        return self.view.synced.get(self.key[:2], True)

    @property
    def error(self) -> Exception | None:
        return self.view.errors.get(self.key[:2])

    @property
    def failing_since(self) -> float | None:
        return self.view.failing_since.get(self.key[:2])

    @property
    def error_since(self) -> float | None:
        return self.view.error_since.get(self.key[:2], self.failing_since)

    @property
    def disconnected_since(self) -> float | None:
        return self.view.disconnected_since.get(self.key[:2])

    async def open(self) -> FakeSubscription:
        self.opened = True
        self.view.opened.append(self.key)
        return self

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.view.closed.append(self.key)
            self._queue.put_nowait(None)

    async def wait_synced(self) -> None:
        while not self.synced:
            if self.error is not None:
                raise self.error
            await self.view.state_changed.wait()

    def get(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        group, kind, _ = self.key
        return self.view.objects.get((group, kind, namespace or "", name))

    def unreadable(self, namespace: str | None, name: str) -> str | None:
        group, kind, _ = self.key
        return self.view.unreadable.get((group, kind, namespace or "", name))

    def list(
        self, namespace: str | None = None, selector: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return self._select(namespace, selector)

    def _select(
        self, namespace: str | None, selector: Mapping[str, Any] | None
    ) -> builtins.list[dict[str, Any]]:
        group, kind, _ = self.key
        match = compile_selector(selector)
        return [
            obj
            for (g, k, ns, _), obj in self.view.objects.items()
            if (g, k) == (group, kind)
            and (namespace is None or ns == namespace)
            and match((obj.get("metadata") or {}).get("labels") or {})
        ]

    def owned(
        self, namespace: str | None, uid: str, selector: Mapping[str, Any] | None = None
    ) -> builtins.list[dict[str, Any]]:
        return [obj for obj in self._select(namespace, selector) if uid in _owner_uids(obj)]

    async def wait_changed(self) -> None:
        await self.view.state_changed.wait()

    def push(self, change: Change) -> None:
        if self.opened and not self.closed:
            self._queue.put_nowait(change)

    def __aiter__(self) -> AsyncIterator[Change]:
        return self._changes()

    async def _changes(self) -> AsyncIterator[Change]:
        while True:
            change = await self._queue.get()
            if change is None:
                return
            yield change


class FakeView:
    """An in-memory shared view: ``put`` changes the store and notifies open subscriptions.

    ``synced``, ``errors``, ``failing_since`` and ``disconnected_since`` (by (group, kind)) set what every
    subscription of a kind reports; call :meth:`state_change` after changing them so waiters look again.
    """

    def __init__(self, objects: Sequence[dict[str, Any]] = ()) -> None:
        self.objects: dict[_Key, dict[str, Any]] = {}
        self.subscriptions: list[FakeSubscription] = []
        self.opened: list[tuple[str, str, str | None]] = []
        self.closed: list[tuple[str, str, str | None]] = []
        self.synced: dict[tuple[str, str], bool] = {}
        self.errors: dict[tuple[str, str], Exception] = {}
        self.failing_since: dict[tuple[str, str], float] = {}
        #: Since when the current error's kind has lasted (default: ``failing_since``).
        self.error_since: dict[tuple[str, str], float] = {}
        #: Objects the stream could not read: (group, kind, namespace or "", name) -> why.
        self.unreadable: dict[_Key, str] = {}
        self.disconnected_since: dict[tuple[str, str], float] = {}
        self.state_changed = asyncio.Event()
        for obj in objects:
            self.put(obj, notify=False)

    def subscribe(self, group: str, kind: str, namespace: str | None = None) -> FakeSubscription:
        sub = FakeSubscription(self, (group, kind, namespace))
        self.subscriptions.append(sub)
        return sub

    @property
    def open_subscriptions(self) -> list[FakeSubscription]:
        return [sub for sub in self.subscriptions if sub.opened and not sub.closed]

    def state_change(self) -> None:
        self.state_changed.set()
        self.state_changed = asyncio.Event()

    def put(self, obj: dict[str, Any], *, notify: bool = True) -> ObjMetadata:
        i = ObjMetadata.from_object(obj)
        old = self.objects.get((i.group, i.kind, i.namespace, i.name))
        self.objects[(i.group, i.kind, i.namespace, i.name)] = obj
        if notify:
            self._push(i, Change("ADDED" if old is None else "MODIFIED", obj))
        return i

    def _push(self, i: ObjMetadata, change: Change) -> None:
        for sub in self.subscriptions:
            group, kind, namespace = sub.key
            if (group, kind) == (i.group, i.kind) and namespace in (None, i.namespace or None):
                sub.push(change)


def _owner_uids(obj: Mapping[str, Any]) -> list[Any]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [ref.get("uid") for ref in refs if isinstance(ref, Mapping)]


def _check_protocols(reader: FakeClusterReader, view: FakeView, sub: FakeSubscription) -> None:
    """Never called: makes the type checker hold the fakes to the protocols they stand in for."""
    _reader: ClusterReader = reader
    _view: View = view
    _sub: ViewSubscription = sub


# -- builders ------------------------------------------------------------------------------------------


def _owner(kind: str, name: str, uid: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": True}


def meta(name: str, namespace: str | None = "ns", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **extra}
    if namespace is not None:
        metadata["namespace"] = namespace
    return metadata


def configmap(name: str, namespace: str = "ns") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, namespace)}


def deployment(
    name: str,
    *,
    replicas: int = 1,
    ready: int = 1,
    uid: str | None = None,
    generation: int = 1,
    namespace: str = "ns",
) -> dict[str, Any]:
    extra = {"uid": uid} if uid else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, namespace, generation=generation, **extra),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
        "status": {
            "observedGeneration": generation,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True" if ready >= replicas else "False"},
            ],
        },
    }


def replicaset(
    name: str,
    app: str,
    *,
    replicas: int = 1,
    ready: int = 1,
    uid: str | None = None,
    owner: str | None = None,
    namespace: str = "ns",
) -> dict[str, Any]:
    """A ReplicaSet selecting ``app=<app>``; ``owner`` is the uid of the Deployment named ``app``."""
    extra: dict[str, Any] = {"labels": {"app": app}}
    if uid:
        extra["uid"] = uid
    if owner:
        extra["ownerReferences"] = [_owner("Deployment", app, owner)]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta(name, namespace, **extra),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}},
        "status": {
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "availableReplicas": ready,
            "readyReplicas": ready,
        },
    }


def statefulset(name: str, *, replicas: int = 1, ready: int = 1, namespace: str = "ns") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name, namespace),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
        "status": {
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": "r1",
            "updateRevision": "r1",
        },
    }


def pod(
    name: str,
    app: str,
    *,
    state: str = "ready",
    owner: str | None = None,
    owner_name: str | None = None,
    owner_kind: str = "ReplicaSet",
    created: str | None = None,
    namespace: str = "ns",
) -> dict[str, Any]:
    """A pod labelled ``app=<app>`` that is ``ready``, ``crashloop``ing, ``pending`` or ``unschedulable``.

    ``owner`` is the uid of its controller (a ReplicaSet named ``owner_name``, default ``app``).
    """
    extra: dict[str, Any] = {"labels": {"app": app}}
    if owner:
        extra["ownerReferences"] = [_owner(owner_kind, owner_name or app, owner)]
    if created:
        extra["creationTimestamp"] = created
    status: dict[str, Any]
    if state == "ready":
        status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    elif state == "crashloop":
        status = {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        }
    elif state == "unschedulable":
        status = {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
        }
    else:
        status = {"phase": "Pending"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, namespace, **extra), "status": status}


def ident(obj: Mapping[str, Any]) -> ObjMetadata:
    return ObjMetadata.from_object(obj)
