"""One StatusWatch's worker: poll its resources, build its status, write it when (and only when) it changed.

A worker is two asyncio tasks owned by the supervisor, not kopf daemons (kopf adds a finalizer for those,
and a StatusWatch owns nothing that could justify blocking its deletion):

* the *pump* runs ``StatusPoller.poll`` over the shared view and folds each status event into the worker's
  table of resource reports, marking the worker dirty;
* the *publisher* waits until the worker is dirty (or until a deadline such as ``timeout`` falls due), builds
  the new status with the pure :func:`~.conditions.build_status`, and writes it if it differs from the status
  last seen on the server. Bursts of changes coalesce into one write.

Nothing is written before the first full poll cycle (so a restarted operator writes nothing where the status
is already right), except a first "waiting" status for a StatusWatch that has none at all. Spec changes
re-plan the poll at once; a poll that fails is restarted with back-off while the resources read ``Unknown``.

Members named by ``spec.selectors`` come from the shared view (:func:`view_members`): the worker plans with
the names that match now and re-plans when that set changes. ``spec.healthChecks`` (plus the cluster-wide
defaults the runner loads with :func:`load_default_health_checks`) are compiled at planning time; the poll
then runs on a poller whose first status reader is a
:class:`~statuswatch.polling.healthchecks.CelStatusReader`, reading the members with GETs when one of them is
under a health check (the shared view keeps only the fields kstatus reads; an expression may read any).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from statuswatch.aiokit import Delays, aclose, stop_tasks
from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    Event,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusPoller,
    StatusReader,
    SyncEvent,
    describe_error,
)
from statuswatch.polling.healthchecks import (
    CelStatusReader,
    HealthCheck,
    HealthCheckError,
    health_checks_from_yaml,
    parse_health_checks,
)
from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.discovery import RestMapper
from statuswatch.watchlist.transport import Transport
from statuswatch.watchlist.view import SharedView

from .conditions import build_status
from .metrics import CONTROLLER, Metrics
from .models import ResourceReport, SelectorSpec, SpecError, StatusWatchSpec, parse_spec
from .settings import OperatorSettings
from .statusapi import ObjectRef, StatusSink, WatchGone

__all__ = [
    "HEALTH_CHECKS_CONFIGMAP",
    "HEALTH_CHECKS_KEY",
    "MemberSource",
    "Poll",
    "PollerFor",
    "ScopeOf",
    "Worker",
    "WorkerContext",
    "load_default_health_checks",
    "view_members",
]

Poll = Callable[[Sequence[ObjMetadata], Options], AsyncIterator[Event]]
"""Starts a poll of identifiers (``StatusPoller.poll``); closing the iterator ends it."""

PollerFor = Callable[[Sequence[StatusReader]], Poll]
"""A ``Poll`` whose poller tries these status readers first (a StatusPoller on the same shared view)."""

MemberSource = Callable[[str, str, str, Mapping[str, Any]], AsyncIterator[frozenset[str]]]
"""``(group, kind, namespace, selector)``: the names of the matching objects once known, then again each
time that set changes; raises when the kind cannot be read. Closing the iterator ends it."""

#: The ConfigMap (in the operator's namespace) and key holding cluster-wide default health checks.
HEALTH_CHECKS_CONFIGMAP = "statuswatch-health-checks"
HEALTH_CHECKS_KEY = "healthChecks.yaml"


class ScopeOf(Protocol):
    async def __call__(self, group: str, kind: str) -> bool | None:
        """True: namespaced; False: cluster-scoped; None: the cluster does not know the kind."""
        ...


@dataclass
class WorkerContext:
    """What every worker shares: the poll, discovery, the sink, metrics, settings, clocks and the log."""

    poll: Poll
    scope_of: ScopeOf
    sink: StatusSink
    metrics: Metrics
    settings: OperatorSettings
    logger: logging.Logger
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: Where ``spec.selectors`` are answered; None: selectors are reported Unknown (not served).
    members: MemberSource | None = None
    #: Polls with extra status readers (CEL health checks); None: ``spec.healthChecks`` is refused.
    poller_for: PollerFor | None = None
    #: Cluster-wide health checks; a StatusWatch's own entry for the same group and kind wins.
    default_health_checks: tuple[HealthCheck, ...] = ()
    #: How long planning waits for a selector's first answer before reporting it Unknown meanwhile.
    members_wait: float = 30.0
    #: The polls of ``poller_for`` read whole objects (a view that keeps every field), so health checks,
    #: which may read any field, can be served from memory; False: they read with GETs instead.
    whole_objects: bool = False

    async def with_shared_view(
        self,
        client: Transport,
        mapper: RestMapper,
        view: SharedView,
        namespace: str,
        *,
        whole_view: SharedView | None = None,
    ) -> WorkerContext:
        """This context with selectors answered by ``view``, health checks polled on ``whole_view`` (a view
        keeping whole objects; without one they poll ``view`` with GETs), and the default health checks read
        from the ConfigMap :data:`HEALTH_CHECKS_CONFIGMAP` in ``namespace``."""

        def poller_for(readers: Sequence[StatusReader]) -> Poll:
            served = whole_view if whole_view is not None else view
            return StatusPoller(client, mapper, view=served, status_readers=readers).poll

        defaults = await load_default_health_checks(client, namespace, logger=self.logger)
        return dataclasses.replace(
            self,
            members=view_members(view),
            poller_for=poller_for,
            default_health_checks=defaults,
            whole_objects=whole_view is not None,
        )


@dataclass(frozen=True, slots=True)
class _Slot:
    """One member, resolved: what to poll for it, or why it is refused."""

    report_key: tuple[str, str, str, str]
    polled: ObjMetadata | None
    refusal: str | None
    scope_known: bool
    optional: bool = False
    timeout: timedelta | None = None


@dataclass
class _Membership:
    """A selector's live answer: the names planned with, and the source to watch for a different set."""

    names: frozenset[str] | None
    changes: AsyncIterator[frozenset[str]] | None
    first: asyncio.Future[frozenset[str]] | None = None


