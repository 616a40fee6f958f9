"""Selector membership: which objects a StatusWatch's ``spec.selectors`` match now, and when that changes.

A worker plans with the names each selector matches at planning time (:meth:`Memberships.open`) and re-plans
once a set differs (:meth:`Memberships.changed`). A selector that cannot be read (a kind not installed, a
kind the operator may not list) is looked at again after a delay from the worker's one back-off, which lives
as long as the worker and starts over only once every selector answered: a re-plan must not start it
afresh, or a forbidden kind re-plans (and restarts the whole poll) at the first delay forever.

The answers come from the shared view (:func:`view_members`), one subscription per selector, from memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from statuswatch.aiokit import Delays, aclose, stop_tasks
from statuswatch.polling import describe_error
from statuswatch.watchlist.view import SharedView

from .models import SelectorSpec
from .plan import Scope, SelectorAnswer, kind_label, selector_refusal

__all__ = ["NOT_SERVED", "MemberSource", "Memberships", "view_members"]

MemberSource = Callable[[str, str, str, Mapping[str, Any]], AsyncIterator[frozenset[str]]]
"""``(group, kind, namespace, selector)``: the names of the matching objects once known, then again each
time that set changes; raises when the kind cannot be read. Closing the iterator ends it."""

NOT_SERVED = "selectors are not served by this operator"


@dataclass
class _Open:
    """One selector's live answer: the names planned with (None: none yet), and where changes come from."""

    names: frozenset[str] | None
    changes: AsyncIterator[frozenset[str]] | None
    first: asyncio.Future[frozenset[str]] | None = None


class Memberships:
    """The selectors of one worker: opened at each plan, watched for changes, closed at the next plan."""

    def __init__(
        self,
        source: MemberSource | None,
        *,
        wait: float,
        backoff: Sequence[float],
        log: logging.Logger | logging.LoggerAdapter[logging.Logger],
    ) -> None:
        self._source = source
        self._wait = wait
        self._delays = Delays(backoff)
        self._log = log
        self._open: list[_Open] = []

    async def open(
        self, selectors: Sequence[tuple[SelectorSpec, Scope]], namespace: str
    ) -> list[SelectorAnswer]:
        """Open every selector (after closing the last plan's) and wait up to ``wait`` for first answers.

        One answer per selector, in order: the names it matches, or why there are none to tell (not
        served, waiting, unreadable). Selectors refused by their scope are not opened.
        """
        await self.close()
        if self._source is None:
            return [NOT_SERVED for _ in selectors]
        answers: list[SelectorAnswer] = []
        opened: list[tuple[int, SelectorSpec, _Open]] = []
        for selector, scope in selectors:
            if selector_refusal(selector, scope) is None:
                changes = self._source(selector.group, selector.kind, namespace, selector.selector.to_dict())
                entry = _Open(None, changes, asyncio.ensure_future(anext(changes)))
                self._open.append(entry)
                opened.append((len(answers), selector, entry))
            answers.append(frozenset())  # refused by the plan, or answered below
        firsts = [entry.first for _, _, entry in opened if entry.first is not None]
        if firsts:
            await asyncio.wait(firsts, timeout=self._wait)
        for index, selector, entry in opened:
            answers[index] = await self._settle(selector, entry)
        if all(entry.changes is not None for entry in self._open):
            self._delays.reset()  # every selector answered (or is on its way): the next failure starts over
        return answers

    async def _settle(self, selector: SelectorSpec, entry: _Open) -> SelectorAnswer:
        described = selector.selector.describe()
        first = entry.first
        assert first is not None
        if not first.done():
            label = kind_label(selector.group, selector.kind)
            return f"selector {described}: waiting for the list of {label} objects"
        entry.first = None
        try:
            names = first.result()
        except Exception as error:
            if entry.changes is not None:
                await aclose(entry.changes)
            entry.changes = None
            return f"selector {described}: {describe_error(error)}"
        entry.names = names
        return names

    async def changed(self) -> None:
        """Return once a selector's set of names differs from the one planned with, or once an unreadable
        one is due for another look (after the next back-off delay); never while nothing changes."""
        if not self._open:
            await asyncio.Event().wait()
        tasks = [asyncio.ensure_future(self._follow(entry)) for entry in self._open]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await stop_tasks(tasks, log=self._log)

    async def _follow(self, entry: _Open) -> None:
        try:
            if entry.first is not None:
                names = await entry.first
                entry.first = None
                if names != entry.names:
                    return
            if entry.changes is None:  # unreadable: look again after a while
                await self._delays.sleep()
                return
            async for names in entry.changes:
                if names != entry.names:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._log.info("selector members unreadable: %s", error)
            return
        await asyncio.Event().wait()  # the source ended: nothing will change any more

    async def close(self) -> None:
        """Close every selector's source."""
        entries, self._open = self._open, []
        for entry in entries:
            await stop_tasks([entry.first])
            if entry.changes is not None:
                await aclose(entry.changes)


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
