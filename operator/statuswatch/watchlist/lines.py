"""Cut a watch response's bytes into lines, without doing any I/O (feed chunks in, take lines out).

A watch response is one JSON event per line, but the network hands out chunks that do not respect line
ends: a large object spans many chunks, one chunk holds many small events, and the last line may lack its
newline when the server closes. Keeping the cutting apart from the socket lets it be tested with any split
of the bytes, and lets every transport (the aiohttp client, fakes, wrappers) share it.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_LINE", "LineSplitter", "LineTooLong"]

#: Far above any watch event: the API server refuses objects over ~1.5 MiB (etcd's request limit) and a
#: request body over 3 MiB, and an event is one object.
DEFAULT_MAX_LINE = 32 * 1024 * 1024


class LineTooLong(ValueError):
    """A line grew past the splitter's limit before its end came (a broken or hostile stream)."""


class LineSplitter:
    """Feed bytes with :meth:`feed`, get the complete lines so far; :meth:`flush` at the end of the body.

    Lines come without their ``\\n`` (and without a ``\\r`` before it); blank lines are dropped. A partial
    line is kept as a list of chunks and joined once, when its end arrives, so that an object spread over
    many chunks costs one copy, not one per chunk.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._pending: list[bytes] = []
        self._pending_size = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines that ``chunk`` completes; raises :class:`LineTooLong` past the limit."""
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            self._keep(chunk)
            return []
        first = b"".join([*self._pending, parts[0]]) if self._pending else parts[0]
        lines = [first, *parts[1:-1]]
        self._pending, self._pending_size = [], 0
        longest = max(map(len, lines))
        if longest > self.max_line:
            raise LineTooLong(f"a line of {longest} bytes, more than the limit of {self.max_line}")
        self._keep(parts[-1])
        return [line for line in map(_strip_cr, lines) if line.strip()]

    def flush(self) -> list[bytes]:
        """What is left once the body has ended: a last line that had no newline, if any."""
        rest = _strip_cr(b"".join(self._pending))
        self._pending, self._pending_size = [], 0
        return [rest] if rest.strip() else []

    def _keep(self, part: bytes) -> None:
        if not part:
            return
        self._pending.append(part)
        self._pending_size += len(part)
        if self._pending_size > self.max_line:
            size = self._pending_size
            self._pending, self._pending_size = [], 0
            raise LineTooLong(f"a line of more than {self.max_line} bytes (at least {size} so far)")


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line
