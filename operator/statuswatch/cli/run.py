"""``statuswatch run``: the operator, from the command line.

Turns flags into :class:`~statuswatch.controller.settings.OperatorSettings` and hands over to the
controller's runner; nothing about the operator itself lives here.
"""

from __future__ import annotations

import click

from statuswatch.cli.exits import EXIT_FAILED, EXIT_USAGE

__all__ = ["run"]


@click.command("run")
@click.option("-A", "--all-namespaces", is_flag=True, help="Serve StatusWatches in every namespace.")
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Serve StatusWatches in this namespace (repeatable). Default: the kubeconfig context's namespace.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False),
    help="Kubeconfig file (default: in-cluster, then $KUBECONFIG).",
)
@click.option("--context", help="Kubeconfig context (default: the current one).")
@click.option(
    "--allow-cluster-scoped",
    is_flag=True,
    help="Let StatusWatches list cluster-scoped kinds (Namespace, ClusterRole, CRDs); refused otherwise.",
)
@click.option(
    "--cluster-wide-threshold",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="With --all-namespaces: one cluster-wide stream per kind once it is watched in this many "
    "namespaces (0: never).",
)
@click.option("--liveness", metavar="URL", help="kopf liveness endpoint, e.g. http://0.0.0.0:8080/healthz.")
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), help="Serve /metrics, /healthz and /readyz on this port."
)
@click.option(
    "--peering",
    metavar="NAME",
    help="kopf peering object name, for several replicas (one active; needs kopf's peering CRDs and the "
    "KopfPeering NAME in each namespace served, or the ClusterKopfPeering NAME with -A). "
    "Default: standalone.",
)
@click.option(
    "--priority",
    type=int,
    default=0,
    show_default=True,
    help="This replica's peering priority: the highest live one serves; equal priorities pause each other.",
)
@click.option(
    "--peering-lifetime",
    type=click.IntRange(min=2),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="How long a replica's keep-alive is valid: a killed active replica is replaced this long after "
    "its last keep-alive.",
)
@click.option(
    "--shard",
    metavar="I/N",
    help="Serve only the namespaces whose stable hash (SHA-256 of the name, first 8 bytes) modulo N is I "
    "(0 <= I < N); run N instances, one per I, usually with -A.",
)
@click.option(
    "--rules",
    type=click.Choice(("default", "kstatus")),
    default="default",
    show_default=True,
    help="Rules of StatusWatches without spec.rules: the library and conventions above kstatus, or "
    "exactly kstatus (as Flux).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.option("--log-format", type=click.Choice(["plain", "full", "json"]), default="full", show_default=True)
def run(
    all_namespaces: bool,
    namespaces: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    allow_cluster_scoped: bool,
    cluster_wide_threshold: int,
    liveness: str | None,
    metrics_port: int | None,
    peering: str | None,
    priority: int,
    peering_lifetime: int,
    shard: str | None,
    rules: str,
    verbose: bool,
    log_format: str,
) -> None:
    """Run the StatusWatch operator against the kubeconfig's cluster (or in-cluster)."""
    from statuswatch.controller.runner import run as run_operator
    from statuswatch.controller.settings import OperatorSettings, parse_shard
    from statuswatch.watchlist.config import ConfigError

    try:
        settings = OperatorSettings(
            namespaces=namespaces,
            all_namespaces=all_namespaces,
            kubeconfig=kubeconfig,
            context=context,
            allow_cluster_scoped=allow_cluster_scoped,
            cluster_wide_threshold=cluster_wide_threshold or None,
            liveness=liveness,
            metrics_port=metrics_port,
            peering=peering,
            priority=priority,
            peering_lifetime=peering_lifetime,
            shard=parse_shard(shard) if shard is not None else None,
            rules=rules,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    try:
        run_operator(settings, verbose=verbose, log_format=log_format)
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(EXIT_USAGE) from error
    except KeyboardInterrupt:
        raise SystemExit(EXIT_FAILED) from None
