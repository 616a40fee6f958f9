"""``statuswatch demo``: the main job on the embedded default, end to end, in one command.

Starts the local control plane (idempotent), applies the sample application (afresh: an existing ``demo``
namespace is deleted first, so there is a rollout to watch), and runs ``statuswatch status --until current``
on it, live, to the end of the rollout. The cluster is left running.

The samples are package data (``statuswatch.samples``, a link to ``config/samples`` in the source tree, the
one copy kustomize and the docs use), found with importlib.resources so the demo works from a wheel too.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path

import click
from rich.console import Console

from statuswatch.cli.exits import EXIT_FAILED
from statuswatch.cli.printers import OUTPUTS
from statuswatch.durations import parse_duration
from statuswatch.polling import PollUntil

__all__ = ["SAMPLES_PACKAGE", "demo", "sample_manifests"]

#: the data package that holds the sample manifests (``config/samples`` in the source tree)
SAMPLES_PACKAGE = "statuswatch.samples"


@contextlib.contextmanager
def sample_manifests(name: str = "demo") -> Iterator[Path]:
    """A directory on disk holding the sample set ``name`` (e.g. ``demo``), for ``kubectl apply -f``."""
    source = resources.files(SAMPLES_PACKAGE) / name
    if not source.is_dir():
        raise FileNotFoundError(f"no sample set {name!r} in the {SAMPLES_PACKAGE} package data")
    with resources.as_file(source) as path:
        yield path


@click.command("demo")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), help="Local cluster directory."
)
@click.option(
    "--samples",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Manifests to apply and watch [default: the bundled sample app].",
)
@click.option("--timeout", default="5m", show_default=True, help="Give up waiting after this long.")
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="table")
def demo(directory: Path | None, samples: Path | None, timeout: str, output: str) -> None:
    """Start the local control plane, apply the sample app and watch it roll out."""
    try:
        limit = parse_duration(timeout, bare_seconds=True)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--timeout") from error
    with contextlib.ExitStack() as stack:
        if samples is None:
            try:
                samples = stack.enter_context(sample_manifests("demo"))
            except FileNotFoundError as error:  # a broken install: the package data is missing
                Console(stderr=True).print(f"[red]error:[/] {error}")
                sys.exit(EXIT_FAILED)
        code = _demo(directory, samples, limit, output)
    sys.exit(code)


def _demo(directory: Path | None, samples: Path, limit: timedelta, output: str) -> int:
    from statuswatch.cli.status import StatusRequest, run_status
    from statuswatch.cluster import ClusterError, LocalCluster

    console = Console(stderr=True)
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
        return EXIT_FAILED
    console.print(applied.rstrip(), highlight=False)
    request = StatusRequest(
        files=[str(samples)],
        until=PollUntil.CURRENT,
        timeout=limit or None,
        interval=timedelta(seconds=1),
        output=output,
        kubeconfig=str(local.kubeconfig),
    )
    code = asyncio.run(run_status(request))
    console.print(
        f'\nthe cluster keeps running: eval "$(statuswatch cluster env --dir {local.directory})"',
        soft_wrap=True,
    )
    console.print(f"stop it with: statuswatch cluster down --dir {local.directory}", soft_wrap=True)
    return code
