"""One way to start the operator as a process, for the tests, the demo and the benchmarks.

``statuswatch run`` with a kubeconfig and a metrics port, its output in a log file, ready once ``/readyz``
answers 200; stopped with SIGTERM, then SIGKILL when it does not stop in time. The e2e tests (one process per
test, HA replicas, the image's venv), ``statuswatch demo`` (a process that outlives the command) and the
benchmarks all start it through :func:`launch_operator`, so the command line and the readiness check are
written once.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.process import free_port

__all__ = ["OperatorLaunch", "launch_operator", "operator_ready", "stop_operator"]


def operator_ready(port: int) -> bool:
    """Whether the operator whose metrics server listens on ``port`` answers ``/readyz`` with 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class OperatorLaunch:
    """A started ``statuswatch run``: its process, metrics port and log file."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_file: Path) -> None:
        self.process = process
        self.port = port
        self.log_file = log_file

    def log(self, limit: int = 6000) -> str:
        """The end of the log (``limit`` characters)."""
        return self.log_file.read_text(errors="replace")[-limit:] if self.log_file.exists() else ""

    def wait_ready(self, timeout: float) -> None:
        """Until ``/readyz`` answers; a :class:`ClusterError` with the log when it exits or times out."""
        deadline = time.monotonic() + timeout
        while not operator_ready(self.port):
            code = self.process.poll()
            if code is not None or time.monotonic() > deadline:
                what = f"exited with {code}" if code is not None else f"was not ready within {timeout:g}s"
                raise ClusterError(f"the operator {what} (log: {self.log_file}):\n{self.log()}")
            time.sleep(0.2)


def launch_operator(
    kubeconfig: Path,
    log_file: Path,
    *args: str,
    namespaces: Sequence[str] = (),
    all_namespaces: bool = False,
    port: int | None = None,
    program: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    detach: bool = False,
    append: bool = False,
    ready_timeout: float | None = 60.0,
) -> OperatorLaunch:
    """Start ``statuswatch run`` and wait until it is ready (unless ``ready_timeout`` is None).

    ``namespaces`` become ``-n`` flags, ``all_namespaces`` ``--all-namespaces`` (neither: whatever ``args``
    say, else the kubeconfig's namespace); ``program`` replaces ``python -m statuswatch`` (an installed
    entry point); ``detach`` starts it in a session of its own, so it outlives its caller; ``append`` keeps
    what the log file already holds.
    """
    port = free_port() if port is None else port
    scope = ["--all-namespaces"] if all_namespaces else [flag for ns in namespaces for flag in ("-n", ns)]
    command = [
        *(program or (sys.executable, "-m", "statuswatch")),
        "run",
        *scope,
        "--kubeconfig",
        str(kubeconfig),
        "--metrics-port",
        str(port),
        *args,
    ]
    with log_file.open("ab" if append else "wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=detach,
        )
    launch = OperatorLaunch(process, port, log_file)
    if ready_timeout is not None:
        try:
            launch.wait_ready(ready_timeout)
        except BaseException:
            stop_operator(process)
            raise
    return launch


def stop_operator(process: subprocess.Popen[bytes], timeout: float = 20) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True when it stopped on SIGTERM (or had already exited)."""
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return True