def _encoded(value: Any) -> bytes:
    """``value`` as canonical compact JSON: equal values give equal bytes.

    Workers keep their spec and their last status this way, a few hundred bytes each rather than trees of
    dicts several times that size, and compare them without decoding.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain).encode()


def _plain(value: Any) -> Any:
    # kopf hands out its body fields as read-only mapping views, which json does not know.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


class _NamedLog(logging.LoggerAdapter[logging.Logger]):
    """Log lines that name their StatusWatch, in the text and as a structured field."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        kwargs["extra"] = {**extra, **(kwargs.get("extra") or {})}
        return f"[{extra.get('statuswatch')}] {msg}", kwargs


class _Flag:
    """A flag that, when set, also sets a shared wake-up event (one waiter for several flags, no tasks)."""

    __slots__ = ("_set", "_wake")

    def __init__(self, wake: asyncio.Event) -> None:
        self._wake = wake
        self._set = False

    def set(self) -> None:
        self._set = True
        self._wake.set()

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set


class _Gone(Exception):
    """The StatusWatch was deleted under the worker."""


class Worker:
    """Serves one StatusWatch until stopped; see the module docstring."""

    def __init__(self, context: WorkerContext, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        self.ref = ObjectRef(
            str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or "")
        )
        self._ctx = context
        self._log = _NamedLog(context.logger, {"statuswatch": str(self.ref)})
        self._spec_json = _encoded(body.get("spec"))
        self._generation = _int(meta.get("generation"), 1)
        self._base_json: bytes | None = _status_json(body)
        self._written: bytes | None = None  # fingerprint of the status as the server stored our last write
        self._spec: StatusWatchSpec | None = None
        self._spec_error: str | None = None
        self._spec_error_reason = "InvalidSpec"
        self._poll: Poll = context.poll
        self._cel: CelStatusReader | None = None
        self._memberships: list[_Membership] = []
        self._slots: list[_Slot] = []
        self._reports: dict[tuple[str, str, str, str], ResourceReport] = {}
        self._synced = False
        # Set when either flag below is: the publisher waits on this one event alone.
        self._wake = asyncio.Event()
        self._dirty = _Flag(self._wake)
        self._replan = _Flag(self._wake)
        self._pending_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.aggregate: str | None = None

    # -- supervisor interface ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            # A context of its own: the caller's (a kopf handler's) holds kopf's cause of the event, with the
            # whole decoded body, and a task keeps a copy of its creator's context for as long as it runs.
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"statuswatch {self.ref}", context=contextvars.Context()
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        await stop_tasks([task], log=self._ctx.logger)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def observe(self, body: Mapping[str, Any]) -> None:
        """A new version of the StatusWatch arrived (kopf event): follow spec changes and outside edits."""
        meta = body.get("metadata") or {}
        generation = _int(meta.get("generation"), self._generation)
        spec = _encoded(body.get("spec"))
        if generation != self._generation or spec != self._spec_json:
            self._generation, self._spec_json = generation, spec
            self._replan.set()
        status = _status_json(body)
        if status != self._base_json and (status is None or _fingerprint(status) != self._written):
            # Someone else changed the status (or an old event): make sure ours is there again.
            self._base_json = status
            self._dirty.set()

    def _previous(self) -> dict[str, Any]:
        """The status last seen on the server (or last written), decoded; empty when there is none."""
        return json.loads(self._base_json) if self._base_json is not None else {}

    # -- the worker ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        with contextlib.suppress(_Gone):
            await self._serve()

    async def _serve(self) -> None:
        while True:
            self._replan.clear()
            loop = asyncio.get_running_loop()
            try:
                await self._plan()
            except BaseException:
                await self._end_memberships([])
                raise
            tasks = [
                loop.create_task(self._follow(membership), name=f"members {self.ref}")
                for membership in self._memberships
            ]
            if self._spec is not None and any(slot.polled for slot in self._slots):
                tasks.append(loop.create_task(self._pump(), name=f"poll {self.ref}"))
            else:
                self._synced = True
                self._dirty.set()
            try:
                await self._publish_until_replan()
            finally:
                await self._end_memberships(tasks)

    async def _end_memberships(self, tasks: Sequence[asyncio.Task[None]]) -> None:
        await stop_tasks(tasks, log=self._ctx.logger)
        memberships, self._memberships = self._memberships, []
        for membership in memberships:
            await stop_tasks([membership.first])
            if membership.changes is not None:
                await aclose(membership.changes)

    async def _follow(self, membership: _Membership) -> None:
        """Re-plan once a selector's set of names differs from the one planned with (or its error clears)."""
        try:
            if membership.first is not None:
                names = await membership.first
                if names != membership.names:
                    self._replan.set()
                    return
            if membership.changes is None:  # it failed: look again after a while
                await Delays(self._ctx.settings.poll_restart_backoff).sleep()
                self._replan.set()
                return
            async for names in membership.changes:
                if names != membership.names:
                    self._replan.set()
                    return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._log.info("selector members unreadable: %s", error)
            self._replan.set()

    async def _plan(self) -> None:
        """Parse the spec and decide, per identifier, what to poll or why it is refused."""
        self._synced = False
        self._reports = {}
        self._slots = []
        self._poll = self._ctx.poll
        self._cel = None
        self._spec_error_reason = "InvalidSpec"
        try:
            self._spec, self._spec_error = (
                parse_spec(json.loads(self._spec_json), namespace=self.ref.namespace),
                None,
            )
        except SpecError as error:
            self._spec, self._spec_error = None, str(error)
            self._log.warning("invalid spec: %s", error)
            return
        problem = self._use_health_checks(self._spec)
        if problem is not None:
            self._spec, self._spec_error, self._spec_error_reason = None, problem, "InvalidHealthCheck"
            self._log.warning("invalid health check: %s", problem)
            return
        namespace = self.ref.namespace
        for entry in self._spec.identifiers:
            try:
                namespaced = await self._ctx.scope_of(entry.group, entry.kind)
            except Exception as error:  # discovery down: judge the scope later, from the poll's answers
                self._log.info("cannot learn the scope of %s.%s yet: %s", entry.kind, entry.group, error)
                namespaced = None
            given = entry.namespace or ""
            key = (entry.group, entry.kind, "" if namespaced is False else (given or namespace), entry.name)
            refusal = self._refusal(entry.group, entry.kind, given, namespaced)
            polled = None
            if refusal is None:
                polled = ObjMetadata(
                    entry.group, entry.kind, "" if namespaced is False else namespace, entry.name
                )
            self._slots.append(
                _Slot(key, polled, refusal, namespaced is not None, entry.optional, entry.timeout)
            )
            if refusal is not None:
                self._reports[key] = ResourceReport(
                    group=key[0],
                    kind=key[1],
                    namespace=key[2],
                    name=key[3],
                    status=Status.UNKNOWN,
                    message=refusal,
                    refusal=refusal,
                    optional=entry.optional,
                    timeout=entry.timeout,
                )
        for index, selector in enumerate(self._spec.selectors):
            await self._plan_selector(index, selector)
        # The member lists live on as slots (a re-plan parses the spec again); keep the settings alone.
        self._spec = self._spec.model_copy(update={"identifiers": (), "selectors": (), "health_checks": ()})

    def _use_health_checks(self, spec: StatusWatchSpec) -> str | None:
        """Pick the poll for this spec's health checks (and the defaults); the problem if unusable."""
        try:
            own = parse_health_checks([entry.to_dict() for entry in spec.health_checks])
        except HealthCheckError as error:
            return f"spec.{error}"
        covered = {(check.group, check.kind) for check in own}
        checks = own + [c for c in self._ctx.default_health_checks if (c.group, c.kind) not in covered]
        if not checks:
            return None
        if self._ctx.poller_for is None:
            return "spec.healthChecks: this operator was started without support for health checks"
        self._cel = CelStatusReader(checks)
        self._poll = self._ctx.poller_for([self._cel])
        return None

    async def _plan_selector(self, index: int, selector: SelectorSpec) -> None:
        """Add a slot per object ``selector`` matches now (unless already a member), or a stand-in report."""
        namespace = self.ref.namespace
        key = (selector.group, selector.kind, namespace, f"selector[{index}]")
        described = selector.selector.describe()
        kind_label = f"{selector.kind}.{selector.group}" if selector.group else selector.kind

        def stand_in(message: str, refusal: str | None = None) -> None:
            self._slots.append(_Slot(key, None, None, True, selector.optional))
            self._reports[key] = ResourceReport(
                group=selector.group,
                kind=selector.kind,
                namespace=namespace,
                name="",
                status=Status.UNKNOWN,
                message=message,
                refusal=refusal,
                optional=selector.optional,
                selector=described,
            )

        source = self._ctx.members
        if source is None:
            stand_in("selectors are not served by this operator")
            return
        try:
            namespaced = await self._ctx.scope_of(selector.group, selector.kind)
        except Exception:  # discovery down: the view's answer will tell
            namespaced = None
        if namespaced is False:
            refusal = (
                f"{kind_label} is cluster-scoped; a selector picks objects in the StatusWatch's namespace"
            )
            stand_in(refusal, refusal)
            return
        changes = source(selector.group, selector.kind, namespace, selector.selector.to_dict())
        first: asyncio.Future[frozenset[str]] = asyncio.ensure_future(anext(changes))
        await asyncio.wait([first], timeout=self._ctx.members_wait)
        if not first.done():
            self._memberships.append(_Membership(None, changes, first))
            stand_in(f"selector {described}: waiting for the list of {kind_label} objects")
            return
        try:
            names = first.result()
        except Exception as error:
            await aclose(changes)
            self._memberships.append(_Membership(None, None))
            stand_in(f"selector {described}: {describe_error(error)}")
            return
        self._memberships.append(_Membership(names, changes))
        if not names:
            if not selector.allow_empty:
                stand_in(
                    f"selector {described} matches no {kind_label} in namespace {namespace!r} "
                    "(set allowEmpty: true if that is fine)"
                )
            return
        taken = {slot.report_key for slot in self._slots}
        for name in sorted(names):
            member = (selector.group, selector.kind, namespace, name)
            if member not in taken:
                polled = ObjMetadata(selector.group, selector.kind, namespace, name)
                self._slots.append(_Slot(member, polled, None, namespaced is not None, selector.optional))

    def _refusal(self, group: str, kind: str, given_namespace: str, namespaced: bool | None) -> str | None:
        label = f"{kind}.{group}" if group else kind
        if namespaced is False:
            if not self._ctx.settings.allow_cluster_scoped:
                return (
                    f"{label} is cluster-scoped, and this operator serves cluster-scoped kinds only "
                    "when started with --allow-cluster-scoped"
                )
            return None
        if given_namespace and given_namespace != self.ref.namespace:
            return (
                f"namespace {given_namespace!r} is not this StatusWatch's namespace "
                f"({self.ref.namespace!r}); a StatusWatch may only watch objects in its own namespace"
            )
        return None

    async def _pump(self) -> None:
        """Run the poll for the planned identifiers; restart it with back-off when it fails."""
        assert self._spec is not None
        polled = {slot.polled: slot for slot in self._slots if slot.polled is not None}
        # The shared view keeps only what kstatus reads of each object; an expression may read any field, so
        # a StatusWatch with a member under a health check polls a view of whole objects, or, without one,
        # reads its members with GETs (kstatus's own way).
        cel = self._cel
        whole = cel is not None and any(cel.supports(ident.group, ident.kind) for ident in polled)
        use_cache = self._ctx.whole_objects or not whole
        options = Options(poll_interval=self._spec.poll_interval.total_seconds(), use_cache=use_cache)
        delays = Delays(self._ctx.settings.poll_restart_backoff)
        loop = asyncio.get_running_loop()
        while True:
            failure: BaseException | None = None
            events = self._poll(list(polled), options)
            try:
                async for event in events:
                    if isinstance(event, ResourceUpdateEvent):
                        resource = event.resource
                        slot = polled.get(resource.identifier)
                        if slot is None:
                            continue
                        known = resource.status != Status.UNKNOWN
                        if not slot.scope_known and known and await self._became_refused(slot):
                            self._replan.set()
                            return
                        self._reports[slot.report_key] = _report(slot, resource)
                        self._mark_dirty(loop.time())
                    elif isinstance(event, SyncEvent):
                        self._synced = True
                        self._mark_dirty(loop.time())
                    elif isinstance(event, ErrorEvent):
                        failure = event.error
                        break
            except Exception as error:  # a bug in a status reader must not freeze this StatusWatch
                failure = error
                self._log.exception("polling failed")
            finally:
                await aclose(events)
            delay = delays.next_delay()
            cause = f"{type(failure).__name__}: {failure}" if failure is not None else "the poll ended"
            reason = f"polling stopped ({cause}); retrying in {delay:g}s"
            self._log.warning("%s", reason)
            for slot in polled.values():
                self._reports[slot.report_key] = _report(slot, None, reason[:512])
            self._synced = True
            self._mark_dirty(loop.time())
            await asyncio.sleep(delay)

    async def _became_refused(self, slot: _Slot) -> bool:
        """A kind unknown when planned is served now: refuse it if it turned out cluster-scoped."""
        try:
            namespaced = await self._ctx.scope_of(slot.report_key[0], slot.report_key[1])
        except Exception:  # discovery down: judge it again on the next answer
            return False
        return namespaced is False

    def _mark_dirty(self, at: float) -> None:
        if self._pending_since is None:
            self._pending_since = at
        self._dirty.set()

    async def _publish_until_replan(self) -> None:
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        if not self._previous().get("conditions") and self._spec is not None:  # never written yet
            await self._publish(waiting=True)
        while not self._replan.is_set():
            self._wake.clear()
            if not self._dirty.is_set():
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
            if self._replan.is_set():
                return
            due = deadline is not None and loop.time() >= deadline
            if not self._dirty.is_set() and not due:
                continue
            self._dirty.clear()
            if not self._synced:
                continue
            deadline = await self._publish()

    async def _publish(self, *, waiting: bool = False) -> float | None:
        """Build the status and write it if it changed; returns the loop time of the next time-based check."""
        loop = asyncio.get_running_loop()
        reports = self._ordered_reports(waiting)
        started, self._pending_since = self._pending_since, None
        try:
            update = build_status(
                previous=self._previous(),
                generation=self._generation,
                spec=self._spec,
                spec_error=self._spec_error,
                reports=reports,
                now=self._ctx.now(),
                spec_error_reason=self._spec_error_reason,
            )
        except Exception:
            self._ctx.metrics.reconciles.labels(controller=CONTROLLER, result="error").inc()
            self._log.exception("cannot build the status")
            return None
        self._ctx.metrics.reconciles.labels(controller=CONTROLLER, result="success").inc()
        self.aggregate = str(update.status.get("aggregateStatus") or "") or None
        encoded = _encoded(update.status)
        if encoded != self._base_json:
            await self._write(update.status, encoded)
            if started is not None:
                self._ctx.metrics.change_latency.observe(max(0.0, loop.time() - started))
            for transition in update.transitions:
                await self._post(transition.type, transition.reason, transition.message)
        if update.next_check is None:
            return None
        seconds = (update.next_check - self._ctx.now()).total_seconds()
        return loop.time() + max(0.0, seconds)

    def _ordered_reports(self, waiting: bool) -> list[ResourceReport]:
        reports = []
        for slot in self._slots:
            report = self._reports.get(slot.report_key)
            if report is None:
                message = "Waiting for the first status" if waiting else "No status yet"
                report = _report(slot, None, message)
            reports.append(report)
        return reports

    async def _write(self, status: dict[str, Any], encoded: bytes) -> None:
        delays = Delays(self._ctx.settings.write_retry)
        while True:
            try:
                stored = await self._ctx.sink.write_status(self.ref, status, self._previous())
            except WatchGone:
                self._log.info("deleted while its status was written; stopping")
                raise _Gone from None
            except Exception as error:
                self._ctx.metrics.status_writes.labels(result="error").inc()
                delay = delays.next_delay()
                self._log.warning("status write failed (%s); retrying in %gs", error, delay)
                await asyncio.sleep(delay)
                continue
            self._ctx.metrics.status_writes.labels(result="success").inc()
            self._written = _fingerprint(_encoded(stored) if stored else encoded)
            self._base_json = encoded
            self._log.info("status written: %s %s", status.get("aggregateStatus"), status.get("progress"))
            return

    async def _post(self, event_type: str, reason: str, message: str) -> None:
        try:
            await self._ctx.sink.post_event(self.ref, event_type, reason, message)
        except Exception as error:  # events are informative; never let them stop the status
            self._log.info("cannot post event %s: %s", reason, error)
            return
        self._ctx.metrics.events_posted.labels(reason=reason).inc()


