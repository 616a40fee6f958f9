"""The kind table: each built-in kind kstatus has a rule for, with that rule and the fields it reads.

Three consumers need to agree per kind: :func:`~statuswatch.kstatus.compute` (which rule decides),
:func:`~statuswatch.kstatus.project` (which fields to keep so that ``compute(project(obj)) ==
compute(obj)``) and the watchlist's typed decoder (which fields to parse at all, and which kinds can be
watched as metadata only). One public row per (group, kind) is what they all read, so adding a rule is one
function (in :mod:`.corekinds` or :mod:`.workloads`) and one row here.

A row's ``spec`` and ``status`` list the keys of ``.spec`` and ``.status`` that the kind's rule, the strict
rules (:mod:`.strict`) or the readers of generated resources (selectors) read; the generic steps'
fields (metadata, ``status.observedGeneration``, ``status.conditions``) are kept for every kind by the
projection itself. The legacy ``extensions`` group shares the rows of ``apps``, as in kstatus.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from statuswatch.kstatus import corekinds, workloads
from statuswatch.kstatus.model import Result

__all__ = ["KINDS", "Kind", "Rule", "timeless"]

#: A kind's rule: the object and the time it is judged at (only the Pod rule looks at the clock).
Rule = Callable[[Mapping[str, Any], datetime], Result]


def timeless(rule: Callable[[Mapping[str, Any]], Result]) -> Rule:
    """A rule that does not look at the clock, in the table's shape."""
    return lambda obj, _now: rule(obj)


@dataclass(frozen=True, slots=True)
class Kind:
    """One row of :data:`KINDS`."""

    rule: Rule
    #: Keys of ``.spec`` read by the rule, the strict rules or child lookups (selectors).
    spec: tuple[str, ...] = ()
    #: Keys of ``.status`` read likewise (beyond ``observedGeneration`` and ``conditions``).
    status: tuple[str, ...] = ()
    #: The rule decides from metadata alone (the body never matters), so a watch may ask for
    #: PartialObjectMetadata and no value (say, of a Secret) needs to cross the wire.
    metadata_only: bool = False


_ALWAYS_READY = timeless(corekinds.always_ready)
_DEPLOYMENT = Kind(
    timeless(workloads.deployment),
    spec=("replicas", "progressDeadlineSeconds", "selector"),
    status=("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"),
)
_DAEMON_SET = Kind(
    timeless(workloads.daemon_set),
    spec=("selector",),
    status=(
        "desiredNumberScheduled",
        "currentNumberScheduled",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberReady",
    ),
)
_REPLICA_SET = Kind(
    timeless(workloads.replica_set),
    spec=("replicas", "selector"),
    status=("replicas", "readyReplicas", "availableReplicas", "fullyLabeledReplicas"),
)

#: Every kind with a rule of its own, by (group, kind); the core group is "". Kinds not listed are
#: decided by the generic steps and their ``Ready`` condition.
KINDS: Mapping[tuple[str, str], Kind] = {
    ("", "Service"): Kind(timeless(corekinds.service), spec=("type", "clusterIP"), status=("loadBalancer",)),
    ("", "Pod"): Kind(corekinds.pod, status=("phase", "containerStatuses", "initContainerStatuses")),
    ("", "Secret"): Kind(_ALWAYS_READY, metadata_only=True),
    ("", "ConfigMap"): Kind(_ALWAYS_READY, metadata_only=True),
    ("", "PersistentVolumeClaim"): Kind(timeless(corekinds.persistent_volume_claim), status=("phase",)),
    ("apps", "StatefulSet"): Kind(
        timeless(workloads.stateful_set),
        spec=("replicas", "updateStrategy", "selector"),
        status=(
            "replicas",
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "currentRevision",
            "updateRevision",
        ),
    ),
    ("apps", "DaemonSet"): _DAEMON_SET,
    ("extensions", "DaemonSet"): _DAEMON_SET,
    ("apps", "Deployment"): _DEPLOYMENT,
    ("extensions", "Deployment"): _DEPLOYMENT,
    ("apps", "ReplicaSet"): _REPLICA_SET,
    ("extensions", "ReplicaSet"): _REPLICA_SET,
    ("policy", "PodDisruptionBudget"): Kind(timeless(corekinds.pod_disruption_budget)),
    ("batch", "CronJob"): Kind(_ALWAYS_READY),
    ("batch", "Job"): Kind(
        timeless(corekinds.job),
        spec=("parallelism", "completions", "suspend", "selector"),
        status=("succeeded", "active", "failed", "startTime"),
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"): Kind(
        timeless(corekinds.custom_resource_definition)
    ),
}
