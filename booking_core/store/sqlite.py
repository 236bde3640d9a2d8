"""The embedded store: one SQLite file through aiosqlite.

* WAL and ``synchronous=FULL``: a booking we answered "confirmed" survives a power cut.
* One writer connection; every write in ``BEGIN IMMEDIATE``.
* Group commit: the writer takes every unit of work waiting in its queue (up to
  ``max_batch``), runs each inside its own SAVEPOINT in one transaction, and
  commits them together: one fsync for the batch. A unit that raises is rolled
  back to its savepoint and only its caller sees the error; so is a unit whose own event
  or audit rows cannot be written (they are written in its savepoint too).
* A whole unit of work runs inside the connection's own thread in one hop (an
  aiosqlite hop costs ~80 µs, a statement in-thread ~1 µs), so the batch is
  not paced by the event loop.
* Reads use a small pool of connections, each read unit in one snapshot.
* A door's time budget (:mod:`.budget`): a unit still queued at its deadline, or whose
  caller stopped waiting before the writer took it up, is never run; once the writer has
  started it, its caller waits for the batch's commit and gets the outcome, whatever
  cancelled it in between.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..kernel.clock import Clock
from ..kernel.errors import NotStarted, StoreUnavailable
from ..kernel.unit import CheckViolation, Query, Tx, UniqueViolation, UnitOfWork
from .base import (
    AUDIT_INSERT,
    DELIVERY_INSERT,
    OUTBOX_INSERT,
    SQL_LOG,
    Store,
    audit_rows,
    delivery_rows,
    event_rows,
)
from .budget import Budget, absorbs, current
from .changes import changes_of
from .migrations import BOOKKEEPING, all_migrations, unique_index_by_columns

T = TypeVar("T")
log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000  # another process (a CLI command) holding the lock briefly


async def _in_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(sqlite3_connection, *args)`` in ``conn``'s own thread.

    aiosqlite keeps this entry private (``Connection._execute``); the version is
    pinned in pyproject.toml and the store contract suite exercises it.
    """
    return await conn._execute(lambda: fn(conn._conn, *args))


def _translate(err: sqlite3.IntegrityError) -> Exception:
    text = str(err)
    if text.startswith("UNIQUE constraint failed: "):
        cols = [c.strip() for c in text.removeprefix("UNIQUE constraint failed: ").split(",")]
        table = cols[0].split(".")[0]
        key = (table, tuple(c.split(".", 1)[1] for c in cols))
        return UniqueViolation(unique_index_by_columns().get(key, text))
    if text.startswith("CHECK constraint failed"):
        return CheckViolation(text)
    return err


def _run_query(conn: sqlite3.Connection, q: Query) -> Any:
    cur = conn.execute(q.sql, q.args)
    if q.op == "exec":
        return cur.rowcount
    found = cur.fetchall()
    if q.op == "rows":
        return found
    if q.op == "one":
        return found[0] if found else None
    return found[0][0] if found else None  # val


def drive(conn: sqlite3.Connection, gen: Generator[Query, Any, T]) -> T:
    """Run a unit of work's queries one after another on ``conn``."""
    send: Any = None
    throw: Exception | None = None
    while True:
        try:
            q = gen.throw(throw) if throw is not None else gen.send(send)
        except StopIteration as stop:
            return stop.value
        throw = None
        try:
            send = _run_query(conn, q)
        except sqlite3.IntegrityError as err:
            throw = _translate(err)


# What a unit's statement can meet that is the store's fault, not the unit's: the disk
# full (or PRAGMA max_page_count), an I/O error, a file system gone read-only
STORE_FAULTS = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN}
)


def _store_fault(err: object) -> bool:
    code = getattr(err, "sqlite_errorcode", None)  # extended codes keep the primary low byte
    return (
        isinstance(err, sqlite3.DatabaseError) and code is not None and code & 0xFF in STORE_FAULTS
    )


QUEUED, STARTED, ABANDONED, EXPIRED = range(4)

_START_LOCK = threading.Lock()  # a job's state moves under it: the writer thread and the loop


