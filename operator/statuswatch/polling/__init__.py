"""Poll the kstatus status of many objects as a stream of events (Python port of kstatus's polling package).

    poller = StatusPoller(client, mapper)
    async for event in poller.poll(identifiers, Options(poll_interval=2)):
        ...

Layers inside: ``identifiers`` and ``events`` (plain data), ``statusreaders`` (per-kind judgement, pure but
for reads through a ``ClusterReader``), ``engine`` (the loop), the two cluster readers (``viewreader``: shared
watch view, event-driven, through the per-view ``router``; ``directreader``: GET/LIST per cycle),
``staleness`` (when the view may answer), ``errors`` and ``reasons`` (what went wrong, in words), and
``collector`` for callers that want one answer. Fakes for tests: ``statuswatch.polling.testing``. See
docs/polling.md.
"""

from .clusterreader import GENERATED_KINDS, ClusterReader
from .collector import Observation, PollUntil, StatusCollector, aggregate_status, collect
from .directreader import DirectClusterReader
from .engine import ClusterReaderFactory, Options, StatusPoller
from .errors import IdentifierError, NotSyncedError, StreamFailingError, UnreadableObjectError
from .events import ErrorEvent, Event, ResourceStatus, ResourceUpdateEvent, SyncEvent, Why
from .identifiers import ObjMetadata
from .reasons import describe_error
from .router import ChangeListener, HealthListener, SubKey, View, ViewRouter, ViewSubscription, router_for
from .staleness import grace_for, stream_verdict
from .statusreaders import (
    DeploymentStatusReader,
    GenericStatusReader,
    ObjectStatusReader,
    PodControllerStatusReader,
    RulesStatusReader,
    StatusReader,
    default_status_readers,
)
from .viewreader import ViewClusterReader

__all__ = [
    "GENERATED_KINDS",
    "ChangeListener",
    "ClusterReader",
    "ClusterReaderFactory",
    "DeploymentStatusReader",
    "DirectClusterReader",
    "ErrorEvent",
    "Event",
    "GenericStatusReader",
    "HealthListener",
    "IdentifierError",
    "NotSyncedError",
    "ObjMetadata",
    "ObjectStatusReader",
    "Observation",
    "Options",
    "PodControllerStatusReader",
    "PollUntil",
    "ResourceStatus",
    "ResourceUpdateEvent",
    "RulesStatusReader",
    "StatusCollector",
    "StatusPoller",
    "StatusReader",
    "StreamFailingError",
    "SubKey",
    "SyncEvent",
    "UnreadableObjectError",
    "View",
    "ViewClusterReader",
    "ViewRouter",
    "ViewSubscription",
    "Why",
    "aggregate_status",
    "collect",
    "default_status_readers",
    "describe_error",
    "grace_for",
    "router_for",
    "stream_verdict",
]
