"""A StatusWatch's plan: which members to poll, which to refuse and why, as pure functions of plain facts.

The worker gathers the facts (the spec, each kind's scope from discovery, each selector's first answer) and
this module decides; it does no I/O, so every decision is tested from tables. Each member gets one
:class:`Slot`, in spec order: its identifiers first, then the objects its selectors match (an object named
twice is listed once). Where a member's scope is settled is here, once: a cluster-scoped member has the
namespace "" in its key, in what is polled and in the status; everything downstream reads the key as is.

Refusals: a namespaced StatusWatch looks only at objects in its own namespace, cluster-scoped kinds only when
the operator allows them, and a selector never picks cluster-scoped objects. A refused member is polled never
and reported Unknown with the refusal. A kind the cluster does not know yet (scope None) is polled in the
StatusWatch's namespace; the worker checks its scope again once the poll answers for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from statuswatch.kstatus import Status

from .models import IdentifierSpec, ResourceReport, SelectorSpec, StatusWatchSpec

__all__ = [
    "MAX_SELECTED_MEMBERS",
    "MemberKey",
    "Scope",
    "SelectorAnswer",
    "Slot",
    "identifier_slot",
    "kind_label",
    "plan",
    "refusal",
    "selector_key",
    "selector_refusal",
    "selector_slots",
]

#: Members a StatusWatch's selectors may add together (as many as it may list as identifiers): past it, the
#: first names in order are served and the selector's entry says the rest are not, so it is never Current.
MAX_SELECTED_MEMBERS = 1000

MemberKey = tuple[str, str, str, str]
"""``(group, kind, namespace, name)`` of a member, namespace "" when cluster-scoped."""

SelectorAnswer = frozenset[str] | str
"""What a selector's source said when planning: the names it matches, or why there are none to tell."""

#: The scope of a kind: True namespaced, False cluster-scoped, None not known (yet).
Scope = bool | None


@dataclass(frozen=True, slots=True)
class Slot:
    """One member, resolved: polled under :attr:`key`, or a refusal, or a stand-in for a selector.

    ``polled`` members are polled with ``key`` as their identifier; the others are reported Unknown with
    ``refusal`` or, for a selector with no member to show, with ``note`` (then ``selector`` describes it).
    ``scope_known`` is False for a kind discovery did not know at planning time.
    """

    key: MemberKey
    polled: bool
    scope_known: bool = True
    optional: bool = False
    timeout: timedelta | None = None
    failure_grace: timedelta | None = None
    refusal: str | None = None
    note: str = ""
    selector: str = ""

    def report(self, message: str) -> ResourceReport:
        """The member's record until the poll says something: Unknown, with the refusal, note or ``message``.

        A selector's stand-in has no name (its key's name only keeps it apart from other members)."""
        group, kind, namespace, name = self.key
        return ResourceReport(
            group=group,
            kind=kind,
            namespace=namespace,
            name="" if self.selector else name,
            status=Status.UNKNOWN,
            message=self.refusal or self.note or message,
            refusal=self.refusal,
            optional=self.optional,
            timeout=self.timeout,
            failure_grace=self.failure_grace,
            selector=self.selector,
        )


def kind_label(group: str, kind: str) -> str:
    """``Deployment.apps``, ``Service``: how refusals name a kind."""
    return f"{kind}.{group}" if group else kind


def refusal(
    group: str,
    kind: str,
    given_namespace: str,
    namespaced: Scope,
    *,
    own_namespace: str,
    allow_cluster_scoped: bool,
) -> str | None:
    """Why an identifier may not be served, or None. ``given_namespace`` is "" when the spec gives none."""
    if namespaced is False:
        if allow_cluster_scoped:
            return None
        return (
            f"{kind_label(group, kind)} is cluster-scoped, and this operator serves cluster-scoped kinds "
            "only when started with --allow-cluster-scoped"
        )
    if given_namespace and given_namespace != own_namespace:
        return (
            f"namespace {given_namespace!r} is not this StatusWatch's namespace "
            f"({own_namespace!r}); a StatusWatch may only watch objects in its own namespace"
        )
    return None


