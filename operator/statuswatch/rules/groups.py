"""The built-in Kubernetes API groups: kinds in them keep kstatus's rules unless a user rule covers them.

Custom resources live in other groups, including some under ``k8s.io`` that are CRDs
(``gateway.networking.k8s.io``, ``snapshot.storage.k8s.io``, ``cluster.x-k8s.io``), so this is a list and
not a suffix test.
"""

from __future__ import annotations

__all__ = ["BUILT_IN_GROUPS", "is_built_in_group"]

BUILT_IN_GROUPS: frozenset[str] = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "metrics.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


def is_built_in_group(group: str) -> bool:
    return group in BUILT_IN_GROUPS