@dataclass(slots=True)
class _Job:
    fn: UnitOfWork[Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    budget: Budget | None = None
    holds: bool = True
    state: int = QUEUED

    def abandon(self) -> bool:
        """The caller stops waiting: True if the job will never run (it had not started)."""
        with _START_LOCK:
            if self.state == QUEUED:
                self.state = ABANDONED
            return self.state != STARTED

    def start(self) -> bool:
        """In the writer thread, before the unit runs: False if it must not run."""
        with _START_LOCK:
            if self.state != QUEUED:
                return False
            if self.budget is not None and self.budget.expired():
                self.state = EXPIRED
                return False
            self.state = STARTED
            return True


class SqliteStore(Store):
    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        clock: Clock,
        *,
        readers: int = 4,
        max_batch: int = 256,
        outbox_consumers: Sequence[str] = (),
    ) -> None:
        super().__init__(clock, outbox_consumers=outbox_consumers)
        self.path = str(path)
        self.max_batch = max_batch
        self._n_readers = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._reader_list: list[aiosqlite.Connection] = []
        self._inline: sqlite3.Connection | None = None  # small reads on the loop's thread
        self._queue: collections.deque[_Job] = collections.deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while the writer has nothing queued or running
        self._idle.set()
        self._writer_task: asyncio.Task[None] | None = None
        # test-only negative control: the units' event and audit rows written after every
        # savepoint was released, as before issue #10 item 1 (one bad row fails the batch)
        self.unsafe_persist_after_batch = False
        self._batch_wrote = False  # the last batch committed changed rows (/healthz)
        self.batches = 0  # commits made (the engine's write_batches metric)

    # --- life cycle -------------------------------------------------------------------

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
        if self.sql_trace:
            await conn.set_trace_callback(lambda sql: SQL_LOG.info("sqlite: %s", sql))
        return conn

    async def open(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        mode = await (await self._writer.execute("PRAGMA journal_mode = WAL")).fetchone()
        if mode is None or mode[0].lower() != "wal":
            raise StoreUnavailable(reason=f"could not switch {self.path} to WAL")
        await _in_thread(self._writer, self._migrate)
        for _ in range(self._n_readers):
            conn = await self._connect()
            await conn.execute("PRAGMA query_only = ON")
            self._reader_list.append(conn)
            self._readers.put_nowait(conn)
        self._inline = self._connect_inline()
        self._writer_task = asyncio.create_task(self._writer_loop(), name="sqlite-writer")

    async def close(self) -> None:
        if self._writer_task is not None:
            # let queued writes finish: they were promised an answer
            await self._idle.wait()
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
            self._writer_task = None
        for conn in self._reader_list:
            await conn.close()
        self._reader_list.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        self._readers = asyncio.Queue()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(BOOKKEEPING)
        for mig in all_migrations():
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (mig.version,)
                ).fetchone()
                if not done:
                    log.info("applying migration %04d_%s", mig.version, mig.name)
                    for statement in _statements(mig.for_dialect("sqlite")):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (?, ?, strftime('%s', 'now'))",
                        (mig.version, mig.name),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    async def schema_version(self) -> int:
        def q(conn: sqlite3.Connection) -> int:
            return conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]

        assert self._writer is not None
        return await _in_thread(self._writer, q)

    # --- reads ------------------------------------------------------------------------

    async def read(self, fn: UnitOfWork[T], *args: Any) -> T:
        if not self._reader_list:
            raise StoreUnavailable(reason="store is not open")
        conn = await self._readers.get()
        try:
            tx = self._new_tx()
            return await _in_thread(conn, _read_unit, fn(tx, *args))
        except sqlite3.OperationalError as err:  # disk I/O, a lock held past busy_timeout
            raise StoreUnavailable(reason=str(err)) from err
        finally:
            self._readers.put_nowait(conn)

    def _connect_inline(self) -> sqlite3.Connection:
        # busy_timeout 0: a WAL read waits for no lock; if one ever had to (WAL recovery),
        # it must not hold up the event loop: it goes to a reader thread instead
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA query_only = ON")
        if self.sql_trace:
            conn.set_trace_callback(lambda sql: SQL_LOG.info("sqlite: %s", sql))
        return conn

    async def read_small(self, fn: UnitOfWork[T], *args: Any) -> T:
        """A small read on the event loop's own thread: no hop to a reader thread and
        back (under load each hop waits for the GIL). Anything in the way of running it
        at once (a busy database) sends it to a reader thread."""
        if self._inline is None:
            raise StoreUnavailable(reason="store is not open")
        try:
            return _read_unit(self._inline, fn(self._new_tx(), *args))
        except sqlite3.OperationalError:
            if self._inline.in_transaction:
                self._inline.execute("ROLLBACK")
            return await self.read(fn, *args)

    # --- writes -----------------------------------------------------------------------

    async def write(self, fn: UnitOfWork[T], *args: Any, holds: bool = True) -> T:
        if self._writer_task is None:
            raise StoreUnavailable(reason="store is not open")
        budget = current()
        if budget is not None and budget.expired():
            raise NotStarted()
        job = _Job(fn, args, asyncio.get_running_loop().create_future(), budget, holds)
        self._queue.append(job)
        self._idle.clear()
        self._wake.set()
        while True:
            try:
                value = await asyncio.shield(job.future)
            except asyncio.CancelledError:
                if self.unsafe_abandon_started or job.abandon():
                    raise  # never run (or the test-only control: its outcome is dropped)
                if not absorbs(budget):
                    raise  # not the door's budget: the caller itself was stopped
                continue  # started: the outcome is promised to this caller (see .budget)
            finally:
                if job.state == STARTED and holds and budget is not None:
                    budget.hold()
            return value

    async def _writer_loop(self) -> None:
        assert self._writer is not None
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: list[Any] = []
                while self._queue and len(batch) < self.max_batch:
                    job = self._queue.popleft()
                    if job.state == QUEUED:
                        batch.append(job)
                if not batch:
                    continue
                txs = [self._new_tx() for _ in batch]
                try:
                    outcomes = await _in_thread(self._writer, self._run_batch, batch, txs)
                except Exception as err:  # the commit itself failed: nothing of the batch is kept
                    log.error("write batch of %d failed: %s", len(batch), err)
                    self._writes_failing(str(err))
                    for job in batch:
                        if job.future.done():
                            continue
                        if job.state == ABANDONED:
                            job.future.cancel()
                        elif job.state == EXPIRED:
                            job.future.set_exception(NotStarted())
                        else:
                            job.future.set_exception(StoreUnavailable(reason=str(err)))
                    continue
                self.batches += 1
                fault = next((v for ok, v in outcomes if not ok and _store_fault(v)), None)
                if fault is not None:  # a unit's statement met a full disk, an I/O error
                    self._writes_failing(str(fault))
                elif self._batch_wrote:  # a commit that wrote to the disk
                    self._writes_working()
                for job, (ok, value) in zip(batch, outcomes, strict=True):
                    if job.future.done():
                        continue
                    if job.state == ABANDONED:
                        job.future.cancel()
                    elif job.state == EXPIRED:
                        job.future.set_exception(NotStarted())
                    elif ok:
                        job.future.set_result(value)
                    elif _store_fault(value):  # our fault, not the unit's: retry later
                        job.future.set_exception(StoreUnavailable(reason=str(value)))
                    else:
                        job.future.set_exception(value)
                # committed: tell the live screens (a unit that failed recorded nothing)
                self.changes.signal(
                    c
                    for (ok, _v), tx in zip(outcomes, txs, strict=True)
                    if ok
                    for c in changes_of(tx)
                )
            self._idle.set()

    def _run_batch(
        self, conn: sqlite3.Connection, batch: list[_Job], txs: list[Tx]
    ) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        ids = _EventIds()
        changes = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job, tx in zip(batch, txs, strict=True):
                if not job.start():  # abandoned by its caller, or past its deadline
                    outcomes.append((False, None))
                    continue
                conn.execute("SAVEPOINT unit")
                try:
                    value = drive(conn, job.fn(tx, *job.args))
                    if not self.unsafe_persist_after_batch:
                        # the unit's own rows, in its savepoint: a payload that cannot be
                        # serialised, an integer SQLite cannot hold, a refused row fails
                        # this unit alone, never the units committed with it
                        self._persist_recorded(conn, [tx], ids)
                except Exception as err:
                    if not conn.in_transaction:  # SQLite rolled it all back (a full disk, I/O)
                        raise
                    conn.execute("ROLLBACK TO unit")
                    conn.execute("RELEASE unit")
                    tx.events.clear()
                    tx.audits.clear()
                    ids.give_back()
                    outcomes.append((False, err))
                else:
                    conn.execute("RELEASE unit")
                    ids.keep()
                    outcomes.append((True, value))
            if self.unsafe_persist_after_batch:  # the test-only control: the old order
                self._persist_recorded(conn, txs, ids)
            conn.execute("COMMIT")
            self._batch_wrote = conn.total_changes != changes
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _persist_recorded(self, conn: sqlite3.Connection, txs: list[Tx], ids: _EventIds) -> None:
        """The audit rows and outbox events of ``txs`` in three statements (the writer is
        the only one, so it numbers the events itself, from ``ids``)."""
        audits = [row for tx in txs for row in audit_rows(tx)]
        if audits:
            conn.executemany(AUDIT_INSERT, audits)
        if not any(tx.events for tx in txs):
            return
        events = []
        for tx in txs:
            events += event_rows(tx, ids.draw(conn, len(tx.events)))
        conn.executemany(OUTBOX_INSERT, events)
        if self.outbox_consumers:
            conn.executemany(DELIVERY_INSERT, delivery_rows(events, self.outbox_consumers))


class _EventIds:
    """Outbox ids for one batch: the last id is read once, then counted on. The ids a unit
    drew are its own only once its savepoint is released (:meth:`keep`); a unit rolled
    back gives them back to the next one."""

    __slots__ = ("drawn", "kept")

    def __init__(self) -> None:
        self.kept: int | None = None
        self.drawn = 0

    def draw(self, conn: sqlite3.Connection, n: int) -> range:
        if self.kept is None:
            self.kept = conn.execute(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), "
                "0), coalesce((SELECT max(id) FROM outbox), 0))"
            ).fetchone()[0]
        first = self.kept + self.drawn + 1
        self.drawn += n
        return range(first, first + n)

    def keep(self) -> None:
        if self.kept is not None:
            self.kept += self.drawn
        self.drawn = 0

    def give_back(self) -> None:
        self.drawn = 0


def _read_unit(conn: sqlite3.Connection, gen: Generator[Query, Any, T]) -> T:
    conn.execute("BEGIN")  # one snapshot for the whole read
    try:
        return drive(conn, gen)
    finally:
        conn.execute("COMMIT")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (our files keep ';' only at statement ends)."""
    body = "\n".join(line for line in script.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]
