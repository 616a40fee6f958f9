"""The one exception type of the local control plane, so the CLI can print it without a traceback."""

from __future__ import annotations

__all__ = ["ClusterError"]


class ClusterError(RuntimeError):
    """A build or start-up step failed; the message names the step, and the log file where there is one."""
