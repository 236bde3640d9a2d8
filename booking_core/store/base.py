"""The store interface: function-shaped reads and writes over portable SQL.

Unit-of-work functions are *generators* that yield :class:`Query` objects and
receive their results (a sans-I/O style). The same function is driven

* synchronously inside the SQLite writer thread, many of them per transaction
  (group commit: one fsync for a whole batch of bookings), or
* asynchronously over an asyncpg connection, one transaction each.

So the booking logic is written once and each store decides how to run it::

    def lift(tx: Tx, entry_id: int, patient_id: int) -> Generator[Query, Any, int]:
        n = yield execute("UPDATE blacklist SET lifted_at = ? WHERE id = ?", tx.epoch, entry_id)
        tx.emit(BanLifted(hospital_id=1, entry_id=entry_id, patient_id=patient_id))
        return n

    await store.write(lift, 7, 42)

SQL uses ``?`` placeholders; the PostgreSQL driver rewrites them to ``$n``.
Events and audit records a function records on ``tx`` are written in the same
transaction, after the function returns and before the commit; nothing of a
function that raised is kept.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from ..kernel.clock import Clock
from ..kernel.unit import Tx, UnitOfWork, dumps
from .changes import Changes

T = TypeVar("T")
log = logging.getLogger(__name__)

AUDIT_INSERT = (
    "INSERT INTO audit (at, actor, action, entity, entity_id, hospital_id, "
    "before_state, after_state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

OUTBOX_INSERT = (
    "INSERT INTO outbox (id, topic, hospital_id, aggregate, payload, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

DELIVERY_INSERT = (
    "INSERT INTO outbox_deliveries (consumer, event_id, available_at) VALUES (?, ?, ?)"
)


def audit_rows(tx: Tx) -> list[tuple[Any, ...]]:
    return [
        (
            tx.epoch,
            a.actor,
            a.action,
            a.entity,
            a.entity_id,
            a.hospital_id,
            None if a.before is None else dumps(a.before),
            None if a.after is None else dumps(a.after),
        )
        for a in tx.audits
    ]


def event_rows(tx: Tx, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """Outbox rows for ``tx``'s events, with the ids the store drew for them."""
    return [
        (event_id, ev.topic, ev.hospital_id, ev.key, dumps(ev.payload()), tx.epoch)
        for event_id, ev in zip(ids, tx.events, strict=True)
    ]


def delivery_rows(
    events: Sequence[tuple[Any, ...]], consumers: Sequence[str]
) -> list[tuple[Any, ...]]:
    """One delivery row per event and outbox consumer (from :func:`event_rows`)."""
    return [(c, row[0], row[5]) for row in events for c in consumers]


SQL_LOG = logging.getLogger("booking_core.sql")

# How long a write that failed for the store's own reason (a full disk, an I/O error, a
# lost server) keeps /healthz unavailable when no write comes after it to say otherwise:
# a load balancer's probes (every few seconds) see it, and a store that recovered on its
# own is not kept out of service for long.
WRITE_FAULT_SECONDS = 60.0


class Store(abc.ABC):
    """One interface, two implementations (SQLite, PostgreSQL), one contract test suite."""

    dialect: str

    def __init__(self, clock: Clock, *, outbox_consumers: Sequence[str] = ()) -> None:
        self.clock = clock
        self.outbox_consumers = tuple(outbox_consumers)
        self.unsafe_capacity_check = False
        # test-only negative control: a caller that stops waiting drops the outcome of a
        # unit already past its point of no return (what the doors did before issue #9)
        self.unsafe_abandon_started = False
        self.sql_trace = False  # debug aid: log every statement (set before open())
        self._write_fault: tuple[float, str] | None = None  # (monotonic time, reason)
        # what committed units changed, for live screens (:mod:`.changes`)
        self.changes = Changes(on_wait=self._watched)

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending schema migrations."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, fn: UnitOfWork[T], *args: Any, holds: bool = True) -> T:
        """Run ``fn(tx, *args)`` in a write transaction; its result once committed.

        Under a door's time budget (:mod:`.budget`): :class:`~booking_core.kernel.errors.NotStarted`
        if the deadline passed before the unit's point of no return (nothing committed);
        past that point the caller gets the outcome even if it was cancelled meanwhile,
        and the budget is held (``holds=False``: a bookkeeping unit, it is not)."""

    @abc.abstractmethod
    async def read(self, fn: UnitOfWork[T], *args: Any) -> T:
        """Run ``fn(tx, *args)`` on a read connection (never blocks writers)."""

    async def read_small(self, fn: UnitOfWork[T], *args: Any) -> T:
        """:meth:`read` for a unit known to touch a handful of indexed rows (a call's
        state, one doctor's slots): a store may run it without leaving the event loop."""
        return await self.read(fn, *args)

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    def _watched(self) -> None:
        """Someone waits on :attr:`changes` (PostgreSQL: LISTEN from now on, if not yet);
        SQLite signals in-process and has nothing to start."""
        return None

    def write_fault(self, within_seconds: float = WRITE_FAULT_SECONDS) -> str | None:
        """Why writes are failing, or None: the last write the store made failed for the
        store's own reason (disk full, I/O error, the server gone; never a unit's own
        refusal) less than ``within_seconds`` ago. A write that commits clears it."""
        fault = self._write_fault
        if fault is None or time.monotonic() - fault[0] > within_seconds:
            return None
        return fault[1]

    def _writes_failing(self, reason: str) -> None:
        if self._write_fault is None:
            log.error("writes are failing: %s", reason)  # once down (and once up below)
        self._write_fault = (time.monotonic(), reason)

    def _writes_working(self) -> None:
        if self._write_fault is not None:
            log.warning("writes are working again")
            self._write_fault = None

    def _new_tx(self) -> Tx:
        return Tx(
            now=self.clock.now(),
            dialect=self.dialect,
            unsafe_capacity_check=self.unsafe_capacity_check,
        )

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
