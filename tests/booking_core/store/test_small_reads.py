"""Small reads (a call's state, one doctor's slots) may run on the event loop's own thread:
they answer the same as reads on a reader thread, are not held up by a writer, and fall
back to a reader thread when SQLite is busy."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from booking_core.kernel.unit import val


def _count(tx, table):
    return (yield val(f"SELECT count(*) FROM {table}"))


async def test_a_small_read_answers_like_a_read(world, services):
    await world.hospital()
    assert await services.read_small(_count, "hospitals") == 1
    assert await services.read(_count, "hospitals") == 1


SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_a_small_read_does_not_leave_the_event_loop_thread(world, services):
    await world.hospital()
    seen = []

    def where(tx):
        seen.append(threading.current_thread() is threading.main_thread())
        return (yield val("SELECT 1"))

    await services.read_small(where)
    await services.read(where)
    assert seen == [True, False]  # an ordinary read runs on a reader thread


@SQLITE_ONLY
async def test_a_small_read_is_not_held_up_by_a_writer(world, services, db_url):
    await world.hospital()
    locker = sqlite3.connect(db_url, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert await services.read_small(_count, "hospitals") == 1
    finally:
        locker.execute("ROLLBACK")
        locker.close()


class _Busy:
    in_transaction = False

    def execute(self, *args):
        raise sqlite3.OperationalError("database is locked")


@SQLITE_ONLY
async def test_a_busy_database_sends_a_small_read_to_a_reader_thread(world, services):
    await world.hospital()
    inline = services.store._inline
    services.store._inline = _Busy()
    try:
        assert await services.read_small(_count, "hospitals") == 1
    finally:
        services.store._inline = inline
