"""No pool is ever over its places under concurrency (号源池, issue 15), on both stores.

Forty IVR callers race for a session's IVR pool of 10 places, spread two to a slot over
twenty slots (so the slots' own guards, one row each, do not serialise them): exactly ten
are booked, every other is told when the public pool opens, and the pool's counter is its
active bookings. The negative control (PostgreSQL: SQLite's one writer is serial anyway)
takes the pool's guard out — a read of the counter, a pause, then an unconditional
``booked + 1`` — and the very same race must put more than ten bookings in the pool.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from booking_core import bookings
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import OutsideBookingWindow
from booking_core.kernel.unit import execute, one, rows
from booking_core.rules import RuleKey
from booking_core.schedule import pools as pool_module
from tests.booking_core.helpers import set_rule
from tests.support.world import World, local, slot_ids

DAY = date(2026, 8, 7)
# the IVR pool opens 14 days before (2026-07-24 07:30), the public pool 7 days before
PLAN = {"pools": [{"pool": "ivr", "percent": 25, "release_days": 14}]}
RACE_WINDOW_SECONDS = 0.1  # the control's pause between reading the counter and adding to it


async def race(services: BookingServices, clock):
    world = World(services)
    session = await world.basic(DAY, places=2, slot_minutes=12)  # 20 slots of 2: 40 places
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    slots = await slot_ids(services, session.id)
    assert len(slots) == 20
    patients = await world.patients(40)
    clock.set(local(2026, 7, 25, 9, 0))
    results = await asyncio.gather(
        *(
            services.handle(
                bookings.BookSlot(slot_id=slots[i % 20], patient_id=p, channel=Channel.IVR)
            )
            for i, p in enumerate(patients)
        ),
        return_exceptions=True,
    )
    unexpected = [
        r
        for r in results
        if isinstance(r, BaseException) and not isinstance(r, OutsideBookingWindow)
    ]
    assert not unexpected, unexpected[:3]
    wins = [r for r in results if not isinstance(r, BaseException)]
    return session.id, wins


async def pool_state(services: BookingServices, session_id: int):
    def q(tx):
        pool = yield one(
            "SELECT capacity, booked FROM session_pools WHERE session_id = ? AND pool = 'ivr'",
            session_id,
        )
        active = yield rows(
            "SELECT id FROM bookings WHERE session_id = ? AND pool = 'ivr' "
            "AND status IN ('held', 'confirmed', 'checked_in')",
            session_id,
        )
        return pool["capacity"], pool["booked"], len(active)

    return await services.store.read(q)


async def test_forty_callers_race_for_an_ivr_pool_of_ten(race_services, clock):
    session_id, wins = await race(race_services, clock)

    assert len(wins) == 10
    assert {w.booking.pool for w in wins} == {"ivr"}
    assert await pool_state(race_services, session_id) == (10, 10, 10)


@pytest.mark.postgres
async def test_control_the_pool_overfills_without_its_guard(pg_race_services, clock, monkeypatch):
    def check_then_take(tx, session_id: int, pool: str):
        row = yield one(
            "SELECT capacity, booked FROM session_pools WHERE session_id = ? AND pool = ?",
            session_id,
            pool,
        )
        if row is None or row["booked"] >= row["capacity"]:
            return False
        yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")
        yield execute(
            "UPDATE session_pools SET booked = booked + 1 WHERE session_id = ? AND pool = ?",
            session_id,
            pool,
        )
        return True

    monkeypatch.setattr(pool_module, "take_pool", check_then_take)
    session_id, wins = await race(pg_race_services, clock)

    capacity, booked, active = await pool_state(pg_race_services, session_id)
    assert len(wins) > 10, "the race cannot fail: it proves nothing"
    assert active > capacity
    assert booked == active  # the overfilling is real, not a counter glitch


async def _storm_at_the_roll(services: BookingServices, clock):
    """The IVR pool's 10 places roll into the public pool 24 h before the session; 40 texts
    arrive at that instant for the last 10 places (five slots, so five run at once)."""
    world = World(services)
    session = await world.basic(DAY, places=2, slot_minutes=12)
    await set_rule(services, RuleKey.CHANNEL_POOLS, {"pools": [{"pool": "ivr", "percent": 25}]})
    slots = await slot_ids(services, session.id)
    patients = await world.patients(70)
    clock.set(local(2026, 8, 1, 9, 0))
    for i, p in enumerate(patients[:30]):  # the public pool's 30 places, slots 1-15
        await services.handle(
            bookings.BookSlot(slot_id=slots[i // 2], patient_id=p, channel=Channel.AGENT)
        )
    clock.set(local(2026, 8, 6, 8, 0))  # the roll instant
    results = await asyncio.gather(
        *(
            services.handle(
                bookings.BookSlot(slot_id=slots[15 + i % 5], patient_id=p, channel=Channel.SMS)
            )
            for i, p in enumerate(patients[30:])
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]

    def counters(tx):
        found = yield rows(
            "SELECT pool, capacity, booked, rolled_at FROM session_pools WHERE session_id = ?",
            session.id,
        )
        return {r["pool"]: (r["capacity"], r["booked"], r["rolled_at"] is not None) for r in found}

    return results, wins, await services.store.read(counters)


async def test_a_storm_at_the_roll_instant_rolls_the_pool_once(race_services, clock):
    """Each roll is done once (the public pool grows by 10, not by 10 per racer), exactly 10
    are booked, the counters are the bookings."""
    results, wins, counters = await _storm_at_the_roll(race_services, clock)
    assert len(wins) == 10, [r for r in results if isinstance(r, BaseException)][:3]
    assert {w.booking.pool for w in wins} == {"public"}
    assert counters == {"ivr": (0, 0, True), "public": (40, 40, False)}
