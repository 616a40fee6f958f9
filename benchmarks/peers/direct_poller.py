"""statuswatch's polling engine with direct GETs (``use_cache=False``), as a process of its own.

    python -m benchmarks.peers.direct_poller --kubeconfig K --ids IDS.json [--interval 5]

This is the peer "kstatus's non-cached path" of ``benchmarks.scale``: every poll cycle reads each identifier
(and the ReplicaSets and Pods of Deployments) with GET/LIST requests. It prints the same JSON lines as the
Go harness (``start``, ``update``, ``synced``, ``aggregate``, ``error``) so that the benchmark reads both
the same way; its API requests are counted by the API server under the user of ``K``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from statuswatch.kstatus import Status, aggregate
from statuswatch.polling import ErrorEvent, ObjMetadata, Options, ResourceUpdateEvent, StatusPoller, SyncEvent
from statuswatch.watchlist import ApiClient, ClusterConfig, RestMapper

__all__ = ["main", "poll"]


def _emit(line_type: str, **fields: Any) -> None:
    print(json.dumps({"t": time.time(), "type": line_type, **fields}), flush=True)


async def poll(kubeconfig: Path, ids: list[ObjMetadata], interval: float) -> None:
    """Poll ``ids`` until cancelled, printing one JSON line per event."""
    client = ApiClient(ClusterConfig.from_kubeconfig(kubeconfig), user_agent="statuswatch-direct-benchmark")
    async with client:
        poller = StatusPoller(client, RestMapper(client))
        latest: dict[ObjMetadata, Status] = {}
        synced = False
        current: Status | None = None
        _emit("start", count=len(ids))
        async for event in poller.poll(ids, Options(poll_interval=interval, use_cache=False)):
            if isinstance(event, ErrorEvent):
                _emit("error", message=str(event.error))
                return
            if isinstance(event, SyncEvent):
                synced = True
                _emit("synced", count=len(latest))
            elif isinstance(event, ResourceUpdateEvent):
                resource = event.resource
                ident = resource.identifier
                latest[ident] = resource.status
                _emit(
                    "update",
                    namespace=ident.namespace,
                    kind=ident.kind,
                    name=ident.name,
                    status=str(resource.status.value),
                    message=resource.message,
                )
            if synced:
                now = aggregate(latest.values())
                if now != current:
                    current = now
                    _emit("aggregate", status=str(now.value), count=len(latest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--ids", type=Path, required=True, help="JSON list of {group, kind, namespace, name}")
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args(argv)
    ids = [
        ObjMetadata(i["group"], i["kind"], i["namespace"], i["name"])
        for i in json.loads(args.ids.read_text())
    ]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(poll(args.kubeconfig, ids, args.interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
