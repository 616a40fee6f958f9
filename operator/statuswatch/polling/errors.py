"""Why a status is ``Unknown``: one short sentence per failure class, for messages people read.

The cluster readers raise whatever their transport raises (``ApiError``, ``NoMatchError``, timeouts); the
status readers turn those into ``Unknown`` statuses whose message says what went wrong.
"""

from __future__ import annotations

from statuswatch.kstatus import ComputeError

from .selectors import SelectorError

__all__ = ["describe_error"]


def describe_error(error: BaseException) -> str:
    """A one-line reason for an ``Unknown`` status."""
    if isinstance(error, ComputeError):
        return f"Cannot compute status: {error}"
    if isinstance(error, SelectorError):
        return f"Invalid selector: {error}"
    name = type(error).__name__
    if name == "NoMatchError":
        return f"Kind not installed: {error}"
    status = getattr(error, "status", None)
    if status == 403:
        return f"Forbidden: {getattr(error, 'message', None) or error}"
    if isinstance(status, int):
        return f"API error {status}: {getattr(error, 'message', None) or error}"
    if isinstance(error, TimeoutError):
        return "Timed out reading the resource"
    return f"{name}: {error}" if str(error) else name