def _report(slot: _Slot, resource: ResourceStatus | None, message: str = "") -> ResourceReport:
    """The report for a slot: the polled status with its root cause, or Unknown with ``message``."""
    group, kind, namespace, name = slot.report_key
    status, reason = Status.UNKNOWN, ""
    if resource is not None:
        status, message = Status(resource.status), resource.message
        if resource.why is not None:
            reason = resource.why.reason
            message = f"{message}; {resource.why.message}" if message else resource.why.message
    return ResourceReport(
        group=group,
        kind=kind,
        namespace=namespace,
        name=name,
        status=status,
        message=message,
        reason=reason,
        optional=slot.optional,
        timeout=slot.timeout,
    )


def view_members(view: SharedView) -> MemberSource:
    """A :data:`MemberSource` on the shared view: one subscription per selector, answered from memory."""

    async def members(
        group: str, kind: str, namespace: str, selector: Mapping[str, Any]
    ) -> AsyncIterator[frozenset[str]]:
        async with view.subscribe(group, kind, namespace) as subscription:
            await subscription.wait_synced()

            def names() -> frozenset[str]:
                found = subscription.list(namespace, selector)
                return frozenset(str((obj.get("metadata") or {}).get("name") or "") for obj in found)

            current = names()
            yield current
            async for _change in subscription:
                if subscription.pending:  # a burst: judge once it has been taken in
                    continue
                latest = names()
                if latest != current:
                    current = latest
                    yield current

    return members


