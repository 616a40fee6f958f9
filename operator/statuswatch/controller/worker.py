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

What to poll is decided by the pure :func:`~.plan.plan` from the facts the worker gathers (each kind's scope,
each selector's first answer from :class:`~.membership.Memberships`); the worker re-plans when a selector's
set of names changes. ``spec.healthChecks`` (plus the cluster-wide defaults the runner loads) are compiled at
planning time; with them, or with ``spec.rules: kstatus``, the poll runs on a poller whose first status
reader is a :class:`~statuswatch.polling.statusreaders.RulesStatusReader`. Members under a health check are
read from a view of whole objects (or with GETs without one: an expression may read any field); the library
and the conventions read what the shared view keeps of every kind (:mod:`statuswatch.rules.projection`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from statuswatch.aiokit import Delays, aclose, stop_tasks
from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    Event,
    NotSyncedError,
    ObjMetadata,
    Options,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusReader,
    SyncEvent,
)
from statuswatch.polling.defaultchecks import (
    HEALTH_CHECKS_CONFIGMAP,
    HEALTH_CHECKS_KEY,
    load_default_health_checks,
)
from statuswatch.polling.healthchecks import HealthCheck, HealthCheckError, parse_health_checks
from statuswatch.polling.statusreaders import RulesStatusReader
from statuswatch.rules import Mode, RuleSet

from .budget import MINIMAL_BUDGET, STATUS_BUDGET
from .conditions import StatusUpdate, build_status
from .membership import Memberships, MemberSource, view_members
from .metrics import CONTROLLER, Metrics
from .models import ResourceReport, SpecError, StatusWatchSpec, canonical_json, parse_spec
from .plan import Scope, Slot, plan
from .settings import OperatorSettings
from .statusapi import ObjectRef, StatusRefused, StatusSink, WatchGone, retry_after

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


_encoded = canonical_json


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
        # The generation whose spec the current plan was made from: what a status built from it may claim
        # (observe() moves _generation on as soon as an edit arrives, possibly while planning).
        self._planned_generation = self._generation
        self._base_json: bytes | None = _status_json(body)
        # A status already written for this generation (an operator restart): it stands while members read
        # "not synced yet", until they are or settings.restart_grace runs out, rather than flip to Unknown.
        earlier = body.get("status")
        self._standing: int | None = (
            _int(earlier.get("observedGeneration"), -1)
            if isinstance(earlier, Mapping) and earlier.get("conditions")
            else None
        )
        self._stand_until: float | None = None
        self._unsynced: set[tuple[str, str, str, str]] = set()
        # Fingerprints of the statuses as the server stored our last few writes, newest last: a watch event
        # carrying one of them is our own write coming back (or an older one of ours, arriving late, whose
        # successor is already stored), not an outside edit to put right.
        self._written: collections.deque[bytes] = collections.deque(maxlen=4)
        self._spec: StatusWatchSpec | None = None
        self._spec_error: str | None = None
        self._spec_error_reason = "InvalidSpec"
        self._poll: Poll = context.poll
        self._cel: RulesStatusReader | None = None
        self._members = Memberships(
            context.members,
            wait=context.members_wait,
            backoff=context.settings.poll_restart_backoff,
            log=self._log,
        )
        self._slots: tuple[Slot, ...] = ()
        self._reports: dict[tuple[str, str, str, str], ResourceReport] = {}
        self._synced = False
        # Set when either flag below is: the publisher waits on this one event alone.
        self._wake = asyncio.Event()
        self._dirty = _Flag(self._wake)
        self._replan = _Flag(self._wake)
        self._pending_since: float | None = None
        # The API server's answer to a full status it refused for good; until the next plan, statuses are
        # written as counts only, saying so.
        self._refused: str | None = None
        self._write_delays = Delays(context.settings.write_retry)  # kept across attempts, reset on success
        self._task: asyncio.Task[None] | None = None
        self.aggregate: str | None = None
        #: Called when the worker ends by itself (not by :meth:`stop`): with True when its object is gone,
        #: False when it failed or ended for another reason (the supervisor then starts it again).
        self.on_exit: Callable[[Worker, bool], None] | None = None

    # -- supervisor interface ------------------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The StatusWatch as this worker last knew it: enough to start another worker for it."""
        return {
            "metadata": {
                "namespace": self.ref.namespace,
                "name": self.ref.name,
                "uid": self.ref.uid,
                "generation": self._generation,
            },
            "spec": json.loads(self._spec_json),
            "status": self._previous(),
        }

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
        if status != self._base_json and (status is None or _fingerprint(status) not in self._written):
            # Someone else changed the status (or an old event): make sure ours is there again.
            self._base_json = status
            self._dirty.set()

    def _previous(self) -> dict[str, Any]:
        """The status last seen on the server (or last written), decoded; empty when there is none."""
        return json.loads(self._base_json) if self._base_json is not None else {}

    # -- the worker ----------------------------------------------------------------------------------

    async def _run(self) -> None:
        gone = False
        try:
            await self._serve()
        except _Gone:
            gone = True
        except Exception:  # a bug: the supervisor starts the StatusWatch's worker again
            self._log.exception("worker failed")
        else:
            self._log.error("worker ended unexpectedly")
        if self.on_exit is not None:
            self.on_exit(self, gone)

    async def _serve(self) -> None:
        try:
            while True:
                self._replan.clear()
                await self._plan()
                loop = asyncio.get_running_loop()
                tasks = [loop.create_task(self._follow_members(), name=f"members {self.ref}")]
                if self._spec is not None and any(slot.polled for slot in self._slots):
                    tasks.append(loop.create_task(self._pump(), name=f"poll {self.ref}"))
                else:
                    self._synced = True
                    self._dirty.set()
                try:
                    await self._publish_until_replan()
                finally:
                    await stop_tasks(tasks, log=self._log)
        finally:
            await self._members.close()

    async def _follow_members(self) -> None:
        """Re-plan once a selector's set of names differs from the one planned with (or is due a look)."""
        await self._members.changed()
        self._replan.set()

    async def _plan(self) -> None:
        """Parse the spec, gather what the plan needs (scopes, selector answers) and let it decide."""
        self._synced = False
        self._refused = None
        self._reports = {}
        self._slots = ()
        self._poll = self._ctx.poll
        self._cel = None
        self._spec_error_reason = "InvalidSpec"
        self._planned_generation = self._generation
        try:
            spec = parse_spec(json.loads(self._spec_json), namespace=self.ref.namespace)
        except SpecError as error:
            self._spec, self._spec_error = None, str(error)
            self._log.warning("invalid spec: %s", error)
            await self._members.close()
            return
        self._spec, self._spec_error = spec, None
        problem = self._use_health_checks(spec)
        if problem is not None:
            self._spec, self._spec_error, self._spec_error_reason = None, problem, "InvalidHealthCheck"
            self._log.warning("invalid health check: %s", problem)
            await self._members.close()
            return
        scopes: dict[tuple[str, str], Scope] = {}
        kinds = [(entry.group, entry.kind) for entry in spec.identifiers]
        kinds += [(selector.group, selector.kind) for selector in spec.selectors]
        for kind in kinds:
            if kind not in scopes:
                scopes[kind] = await self._scope(*kind)
        namespace = self.ref.namespace
        answers = await self._members.open(
            [(selector, scopes[(selector.group, selector.kind)]) for selector in spec.selectors], namespace
        )
        self._slots = plan(
            spec,
            namespace=namespace,
            scopes=scopes,
            answers=answers,
            allow_cluster_scoped=self._ctx.settings.allow_cluster_scoped,
        )
        # The member lists live on as slots (a re-plan parses the spec again); keep the settings alone.
        self._spec = spec.model_copy(update={"identifiers": (), "selectors": (), "health_checks": ()})

    async def _scope(self, group: str, kind: str) -> Scope:
        try:
            return await self._ctx.scope_of(group, kind)
        except Exception as error:  # discovery down: judge the scope later, from the poll's answers
            self._log.info("cannot learn the scope of %s.%s yet: %s", kind, group, error)
            return None

    def _use_health_checks(self, spec: StatusWatchSpec) -> str | None:
        """Pick the poll for this spec's rules: its health checks, the defaults, ``spec.rules``; the problem
        if unusable."""
        try:
            own = parse_health_checks([entry.to_dict() for entry in spec.health_checks])
        except HealthCheckError as error:
            return f"spec.{error}"
        mode: Mode = "kstatus" if (spec.rules or self._ctx.settings.rules) == "kstatus" else "default"
        rules = RuleSet(tuple(own), tuple(self._ctx.default_health_checks), mode=mode)
        if not own and not rules.defaults and mode == "default":
            return None
        if self._ctx.poller_for is None:
            if own or rules.defaults:
                return "spec.healthChecks: this operator was started without support for health checks"
            return "spec.rules: this operator was started without support for other rules"
        self._cel = RulesStatusReader(rules=rules)
        self._poll = self._ctx.poller_for([self._cel])
        return None

    async def _pump(self) -> None:
        """Run the poll for the planned identifiers; restart it with back-off when it fails."""
        assert self._spec is not None
        polled = {ObjMetadata(*slot.key): slot for slot in self._slots if slot.polled}
        # The shared view keeps only what kstatus reads of each object; an expression may read any field, so
        # a StatusWatch with a member under a health check polls a view of whole objects, or, without one,
        # reads its members with GETs (kstatus's own way).
        cel = self._cel
        checked = {
            ident for ident in polled if cel is not None and cel.rules.user_rule_for(ident.group, ident.kind)
        }
        whole = bool(checked)
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
                        report = _report(slot, resource, resource.rule)
                        if report.status == Status.FAILED:  # when it began failing, for failureGracePeriod
                            earlier = self._reports.get(slot.key)
                            failing = earlier is not None and earlier.failed_since is not None
                            since = earlier.failed_since if failing and earlier else self._ctx.now()
                            report = dataclasses.replace(report, failed_since=since)
                        self._reports[slot.key] = report
                        if isinstance(resource.error, NotSyncedError):
                            self._unsynced.add(slot.key)
                        else:
                            self._unsynced.discard(slot.key)
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
                self._reports[slot.key] = slot.report(reason[:512])
            self._synced = True
            self._mark_dirty(loop.time())
            await asyncio.sleep(delay)

    async def _became_refused(self, slot: Slot) -> bool:
        """A kind unknown when planned is served now: refuse it if it turned out cluster-scoped."""
        try:
            namespaced = await self._ctx.scope_of(*slot.key[:2])
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
        never_written = not self._previous().get("conditions")
        if never_written and self._spec is not None and not self._replan.is_set():
            deadline = await self._publish(waiting=True)
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
                if due and never_written and not self._previous().get("conditions"):
                    deadline = await self._publish(waiting=True)  # its write failed: once more
                continue
            standing = self._standing_until(loop.time())
            if standing is not None:
                deadline = standing if deadline is None else min(deadline, standing)
                continue
            deadline = await self._publish()

    def _standing_until(self, now: float) -> float | None:
        """While the status found at start stands (see ``_standing``): until when, at the latest."""
        if self._standing is None:
            return None
        if self._standing != self._planned_generation or not self._unsynced:
            self._standing = None  # another generation, or every member answered: publish from now on
            return None
        if self._stand_until is None:
            self._stand_until = now + self._ctx.settings.restart_grace
        if now >= self._stand_until:
            self._log.info(
                "members still not synced after %gs; writing them", self._ctx.settings.restart_grace
            )
            self._standing = None
            return None
        return self._stand_until

    async def _publish(self, *, waiting: bool = False) -> float | None:
        """Build the status and write it if it changed; returns the loop time of the next time-based check."""
        loop = asyncio.get_running_loop()
        reports = self._ordered_reports(waiting)
        started, self._pending_since = self._pending_since, None
        previous = self._previous()  # decoded once per publish: built from, and patched against
        try:
            update = self._build(reports, previous)
        except Exception:
            self._ctx.metrics.reconciles.labels(controller=CONTROLLER, result="error").inc()
            self._log.exception("cannot build the status")
            return None
        self._ctx.metrics.reconciles.labels(controller=CONTROLLER, result="success").inc()
        self.aggregate = str(update.status.get("aggregateStatus") or "") or None
        encoded = update.encoded or _encoded(update.status)
        if encoded != self._base_json:
            try:
                retry_in = await self._write(update.status, encoded, previous)
            except StatusRefused as error:
                if self._refused is not None:  # even the summary: nothing smaller to write
                    self._log.error("status refused by the API server: %s", error)
                    return None
                self._refused = str(error)
                self._log.warning("status refused by the API server (%s); writing a summary", error)
                return await self._publish(waiting=waiting)
            if retry_in is not None:
                # Failed: the next attempt builds the status again from what is known then, not this one.
                self._pending_since = started
                return loop.time() + retry_in
            if started is not None:
                self._ctx.metrics.change_latency.observe(max(0.0, loop.time() - started))
            for episode in update.ended:  # counted once: only the write that records them in the history
                self._ctx.metrics.rollout_duration.labels(result=episode.result).observe(episode.seconds)
            for transition in update.transitions:
                await self._post(transition.type, transition.reason, transition.message)
        if update.next_check is None:
            return None
        seconds = (update.next_check - self._ctx.now()).total_seconds()
        return loop.time() + max(0.0, seconds)

    def _build(self, reports: Sequence[ResourceReport], previous: Mapping[str, Any]) -> StatusUpdate:
        return build_status(
            previous=previous,
            generation=self._planned_generation,
            spec=self._spec,
            spec_error=self._spec_error,
            reports=reports,
            now=self._ctx.now(),
            spec_error_reason=self._spec_error_reason,
            budget=STATUS_BUDGET if self._refused is None else MINIMAL_BUDGET,
            refusal=self._refused,
        )

    def _ordered_reports(self, waiting: bool) -> list[ResourceReport]:
        message = "Waiting for the first status" if waiting else "No status yet"
        return [self._reports.get(slot.key) or slot.report(message) for slot in self._slots]

    async def _write(
        self, status: dict[str, Any], encoded: bytes, previous: Mapping[str, Any]
    ) -> float | None:
        """Write ``status`` once: None when it landed, else the seconds to wait before trying again (the
        configured back-off, or longer when the API server asks for it with Retry-After)."""
        try:
            stored = await self._ctx.sink.write_status(self.ref, status, previous)
        except WatchGone:
            self._log.info("deleted while its status was written; stopping")
            raise _Gone from None
        except StatusRefused:
            self._ctx.metrics.status_writes.labels(result="refused").inc()
            raise
        except Exception as error:
            self._ctx.metrics.status_writes.labels(result="error").inc()
            delay = max(self._write_delays.next_delay(), retry_after(error))
            self._log.warning("status write failed (%s); retrying in %gs", error, delay)
            return delay
        self._write_delays.reset()
        self._ctx.metrics.status_writes.labels(result="success").inc()
        # The server stores what was sent, unless it pruned or defaulted something: encode only then.
        self._written.append(_fingerprint(encoded if not stored or stored == status else _encoded(stored)))
        self._base_json = encoded
        self._log.info("status written: %s %s", status.get("aggregateStatus"), status.get("progress"))
        return None

    async def _post(self, event_type: str, reason: str, message: str) -> None:
        try:
            await self._ctx.sink.post_event(self.ref, event_type, reason, message)
        except Exception as error:  # events are informative; never let them stop the status
            self._log.info("cannot post event %s: %s", reason, error)
            return
        self._ctx.metrics.events_posted.labels(reason=reason).inc()


def _report(slot: Slot, resource: ResourceStatus, rule: str) -> ResourceReport:
    """A polled member's record: its status, with the root cause as reason and in the message."""
    group, kind, namespace, name = slot.key
    message, reason = resource.message, ""
    if resource.why is not None:
        reason = resource.why.reason
        message = f"{message}; {resource.why.message}" if message else resource.why.message
    return ResourceReport(
        group=group,
        kind=kind,
        namespace=namespace,
        name=name,
        status=resource.status,
        message=message,
        reason=reason,
        optional=slot.optional,
        timeout=slot.timeout,
        failure_grace=slot.failure_grace,
        rule=rule,
    )


def _status_json(body: Mapping[str, Any]) -> bytes | None:
    status = body.get("status")
    return _encoded(status) if isinstance(status, Mapping) and status else None


def _fingerprint(encoded: bytes) -> bytes:
    """A compact stand-in for a whole encoded status: one copy of it per worker is enough."""
    return hashlib.blake2b(encoded, digest_size=16).digest()


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
