"""statuswatch: tells people and machines whether a set of Kubernetes resources has finished rolling out.

The package is layered; each layer only imports the ones below it: ``kstatus`` (pure rules) <- ``watchlist``
<- ``polling`` (reading the cluster) <- ``controller`` (the operator) <- ``cli`` (the command).
``durations`` is a pure leaf any layer may use; ``cluster`` builds and runs a local control plane for tests
and the demo and is never imported by the runtime layers. The import-linter contracts in ``.importlinter``
hold these rules.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
