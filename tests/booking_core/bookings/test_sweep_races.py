"""Sweeps in several engines at once (scale-out on PostgreSQL): each booking is changed once.

On SQLite the single writer runs units one after another; on PostgreSQL two engines'
sweeps (or a sweep and a patient's cancel) can pick the same booking at the same time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date

from booking_core import bookings, rules
from booking_core.events import outbox
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows
from booking_core.rules import Rule, RuleKey
from tests.support.world import first_slot

DAY = date(2026, 7, 15)


async def _held_bookings(world, services, n: int) -> list[str]:
    session = await world.basic(DAY, places=n)
    await services.handle(rules.SetRule(rule=Rule(RuleKey.PREPAY_REQUIRED, True)))
    patients = [await world.patient(f"患者{i}") for i in range(n)]
    slot = await first_slot(services, session.id)
    made = await asyncio.gather(
        *(
            services.handle(bookings.BookSlot(slot_id=slot, patient_id=p.id, channel=Channel.API))
            for p in patients
        )
    )
    assert {b.booking.status for b in made} == {"held"}
    return [b.booking.booking_no for b in made]


async def test_concurrent_hold_sweeps_cancel_each_hold_once(world, services, clock):
    numbers = await _held_bookings(world, services, 30)
    clock.advance(minutes=16)
    swept = await asyncio.gather(*(services.handle(bookings.ExpireHolds()) for _ in range(6)))
    assert sum(swept) == 30

    def counters(tx):
        found = yield rows(
            "SELECT s.booked, (SELECT count(*) FROM bookings b WHERE b.slot_id = s.id "
            "AND b.status IN ('held', 'confirmed', 'checked_in')) AS active FROM slots s"
        )
        return [(r["booked"], r["active"]) for r in found]

    assert all(booked == active for booked, active in await services.store.read(counters))
    cancelled = Counter(
        e.key for e in await services.read(outbox.events, topic="booking.cancelled")
    )
    assert cancelled == Counter(dict.fromkeys(numbers, 1))


async def test_a_sweep_and_the_patients_own_cancel_race_once(world, services, clock):
    numbers = await _held_bookings(world, services, 20)
    clock.advance(minutes=16)
    results = await asyncio.gather(
        services.handle(bookings.ExpireHolds()),
        *(services.handle(bookings.CancelBooking(booking_no=n)) for n in numbers),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, Exception) and r.code != "invalid_state"]
    cancelled = Counter(
        e.key for e in await services.read(outbox.events, topic="booking.cancelled")
    )
    assert cancelled == Counter(dict.fromkeys(numbers, 1))
