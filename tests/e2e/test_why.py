"""Why a resource is not ready, on the real local control plane.

An image that cannot be pulled (the local control plane's KWOK stage keeps Pods labelled
``statuswatch.io/simulate: imagepull`` Pending in ImagePullBackOff) is the Deployment's ``why``, through
``StatusPoller`` with both cluster readers and in ``statuswatch status -o json`` run as a user runs it; a
Warning Event created about a PersistentVolumeClaim that stays Pending is that claim's ``why``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
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
    Why,
    default_status_readers,
)
from statuswatch.watchlist import ApiClient, ClusterConfig, SharedView

pytestmark = pytest.mark.timeout(180)

IMAGEPULL_LABEL = ("statuswatch.io/simulate", "imagepull")  # the local control plane's KWOK stage
READERS = [pytest.param(True, id="shared-view"), pytest.param(False, id="direct")]


def unpullable(name: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name, IMAGEPULL_LABEL[0]: IMAGEPULL_LABEL[1]}},
                    "spec": {"containers": [{"name": "app", "image": "registry.invalid/nope:1"}]},
                },
            },
        }
    )


def pending_claim(name: str, namespace: str) -> str:
    """A claim no provisioner serves (an unknown storage class): it stays Pending, i.e. InProgress."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "statuswatch-none",
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )


def warning_about(
    cluster: E2ECluster, kind: str, name: str, namespace: str, reason: str, message: str
) -> None:
    uid = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "jsonpath={.metadata.uid}").stdout
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.statuswatch-e2e", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": kind,
            "name": name,
            "namespace": namespace,
            "uid": uid,
        },
        "type": "Warning",
        "reason": reason,
        "message": message,
        "source": {"component": "statuswatch-e2e"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    cluster.kubectl("create", "-f", "-", input=yaml.safe_dump(event))


async def poll_until(
    kubeconfig: Path,
    identifier: ObjMetadata,
    done: Callable[[ResourceStatus], bool],
    *,
    use_cache: bool,
    within: float = 60,
) -> ResourceStatus:
    seen: list[ResourceStatus] = []
    async with ApiClient(ClusterConfig.load(kubeconfig)) as client, SharedView(client) as view:
        poller = StatusPoller(
            client, view.mapper, view=view, status_readers=default_status_readers(events=True)
        )
        stream = poller.poll([identifier], Options(poll_interval=1.0, use_cache=use_cache))
        try:
            async with asyncio.timeout(within):
                async for event in stream:
                    if isinstance(event, ErrorEvent):
                        raise AssertionError(f"poll failed: {event.error}")
                    if isinstance(event, ResourceUpdateEvent):
                        seen.append(event.resource)
                        if done(event.resource):
                            return event.resource
        except TimeoutError:
            lines = "\n".join(f"  {s.status} {s.message} why={s.why}" for s in seen)
            raise AssertionError(f"not done after {within}s; updates seen:\n{lines}") from None
        finally:
            await stream.aclose()
    raise AssertionError("the stream ended on its own")


def status_records(cluster: E2ECluster, *args: str) -> list[dict[str, Any]]:
    """``statuswatch status ... -o json`` as a subprocess; its status records."""
    result = subprocess.run(
        [sys.executable, "-m", "statuswatch", "status", *args, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "NO_COLOR": "1"},
        check=False,
    )
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert records, f"no output (exit {result.returncode}): {result.stderr}"
    return [record for record in records if record["type"] == "status"]


@pytest.mark.parametrize("use_cache", READERS)
async def test_an_unpullable_image_is_why_the_deployment_is_not_ready(
    cluster: E2ECluster, namespace: str, use_cache: bool
) -> None:
    cluster.kubectl("apply", "-f", "-", input=unpullable("web", namespace))
    web = ObjMetadata("apps", "Deployment", namespace, "web")

    status = await poll_until(
        cluster.kubeconfig, web, lambda s: s.why is not None, use_cache=use_cache, within=60
    )

    assert status.status == Status.IN_PROGRESS
    assert status.message == "Available: 0/1"  # kstatus's own message is unchanged
    assert status.why is not None
    assert status.why.reason == "ImagePullBackOff"
    assert status.why.message.startswith("pod web-")
    assert status.why.message.endswith(" container app: ImagePullBackOff")
    (replicaset,) = status.generated_resources
    (pod,) = replicaset.generated_resources
    assert pod.why == status.why


def test_status_command_shows_image_pull_back_off_as_the_reason(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=unpullable("web", namespace))

    records = status_records(cluster, "deploy/web", "-n", namespace, "--until", "current", "--timeout", "15s")

    whys = [record.get("why") for record in records if record["name"] == "web"]
    assert whys[-1] is not None, f"no why in the last record of {records}"
    assert whys[-1]["reason"] == "ImagePullBackOff"
    assert records[-1]["status"] == "InProgress"


async def test_a_warning_event_is_why_a_claim_is_pending(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=pending_claim("data", namespace))
    # The same words the PV controller posts, so that whichever of its Events or this one is the latest
    # when a reader looks, the why is the same.
    message = 'storageclass.storage.k8s.io "statuswatch-none" not found'
    warning_about(cluster, "PersistentVolumeClaim", "data", namespace, "ProvisioningFailed", message)
    claim = ObjMetadata("", "PersistentVolumeClaim", namespace, "data")

    status = await poll_until(
        cluster.kubeconfig, claim, lambda s: s.why is not None, use_cache=True, within=30
    )

    assert status.status == Status.IN_PROGRESS
    assert status.why == Why("ProvisioningFailed", message)
    records = status_records(cluster, "pvc/data", "-n", namespace, "--until", "known")
    assert records[-1]["why"] == {"reason": "ProvisioningFailed", "message": message}
