"""Why a status is ``Unknown``: one short sentence per failure class, for messages people read.

The cluster readers raise whatever their transport raises (``ApiError``, ``NoMatchError``, timeouts) or one
of this package's stream errors; the status readers turn those into ``Unknown`` statuses whose message says
what went wrong. Which failures count as permanent (no point waiting for them to heal) is decided here too,
so the staleness rule and the messages agree.

A message stays the same while its cause lasts: the engine reports a status again whenever its message
changes, and the operator writes it. A "failing for 42s" that ticked up every cycle would turn each poll
interval of an outage into an event and a status write per StatusWatch, so the duration is left to
``StreamFailingError.seconds`` and the message names the threshold that was crossed instead.
"""

from __future__ import annotations

from statuswatch.kstatus import ComputeError
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import NoMatchError
from statuswatch.watchlist.selector import SelectorError

from .errors import IdentifierError, NotSyncedError, StreamFailingError, UnreadableObjectError

__all__ = ["describe_error", "is_permanent"]

# Unauthorized, Forbidden, Not Found: a retry will not fix these by itself within a poll interval.
_PERMANENT_STATUSES = frozenset({401, 403, 404})


def is_permanent(error: BaseException) -> bool:
    """An authorization or not-found class failure (401, 403, 404, kind not installed)."""
    if isinstance(error, NoMatchError):
        return True
    return isinstance(error, ApiError) and error.status in _PERMANENT_STATUSES


def describe_error(error: BaseException) -> str:
    """A one-line reason for an ``Unknown`` status."""
    if isinstance(error, StreamFailingError):
        duration = f" for over {error.grace:.0f}s" if error.grace is not None else ""
        return f"watch failing{duration}: {describe_error(error.cause)}"
    if isinstance(error, NotSyncedError):
        cause = describe_error(error.cause) if error.cause is not None else "initial list not complete"
        return f"not synced yet: {error.stream}: {cause}"
    if isinstance(error, UnreadableObjectError):
        return f"latest version unreadable in the watch: {_one_line(error.why)}"
    if isinstance(error, IdentifierError):
        return f"Invalid identifier: {error}"
    if isinstance(error, ComputeError):
        return f"Cannot compute status: {error}"
    if isinstance(error, SelectorError):
        return f"Invalid selector: {error}"
    if isinstance(error, NoMatchError):
        return f"Kind not installed: {error}"
    if isinstance(error, ApiError):
        prefix = "Forbidden" if error.status == 403 else f"API error {error.status}"
        return f"{prefix}: {_one_line(error.message or str(error))}"
    if isinstance(error, TimeoutError):
        return "Timed out reading the resource"
    name = type(error).__name__
    return f"{name}: {_one_line(str(error))}" if str(error) else name


def _one_line(text: str) -> str:
    """Plain-text error bodies ("404 page not found\\n") end in a newline; a reason is one line."""
    return " ".join(text.split())
