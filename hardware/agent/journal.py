"""The kiosk's job journal (作业日志): every job it received, in arrival order, with its one
outcome, in SQLite in the state directory (WAL, ``synchronous=FULL``: a row the agent
wrote is there after a power cut).

A job is written here **before** the broker is told it arrived (the PUBACK), so a job the
broker hands over is never lost by a crash; it is ``queued``, then ``running``, then
``finished`` with its ack. Its ack stays ``unsent`` until the broker took it. A job that
arrives again is answered from here: a finished one with its stored ack, one in hand not
at all (its ack follows).

Money requests are written here before they go to the terminal: ``request_id`` when the
job starts running, and the automatic reversal of a charge whose answer never came
(``reversals``) before it is sent. After a crash the agent repeats the same request ids,
and the terminal, which answers a repeated id with its first answer, moves no money twice.

Finished jobs are kept ``KEEP_SECONDS`` (the protocol promises the engine at least 7 days).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import aiosqlite

KEEP_SECONDS = 8 * 86400.0
"""The protocol promises 7 days; one more so that a job the engine re-sends on its seventh
day is still answered from here."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
    job_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,                     -- the job as it came
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'finished')),
    request_id TEXT,                        -- the terminal request id, written before it is sent
    reversal_id TEXT,                       -- the automatic reversal of a charge, likewise
    failure TEXT,                           -- why that charge failed (JSON: reason, message)
    ack BLOB,                               -- the one ack, once finished
    ack_sent INTEGER NOT NULL DEFAULT 0,
    again INTEGER NOT NULL DEFAULT 0,       -- outcome unknown: run again if it comes again
    received_at REAL NOT NULL,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS reversals (
    reversal_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    charge_request_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    amount INTEGER,                         -- what went back (0: nothing had been taken)
    reference TEXT,
    created_at REAL NOT NULL,
    done_at REAL
);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    job_id: str
    body: bytes
    state: str
    request_id: str | None
    reversal_id: str | None
    failure: dict[str, str] | None
    ack: bytes | None
    again: bool


@dataclass(frozen=True, slots=True)
class Reversal:
    reversal_id: str
    job_id: str
    charge_request_id: str
    state: str
    amount: int | None
    reference: str | None


_ENTRY = "seq, job_id, body, state, request_id, reversal_id, failure, ack, again"


def _entry(row: Any) -> Entry:
    failure = json.loads(row[6]) if row[6] else None
    return Entry(
        row[0], row[1], bytes(row[2]), row[3], row[4], row[5], failure, row[7], bool(row[8])
    )


