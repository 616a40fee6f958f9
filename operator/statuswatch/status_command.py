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
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import click
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    Event,
    ObjMetadata,
    Options,
    PollUntil,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusCollector,
    StatusPoller,
    aggregate_status,
    collect,
)
from statuswatch.polling.kindnames import KindResolver, UnknownResourceError
from statuswatch.polling.manifests import ManifestError, load_objects

__all__ = ["StatusRequest", "parse_duration", "run_status", "status"]

EXIT_DONE, EXIT_TIMEOUT, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3

STYLES = {
    Status.CURRENT: "green",
    Status.IN_PROGRESS: "yellow",
    Status.FAILED: "bold red",
    Status.TERMINATING: "magenta",
    Status.NOT_FOUND: "blue",
    Status.UNKNOWN: "bright_black",
}

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


# -- printers -------------------------------------------------------------------------------------


class Printer(Protocol):
    def __enter__(self) -> Printer: ...
    def __exit__(self, *exc: object) -> None: ...
    def on_event(self, collector: StatusCollector, event: Event) -> None: ...
    def finish(self, collector: StatusCollector, timed_out: bool) -> None: ...


def make_printer(request: StatusRequest, console: Console, errors: Console) -> Printer:
    if request.output == "json":
        return JsonPrinter(request, console)
    if request.output == "events":
        return EventsPrinter(request, console, errors)
    if console.is_terminal:
        return LiveTablePrinter(request, console, errors)
    return PlainTablePrinter(request, console, errors)


def _line(status: ResourceStatus) -> str:
    return f"{status.identifier} is {status.status}: {status.message}"


def _timeout_text(request: StatusRequest, collector: StatusCollector) -> list[str]:
    pending = collector.pending(request.until)
    goal = request.until.desired or "known"
    lines = [f"timed out after {request.timeout:g}s waiting for {goal}; {len(pending)} not ready:"]
    lines += [f"  {_line(status)}" for status in pending]
    return lines


class EventsPrinter:
    """One line per status change on stdout; errors and the time-out report on stderr.

    An update whose status and message equal the last line printed for that resource (only its generated
    resources changed) prints nothing: the line would look like a repeat. ``-o json`` carries those too.
    """

    def __init__(self, request: StatusRequest, console: Console, errors: Console) -> None:
        self.request, self.console, self.errors = request, console, errors
        self.started = time.monotonic()
        self._printed: dict[ObjMetadata, tuple[Status, str]] = {}

    def __enter__(self) -> EventsPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        if isinstance(event, ResourceUpdateEvent):
            resource = event.resource
            shown = (resource.status, resource.message)
            if self._printed.get(resource.identifier) == shown:
                return
            self._printed[resource.identifier] = shown
            self.console.print(Text(_line(resource), style=STYLES.get(resource.status, "")), soft_wrap=True)
        elif isinstance(event, ErrorEvent):
            self.errors.print(f"[red]error:[/] {event.error}")

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        if timed_out and self.request.until is not PollUntil.FOREVER:
            for line in _timeout_text(self.request, collector):
                self.errors.print(line, highlight=False, soft_wrap=True)