async def load_default_health_checks(
    client: Transport,
    namespace: str,
    name: str = HEALTH_CHECKS_CONFIGMAP,
    logger: logging.Logger | None = None,
) -> tuple[HealthCheck, ...]:
    """The cluster-wide health checks from ConfigMap ``namespace/name``, key ``healthChecks.yaml``.

    No ConfigMap (or no such key) means none. One that cannot be read or does not compile is logged as an
    error and ignored: StatusWatches keep their own checks and kstatus rather than the operator not starting.
    """
    log = logger or logging.getLogger("statuswatch.controller")
    try:
        configmap = await client.get_json(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    except ApiError as error:
        if error.status != 404:
            log.error("cannot read default health checks from ConfigMap %s/%s: %s", namespace, name, error)
        return ()
    except Exception as error:  # API down at start: run without defaults rather than not at all
        log.error("cannot read default health checks from ConfigMap %s/%s: %s", namespace, name, error)
        return ()
    text = (configmap.get("data") or {}).get(HEALTH_CHECKS_KEY)
    if not isinstance(text, str):
        return ()
    try:
        checks = tuple(health_checks_from_yaml(text, source=f"ConfigMap {namespace}/{name}"))
    except HealthCheckError as error:
        log.error("default health checks ignored: %s", error)
        return ()
    log.info("%d default health check(s) from ConfigMap %s/%s", len(checks), namespace, name)
    return checks


def _status_json(body: Mapping[str, Any]) -> bytes | None:
    status = body.get("status")
    return _encoded(status) if isinstance(status, Mapping) and status else None


def _fingerprint(encoded: bytes) -> bytes:
    """A compact stand-in for a whole encoded status: one copy of it per worker is enough."""
    return hashlib.blake2b(encoded, digest_size=16).digest()


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
