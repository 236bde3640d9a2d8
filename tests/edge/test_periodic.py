"""The background loop: every step runs, a failure is logged once however long it lasts,
and once more when the step works again."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from booking_core.kernel.errors import StoreUnavailable
from edge.periodic import run_periodically


async def test_a_failure_is_logged_once_and_the_recovery_once(caplog):
    outcomes = [1, "down", "down", "down", 2, "down", 3]
    results: list[object] = []
    done = asyncio.Event()

    down = StoreUnavailable("the store is away")

    async def step():
        if not outcomes:  # all played: wait to be cancelled
            done.set()
            await asyncio.Event().wait()
        outcome = outcomes.pop(0)
        if outcome == "down":
            raise down
        return outcome

    with caplog.at_level(logging.INFO, logger="edge.periodic"):
        task = asyncio.create_task(run_periodically("sweep", 0, step, results.append))
        await asyncio.wait_for(done.wait(), 5)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert results == [1, 2, 3]
    assert [r.getMessage() for r in caplog.records] == [
        f"sweep failed, will keep trying: {down}",
        "sweep works again",
        f"sweep failed, will keep trying: {down}",
        "sweep works again",
    ]


async def test_a_busy_step_runs_again_at_once_and_an_idle_one_waits_its_interval():
    results = [20, 20, 3, 0, 20]  # a lane's batches: full, full, part, nothing, …
    calls: list[int] = []
    four = asyncio.Event()
    waited = asyncio.Event()

    async def step():
        if len(calls) == 4:
            waited.set()  # reached only after the interval: the test does not wait for it
        calls.append(results[len(calls)])
        if len(calls) == 4:
            four.set()
        return calls[-1]

    task = asyncio.create_task(run_periodically("lane", 60, step, busy=lambda sent: bool(sent)))
    try:
        async with asyncio.timeout(2):  # the interval is a minute: busy steps do not wait it
            await four.wait()
        await asyncio.sleep(0.2)
        assert calls == [20, 20, 3, 0]  # after the idle step, the loop waits its interval
        assert not waited.is_set()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
