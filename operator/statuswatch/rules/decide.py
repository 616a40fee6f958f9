"""``decide``: the one entry point that says what an object's status is, and which rule said so.

The operator, ``statuswatch status`` and ``statuswatch compute`` all call it, so the three never disagree.
The order, first match wins:

1. the StatusWatch's own ``spec.healthChecks`` (rule ``healthCheck``);
2. the cluster's default health checks, the ConfigMap ``statuswatch-health-checks`` (rule ``default``);
3. in mode ``kstatus``: kstatus, exactly (rule ``kstatus``); this is Flux's behaviour, health checks included;
4. built-in Kubernetes kinds: kstatus (rule ``kstatus``);
5. the built-in library's entry for the kind (rule ``library:<group>/<kind>``); an object with no status
   at all is judged as one with an empty status, so it is InProgress ("no status yet") unless its entry
   says otherwise for a kind that has no status by design;
6. any other kind: kstatus, then the conventions it misses (:mod:`.conventions`; rule ``kstatus`` or
   ``convention:<name>``). A convention can only hold an object back from what kstatus says (Current to
   InProgress or Failed, InProgress to Failed), or give the reason for a Current that kstatus reached only
   by default; a ``status.observedGeneration`` that is not an integer (Argo Rollouts writes a hash) is
   left out of the generation check instead of making the object Unknown.

``statuswatch.kstatus.compute`` itself is never changed: it stays the exact port.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from statuswatch.kstatus import ComputeError, Condition, Status, compute
from statuswatch.kstatus.fields import group_and_kind
from statuswatch.kstatus.model import failed, in_progress

from .conventions import Signal, has_no_status, signals, worst
from .groups import is_built_in_group
from .healthchecks import HealthCheck, Verdict, check_for
from .library import Library, builtin_library

__all__ = ["MODES", "RULE_KINDS", "Decision", "Mode", "RuleSet", "decide"]

Mode = Literal["default", "kstatus"]
#: ``default``: the rules layer; ``kstatus``: exact kstatus (user health checks still apply, as in Flux).
MODES: tuple[Mode, ...] = ("default", "kstatus")
#: The forms of :attr:`Decision.rule`.
RULE_KINDS = ("kstatus", "convention:<name>", "library:<group>/<kind>", "healthCheck", "default")

_RANK = {Status.CURRENT: 0, Status.IN_PROGRESS: 1, Status.FAILED: 2}
_KSTATUS_DEFAULT = "Resource is current"


@dataclass(frozen=True, slots=True)
class Decision:
    """An object's status, a CamelCase reason ("" for Current), a message, the rule that decided, the
    kstatus-style conditions explaining it (``Reconciling``/``Stalled``), and for CEL rules which step
    decided (``generation``, ``inProgress``, ``failed``, ``current``, ``none``, ``error``)."""

    status: Status
    reason: str
    message: str
    rule: str
    conditions: tuple[Condition, ...] = ()
    fired: str | None = None


@dataclass(frozen=True)
class RuleSet:
    """The rules one poll decides with: its own health checks, the cluster defaults, the library and the
    mode; :meth:`decide` is :func:`decide` with them."""

    health_checks: tuple[HealthCheck, ...] = ()
    defaults: tuple[HealthCheck, ...] = ()
    library: Library | None = None
    mode: Mode = "default"

    def decide(self, obj: object, *, now: datetime | None = None) -> Decision:
        return decide(
            obj,
            now=now,
            health_checks=self.health_checks,
            defaults=self.defaults,
            library=self.library,
            mode=self.mode,
        )

    def user_rule_for(self, group: str, kind: str) -> bool:
        """Whether a health check (own or default) decides this kind: it may read any field."""
        return check_for(self.health_checks, group, kind) is not None or (
            check_for(self.defaults, group, kind) is not None
        )


def decide(
    obj: object,
    *,
    now: datetime | None = None,
    health_checks: Iterable[HealthCheck] = (),
    defaults: Iterable[HealthCheck] = (),
    library: Library | None = None,
    mode: Mode = "default",
) -> Decision:
    """The status of ``obj`` (see the module docstring for the order). ``library`` None is the built-in one;
    pass ``Library()`` for none. Never raises for a malformed object: that is Unknown with the reason."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not isinstance(obj, Mapping):
        message = f"expected an object, got {type(obj).__name__}"
        return Decision(Status.UNKNOWN, "NotAnObject", message, "kstatus")
    group, kind = group_and_kind(obj)
    for checks, rule in ((health_checks, "healthCheck"), (defaults, "default")):
        check = check_for(checks, group, kind)
        if check is not None:
            return _from_verdict(check.judge(obj), rule)
    if mode == "kstatus" or is_built_in_group(group):
        return _kstatus(obj, now)
    entry = (builtin_library() if library is None else library).entry_for(group, kind)
    if entry is not None:
        return _library(obj, entry[0], f"library:{group}/{kind}")
    return _with_conventions(obj, now)


