"""How one operator process is configured: every knob of ``statuswatch run`` in one frozen record.

The command line builds it, the runner and the workers read it; nothing else reads flags or the environment.
Kept pure (no kopf, no client) so tests can build settings from plain values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["OperatorSettings", "parse_shard", "shard_of"]


def shard_of(namespace: str, count: int) -> int:
    """The shard (``0 <= shard < count``) serving ``namespace``: the first 8 bytes of the SHA-256 of its
    name, big-endian, modulo ``count``. Stable across processes, versions and machines (Python's ``hash()``
    is salted per process), so every instance of a sharded deployment agrees without talking to the others:
    ``printf %s NAMESPACE | sha256sum`` gives the same answer from a shell (first 16 hex digits)."""
    if count < 1:
        raise ValueError("the shard count must be at least 1")
    digest = hashlib.sha256(namespace.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (instance ``I`` of ``N``, counted from 0) as ``(I, N)``; ValueError when malformed."""
    index, slash, count = text.partition("/")
    try:
        if not slash:
            raise ValueError
        shard = (int(index), int(count))
    except ValueError:
        raise ValueError(f"shard {text!r} is not INDEX/COUNT, e.g. 0/2") from None
    if not 0 <= shard[0] < shard[1]:
        raise ValueError(f"shard {text!r}: the index must be at least 0 and below the count")
    return shard


@dataclass(frozen=True)
class OperatorSettings:
    """Settings of one ``statuswatch run`` process."""

    namespaces: tuple[str, ...] = ()
    """Serve StatusWatches in these namespaces only. Empty together with ``all_namespaces`` False means the
    namespace of the kubeconfig's current context."""

    all_namespaces: bool = False
    """Serve StatusWatches in every namespace (needs cluster-wide RBAC)."""

    kubeconfig: str | None = None
    """Kubeconfig file; default: in-cluster service account, else ``$KUBECONFIG`` / ``~/.kube/config``."""

    context: str | None = None
    """Kubeconfig context; default: the current one."""

    allow_cluster_scoped: bool = False
    """Let StatusWatches list cluster-scoped kinds (Namespace, ClusterRole, CRDs). Off by default, since a
    namespaced StatusWatch must not learn about objects outside its namespace."""

    cluster_wide_threshold: int | None = 3
    """With ``all_namespaces``: once a kind is watched in this many namespaces, one cluster-wide stream
    serves them all. ``None`` keeps one stream per namespace. Ignored for namespace-restricted runs."""

    liveness: str | None = None
    """kopf's liveness endpoint, e.g. ``http://0.0.0.0:8080/healthz``."""

    metrics_port: int | None = None
    """Serve ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz`` on this port (all interfaces)."""

    metrics_host: str = "0.0.0.0"
    """Interface the metrics server listens on."""

    peering: str | None = None
    """kopf peering object name for several replicas (one active); ``None`` runs standalone."""

    priority: int = 0
    """This replica's peering priority (the highest one serves; equal priorities pause each other)."""

    peering_lifetime: int = 60
    """Seconds a replica's peering keep-alive stays valid. A replica killed without notice is taken for dead
    this long after its last keep-alive, which bounds the fail-over time; keep-alives are sent 5-10 s
    before it runs out (at least every second)."""

    shard: tuple[int, int] | None = None
    """``(index, count)``: serve only the namespaces whose :func:`shard_of` is ``index``. ``None`` serves
    every namespace this process watches."""

    write_concurrency: int = 8
    """Status writes and Events in flight at once. Each one in flight may hold an HTTPS connection (with
    its buffers) in the client's pool, so a burst of changes must not open one per StatusWatch."""

    write_retry: tuple[float, ...] = field(default=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0))
    """Delays between failed status writes; the last one repeats."""

    poll_restart_backoff: tuple[float, ...] = field(default=(1.0, 2.0, 5.0, 10.0, 30.0))
    """Delays before a poll that ended with an error is started again; the last one repeats."""

    restart_grace: float = 120.0
    """After an operator restart, how long a status already written for the current generation stands
    while members still read "not synced yet" (a slow initial list), before those are written Unknown."""

    rules: str = "default"
    """The rules of StatusWatches that set no ``spec.rules``: ``default`` (the library and conventions
    above kstatus) or ``kstatus`` (exactly kstatus, as Flux)."""

    def __post_init__(self) -> None:
        if self.all_namespaces and self.namespaces:
            raise ValueError("use either --all-namespaces or --namespace, not both")
        if self.rules not in ("default", "kstatus"):
            raise ValueError(f"rules must be default or kstatus, not {self.rules!r}")
        if self.write_concurrency < 1:
            raise ValueError("write_concurrency must be at least 1")
        if self.cluster_wide_threshold is not None and self.cluster_wide_threshold < 1:
            raise ValueError("cluster_wide_threshold must be at least 1")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics port {self.metrics_port} is out of range")
        if self.peering_lifetime < 2:
            raise ValueError("peering_lifetime must be at least 2 seconds")
        if self.shard is not None and not 0 <= self.shard[0] < self.shard[1]:
            raise ValueError(f"shard {self.shard[0]}/{self.shard[1]}: the index must be in 0..count-1")

    def serves(self, namespace: str) -> bool:
        """Whether this process serves StatusWatches in ``namespace`` (its shard, when sharded)."""
        return self.shard is None or shard_of(namespace, self.shard[1]) == self.shard[0]

    @property
    def view_threshold(self) -> int | None:
        """The shared view's cluster-wide threshold for this run (only when serving all namespaces)."""
        return self.cluster_wide_threshold if self.all_namespaces else None
