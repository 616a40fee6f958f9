"""The StatusWatch resource as Python data: the spec as validated models, the status as plain records.

The API server's schema refuses most bad specs, but not all of them (a CRD installed without its CEL rules,
duplicate identifiers, an object written before a schema change), so the operator validates every spec a
second time here and turns whatever is wrong into one precise, user-facing :class:`SpecError` that the
status conditions can carry. The status side goes the other way: records that write the exact JSON of the
status subresource, and a reader of a previously written status that tolerates anything a human or an
older operator may have left there, because that status is the operator's only memory across restarts.

Pure: no I/O, no asyncio, no client, no kopf, so the rules can be tested on plain data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from statuswatch.durations import format_duration, parse_duration
from statuswatch.kstatus import Status

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "DESIRED_STATUSES",
    "GROUP_PATTERN",
    "KIND_PATTERN",
    "MAX_BLOCKER_MESSAGE",
    "MAX_DURATION",
    "MAX_DURATION_LENGTH",
    "MAX_EXPRESSION_LENGTH",
    "MAX_HEALTH_CHECKS",
    "MAX_HISTORY",
    "MAX_IDENTIFIERS",
    "MAX_RESOURCE_MESSAGE",
    "MAX_SELECTORS",
    "MIN_POLL_INTERVAL",
    "NAMESPACE_PATTERN",
    "RULE_MODES",
    "Blocker",
    "ConditionRecord",
    "Episode",
    "HealthCheckSpec",
    "IdentifierSpec",
    "LabelSelectorSpec",
    "ResourceReport",
    "SelectorRequirementSpec",
    "SelectorSpec",
    "SpecError",
    "StatusRecord",
    "StatusWatchSpec",
    "canonical_json",
    "format_time",
    "parse_spec",
    "parse_time",
    "utc_seconds",
]

MAX_IDENTIFIERS = 1000
MAX_SELECTORS = 20
MAX_HEALTH_CHECKS = 50
#: ``spec.rules``: the rules layer (the default) or exact kstatus (``statuswatch.rules.MODES``).
RULE_MODES = ("default", "kstatus")
MAX_EXPRESSION_LENGTH = 4096
MIN_POLL_INTERVAL = timedelta(seconds=1)
DEFAULT_POLL_INTERVAL = timedelta(seconds=5)
#: What a StatusWatch may wait for: a finished rollout, or the resources being gone.
DESIRED_STATUSES: tuple[Status, ...] = (Status.CURRENT, Status.NOT_FOUND)

# The CRD's patterns, repeated so a cluster whose CRD lacks them still gets the same answers.
GROUP_PATTERN = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KIND_PATTERN = r"^[A-Z][A-Za-z0-9]*$"
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
MAX_DURATION_LENGTH = 32
#: The longest duration a spec may give (about 100 years, as the CRD's rules say): beyond it a deadline is
#: meaningless, and ``datetime + timedelta`` would overflow where the status is built.
MAX_DURATION = timedelta(hours=876_000)

# Why a value fails a pattern, in words, by the field's name in the CRD.
_PATTERN_HINTS = {
    "group": "an API group is a lower-case DNS subdomain such as apps or cert-manager.io, or '' for core",
    "kind": "a kind starts with an upper-case letter and holds only letters and digits, e.g. Deployment",
    "namespace": "a namespace holds lower-case letters, digits and '-', and starts and ends with a "
    "letter or digit",
}
_DURATION_HINT = "use a number with a unit, e.g. 30s, 2m, 1m30s, 500ms, 1h"
_MAX_SHOWN_PROBLEMS = 10
_MAX_SHOWN_VALUE = 60


class SpecError(Exception):
    """A StatusWatch spec the operator cannot serve; ``problems`` names each fault with its field path.

    ``str()`` is one line (the problems joined by "; "), fit for a condition message.
    """

    def __init__(self, problems: tuple[str, ...] | list[str]) -> None:
        cleaned = tuple(" ".join(problem.split()) for problem in problems) or ("spec: invalid",)
        self.problems: tuple[str, ...] = cleaned
        super().__init__(self._summary())

    def _summary(self) -> str:
        shown = "; ".join(self.problems[:_MAX_SHOWN_PROBLEMS])
        hidden = len(self.problems) - _MAX_SHOWN_PROBLEMS
        return f"{shown}; and {hidden} more" if hidden > 0 else shown

    def __str__(self) -> str:
        return self._summary()


def _custom(detail: str) -> PydanticCustomError:
    # The detail goes through the context, so braces in user input are never taken as placeholders.
    return PydanticCustomError("statuswatch", "{detail}", {"detail": detail})


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN_VALUE else text[: _MAX_SHOWN_VALUE - 3] + "..."


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, str):
        if len(value) > MAX_DURATION_LENGTH:
            raise _custom(f"invalid duration {_shown(value)}: at most {MAX_DURATION_LENGTH} characters")
        try:
            duration = parse_duration(value)
        except ValueError:
            raise _custom(f"invalid duration {_shown(value)}: {_DURATION_HINT}") from None
        except OverflowError:
            raise _custom(f"invalid duration {_shown(value)}: far too long") from None
    else:
        raise _custom(f"must be a duration string such as '30s', got {_shown(value)}")
    if not math.isfinite(duration.total_seconds()) or duration < timedelta(0):
        raise _custom(f"invalid duration {_shown(value)}: must not be negative")
    if duration > MAX_DURATION:
        raise _custom(
            f"invalid duration {_shown(value)}: at most {format_duration(MAX_DURATION)} (about 100 years)"
        )
    return duration


class IdentifierSpec(BaseModel):
    """One resource to watch, as written in ``spec.identifiers``; ``namespace`` None means the watch's own."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    group: Annotated[str, Field(max_length=253, pattern=GROUP_PATTERN)] = ""
    kind: Annotated[str, Field(min_length=1, max_length=63, pattern=KIND_PATTERN)]
    namespace: Annotated[str, Field(max_length=63, pattern=NAMESPACE_PATTERN)] | None = None
    name: Annotated[str, Field(min_length=1, max_length=253)]
    #: Reported, but never holds AllCurrent back, and not counted in ``progress``.
    optional: bool = False
    #: This member's own deadline: not in the desired status this long after a spec change -> Stalled.
    timeout: timedelta | None = None
    #: How long this member may be Failed before it stalls the StatusWatch (default: the spec's).
    failure_grace_period: timedelta | None = Field(default=None, alias="failureGracePeriod")

    @pydantic.field_validator("group", mode="before")
    @classmethod
    def _null_group_is_core(cls, value: object) -> object:
        # The API server prunes a null before defaulting it to ""; do the same.
        return "" if value is None else value

    @pydantic.field_validator("timeout", "failure_grace_period", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> timedelta | None:
        return None if value is None else _duration(value)

    @pydantic.model_validator(mode="after")
    def _optional_without_deadline(self) -> IdentifierSpec:
        if self.optional and self.timeout is not None:
            raise _custom("an optional identifier never holds anything back, so it cannot have a timeout")
        return self

    def label(self) -> str:
        """``apps/Deployment web``, ``Service shop/db``: how messages name an identifier."""
        kind = f"{self.group}/{self.kind}" if self.group else self.kind
        name = f"{self.namespace}/{self.name}" if self.namespace is not None else self.name
        return f"{kind} {name}"


class SelectorRequirementSpec(BaseModel):
    """One ``matchExpressions`` item of a metav1.LabelSelector."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    key: Annotated[str, Field(min_length=1, max_length=317)]
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: Annotated[tuple[Annotated[str, Field(max_length=63)], ...], Field(max_length=100)] = ()

    @pydantic.field_validator("values", mode="before")
    @classmethod
    def _values_list(cls, value: object) -> object:
        return tuple(value) if isinstance(value, list) else value

    @pydantic.model_validator(mode="after")
    def _values_fit_operator(self) -> SelectorRequirementSpec:
        if self.operator in ("In", "NotIn") and not self.values:
            raise _custom(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise _custom(f"operator {self.operator} takes no values")
        return self


class LabelSelectorSpec(BaseModel):
    """A metav1.LabelSelector; both parts empty selects every object of the kind."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, validate_by_name=True)

    match_labels: Annotated[dict[str, Annotated[str, Field(max_length=63)]], Field(max_length=64)] = Field(
        default_factory=dict, alias="matchLabels"
    )
    match_expressions: Annotated[tuple[SelectorRequirementSpec, ...], Field(max_length=32)] = Field(
        default=(), alias="matchExpressions"
    )

    @pydantic.field_validator("match_expressions", mode="before")
    @classmethod
    def _expressions_list(cls, value: object) -> object:
        return _dict_items(value)

    def to_dict(self) -> dict[str, Any]:
        """The selector as the API writes it (what the shared view's ``list`` takes)."""
        selector: dict[str, Any] = {}
        if self.match_labels:
            selector["matchLabels"] = dict(self.match_labels)
        if self.match_expressions:
            selector["matchExpressions"] = [
                {"key": e.key, "operator": e.operator, **({"values": list(e.values)} if e.values else {})}
                for e in self.match_expressions
            ]
        return selector

    def describe(self) -> str:
        """``app=web,tier in (a,b),!legacy``: kubectl's way of writing a selector, for messages."""
        parts = [f"{key}={value}" for key, value in sorted(self.match_labels.items())]
        for e in self.match_expressions:
            if e.operator == "Exists":
                parts.append(e.key)
            elif e.operator == "DoesNotExist":
                parts.append(f"!{e.key}")
            else:
                parts.append(f"{e.key} {'in' if e.operator == 'In' else 'notin'} ({','.join(e.values)})")
        return ",".join(parts) or "(everything)"


class SelectorSpec(BaseModel):
    """Members by label: every ``kind`` object in the StatusWatch's namespace that ``selector`` matches."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, validate_by_name=True)

    group: Annotated[str, Field(max_length=253, pattern=GROUP_PATTERN)] = ""
    kind: Annotated[str, Field(min_length=1, max_length=63, pattern=KIND_PATTERN)]
    selector: LabelSelectorSpec
    #: Matching nothing is fine (otherwise the entry is Unknown: the user asked for something not there).
    allow_empty: bool = Field(default=False, alias="allowEmpty")
    #: Every member found is optional (reported, never blocks AllCurrent).
    optional: bool = False

    @pydantic.field_validator("group", mode="before")
    @classmethod
    def _null_group_is_core(cls, value: object) -> object:
        return "" if value is None else value

    @pydantic.field_validator("selector", mode="before")
    @classmethod
    def _selector_dict(cls, value: object) -> object:
        return dict(value) if isinstance(value, Mapping) else value

    def label(self) -> str:
        """``apps/Deployment app=web``: how messages name a selector entry."""
        kind = f"{self.group}/{self.kind}" if self.group else self.kind
        return f"{kind} {self.selector.describe()}"


class HealthCheckSpec(BaseModel):
    """One ``spec.healthChecks`` entry (Flux's ``healthCheckExprs`` shape); the operator compiles the CEL."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, validate_by_name=True)

    api_version: Annotated[str, Field(min_length=1, max_length=317)] = Field(alias="apiVersion")
    kind: Annotated[str, Field(max_length=63, pattern=KIND_PATTERN)] | None = None
    current: Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH)]
    in_progress: Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH)] | None = Field(
        default=None, alias="inProgress"
    )
    failed: Annotated[str, Field(min_length=1, max_length=MAX_EXPRESSION_LENGTH)] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as written, camelCase, for the CEL health-check parser."""
        entry: dict[str, Any] = {"apiVersion": self.api_version, "current": self.current}
        if self.kind is not None:
            entry["kind"] = self.kind
        if self.in_progress is not None:
            entry["inProgress"] = self.in_progress
        if self.failed is not None:
            entry["failed"] = self.failed
        return entry


def _dict_items(value: object) -> object:
    # Strict mode wants a tuple of dicts; the API client may give a list of other mappings.
    if isinstance(value, list | tuple):
        return tuple(dict(item) if isinstance(item, Mapping) else item for item in value)
    return value


class StatusWatchSpec(BaseModel):
    """A validated ``spec``: what to watch, how stale a status may get, how long to wait, and for what."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_name=True, validate_by_alias=True, strict=True
    )

    identifiers: Annotated[tuple[IdentifierSpec, ...], Field(max_length=MAX_IDENTIFIERS)] = ()
    selectors: Annotated[tuple[SelectorSpec, ...], Field(max_length=MAX_SELECTORS)] = ()
    health_checks: Annotated[tuple[HealthCheckSpec, ...], Field(max_length=MAX_HEALTH_CHECKS)] = Field(
        default=(), alias="healthChecks"
    )
    poll_interval: timedelta = Field(default=DEFAULT_POLL_INTERVAL, alias="pollInterval")
    timeout: timedelta | None = None
    #: How long a member may be Failed (read InProgress, the failure named) before Stalled turns True.
    failure_grace_period: timedelta | None = Field(default=None, alias="failureGracePeriod")
    desired_status: Status = Field(default=Status.CURRENT, alias="desiredStatus")
    #: ``default`` or ``kstatus`` (:data:`RULE_MODES`); None: the operator's ``--rules``.
    rules: str | None = None

    @pydantic.field_validator("identifiers", "selectors", "health_checks", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return _dict_items(value)

    @pydantic.field_validator("poll_interval", mode="before")
    @classmethod
    def _poll_interval(cls, value: object) -> timedelta:
        duration = _duration(value)
        if duration < MIN_POLL_INTERVAL:
            raise _custom(f"{format_duration(duration)} is too short: must be at least 1s")
        return duration

    @pydantic.field_validator("timeout", "failure_grace_period", mode="before")
    @classmethod
    def _timeout(cls, value: object) -> timedelta | None:
        return None if value is None else _duration(value)

    @pydantic.field_validator("rules", mode="before")
    @classmethod
    def _rules(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and value in RULE_MODES):
            return value
        raise _custom(f"must be {' or '.join(RULE_MODES)}, got {_shown(value)}")

    @pydantic.field_validator("desired_status", mode="before")
    @classmethod
    def _desired_status(cls, value: object) -> Status:
        if isinstance(value, str) and value in DESIRED_STATUSES:
            return Status(value)
        allowed = " or ".join(status.value for status in DESIRED_STATUSES)
        raise _custom(f"must be {allowed}, got {_shown(value)}")

    @pydantic.model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> StatusWatchSpec:
        # parse_spec reports these itself, each on its own; direct construction gets them in one error.
        if not (isinstance(info.context, Mapping) and info.context.get(_DEFER_RELATIONS)):
            problems = _relation_problems(self)
            if problems:
                raise _custom("; ".join(problems))
        return self


_DEFER_RELATIONS = "statuswatch.defer_relations"


def _relation_problems(spec: StatusWatchSpec, namespace: str | None = None) -> list[str]:
    """Faults no single field shows: a timeout not longer than the poll interval, repeated identifiers.

    With ``namespace`` (the StatusWatch's own), an identifier without one repeats one that names it.
    """
    problems = []
    if not spec.identifiers and not spec.selectors:
        problems.append("spec: needs at least one identifier or selector")
    if spec.timeout is not None and spec.timeout <= spec.poll_interval:
        problems.append(
            f"spec.timeout ({format_duration(spec.timeout)}) must be longer than "
            f"spec.pollInterval ({format_duration(spec.poll_interval)})"
        )
    first_seen: dict[tuple[str, str, str | None, str], int] = {}
    for index, identifier in enumerate(spec.identifiers):
        key = (identifier.group, identifier.kind, identifier.namespace or namespace, identifier.name)
        if key in first_seen:
            first = first_seen[key]
            label = identifier.label()
            problems.append(f"spec.identifiers[{index}] repeats spec.identifiers[{first}] ({label})")
        else:
            first_seen[key] = index
    return problems


def parse_spec(raw: Mapping[str, Any] | None, *, namespace: str | None = None) -> StatusWatchSpec:
    """Validate a ``spec`` as decoded from the API; raise :class:`SpecError` and nothing else.

    ``namespace``, the StatusWatch's own, lets identifiers that leave it out count as repeats of those that
    spell it out.
    """
    if raw is None:
        raise SpecError(["spec: is required"])
    if not isinstance(raw, Mapping):
        raise SpecError([f"spec: must be an object, got {type(raw).__name__}"])
    try:
        spec = StatusWatchSpec.model_validate(dict(raw), context={_DEFER_RELATIONS: True})
    except pydantic.ValidationError as error:
        raise SpecError(_problems(error.errors(include_url=False))) from None
    except Exception as error:  # the contract: a bad spec never raises anything but SpecError
        raise SpecError([f"spec: could not be read ({type(error).__name__})"]) from None
    problems = _relation_problems(spec, namespace)
    if problems:
        raise SpecError(problems)
    return spec


def _problems(errors: list[Any]) -> list[str]:
    locations = [tuple(error.get("loc", ())) for error in errors]
    item_failed = any(len(location) > 1 and location[0] == "identifiers" for location in locations)
    return [
        _problem(error)
        for error, location in zip(errors, locations, strict=True)
        # A list whose items fail also counts as too short; the item errors already say it all.
        if not (item_failed and location == ("identifiers",) and error.get("type") == "too_short")
    ]


def _path(location: tuple[int | str, ...]) -> str:
    path = "spec"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _problem(error: Any) -> str:
    """One pydantic error in the user's words: the field path as written in YAML, then what is wrong."""
    location: tuple[int | str, ...] = tuple(error.get("loc", ()))
    field = next((part for part in reversed(location) if isinstance(part, str)), "")
    kind: str = error.get("type", "")
    context: Mapping[str, Any] = error.get("ctx") or {}
    value = error.get("input")
    if kind == "statuswatch":
        detail = str(context.get("detail", error.get("msg", "invalid")))
    elif kind == "missing":
        detail = "is required"
    elif kind in ("string_type", "str_type"):
        detail = f"must be a string, got {_shown(value)}"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        detail = f"must be an object, got {_shown(value)}"
    elif kind in ("tuple_type", "list_type"):
        detail = f"must be a list, got {_shown(value)}"
    elif kind == "literal_error":
        detail = f"must be {context.get('expected')}, got {_shown(value)}"
    elif kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(field, "it does not match the allowed pattern")
        detail = f"{_shown(value)} is not valid: {hint}"
    elif kind == "string_too_short":
        detail = "must not be empty"
    elif kind == "string_too_long":
        detail = f"is longer than {context.get('max_length')} characters"
    elif kind == "too_short":
        detail = f"must hold at least {context.get('min_length')} item(s)"
    elif kind == "too_long":
        detail = f"must hold at most {context.get('max_length')} items, got {context.get('actual_length')}"
    else:
        detail = str(error.get("msg", "is invalid"))
    return f"{_path(location)}: {detail}" if location else detail


# --- status ---------------------------------------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """``value`` as canonical compact JSON (sorted keys, UTF-8): equal values give equal bytes.

    The one encoding of a status: the status is built and measured against its budget in it, the worker
    keeps and compares its spec and last status in it (a few hundred bytes each rather than trees of dicts
    several times that size), so a publish encodes the new status once.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain_json
    ).encode()


