"""A door's time budget, kept by the store (应答时限).

A door that must answer within a few seconds (the voice webhook: a caller in silence)
runs its work ``async with within(seconds):``. The budget is one deadline that the
door and the store share, and it keeps the door's answer true of what the core does:

* **A unit of work not started by the deadline is never started.** ``store.write``
  raises :class:`~booking_core.kernel.errors.NotStarted` (a ``StoreUnavailable``: nothing was
  committed), and the door's "busy, try again" is true. On SQLite a unit queued
  behind a slow batch is dropped by the writer; on PostgreSQL a unit still waiting for
  a connection, a lock or a statement when the deadline comes is rolled back
  (``SET LOCAL statement_timeout`` and ``lock_timeout`` are the remaining budget, and
  the store looks at the deadline before every statement and before ``COMMIT``).
* **A unit past its point of no return is allowed to finish, and the door waits for
  its outcome.** The point of no return is where the store can no longer take the unit
  back alone: on SQLite, when the writer starts it inside its batch's transaction (the
  batch's commit is the bound); on PostgreSQL, when ``COMMIT`` is sent. From there the
  door's cancellation (its ``asyncio.timeout``) is absorbed by ``store.write``, which
  hands the door the unit's result or its typed error.
* **Once a unit that changes something is past that point, the budget stops**
  (:meth:`Budget.hold`): the timer is disarmed and the rest of the door's work (the
  step's answer stored after a cancellation, say) runs to the end, so the door never
  answers "busy" for a change the core made. Bookkeeping units (a step's claim) are
  written with ``holds=False``: a "busy" after them is still true for the person.

A door that tells the person later when it runs out of time (the SMS webhook) marks
its work with :func:`priority` instead: the same deadline orders the queue for a
database connection (:mod:`.gate`), but nothing is refused or cut short by it.

Why one deadline in the store rather than a timeout in each door: only the store knows
whether a unit has started, so only it can tell "nothing was done" from "it is being
done"; the doors word the two outcomes and need no knowledge of batches or commits.
The doors that can tell the person later instead (the SMS door texts the result) do
not need a budget of their own beyond the webhook's wait; see :mod:`sms.web`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Iterator


class Budget:
    """The deadline (``time.monotonic()`` seconds) a door gave its work."""

    __slots__ = ("_timeout", "deadline", "enforced", "held")

    def __init__(self, seconds: float, *, enforced: bool = True) -> None:
        self.deadline = time.monotonic() + seconds
        self.enforced = enforced  # False: the deadline only orders the queue (priority())
        self.held = False
        self._timeout: asyncio.Timeout | None = None

    def remaining(self) -> float | None:
        """Seconds left, or None once held (no limit any more)."""
        if self.held or not self.enforced:
            return None
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.enforced and not self.held and time.monotonic() >= self.deadline

    def hold(self) -> None:
        """A change is past its point of no return: the door waits for the rest."""
        if self.held:
            return
        self.held = True
        if self._timeout is not None:
            # already expiring: the cancellation is on its way and store.write absorbs it
            with contextlib.suppress(RuntimeError):
                self._timeout.reschedule(None)


def absorbs(budget: Budget | None) -> bool:
    """Whether a cancellation that reached ``store.write`` is this budget's own timeout
    (the door stopped waiting: absorb it and hand the door the outcome). Any other
    cancellation — a worker stopped at shutdown, a task cancelled by its owner — is
    passed on, or the cancelled task would run on as if nothing had been asked of it."""
    return budget is not None and budget._timeout is not None and budget._timeout.expired()


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "guahao_budget", default=None
)


def current() -> Budget | None:
    """The budget the running door set, if any (tasks started inside it inherit it)."""
    return _CURRENT.get()


@contextlib.asynccontextmanager
async def within(seconds: float) -> AsyncIterator[Budget]:
    """Run the block within ``seconds``: ``TimeoutError`` when the budget ran out with
    nothing past its point of no return (see the module docstring)."""
    budget = Budget(seconds)
    token = _CURRENT.set(budget)
    try:
        async with asyncio.timeout(seconds) as timeout:
            budget._timeout = timeout
            yield budget
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def priority(seconds: float) -> Iterator[Budget]:
    """Work (and the tasks started inside) that should get a connection as if it had
    ``seconds`` left, and is never refused or cut short for it."""
    budget = Budget(seconds, enforced=False)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
