"""The local control plane: a real Kubernetes API server with KWOK nodes, built from Go modules.

``statuswatch cluster build`` compiles the pinned binaries once (:mod:`.build`), ``LocalCluster`` runs
them (:mod:`.local`). It is the embedded default cluster and the default backend of the e2e tests.
"""

from __future__ import annotations

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.local import LocalCluster
from statuswatch.cluster.pins import bin_dir, default_cluster_dir

__all__ = ["ClusterError", "LocalCluster", "bin_dir", "default_cluster_dir"]
