"""``statuswatch status``: watch resources roll out from the terminal (kstatus's status command).

Resources come from manifests (``-f``) or ``kind/name`` arguments; the polling engine streams their status
and a printer shows it: a live table (plain lines when stdout is not a terminal), one line per change, or one
JSON object per change. ``--until`` picks when to stop, ``--timeout`` how long to wait.

Exit codes: 0 the goal was reached (or ``--until forever`` ran out its timeout); 1 timed out, with what was
still not ready; 2 usage errors (bad arguments, unknown resource types, unreadable manifests); 3 polling
failed (cluster unreachable, a fatal error event).
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
from rich.console import Console

from statuswatch.polling import (
    ObjMetadata,
    Options,
    PollUntil,
    StatusCollector,
    StatusPoller,
    collect,
)
from statuswatch.polling.kindnames import KindResolver, UnknownResourceError
from statuswatch.polling.manifests import ManifestError, load_objects
from statuswatch.status_printers import make_printer

__all__ = ["StatusRequest", "parse_duration", "run_status", "status"]

EXIT_DONE, EXIT_TIMEOUT, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in ``30s``, ``2m``, ``1m30s``, ``500ms``, ``1h`` or a bare number of seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 2m, 1m30s, 500ms)")
    return total


@dataclass(frozen=True)
class StatusRequest:
    """Everything ``run_status`` needs; the click command and ``statuswatch demo`` both build one."""

    resources: Sequence[str] = ()
    files: Sequence[str] = ()
    namespace: str | None = None
    until: PollUntil = PollUntil.KNOWN
    timeout: float = 0.0
    interval: float = 2.0
    output: str = "table"
    kubeconfig: str | None = None
    use_cache: bool = True


class UsageError(Exception):
    pass


async def resolve_identifiers(
    request: StatusRequest, resolver: KindResolver, mapper: Any, default_namespace: str
) -> list[ObjMetadata]:
    """Identifiers from ``-f`` manifests and ``kind/name`` arguments, namespaces filled in by scope."""
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
        kind = await resolver.resolve(kind_text)
        identifiers.append(ObjMetadata(kind.group, kind.kind, namespace if kind.namespaced else "", name))
    return list(dict.fromkeys(identifiers))


async def run_status(request: StatusRequest, console: Console | None = None) -> int:
    """Poll, print and return the exit code."""
    from statuswatch.watchlist import ApiClient, ClusterConfig, ConfigError, RestMapper

    console = console or Console()
    errors = Console(stderr=True)
    try:
        config = ClusterConfig.load(request.kubeconfig)
    except (ConfigError, OSError) as error:
        errors.print(f"[red]error:[/] {error}")
        return EXIT_FAILED
    async with ApiClient(config) as client:
        mapper = RestMapper(client)
        try:
            identifiers = await resolve_identifiers(request, KindResolver(client), mapper, config.namespace)
        except (ManifestError, UnknownResourceError, UsageError) as error:
            errors.print(f"[red]error:[/] {error}")
            return EXIT_USAGE
        except Exception as error:  # discovery failed: the cluster is unreachable or refuses us
            errors.print(f"[red]error:[/] cannot reach the cluster: {error}")
            return EXIT_FAILED
        if not identifiers:
            errors.print("[red]error:[/] no resources given: pass KIND/NAME arguments or -f FILE|DIR|-")
            return EXIT_USAGE
        printer = make_printer(request, console, errors)
        collector = StatusCollector(identifiers)
        poller = StatusPoller(client, mapper)
        stream = poller.poll(
            identifiers, Options(poll_interval=request.interval, use_cache=request.use_cache)
        )
        timed_out = False
        with printer:
            try:
                async with asyncio.timeout(request.timeout or None):
                    await collect(stream, collector, request.until, observer=printer.on_event)
            except TimeoutError:
                timed_out = True
            printer.finish(collector, timed_out)
    if collector.error is not None:
        return EXIT_FAILED
    if timed_out and request.until is not PollUntil.FOREVER:
        return EXIT_TIMEOUT
    return EXIT_DONE


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
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
    type=click.Choice(["table", "events", "json"]),
    default="table",
    show_default=True,
)
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file (default: $KUBECONFIG).")
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
    timeout: float,
    interval: float,
    output: str,
    kubeconfig: str | None,
    use_cache: bool,
) -> None:
    """Show the kstatus status of resources until they reach a goal.

    \b
    Examples:
      statuswatch status -f config/samples/ --until current --timeout 5m
      statuswatch status deploy/web sts/db -n shop -o events
      kubectl get deploy -o yaml | statuswatch status -f - --until current
    """
    if interval <= 0:
        raise click.BadParameter("must be positive", param_hint="--interval")
    request = StatusRequest(
        resources=resources,
        files=files,
        namespace=namespace,
        until=PollUntil(until),
        timeout=timeout,
        interval=interval,
        output=output,
        kubeconfig=kubeconfig,
        use_cache=use_cache,
    )
    sys.exit(asyncio.run(run_status(request)))
