"""``statuswatch cluster``: build, up, down, env, status and gomod for the local control plane.

The control plane itself (:mod:`statuswatch.cluster`) has no click in it, so tests and the demo drive it as a
library; this module is only its command-line face.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import click

from statuswatch.cli.exits import EXIT_FAILED
from statuswatch.cluster import pins
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.local import LocalCluster

__all__ = ["build", "cluster", "down", "env", "gomod", "status", "up"]

_DIR_HELP = "cluster directory [default: ${XDG_STATE_HOME:-~/.local/state}/statuswatch/cluster]"
_dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=_DIR_HELP,
)


def _say(text: str) -> None:
    click.echo(text, err=True)


class _Group(click.Group):
    """Prints ClusterError as a plain message (component, port, log) and exits with ``EXIT_FAILED``."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ClusterError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_FAILED)


@click.group(cls=_Group)
def cluster() -> None:
    """The local control plane: etcd, kube-apiserver, controller manager, scheduler and KWOK nodes."""


_real_node_option = click.option(
    "--real-node",
    is_flag=True,
    help="also a real node: kubelet and containerd running real containers (root; runc, CNI plugins)",
)


@cluster.command()
@click.option("--force", is_flag=True, help="rebuild even if the cached binaries are current")
@_real_node_option
def build(force: bool, real_node: bool) -> None:
    """Build the pinned binaries from Go modules (cached; a warm run takes a moment)."""
    from statuswatch.cluster.build import build as run_build
    from statuswatch.cluster.build import build_node

    started = time.monotonic()
    run_build(force=force, say=_say)
    if real_node:
        build_node(force=force, say=_say)
    _say(f"build took {time.monotonic() - started:.1f}s")


@cluster.command()
@_dir_option
@click.option("--nodes", default=3, show_default=True, help="number of KWOK nodes")
@click.option("--timeout", default=180.0, show_default=True, help="seconds to wait for readiness")
@_real_node_option
def up(directory: Path | None, nodes: int, timeout: float, real_node: bool) -> None:
    """Start the cluster (idempotent); returns once the nodes are Ready."""
    local = LocalCluster(directory, nodes=nodes)
    started = time.monotonic()
    local.up(timeout=timeout, say=_say, real_node=real_node)
    _say(f"up in {time.monotonic() - started:.1f}s")
    _say(f'use it: eval "$(statuswatch cluster env --dir {local.directory})"')


@cluster.command()
@_dir_option
def down(directory: Path | None) -> None:
    """Stop the processes that `up` started (data stays); a real node's host changes are undone."""
    local = LocalCluster(directory)
    local.down()
    _say(f"stopped the cluster in {local.directory}")


@cluster.command()
@_dir_option
def env(directory: Path | None) -> None:
    """Print `export` lines for KUBECONFIG and a PATH holding the built kubectl."""
    local = LocalCluster(directory)
    click.echo(f"export KUBECONFIG={shlex.quote(str(local.kubeconfig))}")
    click.echo(f'export PATH={shlex.quote(str(local.bin_dir))}:"$PATH"')


@cluster.command()
@_dir_option
def status(directory: Path | None) -> None:
    """Show the components, their pids and resident memory."""
    local = LocalCluster(directory)
    running = local.running()
    rss = local.rss_bytes()
    for name, proc in running.items():
        click.echo(f"{name:<24} pid {proc.pid:<8} rss {rss.get(name, 0) / 2**20:7.1f} MiB  log {proc.log}")
    from statuswatch.cluster.realnode import RealNode

    for name, proc in RealNode(local).running().items():
        click.echo(f"{name + ' (real node)':<24} pid {proc.pid:<8} log {proc.log}")
    click.echo(f"total rss {sum(rss.values()) / 2**20:.1f} MiB; ready: {local.is_up()}")
    if not local.is_up():
        sys.exit(EXIT_FAILED)


@cluster.command()
def gomod() -> None:
    """Regenerate the wrapper Go modules from the pins (source checkout only; needs the module proxy)."""
    from statuswatch.cluster.build import go_env
    from statuswatch.cluster.gotoolchain import find_go
    from statuswatch.cluster.wrappers import regenerate

    regenerate(find_go(_say), go_env(), _say)
    _say(f"regenerated {pins.GOMOD_DIR}; commit its go.mod, go.sum and tools.go files")
