"""Identifiers from manifests: files, directories and standard input, YAML or JSON, ``List`` kinds unpacked.

Used by ``statuswatch status -f`` and by anything else that wants to watch what it is about to apply.
Namespaces are filled in afterwards by the caller, who knows which kinds are cluster-scoped. A namespace that
a manifest gives a cluster-scoped object (kustomize writes one into every object) may stay in its
identifier: the engine reads such an object without it and reports it under the identifier as given.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ManifestError", "load_objects"]

_SUFFIXES = {".yaml", ".yml", ".json"}


class ManifestError(ValueError):
    """A manifest that cannot be read or is not a Kubernetes object."""


def load_objects(sources: Iterable[str]) -> list[dict[str, Any]]:
    """Every object in ``sources`` (paths, directories, or ``-`` for stdin), in order."""
    objects: list[dict[str, Any]] = []
    for source in sources:
        for origin, text in _texts(source):
            try:
                documents = list(yaml.safe_load_all(text))
            except yaml.YAMLError as error:
                raise ManifestError(f"{origin}: not valid YAML: {error}") from error
            for document in documents:
                objects.extend(_unpack(document, origin))
    return objects


def _texts(source: str) -> Iterator[tuple[str, str]]:
    if source == "-":
        yield "<stdin>", sys.stdin.read()
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
        if not files:
            raise ManifestError(f"{path}: no .yaml, .yml or .json files")
    elif path.is_file():
        files = [path]
    else:
        raise ManifestError(f"{path}: no such file or directory")
    for file in files:
        yield str(file), file.read_text()


def _unpack(document: Any, origin: str) -> list[dict[str, Any]]:
    if document is None:
        return []
    if not isinstance(document, Mapping):
        raise ManifestError(f"{origin}: a document is not a mapping")
    if str(document.get("kind", "")).endswith("List") and isinstance(document.get("items"), list):
        return [obj for item in document["items"] for obj in _unpack(item, origin)]
    name = (document.get("metadata") or {}).get("name")
    if not document.get("apiVersion") or not document.get("kind") or not name:
        raise ManifestError(f"{origin}: an object without apiVersion, kind or metadata.name")
    return [dict(document)]