def identifier_slot(
    entry: IdentifierSpec, namespaced: Scope, *, namespace: str, allow_cluster_scoped: bool
) -> Slot:
    """The slot of one ``spec.identifiers`` entry of a StatusWatch in ``namespace``."""
    given = entry.namespace or ""
    why = refusal(
        entry.group,
        entry.kind,
        given,
        namespaced,
        own_namespace=namespace,
        allow_cluster_scoped=allow_cluster_scoped,
    )
    member_namespace = "" if namespaced is False else (given or namespace)
    return Slot(
        key=(entry.group, entry.kind, member_namespace, entry.name),
        polled=why is None,
        scope_known=namespaced is not None,
        optional=entry.optional,
        timeout=entry.timeout,
        failure_grace=entry.failure_grace_period,
        refusal=why,
    )


def selector_refusal(selector: SelectorSpec, namespaced: Scope) -> str | None:
    """Why a selector is refused before anything is listed (its kind is cluster-scoped), or None."""
    if namespaced is False:
        return (
            f"{kind_label(selector.group, selector.kind)} is cluster-scoped; a selector picks objects in "
            "the StatusWatch's namespace"
        )
    return None


def selector_key(index: int, selector: SelectorSpec, namespace: str) -> MemberKey:
    """The key of the stand-in that reports selector ``index`` while it has no member to show."""
    return (selector.group, selector.kind, namespace, f"selector[{index}]")


def selector_slots(
    index: int,
    selector: SelectorSpec,
    namespaced: Scope,
    answer: SelectorAnswer,
    *,
    namespace: str,
    taken: frozenset[MemberKey] | set[MemberKey] = frozenset(),
    room: int = MAX_SELECTED_MEMBERS,
) -> list[Slot]:
    """The slots of ``spec.selectors[index]``: one per matched name not in ``taken``, or one stand-in.

    At most ``room`` members; past that, the first ones by name and a stand-in saying how many are not served.
    """
    described = selector.selector.describe()
    why = selector_refusal(selector, namespaced)

    def stand_in(note: str, refused: str | None = None) -> list[Slot]:
        key = selector_key(index, selector, namespace)
        return [Slot(key, False, optional=selector.optional, refusal=refused, note=note, selector=described)]

    if why is not None:
        return stand_in(why, why)
    if isinstance(answer, str):
        return stand_in(answer)
    if not answer:
        if selector.allow_empty:
            return []
        return stand_in(
            f"selector {described} matches no {kind_label(selector.group, selector.kind)} in namespace "
            f"{namespace!r} (set allowEmpty: true if that is fine)"
        )
    keys = [(selector.group, selector.kind, namespace, name) for name in sorted(answer)]
    keys = [key for key in keys if key not in taken]
    slots = [Slot(key, True, namespaced is not None, selector.optional) for key in keys[: max(room, 0)]]
    if len(keys) > len(slots):
        label = kind_label(selector.group, selector.kind)
        note = (
            f"selector {described} matches {len(keys)} {label} objects; a StatusWatch's selectors serve at "
            f"most {MAX_SELECTED_MEMBERS} members, so {len(keys) - len(slots)} are not watched "
            "(narrow the selector or split the StatusWatch)"
        )
        slots.append(
            Slot(
                selector_key(index, selector, namespace),
                False,
                optional=selector.optional,
                note=note,
                selector=described,
            )
        )
    return slots


def plan(
    spec: StatusWatchSpec,
    *,
    namespace: str,
    scopes: Mapping[tuple[str, str], Scope],
    answers: Sequence[SelectorAnswer],
    allow_cluster_scoped: bool,
) -> tuple[Slot, ...]:
    """Every slot of ``spec`` for a StatusWatch in ``namespace``, in spec order.

    ``scopes`` holds what discovery said of each ``(group, kind)`` (missing: not known); ``answers`` one
    answer per selector, in order.
    """
    slots: list[Slot] = []
    keys: set[MemberKey] = set()
    for entry in spec.identifiers:
        slot = identifier_slot(
            entry,
            scopes.get((entry.group, entry.kind)),
            namespace=namespace,
            allow_cluster_scoped=allow_cluster_scoped,
        )
        # The spec's own check refuses repeats, but cannot know scopes: a cluster-scoped kind given with and
        # without a namespace is one object, so one member.
        if slot.key not in keys:
            keys.add(slot.key)
            slots.append(slot)
    selected = 0
    for index, (selector, answer) in enumerate(zip(spec.selectors, answers, strict=True)):
        taken = {slot.key for slot in slots}
        scope = scopes.get((selector.group, selector.kind))
        room = MAX_SELECTED_MEMBERS - selected
        found = selector_slots(index, selector, scope, answer, namespace=namespace, taken=taken, room=room)
        selected += sum(1 for slot in found if slot.polled)
        slots.extend(found)
    return tuple(slots)
