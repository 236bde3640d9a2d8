"""Background loops (后台循环): a step run every so many seconds that logs a failure once and
once more when it works again. The engine's sweeps run on it, and so does the SMS door's
background work (its senders, the notifier, the reminders)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from booking_core.kernel.errors import GuahaoError

log = logging.getLogger(__name__)


async def run_periodically(
    name: str,
    interval: float,
    step: Callable[[], object],
    on_result: Callable[[object], None] = lambda _r: None,
    *,
    busy: Callable[[object], bool] = lambda _r: False,
) -> None:
    """Call ``step`` every ``interval`` seconds; log a failure once, and once on recovery.
    A result ``busy`` says is busy (the step found work: there may be more) runs the step
    again at once instead of after the interval."""
    failing = False
    while True:
        try:
            result = await step()
        except (GuahaoError, OSError) as err:
            if not failing:
                log.warning("%s failed, will keep trying: %s", name, err)
            failing = True
        else:
            if failing:
                log.info("%s works again", name)
            failing = False
            on_result(result)
            if busy(result):
                await asyncio.sleep(0)  # others run between two busy steps
                continue
        await asyncio.sleep(interval)
