"""Who gets the next database connection when all are taken: the earliest deadline first.

Under a booking storm every connection of the PostgreSQL pool is busy and units queue
for one. A door with a time budget (:mod:`.budget`) cannot wait as long as one without:
a caller's step has 2.5 s, a HIS client waits for its answer. So the queue is ordered
by deadline, the least time left first; units without a budget come after them, in the
order they arrived. A unit that gets a connection sooner is started sooner, which is
what turns a "busy" into a decision; no unit is refused here (that is the budget's).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math


class DeadlineGate:
    """At most ``size`` holders at once; waiters served by deadline, then arrival."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiting: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def acquire(self, deadline: float | None) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        key = math.inf if deadline is None else deadline
        heapq.heappush(self._waiting, (key, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted as the waiter gave up: the next one gets it
            raise

    def release(self) -> None:
        while self._waiting:
            _key, _order, granted = heapq.heappop(self._waiting)
            if not granted.done():
                granted.set_result(None)
                return
        self.free += 1

    @property
    def waiting(self) -> int:
        return sum(1 for *_, granted in self._waiting if not granted.done())
