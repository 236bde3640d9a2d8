"""Waiting for a condition instead of sleeping a fixed time: a check that something has not
happened waits until the work that could have done it is provably finished, then looks."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

POLL_SECONDS = 0.01  # a check is a cheap read; the conditions come within tens of milliseconds
WAIT_SECONDS = 10.0  # the engine's workers poll every 0.5 s; a busy machine is much slower


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    what: str = "the condition",
    *,
    seconds: float = WAIT_SECONDS,
) -> Any:
    """Wait until ``check()`` (a function or a coroutine function) gives a true value, and
    return that value; fail saying ``what`` never came after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    assert found, f"{what}: still not so after {seconds} s"
    return found
