"""Why a status is ``Unknown``: one short sentence per failure class, for messages people read.

The cluster readers raise whatever their transport raises (``ApiError``, ``NoMatchError``, timeouts); the
status readers turn those into ``Unknown`` statuses whose message says what went wrong.
"""

from __future__ import annotations

from statuswatch.kstatus import ComputeError
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import NoMatchError
from statuswatch.watchlist.selector import SelectorError

__all__ = ["describe_error"]


def describe_error(error: BaseException) -> str:
    """A one-line reason for an ``Unknown`` status."""
    if isinstance(error, ComputeError):
        return f"Cannot compute status: {error}"
    if isinstance(error, SelectorError):
        return f"Invalid selector: {error}"
    if isinstance(error, NoMatchError):
        return f"Kind not installed: {error}"
    if isinstance(error, ApiError):
        prefix = "Forbidden" if error.status == 403 else f"API error {error.status}"
        return f"{prefix}: {error.message or error}"
    if isinstance(error, TimeoutError):
        return "Timed out reading the resource"
    name = type(error).__name__
    return f"{name}: {error}" if str(error) else name
