"""``kubectl-statuswatch``: the cluster-facing subcommands as a kubectl plugin (``kubectl statuswatch ...``).

kubectl runs any executable named ``kubectl-<name>`` on PATH for ``kubectl <name> ...`` (krew names plugins
the same way), passing every argument after the plugin's name and its own environment through unchanged.
So the plugin is the ``statuswatch`` command's subcommands that talk to a cluster, under the name kubectl
users type: ``kubectl statuswatch status deploy/web -n shop --context prod``. kubectl's own global flags given
*after* the plugin name reach the plugin, which honours the ones that pick the cluster: ``--kubeconfig``,
``--context`` and ``-n/--namespace`` (and ``$KUBECONFIG``, as kubectl does).
"""

from __future__ import annotations

import click

from statuswatch.cli import SUBCOMMANDS, LazyGroup

__all__ = ["PLUGIN_NAME", "PLUGIN_SUBCOMMANDS", "main", "plugin"]

#: how users call it; click's usage and help lines show this instead of the executable's name
PLUGIN_NAME = "kubectl statuswatch"

#: the subcommands that make sense under kubectl (``run``, ``demo`` and ``cluster`` stay ``statuswatch``'s)
PLUGIN_SUBCOMMANDS: dict[str, str] = {name: SUBCOMMANDS[name] for name in ("status",)}


class _PluginGroup(LazyGroup):
    def subcommands(self) -> dict[str, str]:
        return PLUGIN_SUBCOMMANDS


@click.group(cls=_PluginGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statuswatch")
def plugin() -> None:
    """Tell whether Kubernetes resources have finished rolling out (kstatus rules), as a kubectl plugin.

    \b
    Examples:
      kubectl statuswatch status deploy/web -n shop --until current --timeout 5m
      kubectl statuswatch status -f manifests/ --context prod -o events
    """


def main() -> None:
    """The ``kubectl-statuswatch`` console script."""
    plugin.main(prog_name=PLUGIN_NAME)
