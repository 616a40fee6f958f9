"""``statuswatch demo``: the main job on the embedded default, end to end, in one command.

Starts the local control plane (idempotent), applies the sample application in ``config/samples/demo``
(afresh: an existing ``demo`` namespace is deleted first, so there is a rollout to watch), and runs
``statuswatch status --until current`` on it, live, to the end of the rollout. The cluster is left running.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from statuswatch.polling import PollUntil

__all__ = ["demo"]

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples" / "demo"


@click.command("demo")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Local cluster directory."
)
@click.option(
    "--samples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SAMPLES,
    show_default=True,
    help="Manifests to apply and watch.",
)
@click.option("--timeout", default="5m", show_default=True, help="Give up waiting after this long.")
@click.option("-o", "--output", type=click.Choice(["table", "events", "json"]), default="table")
def demo(directory: Path | None, samples: Path, timeout: str, output: str) -> None:
    """Start the local control plane, apply the sample app and watch it roll out."""
    from statuswatch.cluster.errors import ClusterError
    from statuswatch.cluster.local import LocalCluster
    from statuswatch.status_command import StatusRequest, parse_duration, run_status

    console = Console(stderr=True)
    try:
        seconds = parse_duration(timeout)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--timeout") from error
    local = LocalCluster(directory)
    try:
        with console.status("starting the local control plane…"):
            local.up(say=lambda text: console.log(text))
        namespace = local.kubectl("get", "namespace", "demo", "--ignore-not-found", "-o", "name").stdout
        if namespace.strip():
            with console.status("deleting the previous demo namespace…"):
                local.kubectl("delete", "namespace", "demo", "--wait=true", "--timeout=180s", timeout=200)
        applied = local.kubectl("apply", "-f", str(samples)).stdout
    except ClusterError as error:
        console.print(f"[red]error:[/] {error}")
        sys.exit(3)
    console.print(applied.rstrip(), highlight=False)
    request = StatusRequest(
        files=[str(samples)],
        until=PollUntil.CURRENT,
        timeout=seconds,
        interval=1.0,
        output=output,
        kubeconfig=str(local.kubeconfig),
    )
    code = asyncio.run(run_status(request))
    console.print(
        f'\nthe cluster keeps running: eval "$(statuswatch cluster env --dir {local.directory})"',
        soft_wrap=True,
    )
    console.print(f"stop it with: statuswatch cluster down --dir {local.directory}", soft_wrap=True)
    sys.exit(code)
