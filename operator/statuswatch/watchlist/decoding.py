"""Typed decoding: watch lines and LIST pages straight into projected objects, skipping what is dropped.

Every watch event is decoded, projected and stored. ``json.loads`` builds the whole object (managedFields,
annotations, the pod template, ...) only for :func:`statuswatch.kstatus.project` to throw most of it away.
A msgspec decoder given a schema of exactly the fields the projection keeps skips the rest while parsing,
without allocating it, so decoding *and* projecting costs less than ``json.loads`` alone.

The schemas are built from the projection's own field tables and the kind table
(:data:`statuswatch.kstatus.KINDS`), per (group, kind). The result must equal
``project(json.loads(line))`` for every object, so anything the schema cannot express falls back to that:

* a value of an unexpected JSON type (a malformed object, copied as it is by ``project``) fails validation;
* a status whose kept fields are all absent is decoded again to tell ``{}`` from a status with other fields;
* BOOKMARK and ERROR events, and objects of another kind than the stream's, are decoded in full;
* the first objects of each kind are also projected the slow way and compared (an audit): should the
  projection ever keep a field the schema does not know, the kind falls back for good and a warning says so.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import msgspec

from statuswatch.kstatus import KINDS, project
from statuswatch.kstatus.fields import group_and_kind
from statuswatch.kstatus.projection import (
    CONDITION_KEYS,
    CONTAINER_STATUS_KEYS,
    EVENT_KEYS,
    EVENT_KINDS,
    GENERIC_STATUS_KEYS,
    METADATA_KEYS,
    OWNER_KEYS,
    REFERENCE_KEYS,
    TERMINATED_KEYS,
    WAITING_KEYS,
)

__all__ = ["AUDITED_OBJECTS", "Decoded", "TypedDecoder", "metadata_only"]

#: Objects per kind (per decoder) that are also projected from a full decode and compared.
AUDITED_OBJECTS = 16

#: Kinds whose status needs no body (kstatus calls them always Current): watched as PartialObjectMetadata.
_METADATA_ONLY = frozenset(key for key, kind in KINDS.items() if kind.metadata_only)

_log = logging.getLogger("statuswatch.watchlist")

# ``TypedDict`` called with field tables that are only known at run time (the type checker wants literals).
_typed_dict: Any = TypedDict
_list: Any = list


def metadata_only(group: str, kind: str) -> bool:
    """Whether a kind is watched as metadata only: its status is Current whatever its body holds."""
    return (group, kind) in _METADATA_ONLY


def _anys(name: str, keys: tuple[str, ...], **typed: Any) -> Any:
    fields: dict[str, Any] = dict.fromkeys(keys, Any)
    fields.update(typed)
    return _typed_dict(name, fields, total=False)


_OWNER = _anys("Owner", OWNER_KEYS)
_CONDITION = _anys("Condition", CONDITION_KEYS)
_STATE = _anys(
    "State",
    (),
    waiting=_anys("Waiting", WAITING_KEYS),
    running=_anys("Running", ()),  # kept empty: that it runs is what a "why" reads
    terminated=_anys("Terminated", TERMINATED_KEYS),
)
_CONTAINER_STATUS = _anys(
    "ContainerStatus",
    CONTAINER_STATUS_KEYS,
    **{key: _STATE for key in ("state", "lastState") if key in CONTAINER_STATUS_KEYS},
)
_METADATA = _anys("Metadata", METADATA_KEYS, ownerReferences=_list[_OWNER])
_STATUS_PROBE = _typed_dict("StatusProbe", {"status": dict[str, msgspec.Raw]}, total=False)
_EVENT_PROBE = _typed_dict("EventProbe", {"object": _STATUS_PROBE}, total=False)


def _object_type(group: str, kind: str) -> Any:
    row = KINDS.get((group, kind))
    spec_keys, status_keys = (row.spec, row.status) if row is not None else ((), ())
    status_fields: dict[str, Any] = dict.fromkeys((*GENERIC_STATUS_KEYS, *status_keys), Any)
    status_fields["conditions"] = _list[_CONDITION]
    for key in ("containerStatuses", "initContainerStatuses"):
        if key in status_fields:
            status_fields[key] = _list[_CONTAINER_STATUS]
    fields: dict[str, Any] = {
        "apiVersion": Any,
        "kind": Any,
        "metadata": _METADATA,
        "status": _typed_dict("Status", status_fields, total=False),
    }
    if spec_keys:
        fields["spec"] = _anys("Spec", spec_keys)
    if (group, kind) in EVENT_KINDS:
        reference = _anys("Reference", REFERENCE_KEYS)
        for key in EVENT_KEYS:
            fields[key] = reference if key in ("involvedObject", "regarding") else Any
    return _typed_dict("Object", fields, total=False)


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded watch line: the event (its ``object`` projected unless ``projected`` is False)."""

    event: dict[str, Any]
    projected: bool


