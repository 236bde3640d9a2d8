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
) -> None:
    """Call ``step`` every ``interval`` seconds; log a failure once, and once on recovery."""
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
        await asyncio.sleep(interval)
