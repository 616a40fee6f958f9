"""The cluster a micro-benchmark reads: the one ``--kubeconfig`` names, or the local control plane.

Several benchmarks take the same two options; the local control plane is started when it is not running and
stopped again afterwards (unless ``--keep``), so a benchmark leaves the machine as it found it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from statuswatch.watchlist import ClusterConfig

__all__ = ["benchmark_cluster"]


@contextmanager
def benchmark_cluster(
    kubeconfig: str | None, cluster_dir: str | None, *, keep: bool
) -> Iterator[ClusterConfig]:
    """The configuration of the cluster to measure on, for the duration of the ``with`` block."""
    if kubeconfig:
        yield ClusterConfig.from_kubeconfig(kubeconfig)
        return
    from statuswatch.cluster.local import LocalCluster

    local = LocalCluster(cluster_dir)
    was_up = local.is_up()
    print(f"starting the local control plane in {local.directory} ...", file=sys.stderr)
    local.up()
    try:
        yield ClusterConfig.from_kubeconfig(local.kubeconfig)
    finally:
        if not was_up and not keep:
            local.down()