class TypedDecoder:
    """Decodes the watch lines and LIST pages of one kind into projected objects.

    ``api_version``/``kind`` are the stream's: objects that carry none (LIST items) are given these, and
    ``override`` replaces what they carry (PartialObjectMetadata answers name their own type).
    """

    def __init__(self, group: str, kind: str, api_version: str, *, override: bool = False) -> None:
        self.group = group
        self.kind = kind
        self.api_version = api_version
        self.override = override
        self.enabled = True
        #: Objects that took the slow path (decoded in full, then projected): malformed, odd or after drift.
        self.full_decodes = 0
        self._audit = AUDITED_OBJECTS
        obj = _object_type(group, kind)
        event = _typed_dict("Event", {"type": str, "object": obj}, total=False)
        page_meta = _anys("ListMeta", ("resourceVersion", "continue"))
        page = _typed_dict("Page", {"metadata": page_meta, "items": list[msgspec.Raw]}, total=False)
        self._event = msgspec.json.Decoder(event)
        self._object = msgspec.json.Decoder(obj)
        self._page = msgspec.json.Decoder(page)
        self._event_probe = msgspec.json.Decoder(_EVENT_PROBE)
        self._object_probe = msgspec.json.Decoder(_STATUS_PROBE)

    # -- watch lines -------------------------------------------------------------------------------------

    def decode_event(self, line: bytes) -> Decoded:
        """One watch line. BOOKMARK and ERROR events come back in full, unprojected."""
        if self.enabled:
            try:
                event: dict[str, Any] = self._event.decode(line)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass
            else:
                etype = event.get("type")
                obj = event.get("object")
                if etype in ("ADDED", "MODIFIED", "DELETED") and isinstance(obj, dict):  # noqa: SIM102
                    if self._finish(obj, line, self._event_probe, lambda: json.loads(line)["object"]):
                        return Decoded(event, True)
        full = json.loads(line)
        if not isinstance(full, dict):
            return Decoded({"type": "", "object": full}, False)
        if full.get("type") in ("ADDED", "MODIFIED", "DELETED") and isinstance(full.get("object"), dict):
            self.full_decodes += 1
            full["object"] = self.project(full["object"])
            return Decoded(full, True)
        return Decoded(full, False)

    # -- LIST pages --------------------------------------------------------------------------------------

    def decode_page(self, body: bytes) -> tuple[dict[str, Any], list[Any]]:
        """A LIST answer: its ``metadata`` and its items, each projected (or left as it is if malformed)."""
        try:
            page: dict[str, Any] = self._page.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            full = json.loads(body)
            items = full.get("items") if isinstance(full, dict) else None
            meta = full.get("metadata") if isinstance(full, dict) else None
            return meta or {}, [self.project(i) if isinstance(i, dict) else i for i in items or []]
        return page.get("metadata") or {}, [self.decode_object(raw) for raw in page.get("items") or []]

    def decode_object(self, body: bytes | msgspec.Raw) -> Any:
        """One object's JSON, projected (a non-object is returned as it is, for the caller to reject)."""
        if self.enabled:
            try:
                obj: dict[str, Any] = self._object.decode(body)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass
            else:
                if self._finish(obj, body, self._object_probe, lambda: json.loads(bytes(body))):
                    return obj
        self.full_decodes += 1
        full = json.loads(bytes(body))
        return self.project(full) if isinstance(full, dict) else full

    # -- shared ------------------------------------------------------------------------------------------

    def project(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The slow path: the full object, given the stream's type where needed, then projected."""
        self._set_type(obj)
        projected = project(obj)
        self._set_type(projected)
        return projected

    def _set_type(self, obj: dict[str, Any]) -> None:
        if self.override or not obj.get("apiVersion"):
            obj["apiVersion"] = self.api_version
        if self.override or not obj.get("kind"):
            obj["kind"] = self.kind

    def _finish(
        self, obj: dict[str, Any], body: bytes, probe: msgspec.json.Decoder[Any], full: Callable[[], Any]
    ) -> bool:
        """Complete a typed decode in place; False when only the slow path can give the right answer."""
        if not self.override:
            own = group_and_kind(obj) if "apiVersion" in obj or "kind" in obj else None
            if own is not None and own != (self.group, self.kind):
                return False  # another kind's rules apply (or a malformed apiVersion): project decides
        if obj.get("status") == {} and _status_probe(probe.decode(body)):
            obj["status"] = {"observed": True}  # project's marker of a non-empty status with nothing kept
        self._set_type(obj)
        if self._audit > 0:
            self._audit -= 1
            expected = full()
            if isinstance(expected, dict):
                expected = self.project(expected)
            if expected != obj:
                self.enabled = False
                _log.warning(
                    "typed decoding of %s.%s differs from the projection; decoding this kind in full",
                    self.kind,
                    self.group or "core",
                )
                return False
        return True


def _status_probe(probed: Mapping[str, Any]) -> bool:
    """Whether a probe decode found a non-empty status (of an object, or of an event's object)."""
    inner = probed.get("object", probed)
    status = inner.get("status") if isinstance(inner, Mapping) else None
    return bool(status)
