"""Two engines sweep the same call-backs at once (#14), on SQLite and PostgreSQL.

Every engine runs the call-back sweep; with several engines on one store, two sweeps can
find the same call-back due at the same moment. A try is counted on the row as it was
read (``callbacks._UNCHANGED``), so each call-back out of tries is closed once and its
caller texted once.

The negative control (PostgreSQL; SQLite's writers take turns anyway) holds the gap
between reading the due call-backs and counting them open, and counts without that
guard: the callers are then texted twice — so the race below could have caught a broken
guard."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from booking_core import calls
from booking_core.bus import BookingServices
from booking_core.calls import callbacks
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import one
from tests.booking_core.helpers import events
from tests.support.fixtures import open_race_services
from tests.support.world import World

CALLERS = 6
RACE_WINDOW_SECONDS = 0.1  # far longer than the rest of the unit
SWEEP = calls.SweepCallbacks(answer_within_minutes=30, attempts=1)


async def _engines(db_url, clock, cipher) -> tuple[BookingServices, BookingServices]:
    return (
        await open_race_services(db_url, clock, cipher),
        await open_race_services(db_url, clock, cipher),
    )


async def _close(pair) -> None:
    for services in pair:
        await services.store.close()


@pytest.fixture
async def engines(db_url, clock, cipher) -> AsyncIterator[tuple[BookingServices, ...]]:
    pair = await _engines(db_url, clock, cipher)
    try:
        yield pair
    finally:
        await _close(pair)


@pytest.fixture
async def pg_engines(fresh_pg_dsn, clock, cipher) -> AsyncIterator[tuple[BookingServices, ...]]:
    pair = await _engines(fresh_pg_dsn, clock, cipher)
    try:
        yield pair
    finally:
        await _close(pair)


async def _call_backs(services: BookingServices, clock) -> list[str]:
    """CALLERS callers who asked to be called back, their time to be reached up."""
    await World(services).hospital(name="协和医院")
    sids = []
    for n in range(CALLERS):
        sid = f"CA{n:032d}"
        await services.handle(
            calls.StartCall(
                call_sid=sid,
                hospital_code="H001",
                caller=f"+86139000056{n:02d}",
                state="{}",
                digits="",
                response="",
            )
        )
        await services.handle(calls.TransferCall(call_sid=sid, queue=f"q-{sid}"))
        asked = await services.handle(calls.RequestCallback(call_sid=sid))
        assert asked.status is calls.CallbackStatus.ASKED
        sids.append(sid)
    clock.advance(minutes=31)
    return sids


async def _race(engines) -> list[int]:
    return await asyncio.gather(*(e.handle(SWEEP) for e in engines for _ in range(2)))


async def _closed(services) -> Counter[str]:
    return Counter(e.key for e in await events(services) if e.topic == "call.callback_closed")


def _lingering(db_url_is_pg: bool):
    due = callbacks._due

    def read_then_linger(tx, cmd):
        found = yield from due(tx, cmd)
        if db_url_is_pg:
            yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")
        return found

    return read_then_linger


async def test_two_engines_sweeping_at_once_text_each_caller_once(
    engines, clock, db_url, monkeypatch
):
    first = engines[0]
    sids = await _call_backs(first, clock)
    monkeypatch.setattr(callbacks, "_due", _lingering(db_url.startswith("postgres")))
    moved = await _race(engines)
    assert sum(moved) == CALLERS
    assert await _closed(first) == Counter(dict.fromkeys(sids, 1))
    assert await first.read(calls.call_queue, SYSTEM) == []


@pytest.mark.postgres
async def test_control_without_the_guard_callers_are_texted_twice(pg_engines, clock, monkeypatch):
    first = pg_engines[0]
    await _call_backs(first, clock)
    monkeypatch.setattr(callbacks, "_due", _lingering(True))
    # the same number of parameters, none of them checked
    monkeypatch.setattr(callbacks, "_UNCHANGED", "id = ? AND CAST(? AS INTEGER) IS NOT NULL")
    moved = await _race(pg_engines)
    twice = [n for n in (await _closed(first)).values() if n > 1]
    assert twice, "the race cannot fail: it proves nothing"
    assert sum(moved) > CALLERS
