"""``statuswatch status``: watch resources roll out from the terminal (kstatus's status command).

Resources come from manifests (``-f``) or ``kind/name`` arguments; the polling engine streams their status
and a printer (:mod:`statuswatch.cli.printers`) shows it: a live table (plain lines when stdout is not a
terminal), one line per change, or one JSON object per change. ``--until`` picks when to stop, ``--timeout``
how long to wait. Exit codes are those of :mod:`statuswatch.cli.exits`: done, timed out (with what was still
not ready), usage error, or polling failed.

Every printer shows why a resource is not ready (``ResourceStatus.why``); the command turns on Warning
Events as causes (one Event stream per namespace it watches). ``--health-checks FILE`` adds Flux-style CEL
rules (:mod:`statuswatch.rules.healthchecks`) that decide the status of the kinds they name; custom kinds
are decided by :func:`statuswatch.rules.decide` (the library, the conventions), or by kstatus alone with
``--rules kstatus``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

import click
from rich.console import Console

from statuswatch.cli.exits import EXIT_DONE, EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE
from statuswatch.cli.printers import OUTPUTS, make_printer
from statuswatch.durations import parse_duration
from statuswatch.polling import (
    ObjMetadata,
    Options,
    PollUntil,
    StatusCollector,
    StatusPoller,
    StatusReader,
    collect,
    default_status_readers,
)
from statuswatch.polling.healthchecks import HealthCheck, HealthCheckError, load_health_checks
from statuswatch.polling.manifests import ManifestError, load_objects
from statuswatch.polling.statusreaders import RulesStatusReader
from statuswatch.rules import MODES, Mode, RuleSet
from statuswatch.watchlist.discovery import ResourceType, UnknownResourceError

__all__ = [
    "KindFinder",
    "StatusRequest",
    "UsageError",
    "resolve_identifiers",
    "run_status",
    "status",
    "status_readers",
]


class KindFinder(Protocol):
    """What naming resources needs from discovery (``RestMapper`` has both)."""

    async def resolve(self, group: str, kind: str) -> ResourceType: ...
    async def find(self, name: str) -> ResourceType: ...


@dataclass(frozen=True)
class StatusRequest:
    """Everything ``run_status`` needs; the click command and ``statuswatch demo`` both build one."""

    resources: Sequence[str] = ()
    files: Sequence[str] = ()
    namespace: str | None = None
    until: PollUntil = PollUntil.KNOWN
    #: give up after this long; None waits for ever
    timeout: timedelta | None = None
    interval: timedelta = timedelta(seconds=2)
    output: str = "table"
    kubeconfig: str | None = None
    #: the kubeconfig context to use (default: its current-context)
    context: str | None = None
    use_cache: bool = True
    #: a YAML file of Flux-style CEL health checks
    health_checks: str | None = None
    #: ``default`` (the library and conventions above kstatus) or ``kstatus`` (exactly kstatus)
    rules: str = "default"


class UsageError(Exception):
    """A command-line argument that cannot name a resource."""


async def resolve_identifiers(
    request: StatusRequest, mapper: KindFinder, default_namespace: str
) -> list[ObjMetadata]:
    """Identifiers from ``-f`` manifests and ``kind/name`` arguments, namespaces filled in by scope.

    Kind names are resolved as kubectl does (``deploy``, ``deployments.apps``, ``Deployment``) by the mapper.
    """
    namespace = request.namespace or default_namespace
    identifiers: list[ObjMetadata] = []
    for obj in load_objects(request.files):
        ident = ObjMetadata.from_object(obj)
        if ident.namespace:
            identifiers.append(ident)
            continue
        try:
            namespaced = (await mapper.resolve(ident.group, ident.kind)).namespaced
        except LookupError:
            namespaced = True  # not installed yet (a CRD in the same manifests): assume namespaced
        identifiers.append(ObjMetadata(ident.group, ident.kind, namespace if namespaced else "", ident.name))
    for argument in request.resources:
        kind_text, slash, name = argument.partition("/")
        if not slash or not kind_text or not name:
            raise UsageError(f"{argument!r}: expected KIND/NAME (e.g. deployment/web, deploy.apps/web)")
        kind = await mapper.find(kind_text)
        identifiers.append(ObjMetadata(kind.group, kind.kind, namespace if kind.namespaced else "", name))
    return list(dict.fromkeys(identifiers))


def status_readers(request: StatusRequest) -> list[StatusReader]:
    """The readers the command polls with: the request's own rules first (health checks, ``--rules
    kstatus``), then the built-in ones with Warning Events as causes. Raises ``UsageError`` for a
    health-checks file that cannot be used."""
    readers: list[StatusReader] = []
    checks: list[HealthCheck] = []
    if request.health_checks is not None:
        try:
            checks = load_health_checks(request.health_checks)
        except (HealthCheckError, OSError) as error:
            raise UsageError(f"--health-checks {request.health_checks}: {error}") from None
    mode: Mode = "kstatus" if request.rules == "kstatus" else "default"
    if checks or mode == "kstatus":
        readers.append(RulesStatusReader(events=True, rules=RuleSet(tuple(checks), mode=mode)))
    return [*readers, *default_status_readers(events=True)]


async def run_status(request: StatusRequest, console: Console | None = None) -> int:
    """Poll, print and return the exit code."""
    from statuswatch.watchlist import ApiClient, ClusterConfig, ConfigError, RestMapper

    console = console or Console()
    errors = Console(stderr=True)
    try:
        readers = status_readers(request)
    except UsageError as error:
        errors.print(f"[red]error:[/] {error}", highlight=False)
        return EXIT_USAGE
    try:
        config = ClusterConfig.load(request.kubeconfig, request.context)
    except (ConfigError, OSError) as error:
        errors.print(f"[red]error:[/] {error}")
        return EXIT_FAILED
    async with ApiClient(config) as client:
        mapper = RestMapper(client)
        try:
            identifiers = await resolve_identifiers(request, mapper, config.namespace)
        except (ManifestError, UnknownResourceError, UsageError) as error:
            errors.print(f"[red]error:[/] {error}")
            return EXIT_USAGE
        except Exception as error:  # discovery failed: the cluster is unreachable or refuses us
            errors.print(f"[red]error:[/] cannot reach the cluster: {error}")
            return EXIT_FAILED
        if not identifiers:
            errors.print("[red]error:[/] no resources given: pass KIND/NAME arguments or -f FILE|DIR|-")
            return EXIT_USAGE
        printer = make_printer(request.output, console, errors, until=request.until, timeout=request.timeout)
        collector = StatusCollector(identifiers)
        poller = StatusPoller(client, mapper, status_readers=readers)
        stream = poller.poll(
            identifiers,
            Options(poll_interval=request.interval.total_seconds(), use_cache=request.use_cache),
        )
        timed_out = False
        with printer:
            try:
                limit = None if request.timeout is None else request.timeout.total_seconds()
                async with asyncio.timeout(limit):
                    await collect(stream, collector, request.until, observer=printer.on_event)
            except TimeoutError:
                timed_out = True
            printer.finish(collector, timed_out)
    if collector.error is not None:
        return EXIT_FAILED
    if timed_out and request.until is not PollUntil.FOREVER:
        return EXIT_TIMEOUT
    return EXIT_DONE


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value, bare_seconds=True)
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@click.command("status")
@click.argument("resources", nargs=-1, metavar="[KIND/NAME]...")
@click.option("-f", "--filename", "files", multiple=True, metavar="FILE|DIR|-", help="Manifests to watch.")
@click.option("-n", "--namespace", help="Namespace for namespaced resources (default: kubeconfig's).")
@click.option(
    "--until",
    type=click.Choice([mode.value for mode in PollUntil]),
    default=PollUntil.KNOWN.value,
    show_default=True,
    help="Stop when every status is known, all are Current, all are deleted, or never.",
)
@click.option(
    "--timeout", default="0", callback=_duration, help="Give up after this long (e.g. 5m); 0: never."
)
@click.option("--interval", default="2s", callback=_duration, show_default=True, help="Longest status lag.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUTS),
    default="table",
    show_default=True,
)
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: $KUBECONFIG).")
@click.option("--context", help="Kubeconfig context to use (default: its current-context).")
@click.option(
    "--health-checks",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Flux-style CEL health checks (YAML: a list, or healthCheckExprs:) for kinds kstatus does not know.",
)
@click.option(
    "--rules",
    type=click.Choice(MODES),
    default="default",
    show_default=True,
    help="default: the library and conventions above kstatus; kstatus: exactly kstatus (and health checks).",
)
@click.option(
    "--cache/--no-cache",
    "use_cache",
    default=True,
    show_default=True,
    help="Read from shared watches (event-driven) or with a GET per resource every interval.",
)
def status(
    resources: tuple[str, ...],
    files: tuple[str, ...],
    namespace: str | None,
    until: str,
    timeout: timedelta,
    interval: timedelta,
    output: str,
    kubeconfig: str | None,
    context: str | None,
    health_checks: str | None,
    rules: str,
    use_cache: bool,
) -> None:
    """Show the kstatus status of resources until they reach a goal.

    \b
    Examples:
      statuswatch status -f config/samples/ --until current --timeout 5m
      statuswatch status deploy/web sts/db -n shop -o events
      kubectl get deploy -o yaml | statuswatch status -f - --until current
      statuswatch status widget.example.com/w --health-checks checks.yaml
    """
    if interval <= timedelta(0):
        raise click.BadParameter("must be positive", param_hint="--interval")
    request = StatusRequest(
        resources=resources,
        files=files,
        namespace=namespace,
        until=PollUntil(until),
        timeout=timeout or None,
        interval=interval,
        output=output,
        kubeconfig=kubeconfig,
        context=context,
        use_cache=use_cache,
        health_checks=health_checks,
        rules=rules,
    )
    sys.exit(asyncio.run(run_status(request)))
