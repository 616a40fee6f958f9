"""An in-memory cluster reader and object builders, so the engine can be tested on plain data."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from statuswatch.polling import ObjMetadata
from statuswatch.watchlist.selector import matches

Key = tuple[str, str, str, str]
Step = Callable[["FakeClusterReader"], "set[ObjMetadata] | None"]


class FakeClusterReader:
    """Objects in a dict; ``script`` drives what each wait between cycles returns.

    Each step mutates the store and returns the changed identifiers (event-driven wake-up) or ``None``
    (interval elapsed). Once the script is exhausted the reader waits forever, until the test cancels.
    """

    def __init__(
        self,
        objects: Sequence[Mapping[str, Any]] = (),
        *,
        kinds: Mapping[tuple[str, str], bool] | None = None,
        script: Sequence[Step] = (),
    ) -> None:
        self.kinds: dict[tuple[str, str], bool] = dict(
            kinds
            or {
                ("apps", "Deployment"): True,
                ("apps", "ReplicaSet"): True,
                ("apps", "StatefulSet"): True,
                ("", "Pod"): True,
                ("", "ConfigMap"): True,
                ("", "Namespace"): False,
            }
        )
        self.objects: dict[Key, Mapping[str, Any]] = {}
        for obj in objects:
            self.put(obj)
        self.errors: dict[tuple[str, str], Exception] = {}
        self.sync_error: Exception | None = None
        self.script = list(script)
        self.gets: list[ObjMetadata] = []
        self.syncs = 0
        self.closed = False

    def put(self, obj: Mapping[str, Any]) -> ObjMetadata:
        ident = ObjMetadata.from_object(obj)
        self.objects[(ident.group, ident.kind, ident.namespace, ident.name)] = obj
        return ident

    def delete(self, ident: ObjMetadata) -> None:
        self.objects.pop((ident.group, ident.kind, ident.namespace, ident.name), None)

    async def namespaced(self, group: str, kind: str) -> bool | None:
        return self.kinds.get((group, kind))

    def _check(self, group: str, kind: str) -> None:
        if (group, kind) in self.errors:
            raise self.errors[(group, kind)]
        if (group, kind) not in self.kinds:
            raise LookupError(f"no kind {kind} in group {group!r}")

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        self.gets.append(ObjMetadata(group, kind, namespace, name))
        self._check(group, kind)
        return self.objects.get((group, kind, namespace, name))

    async def list(
        self, group: str, kind: str, namespace: str, selector: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        self._check(group, kind)
        return [
            obj
            for (g, k, ns, _), obj in self.objects.items()
            if (g, k, ns) == (group, kind, namespace) and matches(selector, obj)
        ]

    async def sync(self) -> None:
        self.syncs += 1
        if self.sync_error is not None:
            raise self.sync_error

    async def wait_for_change(self, interval: float) -> set[ObjMetadata] | None:
        await asyncio.sleep(0)
        if not self.script:
            await asyncio.Event().wait()
        return self.script.pop(0)(self)

    async def close(self) -> None:
        self.closed = True


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
    name: str, *, replicas: int = 1, ready: int = 1, uid: str | None = None, generation: int = 1
) -> dict[str, Any]:
    extra = {"uid": uid} if uid else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, generation=generation, **extra),
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
) -> dict[str, Any]:
    extra: dict[str, Any] = {"labels": {"app": app}}
    if uid:
        extra["uid"] = uid
    if owner:
        extra["ownerReferences"] = [_owner("Deployment", app, owner)]
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta(name, **extra),
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}},
        "status": {
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "availableReplicas": ready,
            "readyReplicas": ready,
        },
    }


def statefulset(name: str, *, replicas: int = 1, ready: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(name),
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
    name: str, app: str, *, state: str = "ready", owner: str | None = None, created: str | None = None
) -> dict[str, Any]:
    """A pod that is ``ready``, ``crashloop``ing, ``pending`` or ``unschedulable``."""
    extra: dict[str, Any] = {"labels": {"app": app}}
    if owner:
        extra["ownerReferences"] = [_owner("ReplicaSet", app, owner)]
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
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, **extra), "status": status}


def ident(obj: Mapping[str, Any]) -> ObjMetadata:
    return ObjMetadata.from_object(obj)