def _plain_json(value: Any) -> Any:
    # kopf hands out its body fields as read-only mapping views, which json does not know.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC to the second, as metav1.Time writes it: ``2026-11-21T12:00:00Z``."""
    return utc_seconds(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(raw: object) -> datetime | None:
    """A timestamp read back from a status, in UTC to the second, or None when it is not one."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return utc_seconds(moment)


def utc_seconds(moment: datetime) -> datetime:
    """The same moment in UTC, to the second (a naive one is taken as UTC already)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.replace(microsecond=0)


#: The longest ``message`` of a ``status.resources`` entry; longer ones are cut with "...".
MAX_RESOURCE_MESSAGE = 512


@dataclass(frozen=True, slots=True)
class ResourceReport:
    """One member, from the poll to its ``status.resources`` entry: the one record of a member's status.

    The worker makes it from the poll's answer (or from its plan, for a member it does not poll) and the
    status is built from it directly; :meth:`to_dict` is its entry. ``namespace`` is "" for cluster-scoped
    resources. ``refusal`` is set when the operator refuses to look at the object at all (another
    namespace, cluster-scoped kinds not allowed); the entry then says Unknown and the refusal, and nothing
    about the object itself.

    ``reason`` is the root cause's CamelCase reason when one is known (``ImagePullBackOff``); ``rule`` which
    rule decided the status (``kstatus``, ``convention:<name>``, ``library:<group>/<kind>``,
    ``healthCheck``, ``default``; "" when nothing decided: not polled, not found); ``optional`` members
    never hold AllCurrent back; ``timeout`` is the member's own deadline. ``selector`` is set on the
    stand-in report of a selector that matched nothing (``name`` is then "").
    """

    group: str
    kind: str
    namespace: str
    name: str
    status: Status
    message: str
    refusal: str | None = None
    reason: str = ""
    optional: bool = False
    timeout: timedelta | None = None
    selector: str = ""
    rule: str = ""
    #: the member's own failureGracePeriod (None: the spec's), and since when it has been Failed
    failure_grace: timedelta | None = None
    failed_since: datetime | None = None

    def label(self) -> str:
        """``deployment/web``: the resource as kubectl users name it in messages."""
        if not self.name and self.selector:
            return f"{self.kind.lower()} selector {self.selector}"
        return f"{self.kind.lower()}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The ``status.resources`` entry: a refused member says Unknown and the refusal, nothing else."""
        refused = self.refusal is not None
        entry: dict[str, Any] = {"group": self.group, "kind": self.kind}
        if self.namespace:
            entry["namespace"] = self.namespace
        message = self.refusal if self.refusal is not None else self.message
        if len(message) > MAX_RESOURCE_MESSAGE:
            message = message[: MAX_RESOURCE_MESSAGE - 3] + "..."
        entry.update(
            name=self.name, status=Status.UNKNOWN.value if refused else self.status.value, message=message
        )
        # Only when set, so a StatusWatch that uses none of these writes exactly what it always did.
        if self.reason and not refused:
            entry["reason"] = self.reason
        if self.optional:
            entry["optional"] = True
        if self.selector:
            entry["selector"] = self.selector
        if self.rule and not refused:
            entry["rule"] = self.rule
        return entry


@dataclass(frozen=True, slots=True)
class ConditionRecord:
    """One metav1.Condition. ``last_transition_time`` is None only when read back malformed."""

    type: str
    status: str
    reason: str
    message: str
    observed_generation: int | None
    last_transition_time: datetime | None

    def to_dict(self) -> dict[str, Any]:
        condition: dict[str, Any] = {"type": self.type, "status": self.status}
        if self.observed_generation is not None:
            condition["observedGeneration"] = self.observed_generation
        if self.last_transition_time is not None:
            condition["lastTransitionTime"] = format_time(self.last_transition_time)
        condition.update(reason=self.reason, message=self.message)
        return condition

    @classmethod
    def from_dict(cls, raw: object) -> ConditionRecord | None:
        """The condition, or None without a string type and a True/False/Unknown status; never raises."""
        if not isinstance(raw, Mapping):
            return None
        type_, status = raw.get("type"), raw.get("status")
        if not isinstance(type_, str) or status not in ("True", "False", "Unknown"):
            return None
        return cls(
            type=type_,
            status=status,
            reason=_text(raw.get("reason")),
            message=_text(raw.get("message")),
            observed_generation=_generation(raw.get("observedGeneration")),
            last_transition_time=parse_time(raw.get("lastTransitionTime")),
        )


#: How many episodes ``status.history`` keeps (newest first).
MAX_HISTORY = 10
#: The longest ``blocker.message`` of a history entry.
MAX_BLOCKER_MESSAGE = 200


@dataclass(frozen=True, slots=True)
class Blocker:
    """What stalled an episode: the member (``deployment/web``; empty when the spec itself is at fault) and
    its reason and message."""

    member: str
    reason: str
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        blocker = {"member": self.member, "reason": self.reason}
        if self.message:
            blocker["message"] = self.message
        return blocker

    @classmethod
    def from_dict(cls, raw: object) -> Blocker | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("reason"), str):
            return None
        return cls(_text(raw.get("member")), str(raw["reason"]), _text(raw.get("message")))