class Journal:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: Path) -> Self:
        db = await aiosqlite.connect(path, isolation_level=None)  # autocommit: one row a write
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.executescript(SCHEMA)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def _one(self, sql: str, *args: Any) -> Any:
        async with self._db.execute(sql, args) as cursor:
            return await cursor.fetchone()

    async def _all(self, sql: str, *args: Any) -> list[Any]:
        async with self._db.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    # --- jobs ---------------------------------------------------------------------------

    async def get(self, job_id: str) -> Entry | None:
        row = await self._one(f"SELECT {_ENTRY} FROM jobs WHERE job_id = ?", job_id)
        return _entry(row) if row else None

    async def add(self, job_id: str, body: bytes) -> bool:
        """Queue a new job; False if its id is known already."""
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO jobs (job_id, body, state, received_at) "
            "VALUES (?, ?, 'queued', ?)",
            (job_id, body, time.time()),
        )
        return cursor.rowcount == 1

    async def add_finished(self, job_id: str, body: bytes, ack: bytes) -> bool:
        """A job answered without running (unreadable): finished at once; False if known."""
        cursor = await self._db.execute(
            "INSERT OR IGNORE INTO jobs (job_id, body, state, ack, received_at, finished_at) "
            "VALUES (?, ?, 'finished', ?, ?, ?)",
            (job_id, body, ack, time.time(), time.time()),
        )
        return cursor.rowcount == 1

    async def next_to_run(self) -> Entry | None:
        """The oldest job not finished (one left running by a crash comes first)."""
        row = await self._one(
            f"SELECT {_ENTRY} FROM jobs WHERE state != 'finished' ORDER BY seq LIMIT 1"
        )
        return _entry(row) if row else None

    async def start(self, job_id: str, request_id: str | None) -> None:
        """Running; the terminal request id it will send (kept if one was written before)."""
        await self._db.execute(
            "UPDATE jobs SET state = 'running', request_id = COALESCE(request_id, ?) "
            "WHERE job_id = ?",
            (request_id, job_id),
        )

    async def finish(self, job_id: str, ack: bytes, *, again: bool = False) -> None:
        await self._db.execute(
            "UPDATE jobs SET state = 'finished', ack = ?, ack_sent = 0, again = ?, "
            "finished_at = ? WHERE job_id = ?",
            (ack, int(again), time.time(), job_id),
        )

    async def ack_again(self, job_id: str) -> None:
        """A finished job came again: its stored ack goes out again."""
        await self._db.execute("UPDATE jobs SET ack_sent = 0 WHERE job_id = ?", (job_id,))

    async def run_again(self, job_id: str) -> None:
        """A job whose outcome was unknown came again: queued, with its request id."""
        await self._db.execute(
            "UPDATE jobs SET state = 'queued', again = 0, ack = NULL WHERE job_id = ?",
            (job_id,),
        )

    async def unsent_acks(self) -> list[tuple[str, bytes]]:
        rows = await self._all(
            "SELECT job_id, ack FROM jobs WHERE state = 'finished' AND ack_sent = 0 ORDER BY seq"
        )
        return [(row[0], bytes(row[1])) for row in rows]

    async def ack_sent(self, job_id: str, ack: bytes) -> None:
        await self._db.execute(
            "UPDATE jobs SET ack_sent = 1 WHERE job_id = ? AND ack = ?", (job_id, ack)
        )

    # --- reversals of charges whose answer never came -----------------------------------

    async def add_reversal(
        self, job_id: str, reversal_id: str, charge_request_id: str, failure: dict[str, str]
    ) -> None:
        """Written before the reversal is sent; the job remembers why its charge failed."""
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            await self._db.execute(
                "INSERT INTO reversals (reversal_id, job_id, charge_request_id, state, "
                "created_at) VALUES (?, ?, ?, 'pending', ?)",
                (reversal_id, job_id, charge_request_id, time.time()),
            )
            await self._db.execute(
                "UPDATE jobs SET reversal_id = ?, failure = ? WHERE job_id = ?",
                (reversal_id, json.dumps(failure), job_id),
            )
        except BaseException:
            await self._db.execute("ROLLBACK")
            raise
        await self._db.execute("COMMIT")

    async def reversal(self, reversal_id: str) -> Reversal | None:
        row = await self._one(
            "SELECT reversal_id, job_id, charge_request_id, state, amount, reference "
            "FROM reversals WHERE reversal_id = ?",
            reversal_id,
        )
        return Reversal(*row) if row else None

    async def pending_reversals(self) -> list[Reversal]:
        rows = await self._all(
            "SELECT reversal_id, job_id, charge_request_id, state, amount, reference "
            "FROM reversals WHERE state = 'pending' ORDER BY created_at"
        )
        return [Reversal(*row) for row in rows]

    async def reversal_done(self, reversal_id: str, amount: int | None, reference: str) -> None:
        """Done: ``amount`` went back (None: the terminal refused it, ``reference`` says why)."""
        await self._db.execute(
            "UPDATE reversals SET state = 'done', amount = ?, reference = ?, done_at = ? "
            "WHERE reversal_id = ?",
            (amount, reference, time.time(), reversal_id),
        )

    # --- upkeep -------------------------------------------------------------------------

    async def prune(self, now: float | None = None) -> int:
        """Forget finished jobs (acked, and not waiting to run again) and done reversals
        older than ``KEEP_SECONDS``; how many jobs."""
        cutoff = (time.time() if now is None else now) - KEEP_SECONDS
        cursor = await self._db.execute(
            "DELETE FROM jobs WHERE state = 'finished' AND ack_sent = 1 AND again = 0 "
            "AND finished_at < ? AND (reversal_id IS NULL OR reversal_id NOT IN "
            "(SELECT reversal_id FROM reversals WHERE state = 'pending'))",
            (cutoff,),
        )
        await self._db.execute(
            "DELETE FROM reversals WHERE state = 'done' AND done_at < ?", (cutoff,)
        )
        return cursor.rowcount
