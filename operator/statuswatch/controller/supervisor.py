"""The registry of workers: exactly one per live StatusWatch, started, updated and stopped from watch events.

kopf delivers every event of every StatusWatch to one handler, which calls :meth:`Supervisor.observe`; the
supervisor starts a worker on first sight, forwards later versions to it, replaces it when the object was
re-created under the same name (new uid), and stops it on deletion. A worker that ends by itself is
dropped when it found its object gone (the deletion or the new object's event follows), and started again
with back-off when it failed: a bug or an unforeseen answer must not freeze a status until the operator
restarts. This is what lets the operator work
without finalizers: nothing is attached to the object, so it can be deleted even while the operator is down,
and a restarted operator simply starts a worker per object it lists.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.core import GaugeMetricFamily

from statuswatch.aiokit import Delays, stop_tasks

from .metrics import CONTROLLER
from .states import State, state_of
from .worker import Worker, WorkerContext

__all__ = ["Supervisor"]

_Key = tuple[str, str]  # namespace, name


class Supervisor:
    """Owns the workers of one operator process."""

    def __init__(self, context: WorkerContext, *, logger: logging.Logger | None = None) -> None:
        self._ctx = context
        self._log = logger or logging.getLogger("statuswatch.controller")
        self._workers: dict[_Key, Worker] = {}
        # Restarts of failed workers: the pending task per key, and the delays, kept while failures repeat.
        self._restarts: dict[_Key, asyncio.Task[None]] = {}
        self._delays: dict[_Key, Delays] = {}
        # Each StatusWatch's state as last stored (from its own events, our writes included): the
        # time-in-state gauge reads these, so it needs nothing from the workers and holds after a restart.
        self._states: dict[_Key, State] = {}
        context.metrics.add_state("statuswatches", self._gauges)

    def __len__(self) -> int:
        return len(self._workers)

    @property
    def workers(self) -> Mapping[_Key, Worker]:
        return self._workers

    async def observe(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """Handle one watch event of a StatusWatch (``ADDED``/``MODIFIED``/``DELETED``, None when listed)."""
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        uid = str(meta.get("uid") or "")
        worker = self._workers.get(key)
        if event_type == "DELETED" or meta.get("deletionTimestamp"):
            if worker is not None and (not uid or worker.ref.uid == uid):
                await self._stop(key)
            return
        if worker is not None and worker.ref.uid != uid:
            await self._stop(key)  # deleted and re-created while we were not looking
            worker = None
        self._states[key] = state_of(body.get("status"))
        if worker is None:
            self._start(key, body)
            self._log.debug("serving StatusWatch %s/%s", *key)
        else:
            worker.observe(body)

    def _start(self, key: _Key, body: Mapping[str, Any]) -> None:
        worker = Worker(self._ctx, body)
        worker.on_exit = self._ended
        self._workers[key] = worker
        self._update_gauge()
        worker.start()

    def _ended(self, worker: Worker, gone: bool) -> None:
        """A worker ended by itself: forget it if its object is gone, else start it again after a delay."""
        key = (worker.ref.namespace, worker.ref.name)
        if self._workers.get(key) is not worker:
            return
        if gone:
            self._workers.pop(key)
            self._delays.pop(key, None)
            self._states.pop(key, None)
            self._update_gauge()
            return
        delays = self._delays.setdefault(key, Delays(self._ctx.settings.poll_restart_backoff))
        delay = delays.next_delay()
        self._log.warning("worker of StatusWatch %s/%s ended; starting it again in %gs", *key, delay)
        self._restarts[key] = asyncio.get_running_loop().create_task(
            self._restart(key, worker, delay), name=f"restart {key[0]}/{key[1]}"
        )

    async def _restart(self, key: _Key, failed: Worker, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            if self._workers.get(key) is failed:  # not stopped or replaced meanwhile
                self._start(key, failed.body())
        finally:
            if self._restarts.get(key) is asyncio.current_task():
                del self._restarts[key]

    async def _stop(self, key: _Key) -> None:
        worker = self._workers.pop(key, None)
        self._delays.pop(key, None)
        await stop_tasks([self._restarts.pop(key, None)], log=self._log)
        self._states.pop(key, None)
        self._update_gauge()
        if worker is not None:
            await worker.stop()
            self._log.debug("stopped serving StatusWatch %s/%s", *key)

    async def close(self) -> None:
        """Stop every worker (operator shutdown)."""
        for key in list(self._workers):
            await self._stop(key)

    def _update_gauge(self) -> None:
        self._ctx.metrics.active_workers.labels(controller=CONTROLLER).set(len(self._workers))

    def _gauges(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "statuswatch_statuswatches",
            "StatusWatches served by this process, by aggregate status.",
            labels=["aggregate_status"],
        )
        counts = Counter(worker.aggregate or "Pending" for worker in self._workers.values())
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        yield family
        now = self._ctx.now()
        seconds = GaugeMetricFamily(
            "statuswatch_state_seconds",
            "How long each StatusWatch served here has been in its state (Current, InProgress, Unknown, "
            "Stalled, Pending), from its conditions' lastTransitionTime.",
            labels=["namespace", "name", "state"],
        )
        for (namespace, name), state in sorted(self._states.items()):
            if (namespace, name) in self._workers:
                seconds.add_metric([namespace, name, state.name], state.seconds(now))
        yield seconds