def _from_verdict(verdict: Verdict, rule: str) -> Decision:
    return Decision(
        verdict.status,
        verdict.reason,
        verdict.message,
        rule,
        _explaining(verdict.status, verdict.reason, verdict.message),
        verdict.fired,
    )


def _explaining(status: Status, reason: str, message: str) -> tuple[Condition, ...]:
    if status is Status.IN_PROGRESS:
        return in_progress(reason, message).conditions
    if status is Status.FAILED:
        return failed(reason, message).conditions
    return ()


def _kstatus(obj: Mapping[str, Any], now: datetime | None) -> Decision:
    try:
        result = compute(obj, now=now)
    except ComputeError as error:
        return Decision(Status.UNKNOWN, "MalformedObject", str(error), "kstatus")
    return Decision(Status(result.status), result.reason, result.message, "kstatus", result.conditions)


def _deleting(obj: Mapping[str, Any]) -> bool:
    metadata = obj.get("metadata")
    deletion = metadata.get("deletionTimestamp") if isinstance(metadata, Mapping) else None
    return isinstance(deletion, str) and bool(deletion)


def _library(obj: Mapping[str, Any], check: HealthCheck, rule: str) -> Decision:
    if _deleting(obj):
        return Decision(Status.TERMINATING, "", "Resource scheduled for deletion", "kstatus")
    # A missing spec or metadata is judged as an empty one, so that ``has(spec.x)`` says false instead of
    # failing on an object that has no spec at all.
    filled = {**obj, **{key: {} for key in ("metadata", "spec") if key not in obj}}
    if not has_no_status(obj):
        return _from_verdict(_explained(check.judge(filled), obj), rule)
    # No status is judged as an empty one: an entry that guards its fields finds nothing true (InProgress,
    # "no status yet"), and one written for a kind that has no status by design (current: "true") says so.
    verdict = check.judge({**filled, "status": {}})
    if verdict.fired == "none":
        message = "no status yet: its controller has not reported on it"
        verdict = Verdict(Status.IN_PROGRESS, "NoStatus", message, "none")
    return _from_verdict(verdict, rule)


def _explained(verdict: Verdict, obj: Mapping[str, Any]) -> Verdict:
    """A library verdict that holds an object back says what the object itself reports (its failing
    condition, its phase), the rule's step in brackets; the expression is in the rule file."""
    if verdict.status not in (Status.IN_PROGRESS, Status.FAILED) or verdict.fired not in _STEPS:
        return verdict
    said = [signal for signal in signals(obj) if signal.status is not Status.CURRENT]
    if not said:
        return verdict
    best = max(said, key=lambda signal: signal.rank)
    return Verdict(verdict.status, verdict.reason, f"{best.message} [{_STEPS[verdict.fired]}]", verdict.fired)


_STEPS = {"inProgress": "in progress by its rule", "failed": "failed by its rule", "none": "no rule true yet"}


def _from_signal(signal: Signal) -> Decision:
    return Decision(
        signal.status,
        signal.reason,
        signal.message,
        f"convention:{signal.convention}",
        _explaining(signal.status, signal.reason, signal.message),
    )


def _without_opaque_generation(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """``obj`` with a non-integer ``status.observedGeneration`` left out (a shallow copy), else itself."""
    status = obj.get("status")
    if not isinstance(status, Mapping) or "observedGeneration" not in status:
        return obj
    observed = status["observedGeneration"]
    if observed is None or (isinstance(observed, int) and not isinstance(observed, bool)):
        return obj
    return {**obj, "status": {key: value for key, value in status.items() if key != "observedGeneration"}}


def _with_conventions(obj: Mapping[str, Any], now: datetime | None) -> Decision:
    decided = _kstatus(_without_opaque_generation(obj), now)
    if decided.status not in _RANK or decided.reason == "LatestGenerationNotObserved":
        return decided  # Unknown (malformed), Terminating, or a generation not observed yet
    signal = worst(signals(obj))
    if signal is None:
        return decided
    if signal.rank > _RANK[decided.status]:
        return _from_signal(signal)
    if signal.rank == 0 and decided.status is Status.CURRENT and decided.message == _KSTATUS_DEFAULT:
        return _from_signal(signal)  # kstatus found nothing to read; a convention did
    return decided
