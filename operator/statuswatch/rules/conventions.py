"""Conventions: what controllers write about readiness that kstatus does not read, for kinds with no rule.

kstatus reads three things of a custom resource (``observedGeneration``, ``Reconciling``/``Stalled`` and
``Ready``) and calls anything else Current: an object with no status at all, a ``Synced=False`` condition, a
``status.phase: Failed``. Controllers in the field say far more than that, in a few recurring shapes, and
each shape here is one small named function of the object, driven by the tables below:

* ``no-status``: no status (or an empty one) means the controller has not reported yet: InProgress. Kinds
  that never get a status (monitoring and routing configuration) are listed in :data:`CONFIG_ONLY_KINDS`,
  or named like configuration (:data:`CONFIG_ONLY_SUFFIXES`: ``*Class``, ``*Template``, ``*Config`` ...),
  and are Current (``config-only``).
* ``conditions``: summary conditions of positive polarity (``Ready``, ``Synced``, ``Available``,
  ``Healthy``, ``Accepted``, ``Programmed`` ..., also by suffix such as ``ControlPlaneReady``) that are
  False or Unknown are not ready: Failed when the reason (or a Cluster API severity ``Error``) says
  failure, InProgress otherwise. Conditions of negative polarity that are True (``Degraded``, ``*Failed``,
  ``*Error``; ``Pending``, ``Progressing``, ``NotReady`` ...) are Failed or InProgress. Route-like objects
  report conditions per parent (``status.parents[].conditions``, Gateway API), policies per ancestor.
* ``stale-condition``: a condition whose own ``observedGeneration`` is older than ``metadata.generation``
  speaks of the previous spec: InProgress (``kubectl wait`` reads it the same way).
* ``phase``/``state``/``health``/...: string fields in a vocabulary (case-insensitive): failed, error,
  degraded ... are Failed; pending, provisioning ... InProgress; running, ready, healthy ... Current;
  other words say nothing.
* ``replicas``: a workload-like kind with ``spec.replicas`` whose ready/available/updated replica counts
  fall short is InProgress.
* ``counts``: a ready count short of the total the status gives beside it (``readyInstances`` of
  ``instances``) is InProgress.
* ``flags``: ``status.ready: false`` (and ``healthy``, ``available``, ``readyToUse``; also the strings
  ``"false"`` and ``"1/3"``) is InProgress.
* ``failure-reason``: ``status.failureReason``/``failureMessage`` set (Cluster API's terminal errors) is
  Failed.

When unsure they prefer InProgress to Failed, and no convention ever makes an object that reports it is
not ready Current: the worst signal wins (see :func:`signals` and :mod:`.decide`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from statuswatch.kstatus import Status

__all__ = [
    "CONFIG_ONLY_KINDS",
    "CONFIG_ONLY_SUFFIXES",
    "CONVENTIONS",
    "COUNT_PAIRS",
    "CURRENT_WORDS",
    "FAILED_WORDS",
    "FAILURE_REASON_PARTS",
    "FLAG_FIELDS",
    "IN_PROGRESS_WORDS",
    "JOB_LIKE_KINDS",
    "JOB_LIKE_SUFFIXES",
    "NEGATIVE_FAILED_SUFFIXES",
    "NEGATIVE_FAILED_TYPES",
    "NEGATIVE_IN_PROGRESS_SUFFIXES",
    "NEGATIVE_IN_PROGRESS_TYPES",
    "POSITIVE_SUFFIXES",
    "POSITIVE_TYPES",
    "REPLICA_FIELDS",
    "STATUS_WORD_FIELDS",
    "Signal",
    "classify_condition_type",
    "classify_word",
    "conditions",
    "config_only",
    "counts",
    "failure_reason",
    "flags",
    "has_no_status",
    "is_config_only",
    "is_failure_reason",
    "is_job_like",
    "no_status",
    "replicas",
    "signals",
    "stale_conditions",
    "status_words",
    "worst",
]

_RANK = {Status.CURRENT: 0, Status.IN_PROGRESS: 1, Status.FAILED: 2}


@dataclass(frozen=True, slots=True)
class Signal:
    """What one convention reads in an object: a status, a CamelCase reason, a message, and its name."""

    status: Status
    reason: str
    message: str
    convention: str

    @property
    def rank(self) -> int:
        return _RANK.get(self.status, 1)


# -- tables ---------------------------------------------------------------------------------------------

#: Kinds that have no status by design (configuration read by another controller), by (group, kind);
#: a group of ``*`` matches any group (Crossplane's ProviderConfigs live in each provider's group).
CONFIG_ONLY_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("monitoring.coreos.com", "ServiceMonitor"),
        ("monitoring.coreos.com", "PodMonitor"),
        ("monitoring.coreos.com", "PrometheusRule"),
        ("monitoring.coreos.com", "Probe"),
        ("monitoring.coreos.com", "ScrapeConfig"),
        ("monitoring.coreos.com", "AlertmanagerConfig"),
        ("networking.istio.io", "VirtualService"),
        ("networking.istio.io", "DestinationRule"),
        ("networking.istio.io", "ServiceEntry"),
        ("networking.istio.io", "Gateway"),
        ("networking.istio.io", "Sidecar"),
        ("networking.istio.io", "EnvoyFilter"),
        ("networking.istio.io", "WorkloadEntry"),
        ("networking.istio.io", "WorkloadGroup"),
        ("networking.istio.io", "ProxyConfig"),
        ("security.istio.io", "AuthorizationPolicy"),
        ("security.istio.io", "PeerAuthentication"),
        ("security.istio.io", "RequestAuthentication"),
        ("telemetry.istio.io", "Telemetry"),
        ("traefik.io", "IngressRoute"),
        ("traefik.io", "IngressRouteTCP"),
        ("traefik.io", "IngressRouteUDP"),
        ("traefik.io", "Middleware"),
        ("traefik.io", "MiddlewareTCP"),
        ("traefik.io", "TLSOption"),
        ("traefik.io", "TLSStore"),
        ("traefik.io", "ServersTransport"),
        ("traefik.io", "TraefikService"),
        ("traefik.containo.us", "IngressRoute"),
        ("traefik.containo.us", "Middleware"),
        ("traefik.containo.us", "TLSOption"),
        ("cilium.io", "CiliumNetworkPolicy"),
        ("cilium.io", "CiliumClusterwideNetworkPolicy"),
        ("crd.projectcalico.org", "NetworkPolicy"),
        ("crd.projectcalico.org", "GlobalNetworkPolicy"),
        ("projectcalico.org", "NetworkPolicy"),
        ("projectcalico.org", "GlobalNetworkPolicy"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("velero.io", "VolumeSnapshotLocation"),
        ("keda.sh", "TriggerAuthentication"),
        ("keda.sh", "ClusterTriggerAuthentication"),
        ("external-secrets.io", "ClusterGenerator"),
        ("generators.external-secrets.io", "Password"),
        ("generators.external-secrets.io", "ECRAuthorizationToken"),
        ("*", "ProviderConfig"),
        ("*", "ProviderConfigUsage"),
        ("*", "ClusterProviderConfig"),
        ("*", "ProviderConfigUsageList"),
        ("opentelemetry.io", "Instrumentation"),
        ("kyverno.io", "PolicyException"),
    }
)

#: Condition types of positive polarity: True is good, False or Unknown is not ready.
POSITIVE_TYPES: frozenset[str] = frozenset(
    {
        "Ready",
        "Synced",
        "Available",
        "Healthy",
        "Established",
        "Accepted",
        "Programmed",
        "Reconciled",
        "ResolvedRefs",
        "Succeeded",
        "Complete",
        "Completed",
        "Provisioned",
        "Initialized",
        "Bound",
        "Valid",
        "Validated",
        "Deployed",
        "Installed",
        "Issued",
        "Online",
        "UpToDate",
        "Applied",
        "ReconcileSuccess",
        "NamesAccepted",
        "Admitted",
    }
)
#: Suffixes that make a type positive (``ControlPlaneReady``, ``ResourcesAvailable``, ``NodeHealthy``).
POSITIVE_SUFFIXES = ("Ready", "Available", "Healthy", "Synced", "Reconciled", "UpToDate", "Provisioned")

#: Condition types of negative polarity whose True means failure.
NEGATIVE_FAILED_TYPES: frozenset[str] = frozenset(
    {"Degraded", "Failed", "Failure", "Error", "ReconcileError", "Stalled", "Invalid", "CrashLooping"}
)
NEGATIVE_FAILED_SUFFIXES = ("Failed", "Failure", "Error", "Errors")

#: Condition types of negative polarity whose True means work is under way (or not done).
NEGATIVE_IN_PROGRESS_TYPES: frozenset[str] = frozenset(
    {
        "Reconciling",
        "Progressing",
        "Pending",
        "Provisioning",
        "Creating",
        "Deleting",
        "Terminating",
        "Updating",
        "Upgrading",
        "Installing",
        "Initializing",
        "Restarting",
        "RollingOut",
        "ScalingUp",
        "ScalingDown",
        "Remediating",
        "Migrating",
        "Resizing",
        "NotReady",
        "Unhealthy",
        "Unavailable",
        "Waiting",
    }
)
NEGATIVE_IN_PROGRESS_SUFFIXES = ("Pending", "Missing", "InProgress", "Progressing", "Unhealthy", "NotReady")

#: Lower-case parts of a reason that say failure (``ReconcileError``, ``CrashLoopBackOff``,
#: ``ProgressDeadlineExceeded``, ``InvalidConfiguration``, ``UnsupportedValue``).
FAILURE_REASON_PARTS = (
    "fail",
    "error",
    "invalid",
    "degraded",
    "crashloop",
    "backoff",
    "denied",
    "forbidden",
    "unauthorized",
    "rejected",
    "exceeded",
    "timeout",
    "timedout",
    "unsupported",
    "incompatible",
    "misconfigur",
    "unrecoverable",
    "broken",
)
#: Reasons of a ``Progressing=True`` condition that mean the progress is over (a Deployment's
#: ``NewReplicaSetAvailable``).
_DONE_PARTS = (
    "available",
    "complete",
    "succeeded",
    "successful",
    "done",
    "finished",
    "healthy",
    "asexpected",
)

#: Status fields (paths under ``status``) that hold one word of a readiness vocabulary.
STATUS_WORD_FIELDS: tuple[tuple[str, ...], ...] = (
    ("phase",),
    ("state",),
    ("status",),
    ("health",),
    ("health", "status"),
    ("healthStatus",),
    ("sync", "status"),
    ("currentState",),
    ("currentPhase",),
    ("applicationState", "state"),  # Spark operator
    ("jobStatus",),  # KubeRay RayJob
    ("jobDeploymentStatus",),
    ("robustness",),  # Longhorn volumes
    ("ceph", "health"),  # Rook
    ("stageStatus",),  # Grafana operator
    ("lastUpdate", "state"),  # Pulumi Kubernetes operator
    ("PostgresClusterStatus",),  # Zalando postgres-operator
)

FAILED_WORDS: frozenset[str] = frozenset(
    {
        "failed",
        "failure",
        "error",
        "errored",
        "degraded",
        "crashloopbackoff",
        "backoff",
        "invalid",
        "unhealthy",
        "red",
        "broken",
        "aborted",
        "crashed",
        "rejected",
        "timedout",
        "lost",
        "faulted",
        "healtherr",
        "submissionfailed",
    }
)
#: Parts that make any other word Failed (``CreateFailed``, ``PartiallyFailed``, ``SyncError``) or
#: InProgress (``UpgradePending``, ``WaitingForPluginOperations``, ``PendingRerun``).
_FAILED_WORD_PARTS = ("fail", "error", "crashloop", "backoff", "invalid", "degraded")
_IN_PROGRESS_WORD_PARTS = (
    "pending",
    "progress",
    "waiting",
    "creating",
    "deleting",
    "updating",
    "installing",
    "provisioning",
    "initializ",
    "starting",
    "upgrading",
    "restoring",
    "finalizing",
    "reconciling",
    "scaling",
    "syncing",
    "migrating",
    "resizing",
    "terminating",
    "bootstrapping",
    "configuring",
)
IN_PROGRESS_WORDS: frozenset[str] = frozenset(
    {
        "pending",
        "provisioning",
        "creating",
        "progressing",
        "deploying",
        "initializing",
        "initialising",
        "updating",
        "upgrading",
        "reconciling",
        "unknown",
        "waiting",
        "starting",
        "installing",
        "scheduling",
        "building",
        "restoring",
        "migrating",
        "scaling",
        "scalingup",
        "scalingdown",
        "resizing",
        "syncing",
        "outofsync",
        "applying",
        "applyingchanges",
        "configuring",
        "bootstrapping",
        "preparing",
        "queued",
        "new",
        "notready",
        "inprogress",
        "processing",
        "deleting",
        "terminating",
        "suspended",
        "paused",
        "missing",
        "yellow",
        "restarting",
        "rollingout",
        "stopping",
        "unavailable",
        "down",
        "offline",
        "notstarted",
        "init",
        "submitted",
        "succeeding",
        "invalidating",
        "installready",
        "replacing",
        "requiresapproval",
        "healthwarn",
        "abnormal",
        "attaching",
        "detaching",
        "rebuilding",
    }
)
CURRENT_WORDS: frozenset[str] = frozenset(
    {
        "running",
        "ready",
        "active",
        "succeeded",
        "success",
        "successful",
        "healthy",
        "bound",
        "available",
        "completed",
        "complete",
        "deployed",
        "online",
        "up",
        "green",
        "established",
        "synced",
        "insync",
        "reconciled",
        "provisioned",
        "done",
        "finished",
        "ok",
        "issued",
        "valid",
        "accepted",
        "installed",
        "uptodate",
        "operational",
        "serving",
        "released",
        "healthok",
        "atlatestknown",
        "attached",
    }
)

REPLICA_FIELDS = ("readyReplicas", "availableReplicas", "updatedReplicas")
FLAG_FIELDS = ("ready", "healthy", "available", "readyToUse")
#: (ready count, total count) pairs that a status gives side by side.
COUNT_PAIRS: tuple[tuple[str, str], ...] = (
    ("readyInstances", "instances"),
    ("readyReplicas", "replicas"),
    ("readyNodes", "nodes"),
    ("readyMembers", "members"),
    ("readyServers", "servers"),
    ("readyPods", "pods"),
)


# -- helpers ---------------------------------------------------------------------------------------------


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _generation(obj: Mapping[str, Any]) -> int | None:
    metadata = obj.get("metadata")
    return _int(metadata.get("generation")) if isinstance(metadata, Mapping) else None


def _normal(word: str) -> str:
    return re.sub(r"[\s_\-]+", "", word).lower()


def is_failure_reason(reason: str) -> bool:
    """Whether a condition reason says failure (``ReconcileError``, ``BackOff``, ``InvalidSpec``)."""
    lowered = _normal(reason)
    if not lowered or re.match(r"no(t)?(error|fail)", lowered):  # NoErrors, NotFailed
        return False
    if re.search(r"(^|[a-z])Err([A-Z]|$)", reason):  # ErrImagePull, ErrRegisterACMEAccount
        return True
    return any(part in lowered for part in FAILURE_REASON_PARTS)


def classify_condition_type(type_: str) -> str | None:
    """``positive``, ``failed`` (negative, True is failure), ``progress`` (negative, True is not done yet)
    or None (a type no convention reads: ``Paused``, ``Active``, ``*Warning`` ...)."""
    if type_ in POSITIVE_TYPES:
        return "positive"
    if type_ in NEGATIVE_FAILED_TYPES:
        return "failed"
    if type_ in NEGATIVE_IN_PROGRESS_TYPES:
        return "progress"
    if type_.startswith("Not") and type_[3:4].isupper():
        return "progress"
    if type_.endswith(NEGATIVE_FAILED_SUFFIXES):
        return "failed"
    if type_.endswith(NEGATIVE_IN_PROGRESS_SUFFIXES):
        return "progress"
    if type_.endswith(POSITIVE_SUFFIXES):
        return "positive"
    return None


def classify_word(word: str, *, job_like: bool = False) -> Status | None:
    """The status a vocabulary word says (case, spaces, dashes and underscores ignored), or None.

    The word lists decide first, then parts of a word; for a job-like kind (``job_like``) a word that
    means "running" is InProgress: the job is not done until it succeeds."""
    normal = _normal(word)
    if not normal:
        return None
    if normal in FAILED_WORDS:
        return Status.FAILED
    if normal in IN_PROGRESS_WORDS:
        return Status.IN_PROGRESS
    if normal in CURRENT_WORDS:
        return Status.IN_PROGRESS if job_like and normal in _RUNNING_WORDS else Status.CURRENT
    if any(part in normal for part in _FAILED_WORD_PARTS):
        return Status.FAILED
    if any(part in normal for part in _IN_PROGRESS_WORD_PARTS):
        return Status.IN_PROGRESS
    first = re.match(r"[A-Za-z]+", word.strip())
    if first is not None and _is_progressive(first.group().lower()):
        return Status.IN_PROGRESS  # "Setting up primary", "Waiting for instances": work under way
    return None


#: Words in -ing that say a thing is serving, not that work is under way.
_SERVING_ING = frozenset({"running", "serving", "existing", "streaming", "listening", "working", "thing"})


def _is_progressive(word: str) -> bool:
    return len(word) > 4 and word.endswith("ing") and word not in _SERVING_ING


#: Words that mean "running", which is done for a service and not yet done for a job.
_RUNNING_WORDS = frozenset({"running", "active", "started", "up"})
#: Kinds that run to completion (a pipeline run, a workflow, a backup): their "Running" is InProgress.
JOB_LIKE_SUFFIXES = ("Job", "Run", "Workflow", "Backup", "Restore", "Migration", "Pipeline", "Task")
JOB_LIKE_KINDS = frozenset({"SparkApplication", "Workflow", "DataUpload", "DataDownload"})


def is_job_like(kind: str) -> bool:
    """Whether a kind runs to completion (``PipelineRun``, ``RayJob``, ``Backup``) rather than serves."""
    return kind in JOB_LIKE_KINDS or kind.endswith(JOB_LIKE_SUFFIXES)


def has_no_status(obj: Mapping[str, Any]) -> bool:
    """No ``status`` at all, a null one or an empty mapping: the controller has said nothing yet."""
    status = obj.get("status")
    return status is None or (isinstance(status, Mapping) and not status)


def _kind_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    kind = obj.get("kind")
    return group, kind if isinstance(kind, str) else ""


#: Kind names that say "configuration read by others" (``GatewayClass``-like classes, templates,
#: parameters, profiles): without a status they are Current, as their controllers write none.
CONFIG_ONLY_SUFFIXES = ("Class", "Template", "Config", "Parameters", "Profile", "Settings")


def is_config_only(obj: Mapping[str, Any]) -> bool:
    group, kind = _kind_key(obj)
    return (
        (group, kind) in CONFIG_ONLY_KINDS
        or ("*", kind) in CONFIG_ONLY_KINDS
        or (kind.endswith(CONFIG_ONLY_SUFFIXES) and kind not in CONFIG_ONLY_SUFFIXES)
    )


# -- conventions -----------------------------------------------------------------------------------------


def config_only(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """A kind that has no status by design, without one: Current."""
    if has_no_status(obj) and is_config_only(obj):
        yield Signal(
            Status.CURRENT,
            "",
            "this kind is configuration read by another controller: no status",
            "config-only",
        )


def no_status(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """No status yet (other than on a configuration-only kind): InProgress."""
    if has_no_status(obj) and not is_config_only(obj):
        yield Signal(
            Status.IN_PROGRESS,
            "NoStatus",
            "no status yet: its controller has not reported on it",
            "no-status",
        )


def _condition_lists(status: Mapping[str, Any]) -> Iterator[tuple[str, Sequence[Any]]]:
    """``(where, conditions)``: the object's own, those per parent (routes) and per ancestor (policies)."""
    own = status.get("conditions")
    if isinstance(own, list):
        yield "", own
    for key in ("parents", "ancestors", "ingress"):  # Gateway API routes and policies, OpenShift routes
        entries = status.get(key)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if isinstance(entry, Mapping) and isinstance(entry.get("conditions"), list):
                ref = entry.get("parentRef") or entry.get("ancestorRef") or {"name": entry.get("routerName")}
                name = ref.get("name") if isinstance(ref, Mapping) else None
                yield f"{key}[{name if isinstance(name, str) and name else index}] ", entry["conditions"]


