"""The exit codes of every ``statuswatch`` subcommand, in one place so scripts can rely on them.

They follow the ``status`` command's long-standing meaning; click's own usage errors already exit with 2.
"""

from __future__ import annotations

__all__ = ["EXIT_DONE", "EXIT_FAILED", "EXIT_TIMEOUT", "EXIT_USAGE"]

#: The goal was reached (or the command did its job).
EXIT_DONE = 0
#: ``--timeout`` ran out before the goal was reached.
EXIT_TIMEOUT = 1
#: Bad arguments, unknown resource types, unreadable manifests (click uses 2 for its own usage errors).
EXIT_USAGE = 2
#: The work itself failed: the cluster is unreachable, polling stopped on an error, a control plane step
#: failed, or a subcommand could not be loaded.
EXIT_FAILED = 3
