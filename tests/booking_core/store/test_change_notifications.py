"""Change notifications (booking_core.store.changes): a committed unit that touched calls,
bookings or agents wakes the watchers of that topic and hospital, on SQLite in-process and on
PostgreSQL by NOTIFY, across store instances and processes; a rolled-back unit wakes nobody;
a lost LISTEN connection is reconnected and counted as "everything changed"."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from booking_core.events.audit import AuditAction
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import Tx
from booking_core.store import make_store
from booking_core.store.changes import Changes, changes_of, decode, encode
from tests.support.waiting import eventually

WAIT = 10  # seconds a test waits for a notification before it fails (never reached when well)

ROOT = Path(__file__).resolve().parents[3]


def audited(tx: Tx, action: AuditAction, hospital_id: int | None, fail: bool = False):
    """A unit that records one audit row (what a handler's ``tx.audit`` does)."""
    tx.audit(SYSTEM, action, "call", "CA-1", hospital_id=hospital_id)
    if fail:
        raise RuntimeError("refused")
    return None
    yield  # a generator: a unit of work


async def moved(changes: Changes, topics: set[str], hospital_id: int | None, seen: int) -> int:
    return await asyncio.wait_for(changes.wait(topics, hospital_id, after=seen), WAIT)


def test_topics_are_the_first_word_of_live_events_and_audits():
    tx = Tx(now=datetime(2026, 7, 10, tzinfo=UTC), dialect="sqlite")
    tx.audit(SYSTEM, AuditAction.CALL_TAKE, "call", "CA", hospital_id=3)
    tx.audit(SYSTEM, AuditAction.LOGIN_OK, "operator", "x", hospital_id=3)  # no screen shows it
    tx.audit(SYSTEM, AuditAction.BOOKING_CREATED, "booking", "B1", hospital_id=None)
    assert changes_of(tx) == {("call", 3), ("booking", None)}
    assert decode(encode(("call", 3))) == ("call", 3)
    assert decode(encode(("agent", None))) == ("agent", None)
    assert decode("nonsense") is None
    assert decode("call:x") is None


async def test_versions_per_topic_and_hospital_and_platform_watchers():
    changes = Changes()
    calls_1 = changes.version({"call"}, 1)
    calls_2 = changes.version({"call"}, 2)
    every = changes.version({"call"}, None)
    changes.signal([("call", 1)])
    assert changes.version({"call"}, 1) > calls_1
    assert changes.version({"call"}, 2) == calls_2
    assert changes.version({"booking"}, 1) == 0
    assert changes.version({"call"}, None) > every
    changes.signal([("call", None)])  # no hospital: every watcher
    assert changes.version({"call"}, 2) > calls_2
    before = changes.version({"booking"}, 7)
    changes.signal_everything()
    assert changes.version({"booking"}, 7) > before


async def test_a_waiter_wakes_once_for_many_changes():
    changes = Changes()
    seen = changes.version({"call"}, 1)
    waiter = asyncio.create_task(changes.wait({"call"}, 1, after=seen))
    await asyncio.sleep(0)
    changes.signal([("call", 2)])  # another hospital's
    await asyncio.sleep(0)
    assert not waiter.done()
    changes.signal([("call", 1), ("booking", 1)])
    changes.signal([("call", 1)])
    assert await asyncio.wait_for(waiter, WAIT) == changes.version({"call"}, 1)
    watched = changes.watch({"call"}, 1)
    first = await anext(watched)
    changes.signal([("call", 1)])
    assert await asyncio.wait_for(anext(watched), WAIT) > first
    await watched.aclose()


async def test_a_committed_unit_wakes_its_watchers_and_a_failed_one_nobody(store):
    if store.dialect == "postgres":
        await asyncio.wait_for(_listening(store), WAIT)
    changes = store.changes
    seen = changes.version({"call"}, 1)
    other = changes.version({"call"}, 2)
    waiter = asyncio.create_task(moved(changes, {"call"}, 1, seen))
    with pytest.raises(RuntimeError):
        await store.write(audited, AuditAction.CALL_TAKE, 2, True)  # rolled back
    await store.write(audited, AuditAction.CALL_TAKE, 1)
    assert await waiter > seen
    # notifications arrive in commit order: the failed unit's would have come first
    assert changes.version({"call"}, 2) == other


async def _listening(store) -> None:
    """Wait until the PostgreSQL store's LISTEN connection is up (it starts on first wait)."""
    store.changes._started()
    await eventually(lambda: store.listener.connection is not None, "listening")


@pytest.mark.postgres
async def test_two_engine_processes_on_one_database_see_each_others_changes(fresh_pg_dsn, clock):
    first = make_store(fresh_pg_dsn, clock)
    second = make_store(fresh_pg_dsn, clock)
    await first.open()
    await second.open()
    try:
        await asyncio.wait_for(_listening(first), WAIT)
        await asyncio.wait_for(_listening(second), WAIT)
        seen_first = first.changes.version({"booking"}, 5)
        seen_second = second.changes.version({"booking"}, 5)
        await first.write(audited, AuditAction.BOOKING_CREATED, 5)
        assert await moved(second.changes, {"booking"}, 5, seen_second) > seen_second
        assert await moved(first.changes, {"booking"}, 5, seen_first) > seen_first
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_a_change_made_by_another_os_process_wakes_this_one(fresh_pg_dsn, clock):
    store = make_store(fresh_pg_dsn, clock)
    await store.open()
    try:
        await asyncio.wait_for(_listening(store), WAIT)
        seen = store.changes.version({"call"}, 9)
        waiter = asyncio.create_task(moved(store.changes, {"call"}, 9, seen))
        script = textwrap.dedent(
            f"""
            import asyncio
            from booking_core.kernel.clock import SystemClock
            from booking_core.store import make_store
            from tests.booking_core.store.test_change_notifications import audited
            from booking_core.events.audit import AuditAction

            async def main():
                store = make_store({fresh_pg_dsn!r}, SystemClock())
                await store.open()
                await store.write(audited, AuditAction.CALL_TAKE, 9)
                await store.close()

            asyncio.run(main())
            """
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, cwd=ROOT, env=env, stderr=subprocess.PIPE
        )
        _out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert await waiter > seen
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_lost_listen_connection_is_everything_changed_then_listens_again(
    fresh_pg_dsn, clock
):
    store = make_store(fresh_pg_dsn, clock)
    await store.open()
    store.listener.retry_seconds = 0.01
    try:
        await asyncio.wait_for(_listening(store), WAIT)
        lost = store.listener.connection
        seen = store.changes.version({"agent"}, 4)
        waiter = asyncio.create_task(moved(store.changes, {"agent"}, 4, seen))
        pid = lost.get_server_pid()
        killer = make_store(fresh_pg_dsn, clock)
        await killer.open()
        try:
            assert await killer._pool.fetchval("SELECT pg_terminate_backend($1)", pid)
            assert await waiter > seen  # nothing was committed: "something changed" anyway

            again = store.listener
            await eventually(lambda: again.connection not in (None, lost), "listening again")
            seen = store.changes.version({"agent"}, 4)
            calls = store.changes.version({"call"}, 4)
            await killer.write(audited, AuditAction.CALL_TAKE, 4)  # a call, not an agent
            assert await moved(store.changes, {"call"}, 4, calls) > calls  # heard again
            assert store.changes.version({"agent"}, 4) == seen
        finally:
            await killer.close()
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_store_opened_again_listens_again(fresh_pg_dsn, clock):
    store = make_store(fresh_pg_dsn, clock)
    await store.open()
    try:
        await asyncio.wait_for(_listening(store), WAIT)
        await store.close()
        assert store.listener.connection is None
        store.changes._started()  # a closed store opens no LISTEN connection
        assert store.listener._task is None
        await store.open()
        await asyncio.wait_for(_listening(store), WAIT)
        seen = store.changes.version({"call"}, 2)
        await store.write(audited, AuditAction.CALL_TAKE, 2)
        assert await moved(store.changes, {"call"}, 2, seen) > seen
    finally:
        await store.close()
