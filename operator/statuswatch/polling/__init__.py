"""Poll the kstatus status of many objects as a stream of events (Python port of kstatus's polling package).

    poller = StatusPoller(client, mapper)
    async for event in poller.poll(identifiers, Options(poll_interval=2)):
        ...

Layers inside: ``identifiers`` and ``events`` (plain data), ``statusreaders`` (per-kind judgement, pure but
for reads through a ``ClusterReader``), ``engine`` (the loop), the two cluster readers (``viewreader``: shared
watch view, event-driven; ``directreader``: GET/LIST per cycle), and ``aggregator``/``collector`` for callers
that want one answer. See docs/polling.md.
"""

from .aggregator import aggregate_status
from .clusterreader import GENERATED_KINDS, ClusterReader
from .collector import Observation, PollUntil, StatusCollector, collect
from .engine import ClusterReaderFactory, IdentifierError, Options, StatusPoller
from .events import ErrorEvent, Event, ResourceStatus, ResourceUpdateEvent, SyncEvent
from .identifiers import ObjMetadata
from .statusreaders import (
    DeploymentStatusReader,
    GenericStatusReader,
    ObjectStatusReader,
    PodControllerStatusReader,
    StatusReader,
    default_status_readers,
)

__all__ = [
    "GENERATED_KINDS",
    "ClusterReader",
    "ClusterReaderFactory",
    "DeploymentStatusReader",
    "ErrorEvent",
    "Event",
    "GenericStatusReader",
    "IdentifierError",
    "ObjMetadata",
    "ObjectStatusReader",
    "Observation",
    "Options",
    "PodControllerStatusReader",
    "PollUntil",
    "ResourceStatus",
    "ResourceUpdateEvent",
    "StatusCollector",
    "StatusPoller",
    "StatusReader",
    "SyncEvent",
    "aggregate_status",
    "collect",
    "default_status_readers",
]