@dataclass(frozen=True, slots=True)
class Episode:
    """One ``status.history`` entry: a stretch in which AllCurrent was not True, from its start to its end.

    ``result`` is how it ended: ``Current``/``NotFound`` (AllCurrent became True), ``Stalled`` (a member
    Failed, or the spec or an identifier is refused), ``Timeout`` (past ``spec.timeout`` or a member's own),
    ``Superseded`` (the spec changed first); ``blocker`` names what stalled it.
    """

    observed_generation: int
    started: datetime
    finished: datetime
    result: str
    blocker: Blocker | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, (self.finished - self.started).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "observedGeneration": self.observed_generation,
            "started": format_time(self.started),
            "finished": format_time(self.finished),
            "duration": format_duration(timedelta(seconds=self.seconds)),
            "result": self.result,
        }
        if self.blocker is not None:
            entry["blocker"] = self.blocker.to_dict()
        return entry

    @classmethod
    def from_dict(cls, raw: object) -> Episode | None:
        """The entry, or None when a field it cannot do without is missing or malformed; never raises."""
        if not isinstance(raw, Mapping):
            return None
        generation = _generation(raw.get("observedGeneration"))
        started, finished = parse_time(raw.get("started")), parse_time(raw.get("finished"))
        result = raw.get("result")
        if generation is None or started is None or finished is None or not isinstance(result, str):
            return None
        return cls(generation, started, finished, result, Blocker.from_dict(raw.get("blocker")))


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """A StatusWatch's whole ``status``; every field may be absent when read back from the cluster.

    ``resources`` are written, never read back: nothing is decided from a previous status's members."""

    observed_generation: int | None = None
    aggregate_status: str | None = None
    progress: str | None = None
    resources: tuple[ResourceReport, ...] = ()
    spec_observed_time: datetime | None = None
    conditions: tuple[ConditionRecord, ...] = ()
    history: tuple[Episode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The status subresource's JSON, camelCase, absent fields left out, keys in a fixed order."""
        status: dict[str, Any] = {}
        if self.observed_generation is not None:
            status["observedGeneration"] = self.observed_generation
        if self.aggregate_status is not None:
            status["aggregateStatus"] = self.aggregate_status
        if self.progress is not None:
            status["progress"] = self.progress
        status["resources"] = [entry.to_dict() for entry in self.resources]
        if self.spec_observed_time is not None:
            status["specObservedTime"] = format_time(self.spec_observed_time)
        status["conditions"] = [condition.to_dict() for condition in self.conditions]
        if self.history:
            status["history"] = [episode.to_dict() for episode in self.history]
        return status

    @classmethod
    def read(cls, raw: object) -> StatusRecord:
        """Whatever can be trusted in a previous status (missing, partial or garbage); never raises.

        Malformed fields read as absent, malformed list items are dropped, and of several conditions of
        one type the first counts (as the API server's list-map semantics would keep only one).
        """
        if not isinstance(raw, Mapping):
            return cls()
        aggregate = raw.get("aggregateStatus")
        progress = raw.get("progress")
        conditions = raw.get("conditions")
        read_conditions: list[ConditionRecord] = []
        if isinstance(conditions, list):
            seen: set[str] = set()
            for item in conditions:
                condition = ConditionRecord.from_dict(item)
                if condition is not None and condition.type not in seen:
                    seen.add(condition.type)
                    read_conditions.append(condition)
        return cls(
            observed_generation=_generation(raw.get("observedGeneration")),
            aggregate_status=aggregate if isinstance(aggregate, str) else None,
            progress=progress if isinstance(progress, str) else None,
            spec_observed_time=parse_time(raw.get("specObservedTime")),
            conditions=tuple(read_conditions),
            history=_history(raw.get("history")),
        )

    def condition(self, type_: str) -> ConditionRecord | None:
        """The condition of that type, if there is one."""
        return next((condition for condition in self.conditions if condition.type == type_), None)


def _history(raw: object) -> tuple[Episode, ...]:
    if not isinstance(raw, list):
        return ()
    episodes = (Episode.from_dict(item) for item in raw)
    return tuple(episode for episode in episodes if episode is not None)[:MAX_HISTORY]


def _text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""


def _generation(raw: object) -> int | None:
    # bool is an int in Python but never a generation.
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None