class JsonPrinter:
    """One JSON object per line: ``status`` per change, then ``error``/``timeout`` and a final ``summary``."""

    def __init__(self, request: StatusRequest, console: Console) -> None:
        self.request, self.console = request, console

    def __enter__(self) -> JsonPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _emit(self, record: dict[str, Any]) -> None:
        record.setdefault("timestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.console.out(json.dumps(record, separators=(",", ":")), highlight=False)

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        if isinstance(event, ResourceUpdateEvent):
            self._emit({"type": "status", **_record(event.resource)})
        elif isinstance(event, ErrorEvent):
            self._emit({"type": "error", "error": str(event.error)})

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        if timed_out and self.request.until is not PollUntil.FOREVER:
            pending = [_record(s) for s in collector.pending(self.request.until)]
            self._emit({"type": "timeout", "timeout": self.request.timeout, "pending": pending})
        desired = self.request.until.desired or Status.CURRENT
        self._emit(
            {
                "type": "summary",
                "aggregate": str(collector.aggregate(desired)),
                "until": str(self.request.until),
            }
        )


def _record(status: ResourceStatus) -> dict[str, Any]:
    ident = status.identifier
    record: dict[str, Any] = {
        "group": ident.group,
        "kind": ident.kind,
        "namespace": ident.namespace,
        "name": ident.name,
        "status": str(status.status),
        "message": status.message,
    }
    if status.generated_resources:
        record["generated"] = [_record(child) for child in status.generated_resources]
    return record


def _age(status: ResourceStatus) -> str:
    created = ((status.resource or {}).get("metadata") or {}).get("creationTimestamp")
    if not isinstance(created, str):
        return ""
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return ""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _label(ident: ObjMetadata) -> str:
    kind = f"{ident.kind.lower()}.{ident.group}" if ident.group else ident.kind.lower()
    return f"{kind}/{ident.name}"


def status_table(collector: StatusCollector, *, max_children: int = 12) -> Table:
    """The table the live view and the final plain report share."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAMESPACE", "RESOURCE", "STATUS", "AGE", "MESSAGE"):
        table.add_column(column, no_wrap=column != "MESSAGE", overflow="fold")

    def add(status: ResourceStatus, depth: int) -> None:
        prefix = "  " * (depth - 1) + "└ " if depth else ""
        style = STYLES.get(status.status, "")
        table.add_row(
            status.identifier.namespace if not depth else "",
            prefix + _label(status.identifier),
            Text(str(status.status), style=style),
            _age(status),
            status.message,
            style="dim" if depth else None,
        )
        children = status.generated_resources
        for child in children[:max_children]:
            add(child, depth + 1)
        if len(children) > max_children:
            table.add_row("", "  " * depth + f"└ … {len(children) - max_children} more", "", "", "")

    for status in collector.observation().statuses:
        add(status, 0)
    return table


def _progress(request: StatusRequest, collector: StatusCollector, started: float, timed_out: bool) -> Text:
    statuses = collector.observation().statuses
    desired = request.until.desired
    if desired is not None:
        done = sum(1 for s in statuses if s.status == desired)
        goal = str(desired)
    else:
        done = sum(1 for s in statuses if s.status != Status.UNKNOWN)
        goal = "known"
    aggregate = aggregate_status(statuses, desired or Status.CURRENT)
    text = Text()
    text.append(f"{done}/{len(statuses)} {goal}", style="bold")
    text.append("  aggregate ")
    text.append(str(aggregate), style=STYLES.get(aggregate, ""))
    text.append(f"  until {request.until}  {time.monotonic() - started:.0f}s elapsed")
    if request.timeout:
        text.append(f" of {request.timeout:g}s")
    if timed_out:
        text.append("  timed out", style="bold red")
    return text


class LiveTablePrinter:
    """A table redrawn in place (rich Live) with a spinner and a progress line."""

    def __init__(self, request: StatusRequest, console: Console, errors: Console) -> None:
        self.request, self.console, self.errors = request, console, errors
        self.collector: StatusCollector | None = None
        self.started = time.monotonic()
        self.finished = False
        self.timed_out = False
        self.live = Live(console=console, get_renderable=self._render, refresh_per_second=4, transient=False)

    def _render(self) -> RenderableType:
        if self.collector is None:
            return Spinner("dots", text=" connecting…")
        progress = _progress(self.request, self.collector, self.started, self.timed_out)
        footer: RenderableType = progress if self.finished else Spinner("dots", text=progress)
        return Group(status_table(self.collector), Text(), footer)

    def __enter__(self) -> LiveTablePrinter:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        self.collector = collector
        if isinstance(event, ErrorEvent):
            self.errors.print(f"[red]error:[/] {event.error}")
        self.live.refresh()

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        self.collector, self.finished, self.timed_out = collector, True, timed_out
        self.live.refresh()
        self.live.stop()
        if timed_out and self.request.until is not PollUntil.FOREVER:
            for line in _timeout_text(self.request, collector):
                self.errors.print(line, highlight=False, soft_wrap=True)


class PlainTablePrinter(EventsPrinter):
    """Not a terminal: change lines as they come, then the final table and progress line once."""

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        self.console.print()
        table = status_table(collector)
        # logs have no width: print rows whole rather than folded at 80 columns
        wide = self.console.options.update_width(10_000)
        width = max(self.console.width, self.console.measure(table, options=wide).maximum)
        narrow, self.console.width = self.console.width, width
        try:
            self.console.print(table)
        finally:
            self.console.width = narrow
        self.console.print(_progress(self.request, collector, self.started, timed_out))
        super().finish(collector, timed_out)


# -- the click command ----------------------------------------------------------------------------


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
