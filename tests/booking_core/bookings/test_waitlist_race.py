"""候补 under concurrency: eight places of one session freed at once (eight cancellations
racing), eight patients waiting — each freed place is offered to exactly one waiting
patient, in order, none twice. On both stores; on PostgreSQL each cancellation is its own
READ COMMITTED transaction, and a test-only pause between reading the first waiting entry
and taking it lets every unit read the same entry first, so only the compare-and-set on
the entry's status keeps two offers apart.

The negative control (PostgreSQL) takes the entry blind (``store.unsafe_capacity_check``,
the house's test-only switch for its concurrency guards): the same race must then offer
one entry more than one place, else the race could not have caught a broken guard.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date

import pytest

from booking_core import bookings
from booking_core.bookings import waitlist as waitlist_module
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Channel
from booking_core.kernel.unit import rows
from tests.support.world import World, slot_ids

DAY = date(2026, 7, 15)
PLACES = 8  # 08:00-12:00 in 30-minute slots of one place
RACE_PAUSE_SECONDS = 0.1  # far longer than a select and an update: all read before any takes


async def _race(services: BookingServices) -> tuple[list[int], list[dict]]:
    """Eight booked, eight waiting, eight cancellations at once: (waiting patients in
    arrival order, the held bookings and entries after)."""
    world = World(services)
    session = await world.basic(DAY, places=1)
    slots = await slot_ids(services, session.id)
    assert len(slots) == PLACES
    holders = await world.patients(PLACES, phone_prefix="136")
    nos = [(await world.book(s, p)).booking.booking_no for s, p in zip(slots, holders, strict=True)]
    waiters = [(await world.patient(f"候补{i}")).id for i in range(PLACES)]
    for p in waiters:
        await services.handle(
            bookings.JoinWaitlist(session_id=session.id, patient_id=p, channel=Channel.SMS)
        )
    results = await asyncio.gather(
        *(services.handle(bookings.CancelBooking(booking_no=no)) for no in nos),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, BaseException)], results

    def q(tx):
        found = yield rows(
            "SELECT w.patient_id, w.status, b.status AS booking_status, b.slot_id "
            "FROM waitlist w LEFT JOIN bookings b ON b.patient_id = w.patient_id "
            "AND b.session_id = w.session_id AND b.status = 'held' "
            "WHERE w.session_id = ? ORDER BY w.id",
            session.id,
        )
        return [dict(r) for r in found]

    return waiters, await services.store.read(q)


async def _slots_true(services: BookingServices) -> None:
    def q(tx):
        found = yield rows(
            "SELECT sl.capacity, sl.booked, (SELECT count(*) FROM bookings b WHERE "
            "b.slot_id = sl.id AND b.status IN ('held', 'confirmed', 'checked_in')) AS active "
            "FROM slots sl"
        )
        return [dict(r) for r in found]

    for slot in await services.store.read(q):
        assert slot["booked"] == slot["active"] <= slot["capacity"], slot


async def test_eight_freed_places_go_to_eight_waiting_patients_once_each(
    race_services, monkeypatch
):
    monkeypatch.setattr(waitlist_module, "OFFER_RACE_PAUSE_SECONDS", RACE_PAUSE_SECONDS)
    waiters, after = await _race(race_services)
    held_per_patient = Counter(r["patient_id"] for r in after if r["booking_status"] == "held")
    assert sorted(held_per_patient) == sorted(waiters)  # every waiting patient got one …
    assert set(held_per_patient.values()) == {1}  # … and only one
    assert [r["status"] for r in after] == ["offered"] * PLACES
    await _slots_true(race_services)


@pytest.mark.postgres
async def test_control_without_the_compare_and_set_one_entry_gets_several_places(
    pg_race_services, monkeypatch
):
    monkeypatch.setattr(waitlist_module, "OFFER_RACE_PAUSE_SECONDS", RACE_PAUSE_SECONDS)
    pg_race_services.store.unsafe_capacity_check = True
    _waiters, after = await _race(pg_race_services)
    held_per_patient = Counter(r["patient_id"] for r in after if r["booking_status"] == "held")
    assert max(held_per_patient.values()) > 1, "the race cannot fail: it proves nothing"
