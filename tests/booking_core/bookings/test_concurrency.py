"""No overbooking under concurrency, on SQLite and on PostgreSQL (issue 2, "What must be shown" 2).

Each race runs many ``services.handle`` calls at once through the real bus and store: on SQLite
they land in the group-commit writer's batches (many units per transaction, one SAVEPOINT each);
on PostgreSQL each is a READ COMMITTED transaction on its own pooled connection (the pool is made
wide, so the races are truly parallel in the server).

The negative controls switch the capacity guard off with the test-only
``store.unsafe_capacity_check`` (capacity read in a separate transaction, then an unconditional
``booked = booked + 1``) and run the very same race: it must overbook, else the race could not
have caught a broken guard and would prove nothing. The per-patient race has its own control
(PostgreSQL only: SQLite's single writer is serial anyway): the patient row lock taken out of
the booking handler, the one patient must then get more than one booking of the day.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, time

import pytest

from booking_core import bookings
from booking_core.bookings import ACTIVE_SQL
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import AlreadyBooked, BookingError, LimitReached, SlotFull
from booking_core.kernel.unit import one, rows, val
from booking_core.schedule import Period
from tests.support.world import World, slot_ids

RACE_WINDOW_SECONDS = 0.1  # far longer than a count and an insert; 20 units start well within it

DAY = date(2026, 7, 15)  # released at 2026-07-08 07:30; the clock stands at 2026-07-10 09:00


# --- set-up ----------------------------------------------------------------------------------


async def make_world(services: BookingServices, *, places: int, slot_minutes: int = 30):
    """Hospital H001, department 101, doctor 00868 and a morning session on DAY."""
    world = World(services)
    session = await world.basic(DAY, places=places)
    if slot_minutes != 30:
        session = await world.session(
            DAY,
            period=Period.AFTERNOON,
            start=time(13, 0),
            end=time(17, 0),
            slot_minutes=slot_minutes,
            places=places,
        )
    return session


@dataclass
class SlotState:
    capacity: int
    booked: int
    active: list[tuple[int, int]]  # (place_no, patient_id) of each active booking

    @property
    def places(self) -> Counter[int]:
        return Counter(place for place, _ in self.active)

    @property
    def patients(self) -> Counter[int]:
        return Counter(patient for _, patient in self.active)


async def slot_state(services: BookingServices, slot_id: int) -> SlotState:
    def q(tx):
        slot = yield one("SELECT capacity, booked FROM slots WHERE id = ?", slot_id)
        found = yield rows(
            "SELECT place_no, patient_id FROM bookings "
            f"WHERE slot_id = ? AND status IN {ACTIVE_SQL}",
            slot_id,
        )
        return SlotState(
            slot["capacity"], slot["booked"], [(r["place_no"], r["patient_id"]) for r in found]
        )

    return await services.store.read(q)


def assert_consistent(state: SlotState) -> None:
    """The slot's counter is its active rows, within capacity, each place and patient once."""
    assert 0 <= state.booked <= state.capacity
    assert state.booked == len(state.active)
    assert all(n == 1 for n in state.places.values()), state.places
    assert all(n == 1 for n in state.patients.values()), state.patients
    assert all(1 <= place <= state.capacity for place in state.places)


def book(slot_id: int, patient_id: int) -> bookings.BookSlot:
    return bookings.BookSlot(slot_id=slot_id, patient_id=patient_id, channel=Channel.API)


async def race(services: BookingServices, slot_id: int, patients: list[int]):
    """Every patient books ``slot_id`` at once: (successes, refusals)."""
    results = await asyncio.gather(
        *(services.handle(book(slot_id, p)) for p in patients), return_exceptions=True
    )
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, SlotFull)
    ]
    assert not unexpected, unexpected[:3]
    wins = [r for r in results if not isinstance(r, BaseException)]
    full = [r for r in results if isinstance(r, SlotFull)]
    assert all(err.slot_id == slot_id for err in full)
    return wins, full


# --- (a) the last place ----------------------------------------------------------------------


async def _last_place_race(services: BookingServices):
    session = await make_world(services, places=3)
    slot_id = (await slot_ids(services, session.id))[0]
    patients = await World(services).patients(52)
    for early in patients[:2]:  # two of the three places go before the race
        await services.handle(book(slot_id, early))
    wins, full = await race(services, slot_id, patients[2:])
    return slot_id, patients[:2], wins, full


async def test_fifty_patients_race_for_the_last_place(race_services):
    slot_id, early, wins, full = await _last_place_race(race_services)

    assert len(wins) == 1
    assert len(full) == 49
    assert wins[0].booking.place_no == 3
    state = await slot_state(race_services, slot_id)
    assert state.booked == state.capacity == 3  # no place left
    assert_consistent(state)
    # exactly one racer's booking exists: the winner's
    assert set(state.patients) == {*early, wins[0].booking.patient_id}


async def test_control_last_place_race_overbooks_without_the_guard(race_services):
    race_services.store.unsafe_capacity_check = True
    slot_id, _early, wins, _full = await _last_place_race(race_services)

    state = await slot_state(race_services, slot_id)
    assert len(wins) > 1 or state.booked > state.capacity, "the race cannot fail: it proves nothing"


# --- (b) 200 bookings on 10 places -----------------------------------------------------------


async def _storm_on_ten_places(services: BookingServices):
    session = await make_world(services, places=10)
    slot_id = (await slot_ids(services, session.id))[0]
    patients = await World(services).patients(200)
    wins, full = await race(services, slot_id, patients)
    return slot_id, wins, full