def _text(entry: Mapping[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _describe(where: str, type_: str, state: str, reason: str, message: str) -> str:
    said = f"{where}{type_}={state}"
    if reason:
        said += f" ({reason})"
    return f"{said}: {message}" if message else said


def conditions(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """Summary conditions read by their polarity (see the module docstring)."""
    status = _status(obj)
    if status is None:
        return
    job_like = is_job_like(_kind_key(obj)[1])
    for where, found in _condition_lists(status):
        for entry in found:
            if not isinstance(entry, Mapping):
                continue
            type_, state = _text(entry, "type"), _text(entry, "status").capitalize()
            kind = classify_condition_type(type_)
            reason, message = _text(entry, "reason"), _text(entry, "message")
            said = _describe(where, type_, state, reason, message)
            if job_like and type_ == "Running" and state == "True":  # a Kubeflow job still running
                yield Signal(Status.IN_PROGRESS, reason or "Running", said, "conditions")
                continue
            if kind is None or state not in ("True", "False", "Unknown"):
                continue
            failure = is_failure_reason(reason) or _text(entry, "severity") == "Error"
            if kind == "positive":
                if state == "False" and failure:
                    yield Signal(Status.FAILED, reason or f"{type_}False", said, "conditions")
                elif state != "True":
                    yield Signal(Status.IN_PROGRESS, reason or f"{type_}{state}", said, "conditions")
                else:
                    yield Signal(Status.CURRENT, "", said, "conditions")
            elif kind == "failed" and state == "True":
                yield Signal(Status.FAILED, reason or type_, said, "conditions")
            elif kind == "progress" and state == "True":
                if type_ == "Progressing" and any(part in reason.lower() for part in _DONE_PARTS):
                    continue
                yield Signal(Status.IN_PROGRESS, reason or type_, said, "conditions")
            elif kind == "progress" and state == "False" and failure:
                # Progressing=False with ProgressDeadlineExceeded: it gave up.
                yield Signal(Status.FAILED, reason, said, "conditions")


def stale_conditions(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """A read condition whose own ``observedGeneration`` is older than the object's generation."""
    generation = _generation(obj)
    status = _status(obj)
    if generation is None or status is None:
        return
    found = status.get("conditions")
    if not isinstance(found, list):
        return
    for entry in found:
        if not isinstance(entry, Mapping):
            continue
        observed = _int(entry.get("observedGeneration"))
        type_ = _text(entry, "type")
        if observed is not None and observed < generation and classify_condition_type(type_) is not None:
            yield Signal(
                Status.IN_PROGRESS,
                "StaleCondition",
                f"{type_} speaks of generation {observed}, but the object is at generation {generation}",
                "stale-condition",
            )
            return


def _word_at(status: Mapping[str, Any], path: tuple[str, ...]) -> str | None:
    value: Any = status
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value if isinstance(value, str) else None


def status_words(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """``status.phase``, ``state``, ``health``, ``health.status`` ... read in the vocabularies."""
    status = _status(obj)
    if status is None:
        return
    job_like = is_job_like(_kind_key(obj)[1])
    for path in STATUS_WORD_FIELDS:
        word = _word_at(status, path)
        if word is None:
            continue
        verdict = classify_word(word, job_like=job_like)
        if verdict is None:
            continue
        name = ".".join(path)
        convention = path[0] if len(path) == 1 else name
        reason = "" if verdict is Status.CURRENT else re.sub(r"[^A-Za-z0-9]", "", word.title()) or "Phase"
        yield Signal(verdict, reason, f"status.{name} is {word!r}", convention)


def replicas(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """A workload-like kind whose ready, available or updated replicas fall short of ``spec.replicas``."""
    spec, status = obj.get("spec"), _status(obj)
    wanted = _int(spec.get("replicas")) if isinstance(spec, Mapping) else None
    if wanted is None or status is None:
        return
    for key in REPLICA_FIELDS:
        have = _int(status.get(key))
        if have is not None and have < wanted:
            label = key.removesuffix("Replicas").capitalize()
            yield Signal(Status.IN_PROGRESS, "LessReplicas", f"{label}: {have}/{wanted}", "replicas")
            return
    total = _int(status.get("replicas"))
    if total is not None and total > wanted:
        yield Signal(Status.IN_PROGRESS, "ExtraPods", f"Pending termination: {total - wanted}", "replicas")


def flags(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """``status.ready: false`` and the like (booleans only)."""
    status = _status(obj)
    if status is None:
        return
    for key in FLAG_FIELDS:
        value = status.get(key)
        if value is False:
            yield Signal(
                Status.IN_PROGRESS, f"Not{key[:1].upper()}{key[1:]}", f"status.{key} is false", "flags"
            )
        elif value is True:
            yield Signal(Status.CURRENT, "", f"status.{key} is true", "flags")
        elif isinstance(value, str) and (said := _flag_text(key, value)) is not None:
            yield said


def _flag_text(key: str, value: str) -> Signal | None:
    text = value.strip().lower()
    if text == "false":
        return Signal(
            Status.IN_PROGRESS, f"Not{key[:1].upper()}{key[1:]}", f"status.{key} is {value!r}", "flags"
        )
    counted = re.fullmatch(r"(\d+)\s*/\s*(\d+)", text)
    if counted is not None and int(counted[1]) < int(counted[2]):
        return Signal(
            Status.IN_PROGRESS, f"Not{key[:1].upper()}{key[1:]}", f"status.{key} is {value!r}", "flags"
        )
    return None


def counts(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """Ready counts the status itself gives short of the total it gives beside them (``readyInstances`` of
    ``instances``, CloudNativePG; ``readyReplicas`` of ``replicas`` where the spec has none)."""
    status = _status(obj)
    if status is None:
        return
    for ready_key, total_key in COUNT_PAIRS:
        ready, total = _int(status.get(ready_key)), _int(status.get(total_key))
        if ready is not None and total is not None and ready < total:
            yield Signal(
                Status.IN_PROGRESS, "LessReady", f"{ready_key}: {ready}/{total} ({total_key})", "counts"
            )
            return


def failure_reason(obj: Mapping[str, Any]) -> Iterator[Signal]:
    """``status.failureReason`` or ``failureMessage`` set: a terminal error (Cluster API's convention)."""
    status = _status(obj)
    if status is None:
        return
    reason, message = status.get("failureReason"), status.get("failureMessage")
    if (isinstance(reason, str) and reason) or (isinstance(message, str) and message):
        said = ": ".join(text for text in (reason, message) if isinstance(text, str) and text)
        shown = re.sub(r"[^A-Za-z0-9]", "", reason.title()) if isinstance(reason, str) and reason else ""
        yield Signal(Status.FAILED, shown or "FailureReported", said, "failure-reason")


#: Every convention, in the order their signals are listed (the worst signal wins, the first among equals).
CONVENTIONS: tuple[Callable[[Mapping[str, Any]], Iterator[Signal]], ...] = (
    config_only,
    no_status,
    failure_reason,
    stale_conditions,
    conditions,
    status_words,
    replicas,
    counts,
    flags,
)


def signals(obj: Mapping[str, Any]) -> list[Signal]:
    """What every convention reads in ``obj``, in :data:`CONVENTIONS` order."""
    return [signal for convention in CONVENTIONS for signal in convention(obj)]


def worst(found: Sequence[Signal]) -> Signal | None:
    """The worst signal (Failed over InProgress over Current), the first one among equals."""
    best: Signal | None = None
    for signal in found:
        if best is None or signal.rank > best.rank:
            best = signal
    return best
