"""The LISTEN side of the change notifications on PostgreSQL (:mod:`.changes`): one
connection per engine process, outside the pool, that LISTENs on ``guahao_changes`` and
signals the process's :class:`~.changes.Changes` for every notification, its own units'
and other processes' alike.

A lost connection (the server restarted, a fail-over, a NAT that dropped it) is noticed at
once when the driver sees it, or within ``check_seconds`` by a ``SELECT 1`` on a quiet
connection; it is reconnected every ``retry_seconds`` until that works, logged once down
and once up, and every (re)connection is signalled as "everything changed": what was
committed while nobody listened is not known, so every watcher reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from .changes import CHANNEL, Changes, decode

log = logging.getLogger(__name__)

# A quiet connection is asked whether it is alive this often: a connection cut without a
# word is found within it (one the driver sees closing is found at once); meanwhile the
# live screens' slow safety refresh still runs.
CHECK_SECONDS = 15.0
RETRY_SECONDS = 2.0  # between attempts to reconnect: a restarting server is back in seconds


class ChangeListener:
    def __init__(self, dsn: str, changes: Changes) -> None:
        self.dsn = dsn
        self.changes = changes
        self.check_seconds = CHECK_SECONDS
        self.retry_seconds = RETRY_SECONDS
        self.connection: asyncpg.Connection | None = None  # the current one, once listening
        self._task: asyncio.Task[None] | None = None
        self._down = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="postgres-listen")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        change = decode(payload)
        if change is None:
            log.warning("an unreadable change notification: %r", payload)
            self.changes.signal_everything()
        else:
            self.changes.signal((change,))

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
                reason = "the connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the server gone, a reset, a timeout: try again
                reason = str(err) or type(err).__name__
            if not self._down:  # logged once down, and once up again
                log.error("change notifications lost, reconnecting: %s", reason)
                self._down = True
            self.changes.signal_everything()
            await asyncio.sleep(self.retry_seconds)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=self.check_seconds)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
            self.connection = conn
            if self._down:
                log.warning("change notifications are back")
                self._down = False
            self.changes.signal_everything()  # anything committed before LISTEN began
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), self.check_seconds)
                except TimeoutError:  # quiet for a while: is the connection still there?
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), self.check_seconds)
        finally:
            self.connection = None
            conn.terminate()
