"""The asyncio kit: a stop keeps the caller's cancellation and logs failures; delays step and repeat."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from statuswatch.aiokit import Backoff, Delays, aclose, stop_tasks

pytestmark = pytest.mark.looptime


async def test_stop_tasks_cancels_every_task_and_waits_for_all() -> None:
    finished: list[str] = []

    async def sleeper(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(1)  # a task that takes a while to unwind
            finished.append(name)

    tasks = [asyncio.create_task(sleeper(name)) for name in ("a", "b")]
    await asyncio.sleep(0)
    await stop_tasks([*tasks, None])
    assert sorted(finished) == ["a", "b"]
    assert all(task.cancelled() for task in tasks)


async def test_a_failed_task_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails(), name="failing")
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        await stop_tasks([task], log=logging.getLogger("test.aiokit"))
    assert [record.getMessage() for record in caplog.records] == ["failing failed"]


async def test_the_callers_own_cancellation_goes_on() -> None:
    inner = asyncio.create_task(_unwinds_slowly())
    await asyncio.sleep(0)

    async def stopper() -> None:
        await stop_tasks([inner])

    outer = asyncio.create_task(stopper())
    await asyncio.sleep(0.5)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert inner.cancelling()  # it was asked to stop before the caller was interrupted
    await asyncio.wait([inner])


async def _unwinds_slowly() -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.sleep(10)


async def test_aclose_closes_generators_and_ignores_plain_iterators() -> None:
    closed: list[bool] = []

    async def gen() -> object:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    iterator = gen()
    assert await anext(iterator) == 1  # type: ignore[call-overload]
    await aclose(iterator)  # type: ignore[arg-type]
    assert closed == [True]

    class Plain:
        def __aiter__(self) -> Plain:
            return self

        async def __anext__(self) -> int:
            raise StopAsyncIteration

    await aclose(Plain())


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        ((1.0,), [1.0, 1.0, 1.0]),
        ((1.0, 2.0, 5.0), [1.0, 2.0, 5.0, 5.0, 5.0]),
    ],
)
def test_delays_step_through_the_sequence_then_repeat_the_last(
    sequence: tuple[float, ...], expected: list[float]
) -> None:
    delays = Delays(sequence)
    assert [delays.next_delay() for _ in expected] == expected
    delays.reset()
    assert delays.next_delay() == sequence[0]


def test_delays_need_a_delay() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Delays(())


async def test_delays_sleep_on_loop_time() -> None:
    loop = asyncio.get_running_loop()
    delays = Delays((2.0, 7.0))
    start = loop.time()
    assert await delays.sleep() == 2.0
    assert await delays.sleep() == 7.0
    assert loop.time() - start == pytest.approx(9.0)


def test_backoff_is_jittered_exponential_up_to_its_ceiling() -> None:
    backoff = Backoff(1.0, 8.0, rng=random.Random(1))
    ceilings = []
    for _ in range(6):
        ceiling = backoff.ceiling()
        delay = backoff.next_delay()
        assert ceiling / 2 <= delay <= ceiling
        ceilings.append(ceiling)
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
