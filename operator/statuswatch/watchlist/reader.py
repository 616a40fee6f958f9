"""``Reader``: every change to chosen built-in object types, cluster-wide, as one async iterator.

The stand-alone face of the shared view (modelled on a Go watchlist reader): pick types with a
:class:`RetrieveType` mask, iterate ``Change(type, object)``. Objects are projected to what status
computation needs (see :func:`statuswatch.kstatus.project`), plus apiVersion and kind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
from datetime import timedelta
from typing import Any

from statuswatch.aiokit import stop_tasks

from .config import ClusterConfig
from .connection import ApiClient, ApiError
from .discovery import NoMatchError, RestMapper
from .store import Change
from .stream import Projector, StreamHealth, StreamSettings
from .transport import Transport
from .view import SharedView, StreamKey, Subscription

__all__ = ["RELIST_MAX", "RELIST_MIN", "TYPES", "Reader", "RetrieveType"]

RELIST_MIN = timedelta(hours=1)
RELIST_MAX = timedelta(days=7)


class RetrieveType(enum.IntFlag):
    """Which object types a :class:`Reader` streams."""

    NODE = enum.auto()
    POD = enum.auto()
    NAMESPACE = enum.auto()
    PERSISTENT_VOLUME = enum.auto()
    RBAC = enum.auto()  #: Roles, ClusterRoles, RoleBindings and ClusterRoleBindings
    SERVICE = enum.auto()
    DEPLOYMENT = enum.auto()
    INGRESS_CONTROLLER = enum.auto()  #: networking.k8s.io Ingresses and IngressClasses
    ENDPOINT = enum.auto()  #: discovery.k8s.io EndpointSlices (core Endpoints are deprecated since 1.33)


_RBAC = "rbac.authorization.k8s.io"
TYPES: dict[RetrieveType, tuple[tuple[str, str], ...]] = {
    RetrieveType.NODE: (("", "Node"),),
    RetrieveType.POD: (("", "Pod"),),
    RetrieveType.NAMESPACE: (("", "Namespace"),),
    RetrieveType.PERSISTENT_VOLUME: (("", "PersistentVolume"),),
    RetrieveType.RBAC: (
        (_RBAC, "Role"),
        (_RBAC, "ClusterRole"),
        (_RBAC, "RoleBinding"),
        (_RBAC, "ClusterRoleBinding"),
    ),
    RetrieveType.SERVICE: (("", "Service"),),
    RetrieveType.DEPLOYMENT: (("apps", "Deployment"),),
    RetrieveType.INGRESS_CONTROLLER: (
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "IngressClass"),
    ),
    RetrieveType.ENDPOINT: (("discovery.k8s.io", "EndpointSlice"),),
}


def _check_relist(relist: timedelta | None) -> float | None:
    if relist is None:
        return None
    if not isinstance(relist, timedelta) or not RELIST_MIN <= relist <= RELIST_MAX:
        raise ValueError(f"relist must be a timedelta between 1 hour and 7 days (got {relist!r})")
    return relist.total_seconds()


class Reader:
    """Streams every change to the chosen types.

    ``config``: the cluster (default: in-cluster service account, else the current kubeconfig).
    ``relist``: also list everything again this often (1 hour to 7 days), reporting objects whose delete
    event was missed as DELETED; default never (a relist still happens after 410 Gone).
    ``filter_size``: per stream, how many recent (uid, resourceVersion) pairs are remembered to drop
    duplicate and replayed events (default 4096).
    ``logger``: where connection trouble and fallbacks are reported.
    ``transport``: an API client to use instead of one made from ``config`` (the reader does not close it),
    e.g. :class:`~.testing.FakeTransport` in tests.

    Use ``async with Reader(...) as reader: async for change in reader: ...``. ``close()`` stops every
    stream and ends the iteration; it may be called more than once. If a type cannot be read at all
    (forbidden, not served), the iteration raises that error.
    """

    def __init__(
        self,
        retrieve: RetrieveType,
        *,
        config: ClusterConfig | None = None,
        relist: timedelta | None = None,
        filter_size: int | None = None,
        logger: logging.Logger | None = None,
        queue_size: int = 1024,
        projector: Projector | None = None,
        settings: StreamSettings | None = None,
        transport: Transport | None = None,
    ):
        retrieve = RetrieveType(retrieve)
        if not retrieve:
            raise ValueError("Reader needs at least one RetrieveType")
        if filter_size is not None and filter_size < 0:
            raise ValueError("filter_size must be >= 0")
        self.retrieve = retrieve
        self.config = config
        self.relist = relist
        self._settings = dataclasses.replace(
            settings or StreamSettings(), relist_interval=_check_relist(relist), filter_size=filter_size
        )
        self._log = logger or logging.getLogger("statuswatch.watchlist")
        self._queue_size = queue_size
        self._projector = projector
        self._transport = transport
        self._client: ApiClient | None = None
        self._view: SharedView | None = None
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._out: asyncio.Queue[Change | BaseException | None] = asyncio.Queue(maxsize=max(1, queue_size))
        self._closed = False

    @property
    def kinds(self) -> list[tuple[str, str]]:
        return [gk for flag, gks in TYPES.items() if flag in self.retrieve for gk in gks]

    @property
    def view(self) -> SharedView:
        if self._view is None:
            raise RuntimeError("the reader is not started")
        return self._view

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("the reader is closed")
        if self._view is not None:
            return
        client: Transport
        if self._transport is not None:
            client = self._transport
        else:
            client = self._client = ApiClient(self.config or ClusterConfig.load())
        self._view = SharedView(
            client,
            RestMapper(client),
            settings=self._settings,
            projector=self._projector,
            queue_size=self._queue_size,
            logger=self._log,
        )
        loop = asyncio.get_running_loop()
        for group, kind in self.kinds:
            sub = await self._view.subscribe(group, kind).open()
            self._subs.append(sub)
            self._tasks.append(loop.create_task(self._pump(sub), name=f"reader pump {kind}"))
            self._tasks.append(loop.create_task(self._watch_errors(sub), name=f"reader sync {kind}"))

    async def _pump(self, sub: Subscription) -> None:
        async for change in sub:
            await self._out.put(change)

    async def _watch_errors(self, sub: Subscription) -> None:
        # A type that cannot be read at all (forbidden, not served) is the caller's problem. Connection
        # trouble is retried by the stream and shows in health(); it does not end the iteration.
        while True:
            try:
                await sub.wait_synced()
                return
            except (ApiError, NoMatchError) as exc:
                if not isinstance(exc, ApiError) or (400 <= exc.status < 500 and exc.status != 429):
                    await self._out.put(exc)
                    return
            except Exception as exc:
                self._log.debug("%r not synced yet: %s", sub, exc)
            await sub.stream.wait_changed()

    async def close(self) -> None:
        """Stop every stream and end the iteration; also when some part fails while stopping."""
        if self._closed:
            return
        self._closed = True
        tasks, self._tasks = self._tasks, []
        try:
            await stop_tasks(tasks, log=self._log)
        finally:
            try:
                if self._view is not None:
                    await self._view.close()
            finally:
                if self._client is not None:
                    await self._client.close()
                while not self._out.empty():
                    self._out.get_nowait()
                self._out.put_nowait(None)

    async def __aenter__(self) -> Reader:
        try:
            await self.start()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> Reader:
        return self

    async def __anext__(self) -> Change:
        if self._view is None and not self._closed:
            await self.start()
        item = await self._out.get()
        if item is None:
            self._out.put_nowait(None)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def synced(self) -> bool:
        return bool(self._subs) and all(s.synced for s in self._subs)

    def health(self) -> dict[StreamKey, StreamHealth]:
        """Every stream's state (see :meth:`SharedView.health`)."""
        return self.view.health() if self._view is not None else {}

    def stats(self) -> dict[str, Any]:
        return {f"{s.key[1]}.{s.key[0] or 'core'}": dict(s.stream.stats) for s in self._subs}
