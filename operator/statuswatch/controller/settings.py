"""How one operator process is configured: every knob of ``statuswatch run`` in one frozen record.

The command line builds it, the runner and the workers read it; nothing else reads flags or the environment.
Kept pure (no kopf, no client) so tests can build settings from plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OperatorSettings"]


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
    """This replica's peering priority (the highest one serves)."""

    write_concurrency: int = 8
    """Status writes and Events in flight at once. Each one in flight may hold an HTTPS connection (with
    its buffers) in the client's pool, so a burst of changes must not open one per StatusWatch."""

    write_retry: tuple[float, ...] = field(default=(0.5, 1.0, 2.0, 5.0, 10.0, 30.0))
    """Delays between failed status writes; the last one repeats."""

    poll_restart_backoff: tuple[float, ...] = field(default=(1.0, 2.0, 5.0, 10.0, 30.0))
    """Delays before a poll that ended with an error is started again; the last one repeats."""

    def __post_init__(self) -> None:
        if self.all_namespaces and self.namespaces:
            raise ValueError("use either --all-namespaces or --namespace, not both")
        if self.write_concurrency < 1:
            raise ValueError("write_concurrency must be at least 1")
        if self.cluster_wide_threshold is not None and self.cluster_wide_threshold < 1:
            raise ValueError("cluster_wide_threshold must be at least 1")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise ValueError(f"metrics port {self.metrics_port} is out of range")

    @property
    def view_threshold(self) -> int | None:
        """The shared view's cluster-wide threshold for this run (only when serving all namespaces)."""
        return self.cluster_wide_threshold if self.all_namespaces else None
