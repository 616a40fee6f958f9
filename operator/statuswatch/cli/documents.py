"""Documents from files, directories and standard input, for commands that judge every document they get.

``statuswatch status -f`` refuses a manifest with anything wrong in it (it is about to watch those objects).
``statuswatch compute`` must instead answer for every document, a broken one included, in input order: this
reader yields each document (or the error that stands in its place) with where it came from. Directories
are read recursively (``*.yaml``, ``*.yml``, ``*.json``, sorted by path); YAML streams of several documents,
JSON (one value or several in a row) are read, and ``List`` kinds are unpacked into their items; any other
document (an array, a string) is passed on as it is, for the caller to report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

__all__ = ["Document", "UnreadablePath", "read_documents"]

_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Document:
    """One document: its value (or None with ``error``) and where it came from (``file#index``)."""

    origin: str
    value: Any
    error: str | None = None


class UnreadablePath(OSError):
    """A path that is neither a readable file nor a directory (or a directory with no manifests)."""


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES)
        if not found:
            raise UnreadablePath(f"{path}: no .yaml, .yml or .json files")
        return found
    if path.is_file():
        return [path]
    raise UnreadablePath(f"{path}: no such file or directory")


def _json_values(text: str) -> Iterator[Any]:
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        value, index = decoder.raw_decode(text, index)
        yield value


def _values(text: str, as_json: bool) -> Iterator[tuple[Any, str | None]]:
    """Each top-level value, or (None, error) where the text stops parsing (nothing after it is read)."""
    if as_json:
        try:
            for value in _json_values(text):
                yield value, None
        except json.JSONDecodeError as error:
            yield None, f"not valid JSON: {error}"
        return
    try:
        for value in yaml.safe_load_all(text):
            yield value, None
    except yaml.YAMLError as error:
        yield None, f"not valid YAML: {' '.join(str(error).split())}"


def _unpack(value: Any, origin: str) -> Iterator[Document]:
    if (
        isinstance(value, Mapping)
        and isinstance(value.get("kind"), str)
        and value["kind"].endswith("List")
        and isinstance(value.get("items"), list)
    ):
        for index, item in enumerate(value["items"]):
            yield from _unpack(item, f"{origin}.items[{index}]")
        return
    yield Document(origin, value)


def _documents(text: str, name: str, as_json: bool) -> Iterator[Document]:
    index = 0
    for value, error in _values(text, as_json):
        origin = f"{name}#{index}"
        if error is not None:
            yield Document(origin, None, error)
            return
        index += 1
        if value is None:  # an empty document (a trailing ---)
            continue
        yield from _unpack(value, origin)


def read_documents(paths: list[str], stdin: TextIO) -> Iterator[Document | UnreadablePath]:
    """Every document of ``paths`` in order; an unreadable path is yielded as its error, reading goes on."""
    for source in paths:
        if source == "-":
            text = stdin.read()
            yield from _documents(text, "<stdin>", text.lstrip()[:1] in ("{", "["))
            continue
        try:
            files = _files(Path(source))
        except UnreadablePath as error:
            yield error
            continue
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                yield UnreadablePath(f"{file}: {error}")
                continue
            yield from _documents(text, str(file), file.suffix == ".json")
