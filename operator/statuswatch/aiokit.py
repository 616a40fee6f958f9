"""The few asyncio moves every layer makes, written once: stop tasks, close async iterators, back off.

Stopping a task looks like two lines (``task.cancel(); await task``) but has three traps: awaiting a cancelled
task raises the same ``CancelledError`` as the caller's own cancellation (so a stop can swallow the caller's
cancel, or pass on the task's), a task that failed leaves its exception unretrieved, and a stop interrupted
half-way leaves the remaining tasks running. :func:`stop_tasks` gets all three right; :func:`aclose` closes an
async iterator that may not have ``aclose``. The retry policy lives here too: :class:`Delays` steps through a
configured sequence of delays (the operator's poll restarts and status writes), :class:`Backoff` is jittered
exponential back-off (watch reconnects). A leaf: it imports nothing from statuswatch, so any layer may use it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

__all__ = ["Backoff", "Delays", "aclose", "stop_tasks"]

_log = logging.getLogger("statuswatch")
_Log = logging.Logger | logging.LoggerAdapter[Any]


async def stop_tasks(tasks: Iterable[asyncio.Future[Any] | None], *, log: _Log | None = None) -> None:
    """Cancel ``tasks`` (None entries are skipped) and wait until every one has finished.

    Never raises but for the caller's own cancellation: a task's failure is logged (on ``log``), its
    cancellation is expected. When the caller is cancelled while it waits, every task has been asked to stop
    already, and the caller's ``CancelledError`` goes on at once.
    """
    pending = [task for task in tasks if task is not None]
    for task in pending:
        task.cancel()
    if not pending:
        return
    # asyncio.wait never raises the tasks' CancelledError, only the caller's own.
    await asyncio.wait(pending)
    for task in pending:
        if not task.cancelled() and task.exception() is not None:
            name = task.get_name() if isinstance(task, asyncio.Task) else repr(task)
            (log or _log).error("%s failed", name, exc_info=task.exception())


async def aclose(iterator: AsyncIterator[Any], *, log: _Log | None = None) -> None:
    """Close an async iterator (a generator, a stream) if it can be closed; a failure to close is logged."""
    close = getattr(iterator, "aclose", None)
    if close is None:
        return
    try:
        await close()
    except Exception:
        (log or _log).debug("closing %r failed", iterator, exc_info=True)


class Delays:
    """Retry delays from a configured sequence: each attempt takes the next, the last one repeats.

    One instance per thing that retries, kept across its attempts (a fresh one starts at the first delay
    again, which is what :meth:`reset` is for, once an attempt has succeeded).
    """

    __slots__ = ("_index", "_sequence")

    def __init__(self, sequence: Sequence[float]) -> None:
        if not sequence:
            raise ValueError("Delays needs at least one delay")
        self._sequence = tuple(float(delay) for delay in sequence)
        self._index = 0

    def next_delay(self) -> float:
        delay = self._sequence[min(self._index, len(self._sequence) - 1)]
        self._index += 1
        return delay

    def reset(self) -> None:
        self._index = 0

    async def sleep(self) -> float:
        """Sleep the next delay; returns how long that was."""
        delay = self.next_delay()
        await asyncio.sleep(delay)
        return delay


class Backoff:
    """Jittered exponential back-off: each delay is between half and the whole of the current ceiling."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None):
        self.initial = initial
        self.maximum = maximum
        self._attempt = 0
        self._rng = rng or random.Random()

    def reset(self) -> None:
        self._attempt = 0

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        return min(self.maximum, self.initial * 2.0 ** min(self._attempt, 60))

    def next_delay(self) -> float:
        ceiling = self.ceiling()
        self._attempt += 1
        return ceiling / 2 + self._rng.random() * ceiling / 2

    async def sleep(self) -> float:
        """Sleep the next delay; returns how long that was."""
        delay = self.next_delay()
        await asyncio.sleep(delay)
        return delay
