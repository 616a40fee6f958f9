"""The API server's clock, learnt from the ``Date`` header of its answers.

Deadlines (a StatusWatch's ``timeout``) count from times written into the status, and that status may have
been written by another replica whose clock differs from ours: a writer an hour ahead leaves transition
times in the future, one an hour behind makes a timeout fire at once. Every replica reading "now" from the
one clock they share, the API server's, makes them agree. The header has a resolution of one second, so a
measured skew below :data:`SKEW_THRESHOLD` is taken for noise and the local clock used as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["SKEW_THRESHOLD", "ServerClock"]

#: Skews smaller than this (seconds) are within the Date header's resolution plus a round trip: ignored.
SKEW_THRESHOLD = 2.0


class ServerClock:
    """The local clock, corrected by the skew last measured against the API server's ``Date`` headers."""

    def __init__(self, local: Callable[[], float] = time.time, threshold: float = SKEW_THRESHOLD) -> None:
        self._local = local
        self._threshold = threshold
        self._offset = 0.0
        #: The last measured skew in seconds (server minus local; positive: the server is ahead).
        self.skew = 0.0
        #: How many Date headers were read.
        self.samples = 0

    def observe(self, date: str | None, sent: float, received: float) -> None:
        """One answer's ``Date`` header, for a request sent and answered at these local times (epoch s)."""
        if not date:
            return
        try:
            moment = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            return
        if moment.tzinfo is None:
            return
        # The header is cut to the second: the server's time lay somewhere in that second.
        measured = moment.timestamp() + 0.5 - (sent + received) / 2
        self.skew = measured
        self.samples += 1
        self._offset = measured if abs(measured) >= self._threshold else 0.0

    def local_time(self) -> float:
        """Now as epoch seconds on the local clock (what :meth:`observe` takes)."""
        return self._local()

    def time(self) -> float:
        """Now as epoch seconds, on the server's clock."""
        return self._local() + self._offset

    def now(self) -> datetime:
        """Now as an aware UTC datetime, on the server's clock."""
        return datetime.fromtimestamp(self.time(), UTC)
