"""The gate between kopf's StatusWatch events and the workers: peering (HA) and sharding decide who serves.

kopf's peering pauses kopf's own watches when another live replica has a higher (or the same) priority, but
the workers started by the :class:`~.supervisor.Supervisor` poll and write on their own: left alone, a paused
replica would keep writing the status its successor writes too. kopf does not tell handlers that it paused,
so the gate reads the same peering object kopf keeps alive, applies kopf's rule (pause while a live peer has
a priority at least ours) and stops every worker while paused. When it resumes it lists the StatusWatches
it serves itself (kopf re-lists on resume too, but possibly before the gate resumed) and starts their workers.
Events of namespaces outside this process's shard (``--shard``) are dropped here as well.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Transport, get_json

from .settings import OperatorSettings
from .statusapi import GROUP, PLURAL, VERSION

__all__ = [
    "PEERING_GROUP",
    "Clock",
    "Gate",
    "Peer",
    "Workers",
    "blocking_peers",
    "own_identity",
    "parse_peers",
    "peering_paths",
]

_log = logging.getLogger("statuswatch.controller")

#: API group and version of kopf's KopfPeering / ClusterKopfPeering resources.
PEERING_GROUP = "kopf.dev/v1"

#: Wall-clock time, aware (peering deadlines are wall-clock times written by other processes).
Clock = Callable[[], datetime.datetime]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def own_identity() -> str:
    """This process's key in the peering object: the pod name (``$POD_ID``, as kopf reads it) or the host
    name, plus the process id and a random suffix so two processes on one host never share a key."""
    base = os.environ.get("POD_ID") or socket.gethostname()
    return f"{base}/{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Peer:
    """One replica's keep-alive record, as kopf writes it into the peering object's status."""

    identity: str
    priority: int
    deadline: datetime.datetime
    """When the record expires: last seen plus lifetime."""


def parse_peers(status: Mapping[str, Any] | None, *, now: datetime.datetime) -> list[Peer]:
    """The records of a peering object's ``status`` (``{identity: {priority, lifetime, lastseen}}``).

    Read as kopf reads them: a missing ``lastseen`` counts as now, a missing lifetime as 60 s. A record that
    cannot be read is skipped (it blocks nobody, as kopf would fail on it rather than pause)."""
    peers: list[Peer] = []
    for identity, record in (status or {}).items():
        if not isinstance(record, Mapping):
            continue
        try:
            priority = int(record.get("priority", 0))
            lifetime = datetime.timedelta(seconds=int(record.get("lifetime", 60)))
            seen_text = record.get("lastseen")
            seen = datetime.datetime.fromisoformat(seen_text) if isinstance(seen_text, str) else now
        except (TypeError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=datetime.UTC)
        peers.append(Peer(str(identity), priority, seen + lifetime))
    return peers


def blocking_peers(
    peers: Iterable[Peer], *, identity: str, priority: int, now: datetime.datetime
) -> list[Peer]:
    """The live peers (other than us) that make this replica pause: kopf pauses for a higher priority and,
    for an equal one, pauses both (it cannot tell which one should serve)."""
    return [
        peer
        for peer in peers
        if peer.identity != identity and peer.deadline > now and peer.priority >= priority
    ]


def peering_paths(name: str, namespaces: Sequence[str], *, clusterwide: bool) -> list[str]:
    """The peering objects kopf keeps for this process: one ClusterKopfPeering when serving all
    namespaces, else one KopfPeering per namespace (any of them pausing pauses the whole operator)."""
    if clusterwide:
        return [f"/apis/{PEERING_GROUP}/clusterkopfpeerings/{name}"]
    return [f"/apis/{PEERING_GROUP}/namespaces/{ns}/kopfpeerings/{name}" for ns in namespaces]


class Workers(Protocol):
    """What the gate drives: the :class:`~.supervisor.Supervisor` (a recorder in tests)."""

    def __len__(self) -> int: ...

    async def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None: ...

    async def close(self) -> None: ...


class Gate:
    """Forwards StatusWatch events to the supervisor while this process may serve them."""

    def __init__(
        self,
        supervisor: Workers,
        client: Transport,
        settings: OperatorSettings,
        *,
        namespaces: Sequence[str],
        identity: str,
        clock: Clock = _utcnow,
    ) -> None:
        self._supervisor = supervisor
        self._client = client
        self._settings = settings
        self._namespaces = tuple(namespaces)
        self.identity = identity
        self._clock = clock
        self._lock = asyncio.Lock()
        self._peering = settings.peering is not None
        self.active = not self._peering
        """Whether this replica serves now (always, without peering)."""
        self.transitions = 0
        """How many times the gate paused or resumed (for logs and tests)."""
        self._last_read: datetime.datetime | None = None
        self._missing_reported = False

    @property
    def interval(self) -> float:
        """Seconds between two reads of the peering objects: a quarter of the lifetime, 1 to 5 s."""
        return min(5.0, max(1.0, self._settings.peering_lifetime / 4))

    async def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """One kopf event of a StatusWatch: handed on if this process serves it now, else dropped."""
        namespace = str((body.get("metadata") or {}).get("namespace") or "")
        if not self._settings.serves(namespace):
            return
        async with self._lock:
            if self.active:
                await self._supervisor.observe(event_type, body)

    async def check(self) -> bool:
        """Read the peering objects once, pause or resume accordingly; returns whether active."""
        if not self._peering:
            return True
        now = self._clock()
        try:
            blockers = await self._blockers(now)
        except Exception as error:  # connection errors, timeouts, API errors: judged below
            lifetime = datetime.timedelta(seconds=self._settings.peering_lifetime)
            if self.active and (self._last_read is None or now - self._last_read > lifetime):
                # The others took us for dead by now and may serve: stop before writing over them.
                _log.warning("peering unreadable for longer than the lifetime (%s): pausing", error)
                await self._set(active=False)
            else:
                _log.warning("could not read the peering object: %s", error)
            return self.active
        first, self._last_read = self._last_read is None, now
        if blockers and (self.active or first):
            _log.info(
                "pausing in favour of %s",
                ", ".join(f"{p.identity} (priority {p.priority})" for p in blockers),
            )
        await self._set(active=not blockers)
        return self.active

    async def run(self) -> None:
        """Check the peering objects until cancelled (nothing to do without peering)."""
        if not self._peering:
            return
        while True:
            try:
                await self.check()
            except Exception:  # the loop must outlive any one check, or the replica stays as it is for good
                _log.exception("peering check failed")
            await asyncio.sleep(self.interval)

    async def _blockers(self, now: datetime.datetime) -> list[Peer]:
        name = self._settings.peering
        assert name is not None
        blockers: list[Peer] = []
        paths = peering_paths(name, self._namespaces, clusterwide=self._settings.all_namespaces)
        for path in paths:
            try:
                found = await get_json(self._client, path)
            except ApiError as error:
                if error.status != 404:
                    raise
                if not self._missing_reported:
                    self._missing_reported = True
                    _log.warning("peering object %s does not exist: replicas cannot see each other", path)
                continue
            peers = parse_peers(found.get("status"), now=now)
            blockers += blocking_peers(
                peers, identity=self.identity, priority=self._settings.priority, now=now
            )
        return blockers

    async def _set(self, *, active: bool) -> None:
        async with self._lock:
            if active == self.active:
                return
            self.active = active
            self.transitions += 1
            if not active:
                _log.info("paused: stopping %d workers", len(self._supervisor))
                await self._supervisor.close()
                return
            try:
                bodies = await self._list()
            except Exception as error:  # connection errors, timeouts, API errors: judged below
                self.active = False  # the next check tries again
                _log.warning("could not list the StatusWatches to serve: %s", error)
                return
            _log.info("active: serving %d StatusWatches", len(bodies))
            for body in bodies:
                await self._supervisor.observe(None, body)

    async def _list(self) -> list[Mapping[str, Any]]:
        """Every StatusWatch this process serves, read from the API server."""
        base = f"/apis/{GROUP}/{VERSION}"
        if self._settings.all_namespaces:
            paths = [f"{base}/{PLURAL}"]
        else:
            paths = [f"{base}/namespaces/{ns}/{PLURAL}" for ns in self._namespaces]
        found: list[Mapping[str, Any]] = []
        for path in paths:
            token = ""
            while True:
                params: dict[str, str | int] = {"limit": 500}
                if token:
                    params["continue"] = token
                page = await get_json(self._client, path, params)
                for item in page.get("items") or []:
                    namespace = str((item.get("metadata") or {}).get("namespace") or "")
                    if self._settings.serves(namespace):
                        found.append({"apiVersion": f"{GROUP}/{VERSION}", "kind": "StatusWatch", **item})
                token = str((page.get("metadata") or {}).get("continue") or "")
                if not token:
                    break
        return found
