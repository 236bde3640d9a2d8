"""The store contract: the same behaviour on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from booking_core import bookings
from booking_core.events import outbox
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import AlreadyBooked, NotFound, SlotFull
from booking_core.kernel.unit import UniqueViolation, execute, one, val
from booking_core.store.migrations import all_migrations
from tests.support.events import noted
from tests.support.world import first_slot

DAY = date(2026, 7, 15)


async def test_migrations_applied_on_open(store):
    assert await store.schema_version() == all_migrations()[-1].version


async def test_reopening_applies_nothing_twice(db_url, clock, store):
    from booking_core.store import make_store

    again = make_store(db_url, clock)
    await again.open()
    try:
        assert await again.schema_version() == all_migrations()[-1].version
    finally:
        await again.close()


async def test_failed_unit_leaves_nothing_and_emits_nothing(store):
    def failing(tx):
        yield execute(
            "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
            "VALUES ('X1', 'x', 'Asia/Shanghai', 0, 0)"
        )
        tx.emit(noted("k"))
        raise NotFound("thing", 1)

    with pytest.raises(NotFound):
        await store.write(failing)

    def count(tx):
        n = yield val("SELECT count(*) FROM hospitals")
        e = yield val("SELECT count(*) FROM outbox")
        return n, e

    assert await store.read(count) == (0, 0)


async def test_unique_violation_reaches_the_unit_by_index_name(store):
    def insert_twice(tx):
        for _ in range(2):
            try:
                yield execute(
                    "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
                    "VALUES ('X1', 'x', 'Asia/Shanghai', 0, 0)"
                )
            except UniqueViolation as err:
                return err.constraint
        return None

    assert await store.write(insert_twice) == "hospitals_code"


async def test_concurrent_writes_each_get_their_own_answer(store):
    """Group commit on SQLite: failures inside a batch reach only their caller."""

    def insert(tx, code):
        if code.endswith("7"):
            raise NotFound("hospital", code)
        yield execute(
            "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
            "VALUES (?, 'x', 'Asia/Shanghai', 0, 0)",
            code,
        )
        return code

    codes = [f"C{i:02d}" for i in range(40)]
    results = await asyncio.gather(
        *(store.write(insert, code) for code in codes), return_exceptions=True
    )
    for code, result in zip(codes, results, strict=True):
        if code.endswith("7"):
            assert isinstance(result, NotFound)
        else:
            assert result == code

    def count(tx):
        return (yield val("SELECT count(*) FROM hospitals"))

    assert await store.read(count) == 36


async def test_book_cancel_rebook_same_place(world, services):
    session = await world.basic(DAY, places=1)
    first, second = await world.patient("张三"), await world.patient("李四")
    slot_id = await first_slot(services, session.id)
    b1 = await services.handle(
        bookings.BookSlot(slot_id=slot_id, patient_id=first.id, channel=Channel.API)
    )
    with pytest.raises(SlotFull):
        await services.handle(
            bookings.BookSlot(slot_id=slot_id, patient_id=second.id, channel=Channel.API)
        )
    with pytest.raises(AlreadyBooked):
        await services.handle(
            bookings.BookSlot(slot_id=slot_id, patient_id=first.id, channel=Channel.API)
        )
    await services.handle(bookings.CancelBooking(booking_no=b1.booking.booking_no))
    b2 = await services.handle(
        bookings.BookSlot(slot_id=slot_id, patient_id=second.id, channel=Channel.API)
    )
    assert b2.booking.place_no == 1


async def test_outbox_claim_done_retry(world, services, clock):
    await world.hospital()
    claimed = await services.claim("test", limit=10, lease_seconds=30)
    assert [e.topic for e in claimed] == []  # hospital upsert records audit only
    session = await world.basic(DAY)
    claimed = await services.claim("test", limit=10, lease_seconds=30)
    assert [e.topic for e in claimed] == ["session.created"]
    assert claimed[0].key == str(session.id)
    # leased: a second claim sees nothing until the lease runs out
    assert await services.claim("test") == []
    await services.retry_later("test", claimed[0].id, 60, "HIS timed out")
    assert await services.claim("test") == []
    clock.advance(seconds=61)
    again = await services.claim("test")
    assert [e.id for e in again] == [claimed[0].id]
    assert again[0].attempts == 2
    assert await services.mark_done("test", [claimed[0].id]) == 1
    clock.advance(seconds=3600)
    assert await services.claim("test") == []
    assert [e.topic for e in await services.store.read(outbox.events)] == ["session.created"]


async def test_readers_see_a_consistent_snapshot(store):
    def q(tx):
        row = yield one("SELECT count(*) AS n FROM hospitals")
        return row["n"]

    assert await store.read(q) == 0


async def test_sql_trace_logs_every_statement_when_switched_on(db_url, clock, caplog):
    """The debug aid of docs/configuration.md (sql_trace), on both stores; off by default."""
    import logging

    from booking_core.store import make_store

    def q(tx):
        return (yield val("SELECT count(*) FROM hospitals WHERE code = ?", "TRACE1"))

    for trace in (False, True):
        caplog.clear()
        store = make_store(db_url, clock, sql_trace=trace)
        await store.open()
        try:
            with caplog.at_level(logging.INFO, logger="booking_core.sql"):
                assert await store.read(q) == 0
        finally:
            await store.close()
        logged = [r.getMessage() for r in caplog.records if r.name == "booking_core.sql"]
        assert any("FROM hospitals WHERE code" in m for m in logged) is trace
