"""The polling engine against the real local control plane, with both cluster readers.

A Deployment rolling out (seen InProgress, then Current, with its ReplicaSet and Pods), a crash-looping Pod
turning its ReplicaSet Failed (KWOK stage selected by the ``statuswatch.io/simulate: crashloop`` label), a
CRD installed after polling started, a forbidden read reported as Unknown, and a ClusterRole listed with a
namespace. Then the faults only a real server produces, on the shared view as the operator uses it: access
revoked after sync (and the API server restarted, so the watch must reconnect) then restored, a CRD deleted
then re-created, and an aggregated API that is down next to a Deployment that keeps updating.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import yaml

from statuswatch.cluster.testing import E2ECluster
from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
)
from statuswatch.watchlist import ApiClient, ClusterConfig, SharedView

pytestmark = pytest.mark.timeout(240)

READERS = [pytest.param(True, id="shared-view"), pytest.param(False, id="direct")]

# The KWOK stage the crash-loop test relies on; the local control plane loads it with its other stages.
CRASHLOOP_LABEL = ("statuswatch.io/simulate", "crashloop")


def deployment(name: str, namespace: str, *, replicas: int = 2, labels: dict[str, str] | None = None) -> str:
    pod_labels = {"app": name, **(labels or {})}
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "minReadySeconds": 3,  # KWOK pods are Ready at once; this makes InProgress observable
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                },
            },
        }
    )


async def watch_until(
    kubeconfig: Path,
    identifiers: list[ObjMetadata],
    done: Callable[[dict[ObjMetadata, ResourceStatus]], bool],
    *,
    use_cache: bool,
    within: float = 90,
    action: Callable[[], Any] | None = None,
) -> list[ResourceStatus]:
    """Poll until ``done(latest)``; ``action`` runs (in a thread) once the first statuses are in."""
    history: list[ResourceStatus] = []
    latest: dict[ObjMetadata, ResourceStatus] = {}
    async with ApiClient(ClusterConfig.load(kubeconfig)) as client, SharedView(client) as view:
        poller = StatusPoller(client, view.mapper, view=view)
        stream = poller.poll(identifiers, Options(poll_interval=1.0, use_cache=use_cache))
        acted = False
        try:
            async with asyncio.timeout(within):
                async for event in stream:
                    if isinstance(event, ErrorEvent):
                        raise AssertionError(f"poll failed: {event.error}")
                    if isinstance(event, ResourceUpdateEvent):
                        history.append(event.resource)
                        latest[event.resource.identifier] = event.resource
                    if not acted and action is not None and len(latest) == len(identifiers):
                        acted = True
                        await asyncio.to_thread(action)
                    if done(latest):
                        return history
        except TimeoutError:
            seen = "\n".join(f"  {s.identifier}: {s.status} {s.message}" for s in history)
            raise AssertionError(f"not done after {within}s; updates seen:\n{seen}") from None
        finally:
            await stream.aclose()
    raise AssertionError("the stream ended on its own")


@pytest.mark.parametrize("use_cache", READERS)
async def test_deployment_rollout_seen_in_progress_then_current(
    cluster: E2ECluster, namespace: str, use_cache: bool
) -> None:
    web = ObjMetadata("apps", "Deployment", namespace, "web")
    history = await watch_until(
        cluster.kubeconfig,
        [web],
        lambda latest: latest[web].status == Status.CURRENT,
        use_cache=use_cache,
        action=lambda: cluster.kubectl("apply", "-f", "-", input=deployment("web", namespace)),
    )
    statuses = [s.status for s in history]
    assert statuses[0] == Status.NOT_FOUND
    assert history[0].message == "Resource not found"
    assert Status.IN_PROGRESS in statuses
    assert statuses.index(Status.IN_PROGRESS) < statuses.index(Status.CURRENT)
    final = history[-1]
    assert final.message == "Deployment is available. Replicas: 2"
    (replicaset,) = final.generated_resources
    assert replicaset.identifier.kind == "ReplicaSet"
    assert replicaset.status == Status.CURRENT
    assert len(replicaset.generated_resources) == 2
    assert {pod.status for pod in replicaset.generated_resources} == {Status.CURRENT}


@pytest.mark.parametrize("use_cache", READERS)
async def test_crash_looping_pod_turns_its_replicaset_failed(
    cluster: E2ECluster, namespace: str, use_cache: bool
) -> None:
    web = ObjMetadata("apps", "Deployment", namespace, "crashy")
    manifest = deployment("crashy", namespace, replicas=1, labels=dict([CRASHLOOP_LABEL]))
    cluster.kubectl("apply", "-f", "-", input=manifest)

    def replicaset_failed(latest: dict[ObjMetadata, ResourceStatus]) -> bool:
        children = latest[web].generated_resources if web in latest else ()
        return any(rs.status == Status.FAILED for rs in children)

    try:
        history = await watch_until(
            cluster.kubeconfig, [web], replicaset_failed, use_cache=use_cache, within=60
        )
    except AssertionError as error:
        raise AssertionError(
            f"{error}\nno Failed ReplicaSet: is the KWOK stage for pods labelled "
            f"{CRASHLOOP_LABEL[0]}={CRASHLOOP_LABEL[1]} loaded by the local control plane?"
        ) from None
    final = history[-1]
    assert final.status == Status.IN_PROGRESS  # kstatus never escalates a Deployment itself
    (replicaset,) = final.generated_resources
    assert replicaset.message == "1 pods have failed"
    (pod,) = replicaset.generated_resources
    assert pod.status == Status.FAILED
    assert pod.message.startswith("Containers in CrashLoop state")


def crd(group: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"gadgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
    )


def report_on(cluster: E2ECluster, group: str, namespace: str) -> None:
    """Write g1's status as its controller would: a custom resource nobody has reported on is InProgress
    (``convention:no-status``), and these tests are about serving the kind, not about that rule."""
    cluster.kubectl(
        "patch",
        f"gadgets.{group}",
        "g1",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"observedGeneration": 1}}',
    )


@pytest.mark.parametrize("use_cache", READERS)
async def test_kind_installed_after_polling_started_is_served(
    cluster: E2ECluster, namespace: str, use_cache: bool
) -> None:
    group = f"{namespace}.statuswatch.test"
    gadget = ObjMetadata(group, "Gadget", namespace, "g1")
    custom = {
        "apiVersion": f"{group}/v1",
        "kind": "Gadget",
        "metadata": {"name": "g1", "namespace": namespace},
    }

    def install() -> None:
        cluster.kubectl("apply", "-f", "-", input=crd(group))
        cluster.kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s")
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(custom))
        report_on(cluster, group, namespace)

    try:
        history = await watch_until(
            cluster.kubeconfig,
            [gadget],
            lambda latest: latest[gadget].status == Status.CURRENT,
            use_cache=use_cache,
            action=install,
        )
    finally:
        cluster.kubectl("delete", "crd", f"gadgets.{group}", "--ignore-not-found", "--wait=false")
    assert history[0].status == Status.UNKNOWN
    assert history[0].message.startswith("Kind not installed: ")
    assert history[-1].message == "Resource is current"


@pytest.mark.parametrize("use_cache", READERS)
async def test_forbidden_read_is_unknown_with_the_reason(
    cluster: E2ECluster, namespace: str, service_account_kubeconfig: Callable[..., Path], use_cache: bool
) -> None:
    kubeconfig = service_account_kubeconfig(
        [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    )
    cluster.kubectl("create", "configmap", "settings", "-n", namespace)
    cluster.kubectl("apply", "-f", "-", input=deployment("web", namespace))
    web = ObjMetadata("apps", "Deployment", namespace, "web")
    settings = ObjMetadata("", "ConfigMap", namespace, "settings")
    history = await watch_until(
        kubeconfig, [web, settings], lambda latest: len(latest) == 2, use_cache=use_cache, within=60
    )
    latest = {status.identifier: status for status in history}
    assert latest[settings].status == Status.CURRENT
    assert latest[web].status == Status.UNKNOWN
    assert latest[web].message.startswith("Forbidden: ")
    assert "deployments.apps" in latest[web].message


@pytest.mark.parametrize("use_cache", READERS)
async def test_cluster_role_listed_with_a_namespace_is_current(
    cluster: E2ECluster, namespace: str, use_cache: bool
) -> None:
    name = f"{namespace}-reader"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        # kustomize writes the namespace into every object, cluster-scoped ones included
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump(role))
    given = ObjMetadata("rbac.authorization.k8s.io", "ClusterRole", namespace, name)
    try:
        history = await watch_until(
            cluster.kubeconfig, [given], lambda latest: given in latest, use_cache=use_cache, within=60
        )
    finally:
        cluster.kubectl("delete", "clusterrole", name, "--ignore-not-found")
    (status,) = history
    assert status.identifier == given  # reported under the identifier as given
    assert (status.status, status.message) == (Status.CURRENT, "Resource is current")


class Tracker:
    """Polls ``identifiers`` on a shared view in the background; tests wait for conditions on it."""

    def __init__(self, kubeconfig: Path, identifiers: list[ObjMetadata], *, poll_interval: float) -> None:
        self._kubeconfig = kubeconfig
        self._identifiers = identifiers
        self._options = Options(poll_interval=poll_interval)
        self.latest: dict[ObjMetadata, ResourceStatus] = {}
        self.history: list[tuple[float, ResourceStatus]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stream: AsyncGenerator[Any, None] | None = None

    async def __aenter__(self) -> Tracker:
        self._client = ApiClient(ClusterConfig.load(self._kubeconfig))
        await self._client.__aenter__()
        self._view = SharedView(self._client)
        poller = StatusPoller(self._client, self._view.mapper, view=self._view)
        self._stream = poller.poll(self._identifiers, self._options)
        self._task = asyncio.create_task(self._run(self._stream))
        return self

    async def _run(self, stream: AsyncGenerator[Any, None]) -> None:
        async for event in stream:
            if isinstance(event, ErrorEvent):
                raise AssertionError(f"poll failed: {event.error}")
            if isinstance(event, ResourceUpdateEvent):
                self.latest[event.resource.identifier] = event.resource
                self.history.append((time.monotonic(), event.resource))
                self._changed.set()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._stream is not None:
            await self._stream.aclose()
        await self._view.close()
        await self._client.__aexit__(exc_type, exc, tb)

    async def until(
        self, what: str, check: Callable[[dict[ObjMetadata, ResourceStatus]], bool], within: float
    ) -> float:
        """Wait until ``check(latest)`` holds; returns the monotonic time it first held."""
        try:
            async with asyncio.timeout(within):
                while not check(self.latest):
                    if self._task is not None and self._task.done():
                        self._task.result()
                        raise AssertionError("the poll ended on its own")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            seen = "\n".join(f"  {s.identifier}: {s.status} {s.message}" for _, s in self.history)
            raise AssertionError(f"not {what} after {within}s; updates seen:\n{seen}") from None
        return time.monotonic()


def status_of(ident: ObjMetadata, status: Status, containing: str = "") -> Callable[..., bool]:
    def check(latest: dict[ObjMetadata, ResourceStatus]) -> bool:
        found = latest.get(ident)
        return found is not None and found.status == status and containing in found.message

    return check


def configmaps_binding(namespace: str) -> str:
    """The RoleBinding the ``service_account_kubeconfig`` fixture made for ServiceAccount ``operator``."""
    return yaml.safe_dump(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "operator", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "operator"},
            "subjects": [{"kind": "ServiceAccount", "name": "operator", "namespace": namespace}],
        }
    )


async def test_access_revoked_after_sync_is_unknown_then_recovers_when_restored(
    cluster: E2ECluster,
    namespace: str,
    service_account_kubeconfig: Callable[..., Path],
    needs: Callable[[str], None],
) -> None:
    needs("restart_apiserver")
    kubeconfig = service_account_kubeconfig(
        [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    )
    cluster.kubectl("create", "configmap", "settings", "-n", namespace)
    settings = ObjMetadata("", "ConfigMap", namespace, "settings")
    async with Tracker(kubeconfig, [settings], poll_interval=1.0) as tracker:
        await tracker.until("Current", status_of(settings, Status.CURRENT), within=60)
        cluster.kubectl("delete", "rolebinding", "operator", "-n", namespace)
        # An open watch outlives a revoked binding; the restart makes the stream reconnect, as any
        # watch eventually does, and its store must not go on answering.
        await asyncio.to_thread(cluster.restart_apiserver)
        await tracker.until(
            "Unknown with Forbidden", status_of(settings, Status.UNKNOWN, "Forbidden: "), within=90
        )
        assert tracker.latest[settings].message.startswith("watch failing: Forbidden: ")
        cluster.kubectl("apply", "-f", "-", input=configmaps_binding(namespace))
        await tracker.until("Current again", status_of(settings, Status.CURRENT), within=90)


async def test_crd_deleted_is_kind_not_installed_then_recovers_when_re_created(
    cluster: E2ECluster, namespace: str
) -> None:
    group = f"{namespace}.statuswatch.test"
    gadget = ObjMetadata(group, "Gadget", namespace, "g1")
    custom = yaml.safe_dump(
        {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1", "namespace": namespace}}
    )

    def install() -> None:
        cluster.kubectl("apply", "-f", "-", input=crd(group))
        cluster.kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s")
        cluster.kubectl("apply", "-f", "-", input=custom)
        report_on(cluster, group, namespace)

    install()
    try:
        async with Tracker(cluster.kubeconfig, [gadget], poll_interval=1.0) as tracker:
            await tracker.until("Current", status_of(gadget, Status.CURRENT), within=60)
            cluster.kubectl("delete", "crd", f"gadgets.{group}", "--wait=true", "--timeout=60s")
            await tracker.until(
                "Unknown: Kind not installed",
                status_of(gadget, Status.UNKNOWN, "Kind not installed: "),
                within=90,
            )
            await asyncio.to_thread(install)
            await tracker.until("Current again", status_of(gadget, Status.CURRENT), within=90)
    finally:
        cluster.kubectl("delete", "crd", f"gadgets.{group}", "--ignore-not-found", "--wait=false")


def broken_apiservice(group: str, namespace: str) -> str:
    """An aggregated API whose backing Service has no endpoints: the API server answers 503 for it."""
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "nothing", "namespace": namespace},
                "spec": {"ports": [{"port": 443}], "selector": {"app": "nothing"}},
            },
            {
                "apiVersion": "apiregistration.k8s.io/v1",
                "kind": "APIService",
                "metadata": {"name": f"v1.{group}"},
                "spec": {
                    "group": group,
                    "version": "v1",
                    "service": {"namespace": namespace, "name": "nothing", "port": 443},
                    "insecureSkipTLSVerify": True,
                    "groupPriorityMinimum": 1000,
                    "versionPriority": 15,
                },
            },
        ]
    )


async def test_a_down_aggregated_api_is_unknown_quickly_and_does_not_slow_a_deployment(
    cluster: E2ECluster, namespace: str
) -> None:
    group = f"{namespace}.statuswatch.test"
    cluster.kubectl("apply", "-f", "-", input=broken_apiservice(group, namespace))
    cluster.kubectl("apply", "-f", "-", input=deployment("web", namespace))
    widget = ObjMetadata(group, "Widget", namespace, "w")
    web = ObjMetadata("apps", "Deployment", namespace, "web")
    interval = 3.0
    try:
        started = time.monotonic()
        async with Tracker(cluster.kubeconfig, [widget, web], poll_interval=interval) as tracker:
            await tracker.until("Widget Unknown", status_of(widget, Status.UNKNOWN), within=60)
            assert time.monotonic() - started < 15  # not held up by a 30 s sync wait, or one per cycle
            await tracker.until("web Current", status_of(web, Status.CURRENT), within=90)
            for replicas in (3, 1):
                generation = tracker.latest[web].generation or 0
                cluster.kubectl("scale", "deployment", "web", f"--replicas={replicas}", "-n", namespace)
                scaled = time.monotonic()

                def moved_on(latest: dict[ObjMetadata, ResourceStatus], above: int = generation) -> bool:
                    return (latest[web].generation or 0) > above

                seen = await tracker.until(f"web scaled to {replicas}", moved_on, within=60)
                assert seen - scaled <= interval, f"the change took {seen - scaled:.1f}s to be reported"
                await tracker.until("web Current", status_of(web, Status.CURRENT), within=90)
            assert tracker.latest[widget].status == Status.UNKNOWN
    finally:
        cluster.kubectl("delete", "apiservice", f"v1.{group}", "--ignore-not-found")