async def test_two_hundred_bookings_on_ten_places(race_services):
    slot_id, wins, full = await _storm_on_ten_places(race_services)

    assert len(wins) == 10
    assert len(full) == 190
    assert sorted(w.booking.place_no for w in wins) == list(range(1, 11))
    state = await slot_state(race_services, slot_id)
    assert state.booked == 10
    assert len(state.active) == 10
    assert_consistent(state)
    assert {w.booking.patient_id for w in wins} == set(state.patients)


async def test_control_two_hundred_bookings_overbook_without_the_guard(race_services):
    race_services.store.unsafe_capacity_check = True
    slot_id, wins, _full = await _storm_on_ten_places(race_services)

    state = await slot_state(race_services, slot_id)
    assert len(wins) > 10 or state.booked > 10, "the race cannot fail: it proves nothing"
    assert state.booked == len(state.active)  # the overbooking is real, not a counter glitch


# --- (c) cancel, rebook and reschedule storms ------------------------------------------------


async def test_cancel_rebook_and_reschedule_storms_keep_the_counters_true(race_services):
    services = race_services
    session = await make_world(services, places=4)
    slots = (await slot_ids(services, session.id))[:5]
    patients = await World(services).patients(40)
    rng = random.Random(20260710)
    active: dict[str, int] = {}  # booking_no -> slot_id, as the answers told us
    done: Counter[str] = Counter()
    for _round in range(8):
        tasks, kinds = [], []
        for booking_no in list(active):
            roll = rng.random()
            if roll < 0.35:
                tasks.append(services.handle(bookings.CancelBooking(booking_no=booking_no)))
                kinds.append(("cancel", booking_no))
            elif roll < 0.7:
                target = rng.choice([s for s in slots if s != active[booking_no]])
                cmd = bookings.RescheduleBooking(booking_no=booking_no, slot_id=target)
                tasks.append(services.handle(cmd))
                kinds.append(("move", booking_no))
        for patient in rng.sample(patients, 25):
            tasks.append(services.handle(book(rng.choice(slots), patient)))
            kinds.append(("book", None))
        order = list(range(len(tasks)))
        rng.shuffle(order)
        results = dict(
            zip(
                order,
                await asyncio.gather(*(tasks[i] for i in order), return_exceptions=True),
                strict=True,
            )
        )
        for i, (kind, booking_no) in enumerate(kinds):
            result = results[i]
            if isinstance(result, BaseException):
                assert isinstance(result, BookingError), repr(result)
                assert kind != "cancel", repr(result)  # nothing else touched that booking
                continue
            done[kind] += 1
            if kind == "cancel":
                del active[booking_no]
            else:
                active[result.booking.booking_no] = result.booking.slot_id

        states = {slot_id: await slot_state(services, slot_id) for slot_id in slots}
        for state in states.values():
            assert_consistent(state)
        assert sum(s.booked for s in states.values()) == len(active)
        assert Counter(active.values()) == Counter(
            {slot_id: s.booked for slot_id, s in states.items() if s.booked}
        )
    # the storm was a storm: every kind of change happened, several times
    assert min(done["book"], done["cancel"]) >= 5, done
    assert done["move"] >= 2, done


# --- (d) one patient, twenty slots of one department and day ----------------------------------


async def _one_patient_races_twenty_slots(services: BookingServices):
    session = await make_world(services, places=2, slot_minutes=10)
    slots = (await slot_ids(services, session.id))[:20]
    assert len(slots) == 20
    (patient,) = await World(services).patients(1)

    results = await asyncio.gather(
        *(services.handle(book(slot_id, patient)) for slot_id in slots), return_exceptions=True
    )
    return patient, slots, results


async def test_one_patient_racing_twenty_slots_of_one_department_day_gets_one(race_services):
    """The per-department-per-day limit is counted inside the booking transaction; on
    PostgreSQL the patient's row lock makes one patient's bookings count in turn."""
    services = race_services
    patient, slots, results = await _one_patient_races_twenty_slots(services)

    wins = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(wins) == 1
    assert len(refused) == 19
    for err in refused:
        assert isinstance(err, LimitReached | AlreadyBooked), repr(err)
        if isinstance(err, LimitReached):
            assert err.rule == "per_department_per_day"

    def active_of_patient(tx):
        return (
            yield val(
                f"SELECT count(*) FROM bookings WHERE patient_id = ? AND status IN {ACTIVE_SQL}",
                patient,
            )
        )

    assert await services.store.read(active_of_patient) == 1
    states = [await slot_state(services, slot_id) for slot_id in slots]
    for state in states:
        assert_consistent(state)
    assert sum(s.booked for s in states) == 1


@pytest.mark.postgres
async def test_control_one_patient_race_breaks_the_limit_without_the_patient_lock(
    pg_race_services, monkeypatch
):
    """There is no test-only switch for the patient row lock, so the control takes the lock
    out of the booking handler itself. (SQLite needs no lock: its one writer is serial.)"""
    from booking_core.bookings import admission as handler
    from booking_core.patients.repo import patient_by_id

    def unlocked(patient_id: int, *, lock: bool = False):
        return patient_by_id(patient_id, lock=False)

    admit = handler.admit

    def admit_then_linger(*args, **kwargs):
        """The limits counted, then the gap before the insert held open (as the bus's
        unsafe_capacity_check does), so the race shows on a loaded machine too."""
        yield from admit(*args, **kwargs)
        yield one(f"SELECT pg_sleep({RACE_WINDOW_SECONDS})")

    monkeypatch.setattr(handler, "patient_by_id", unlocked)
    monkeypatch.setattr(handler, "admit", admit_then_linger)
    _patient, _slots, results = await _one_patient_races_twenty_slots(pg_race_services)

    wins = [r for r in results if not isinstance(r, BaseException)]
    assert len(wins) > 1, "the race cannot fail: it proves nothing"
