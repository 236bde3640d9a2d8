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
