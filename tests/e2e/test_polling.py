"""The polling engine against the real local control plane, with both cluster readers.

A Deployment rolling out (seen InProgress, then Current, with its ReplicaSet and Pods), a crash-looping Pod
turning its ReplicaSet Failed (KWOK stage selected by the ``statuswatch.io/simulate: crashloop`` label), a
CRD installed after polling started, and a forbidden read reported as Unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
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
from statuswatch.watchlist import ApiClient, ClusterConfig, RestMapper

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
    async with ApiClient(ClusterConfig.load(kubeconfig)) as client:
        poller = StatusPoller(client, RestMapper(client))
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
