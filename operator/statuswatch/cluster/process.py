"""Start, watch and stop the control-plane processes by pid, with logs and failure reports.

Processes are started in their own session so they outlive ``statuswatch cluster up`` (and are not hit
by the terminal's Ctrl-C); what was started is recorded in the cluster directory so that ``down``, in
another process, stops exactly those pids. A recorded pid only counts if ``/proc/<pid>/cmdline`` still
shows the recorded binary, which guards against pid reuse after a reboot.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from statuswatch.cluster.errors import ClusterError

__all__ = ["Proc", "failure", "free_port", "pid_runs", "port_in_use", "run_kubectl", "start", "stop", "tail"]

# Children started by this Python process, so that they can be reaped (a zombie still "exists").
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
# Exit status of reaped children, for error messages.
_EXITED: dict[int, int] = {}


@dataclass
class Proc:
    """One running component: enough to find it again from another process."""

    name: str
    pid: int
    argv: list[str]
    log: str

    def alive(self) -> bool:
        return pid_runs(self.pid, self.argv[0])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (connections in TIME_WAIT do not count, as for Go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _reap(pid: int) -> bool:
    """True if pid was our child and has exited (it is reaped here)."""
    child = _CHILDREN.get(pid)
    if child is None:
        return False
    if child.poll() is None:
        return False
    _EXITED[pid] = child.returncode
    del _CHILDREN[pid]
    return True


def pid_runs(pid: int, binary: str) -> bool:
    if _reap(pid):
        return False
    if pid in _CHILDREN:
        # Our own child that has not exited. (Its cmdline can read empty for a moment right after a
        # vfork-based spawn, while the kernel is still setting up the new program.)
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and cmdline.split(b"\0", 1)[0] == binary.encode()


def tail(path: Path | str, lines: int = 20) -> str:
    """The last lines the latest run wrote (logs are appended to, one header line per start)."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "    (no log)"
    latest = text.rsplit("\n===== ", 1)[-1].splitlines()[1:]
    return "\n".join("    " + line for line in latest[-lines:]) or "    (nothing logged)"


def failure(proc: Proc, what: str) -> ClusterError:
    """An error naming the component, what went wrong, its log file and the end of that log."""
    status = f" (exit status {_EXITED[proc.pid]})" if proc.pid in _EXITED else ""
    return ClusterError(f"{proc.name}: {what}{status}\n  log: {proc.log}\n  last lines:\n{tail(proc.log)}")


def start(name: str, argv: list[str], log: Path, cwd: Path) -> Proc:
    if not Path(argv[0]).is_file():
        raise ClusterError(f"{name}: binary {argv[0]} is missing; run `statuswatch cluster build`")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n===== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
        out.flush()
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[child.pid] = child
    return Proc(name=name, pid=child.pid, argv=argv, log=str(log))


def stop(proc: Proc, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    if not proc.alive():
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not proc.alive():
                return
            time.sleep(0.05)
    raise ClusterError(f"{proc.name} (pid {proc.pid}) survived SIGKILL")


def run_kubectl(
    binary: str | Path,
    kubeconfig: str | Path,
    args: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """kubectl with this kubeconfig; with ``check`` a non-zero exit raises ClusterError with its stderr."""
    argv = [str(binary), f"--kubeconfig={kubeconfig}", *args]
    result = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result
