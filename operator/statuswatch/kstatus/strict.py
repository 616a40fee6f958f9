"""Opt-in rules stricter than kstatus, for the questions users keep asking kstatus to answer.

kstatus measures whether a controller has reconciled an object, so a LoadBalancer Service without an
address, a Pod stuck pulling its image and a custom resource whose controller has not written a status
yet all look fine to it. Each rule here is off unless asked for, and can only hold a result back
(Current to InProgress or Failed, InProgress to Failed); with every rule off the kstatus result is
returned unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from statuswatch.kstatus import corekinds
from statuswatch.kstatus.fields import get_str, group_and_kind
from statuswatch.kstatus.model import Result, Status, failed, in_progress

__all__ = ["IMAGE_PULL_FAILURES", "StrictRules"]

#: Waiting reasons that mean the image will not arrive without someone fixing the spec or the registry.
IMAGE_PULL_FAILURES = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})

_BUILT_IN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "policy",
        "extensions",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "autoscaling",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "apiextensions.k8s.io",
        "admissionregistration.k8s.io",
        "scheduling.k8s.io",
        "node.k8s.io",
        "certificates.k8s.io",
    }
)


@dataclass(frozen=True, slots=True)
class StrictRules:
    """Which stricter rules to apply; all off by default.

    - ``load_balancer_ingress``: a ``LoadBalancer`` Service is InProgress (``LoadBalancerPending``)
      until ``status.loadBalancer.ingress`` holds an address.
    - ``container_failures``: a Pod whose containers wait on ``ImagePullBackOff``/``ErrImagePull``/
      ``InvalidImageName`` is Failed (``ImagePullFailed``), and so is a Pod whose init containers are in
      ``CrashLoopBackOff`` (``InitContainerCrashLooping``).
    - ``no_status_grace``: a custom resource (a kind kstatus has no rule for, outside the built-in API
      groups) with no status at all is InProgress (``NoStatusYet``) while younger than this.
    """

    load_balancer_ingress: bool = False
    container_failures: bool = False
    no_status_grace: timedelta | None = None

    def apply(self, obj: Mapping[str, Any], result: Result, now: datetime) -> Result:
        if result.status not in (Status.CURRENT, Status.IN_PROGRESS):
            return result
        group, kind = group_and_kind(obj)
        if self.load_balancer_ingress and (group, kind) == ("", "Service"):
            return _load_balancer(obj, result)
        if self.container_failures and (group, kind) == ("", "Pod"):
            return _container_failures(obj, result)
        if self.no_status_grace is not None and group not in _BUILT_IN_GROUPS:
            return _no_status_yet(obj, result, now, self.no_status_grace)
        return result


def _load_balancer(obj: Mapping[str, Any], result: Result) -> Result:
    spec = obj.get("spec")
    if result.status is not Status.CURRENT or not isinstance(spec, Mapping):
        return result
    if spec.get("type") != "LoadBalancer":
        return result
    status = obj.get("status")
    balancer = status.get("loadBalancer") if isinstance(status, Mapping) else None
    ingress = balancer.get("ingress") if isinstance(balancer, Mapping) else None
    if isinstance(ingress, list) and any(
        isinstance(entry, Mapping) and (entry.get("ip") or entry.get("hostname")) for entry in ingress
    ):
        return result
    return in_progress("LoadBalancerPending", "Waiting for the load balancer to publish an ingress address")


def _container_failures(obj: Mapping[str, Any], result: Result) -> Result:
    phase = get_str(obj, "status", "phase", default="")
    if result.status is Status.CURRENT and phase != "Running":
        return result  # completed Pods are done, whatever their containers went through
    pulling = [
        f"{name} ({reason})"
        for field in ("initContainerStatuses", "containerStatuses")
        for name, reason in corekinds.waiting_containers(obj, field)
        if reason in IMAGE_PULL_FAILURES
    ]
    if pulling:
        return failed("ImagePullFailed", f"Containers cannot pull their image: {', '.join(pulling)}")
    looping = [
        name
        for name, reason in corekinds.waiting_containers(obj, "initContainerStatuses")
        if reason == "CrashLoopBackOff"
    ]
    if looping:
        return failed("InitContainerCrashLooping", f"Init containers in CrashLoop state: {','.join(looping)}")
    return result


def _no_status_yet(obj: Mapping[str, Any], result: Result, now: datetime, grace: timedelta) -> Result:
    if result.status is not Status.CURRENT or obj.get("status"):
        return result
    if now - corekinds.creation_time(obj) >= grace:
        return result
    return in_progress("NoStatusYet", "Resource has no status yet")
