"""The shared store for scale-out: PostgreSQL through asyncpg.

Units of work run in READ COMMITTED transactions on a pooled connection; the
booking units take row locks where they need them (``one(..., lock=True)``
becomes ``SELECT ... FOR UPDATE``) and the capacity guard is a conditional
UPDATE, which PostgreSQL re-checks against the newest row version. Serialization
failures and deadlocks are retried with jitter; unique and check violations are
handed to the unit of work as the same exceptions the SQLite driver raises.

Under a door's time budget (:mod:`.budget`) the transaction starts with
``SET LOCAL statement_timeout`` and ``lock_timeout`` set to what is left of it (in the
same round trip as ``BEGIN``), the deadline is looked at before every statement and
before ``COMMIT``, and a unit cancelled before ``COMMIT`` is rolled back: in all these
cases nothing is committed and the caller gets :class:`~booking_core.kernel.errors.NotStarted`
(or its cancellation). ``COMMIT`` itself is never cancelled: once it is sent the caller
waits for its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Generator, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg

from ..kernel.clock import Clock
from ..kernel.errors import NotStarted, StoreUnavailable
from ..kernel.unit import CheckViolation, Query, Tx, UniqueViolation, UnitOfWork, dumps, execute
from .base import SQL_LOG, Store, audit_rows
from .budget import Budget, absorbs, current
from .changes import CHANNEL, notify_args
from .gate import DeadlineGate
from .migrations import BOOKKEEPING, all_migrations
from .pg_listen import ChangeListener

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # serialization failures/deadlocks under a booking storm resolve in a few tries

RETRY_BASE_SECONDS = 0.005

MIGRATION_LOCK_KEY = 7_340_001  # pg_advisory_lock key: one engine migrates, the others wait

STATEMENT_CACHE_SIZE = 1024  # every statement the doors use stays prepared (asyncpg's default: 100)

# What a unit recorded, in one statement (one round trip instead of four: drawing the
# event ids, the audit rows, the events, their deliveries). The events are numbered in
# the order they were recorded (ORDER BY their ordinality). The same statement sends the
# unit's change notifications (:mod:`.changes`): PostgreSQL delivers them on COMMIT only.
PERSIST_SQL = f"""
WITH audited AS (
    INSERT INTO audit (at, actor, action, entity, entity_id, hospital_id, before_state,
                       after_state)
    SELECT $1::bigint, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                                     $6::bigint[], $7::text[], $8::text[])
), events AS (
    INSERT INTO outbox (topic, hospital_id, aggregate, payload, created_at)
    SELECT e.topic, e.hospital_id, e.aggregate, e.payload, $1::bigint
    FROM unnest($9::text[], $10::bigint[], $11::text[], $12::text[])
         WITH ORDINALITY AS e (topic, hospital_id, aggregate, payload, n)
    ORDER BY e.n
    RETURNING id
), delivered AS (
    INSERT INTO outbox_deliveries (consumer, event_id, available_at)
    SELECT c.consumer, events.id, $1::bigint
    FROM events CROSS JOIN unnest($13::text[]) AS c (consumer)
)
SELECT count(pg_notify('{CHANNEL}', n.payload)) FROM unnest($14::text[]) AS n (payload)
"""

# A write that fails with these failed for the server's reason, not the unit's: no
# connection (or it was lost), the disk full or out of memory (class 53), an I/O error
# (58), shutting down or starting up, a standby that cannot write (after a fail-over)
WRITE_FAULTS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.PostgresSystemError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ReadOnlySQLTransactionError,
)

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=1024)
def to_dollar(sql: str) -> str:
    """Rewrite ``?`` placeholders as ``$1, $2 ...`` (our SQL has no '?' in literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


async def _run_query(conn: asyncpg.Connection, q: Query) -> Any:
    sql = to_dollar(q.sql)
    if q.lock:
        sql += " FOR UPDATE SKIP LOCKED" if q.lock == "skip" else " FOR UPDATE"
    if q.op == "one":
        return await conn.fetchrow(sql, *q.args)
    if q.op == "rows":
        return await conn.fetch(sql, *q.args)
    if q.op == "val":
        return await conn.fetchval(sql, *q.args)
    status = await conn.execute(sql, *q.args)  # "exec"
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def persist_recorded(tx: Tx, consumers: Sequence[str]) -> Generator[Query, Any, None]:
    """Write what ``tx`` recorded (audit rows, outbox events, a delivery per consumer) in
    one statement, inside the unit's transaction."""
    if not tx.audits and not tx.events:
        return
    audits = audit_rows(tx)
    yield execute(
        PERSIST_SQL,
        tx.epoch,
        [a[1] for a in audits],
        [a[2] for a in audits],
        [a[3] for a in audits],
        [a[4] for a in audits],
        [a[5] for a in audits],
        [a[6] for a in audits],
        [a[7] for a in audits],
        [ev.topic for ev in tx.events],
        [ev.hospital_id for ev in tx.events],
        [ev.key for ev in tx.events],
        [dumps(ev.payload()) for ev in tx.events],
        list(consumers) if tx.events else [],
        notify_args(tx),
    )


def unit(
    tx: Tx, fn: UnitOfWork[T], args: tuple[Any, ...], consumers: Sequence[str]
) -> Generator[Query, Any, T]:
    """``fn`` followed by the write of what it recorded: what the driver runs."""
    result = yield from fn(tx, *args)
    yield from persist_recorded(tx, consumers)
    return result


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset between units: nothing to undo, so no round trip. A unit leaves
    no session state behind: its settings are ``SET LOCAL``, its advisory locks
    ``pg_advisory_xact_lock``, it never LISTENs or keeps a cursor; asyncpg itself rolls
    back a transaction left open before calling this."""


async def _rollback(conn: asyncpg.Connection) -> None:
    """Roll back a unit that did not reach ``COMMIT``, and wait for it whatever cancels
    the caller meanwhile: the connection must not go back to the pool mid-statement."""
    if conn.is_closed():
        return
    rollback = asyncio.ensure_future(conn.execute("ROLLBACK"))
    while not rollback.done():
        try:
            await asyncio.shield(rollback)
        except asyncio.CancelledError:
            continue  # the caller re-raises what stopped the unit once this is done
        except Exception:  # a broken connection: the pool resets or drops it
            break
    if not rollback.cancelled():
        rollback.exception()  # retrieved: a failed rollback is the pool's to clean up


async def drive(
    conn: asyncpg.Connection, gen: Generator[Query, Any, T], budget: Budget | None = None
) -> T:
    send: Any = None
    throw: Exception | None = None
    while True:
        try:
            q = gen.throw(throw) if throw is not None else gen.send(send)
        except StopIteration as stop:
            return stop.value
        throw = None
        if budget is not None and budget.expired():
            raise NotStarted()
        try:
            send = await _run_query(conn, q)
        except asyncpg.UniqueViolationError as err:
            # the transaction is aborted now: the unit may only raise from here
            throw = UniqueViolation(err.constraint_name or str(err))
        except asyncpg.CheckViolationError as err:
            throw = CheckViolation(str(err))


class PostgresStore(Store):
    dialect = "postgres"

    def __init__(
        self,
        dsn: str,
        clock: Clock,
        *,
        min_size: int = 2,
        max_size: int = 20,
        outbox_consumers: Sequence[str] = (),
    ) -> None:
        super().__init__(clock, outbox_consumers=outbox_consumers)
        self.dsn = dsn
        self._min, self._max = min_size, max_size
        self._gate = DeadlineGate(max_size)  # the pool's connections, earliest deadline first
        self._pool: asyncpg.Pool | None = None
        self.listener = ChangeListener(dsn, self.changes)  # started by the first watcher

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=self._min,
                max_size=self._max,
                command_timeout=30,
                init=self._init_connection,
                reset=_keep_session,
                statement_cache_size=STATEMENT_CACHE_SIZE,
            )
        except (OSError, asyncpg.PostgresError) as err:
            raise StoreUnavailable(reason=f"cannot reach PostgreSQL: {err}") from err
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                await conn.execute(BOOKKEEPING)
                for mig in all_migrations():
                    async with conn.transaction():
                        done = await conn.fetchval(
                            "SELECT 1 FROM schema_migrations WHERE version = $1", mig.version
                        )
                        if done:
                            continue
                        log.info("applying migration %04d_%s", mig.version, mig.name)
                        await conn.execute(mig.for_dialect("postgres"))
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES ($1, $2, extract(epoch from now())::bigint)",
                            mig.version,
                            mig.name,
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)

    async def _init_connection(self, conn: asyncpg.Connection) -> None:
        if self.sql_trace:
            conn.add_query_logger(
                lambda q: SQL_LOG.info("postgres: %s (%.1f ms)", q.query, q.elapsed * 1000)
            )

    async def close(self) -> None:
        await self.listener.stop()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def schema_version(self) -> int:
        assert self._pool is not None
        return await self._pool.fetchval("SELECT max(version) FROM schema_migrations")

    @contextlib.asynccontextmanager
    async def _connection(self, budget: Budget | None) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, handed out by deadline (:mod:`.gate`)."""
        pool = self._require_pool()
        await self._gate.acquire(None if budget is None else budget.deadline)
        try:
            async with pool.acquire() as conn:
                yield conn
        finally:
            self._gate.release()

    async def read(self, fn: UnitOfWork[T], *args: Any) -> T:
        self._require_pool()
        try:
            async with (
                self._connection(current()) as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await drive(conn, fn(self._new_tx(), *args))
        except (OSError, asyncpg.exceptions.ConnectionDoesNotExistError) as err:
            raise StoreUnavailable(reason=str(err)) from err

    async def write(self, fn: UnitOfWork[T], *args: Any, holds: bool = True) -> T:
        self._require_pool()
        budget = current()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if budget is not None and budget.expired():
                raise NotStarted()
            tx = self._new_tx()
            try:
                async with self._connection(budget) as conn:
                    result = await self._attempt(conn, tx, fn, args, budget, holds)
            except (asyncpg.QueryCanceledError, asyncpg.LockNotAvailableError) as err:
                if budget is None:
                    raise StoreUnavailable(reason=str(err)) from err
                raise NotStarted(reason=f"over the time budget: {err}") from err
            except (
                asyncpg.SerializationError,
                asyncpg.DeadlockDetectedError,
            ) as err:
                if attempt == MAX_ATTEMPTS:
                    raise StoreUnavailable(reason=f"gave up after {attempt} tries: {err}") from err
                # full jitter: spread the retries of a storm over a growing window
                await asyncio.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2**attempt))
                continue
            except WRITE_FAULTS as err:  # the server's fault, not the unit's (see /healthz)
                self._writes_failing(str(err))
                raise StoreUnavailable(reason=str(err)) from err
            if tx.events or tx.audits:  # it wrote something (a unit that only looked, may not)
                self._writes_working()
            return result
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        conn: asyncpg.Connection,
        tx: Any,
        fn: UnitOfWork[T],
        args: tuple[Any, ...],
        budget: Budget | None,
        holds: bool,
    ) -> T:
        """One try of a unit in its own transaction; committed when it returns."""
        if budget is not None and budget.expired():  # it waited for the connection too long
            raise NotStarted()
        left = None if budget is None else budget.remaining()
        if left is None:
            await conn.execute("BEGIN")
        else:
            ms = max(1, int(left * 1000))
            await conn.execute(
                f"BEGIN; SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}"
            )
        try:
            result = await drive(conn, unit(tx, fn, args, self.outbox_consumers), budget)
            if budget is not None and budget.expired():
                raise NotStarted()
        except BaseException:
            await _rollback(conn)
            raise
        # the point of no return: COMMIT is sent and its outcome goes to the caller
        commit = asyncio.ensure_future(conn.execute("COMMIT"))
        cancelled = stopped = False
        while True:
            try:
                await asyncio.shield(commit)
                break
            except asyncio.CancelledError:
                if commit.done() and commit.cancelled():
                    raise
                cancelled = True
                stopped = stopped or not absorbs(budget)
        if budget is not None and holds:
            budget.hold()
        if cancelled and self.unsafe_abandon_started:
            raise asyncio.CancelledError  # the test-only control: the outcome is dropped
        if stopped:  # not the door's budget: the caller itself was stopped (at shutdown)
            raise asyncio.CancelledError
        return result

    def _watched(self) -> None:
        """A wait on :attr:`changes`: LISTEN from now on, if not yet (a store that nobody
        watches, a command-line tool's, opens no extra connection; a closed one none)."""
        if self._pool is not None:
            self.listener.start()

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable(reason="store is not open")
        return self._pool
