"""Fair admission at release (公平放号, issue 15): the window's edges with the injectable clock
(the release instant, N-1 s, N s), the rate limits at release, the draw itself (rules applied
when a request's lot comes up, the nearest free slot of the session, every outcome told), and
the second wave (places freed by expired holds released by a draw too)."""

from __future__ import annotations

import asyncio
import random
import time as time_module
from collections import Counter
from datetime import date, time

import pytest

from booking_core import blacklist, bookings
from booking_core.bookings.draws import release_window
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import (
    AlreadyQueued,
    Blacklisted,
    LimitReached,
    OutsideBookingWindow,
    Queued,
    SessionUnavailable,
)
from booking_core.kernel.unit import execute, one, rows, val
from booking_core.rules import RuleKey
from tests.booking_core.helpers import events, last_event_id, set_rule
from tests.support.fixtures import open_race_services
from tests.support.world import TZ, World, local, slot_ids

DAY = date(2026, 7, 17)  # released (7 days ahead, 07:30) at 2026-07-10 07:30 Beijing
RELEASE = local(2026, 7, 10, 7, 30)
N = 10


@pytest.fixture
async def fair(world, services, clock):
    """H001 in fair mode (N = 10 s), a morning session on DAY of 8 slots × 1 place, and the
    clock at the release instant."""
    session = await world.basic(DAY, places=1)
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, N)
    services.deps = services.deps.__class__(
        cipher=services.cipher, cache=services.cache, rng=random.Random(15)
    )
    clock.set(RELEASE)
    return session


async def requests_of(services, session_id: int) -> list[dict]:
    def q(tx):
        found = yield rows(
            "SELECT * FROM release_requests WHERE session_id = ? ORDER BY id", session_id
        )
        return [dict(r) for r in found]

    return await services.store.read(q)


def book(slot_id: int, patient_id: int, **kw) -> bookings.BookSlot:
    kw.setdefault("channel", Channel.API)
    return bookings.BookSlot(slot_id=slot_id, patient_id=patient_id, **kw)


# --- the window's edges ----------------------------------------------------------------------


async def test_off_by_default_a_request_at_the_release_instant_is_booked_at_once(
    world, services, clock
):
    session = await world.basic(DAY, places=1)
    clock.set(RELEASE)
    patient = await world.patient()
    view = await services.handle(book((await slot_ids(services, session.id))[0], patient.id))
    assert view.booking.status == "confirmed"
    assert await requests_of(services, session.id) == []


async def test_the_window_runs_from_the_release_instant_for_n_seconds(fair, world, services, clock):
    slot = (await slot_ids(services, fair.id))[0]
    clock.set(local(2026, 7, 10, 7, 29, 59))  # before the release: too early, as ever
    with pytest.raises(OutsideBookingWindow):
        await services.handle(book(slot, (await world.patient()).id))
    draw_at = local(2026, 7, 10, 7, 30, N)
    for second in (0, N - 1):  # the release instant and the window's last second
        clock.set(local(2026, 7, 10, 7, 30, second))
        with pytest.raises(Queued) as queued:
            await services.handle(book(slot, (await world.patient()).id))
        assert queued.value.draw_at == draw_at  # hospital-local, to be read out
        assert queued.value.draw_at.utcoffset() == draw_at.utcoffset()
    asked = await requests_of(services, fair.id)
    assert [r["status"] for r in asked] == ["queued", "queued"]  # kept: the answer is true
    # N s: the window is closed, but its draw has not run: a request joins it, after the lots
    clock.set(draw_at)
    with pytest.raises(Queued):
        await services.handle(book(slot, (await world.patient()).id))
    outcome = await services.handle(bookings.RunDraws())
    assert (outcome.draws, outcome.booked, outcome.refused) == (1, 3, 0)
    # drawn: from now on first come, first served
    view = await services.handle(
        book((await slot_ids(services, fair.id))[5], (await world.patient()).id)
    )
    assert view.booking.status == "confirmed"


def test_the_window_is_pure_arithmetic_of_the_rules():
    from booking_core.rules import RuleSet
    from booking_core.rules.model import Rule

    rules = RuleSet([Rule(RuleKey.FAIR_ADMISSION_SECONDS, N, hospital_id=1)], 1)
    assert release_window(RELEASE, DAY, rules, TZ) == (RELEASE, local(2026, 7, 10, 7, 30, N))
    assert release_window(local(2026, 7, 10, 7, 30, N - 1), DAY, rules, TZ) is not None
    assert release_window(local(2026, 7, 10, 7, 30, N), DAY, rules, TZ) is None
    assert release_window(local(2026, 7, 10, 7, 29, 59), DAY, rules, TZ) is None
    off = RuleSet([Rule(RuleKey.FAIR_ADMISSION_SECONDS, N, enabled=False, hospital_id=1)], 1)
    assert release_window(RELEASE, DAY, off, TZ) is None


async def test_a_request_a_rule_refuses_is_refused_at_once_not_queued(fair, world, services):
    slot = (await slot_ids(services, fair.id))[0]
    banned = await world.patient("黑名单")
    await services.handle(
        blacklist.AddToBlacklist(patient_id=banned.id, until=date(2026, 8, 1), reason="爽约")
    )
    with pytest.raises(Blacklisted):  # told now, with the date, not texted later
        await services.handle(book(slot, banned.id))
    assert await requests_of(services, fair.id) == []


# --- rate limits at release ------------------------------------------------------------------


async def test_one_ticket_per_patient_per_draw_repeats_are_told_already_queued(
    fair, world, services, clock
):
    slots = await slot_ids(services, fair.id)
    patient = await world.patient()
    with pytest.raises(Queued):
        await services.handle(book(slots[0], patient.id))
    for slot in (slots[0], slots[1], slots[0]):  # the same session, any slot: one ticket
        clock.advance(seconds=1)
        with pytest.raises(AlreadyQueued) as again:
            await services.handle(book(slot, patient.id))
        assert again.value.draw_at == local(2026, 7, 10, 7, 30, N)
    assert len(await requests_of(services, fair.id)) == 1


async def test_a_phone_may_queue_k_requests_a_minute(fair, world, services, clock):
    await set_rule(services, RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE, 2)
    slot = (await slot_ids(services, fair.id))[0]
    family = [await world.patient(f"家人{i}") for i in range(4)]
    booker = "13900001111"
    for member in family[:2]:
        with pytest.raises(Queued):
            await services.handle(book(slot, member.id, booker_phone=booker))
    with pytest.raises(LimitReached) as limited:
        await services.handle(book(slot, family[2].id, booker_phone=booker))
    assert limited.value.params == {"rule": "draw_requests_per_phone_per_minute", "limit": 2}
    with pytest.raises(Queued):  # another phone is another count
        await services.handle(book(slot, family[3].id, booker_phone="13900002222"))


async def test_a_patient_waits_in_at_most_m_draws(fair, world, services):
    await set_rule(services, RuleKey.DRAW_REQUESTS_PER_PATIENT, 1)
    await world.doctor("00869")
    other = await world.session(DAY, "00869", places=1)
    patient = await world.patient()
    with pytest.raises(Queued):
        await services.handle(book((await slot_ids(services, fair.id))[0], patient.id))
    with pytest.raises(LimitReached) as limited:
        await services.handle(book((await slot_ids(services, other.id))[0], patient.id))
    assert limited.value.rule == "draw_requests_per_patient"


# --- the draw --------------------------------------------------------------------------------


async def test_the_draw_books_by_lot_the_nearest_free_slot_then_refuses_and_tells(
    fair, world, services, clock
):
    slots = await slot_ids(services, fair.id)  # 8 slots of one place
    patients = [await world.patient(f"患者{i}", seq=100 + i) for i in range(10)]
    for p in patients:  # everyone wants 08:00
        with pytest.raises(Queued):
            await services.handle(book(slots[0], p.id, channel=Channel.SMS))
    mark = await last_event_id(services)
    clock.set(local(2026, 7, 10, 7, 30, N - 1))
    assert (await services.handle(bookings.RunDraws())).draws == 0  # not before it closes
    clock.set(local(2026, 7, 10, 7, 30, N))
    outcome = await services.handle(bookings.RunDraws())
    assert (outcome.draws, outcome.booked, outcome.refused) == (1, 8, 2)
    asked = await requests_of(services, fair.id)
    assert sorted(r["draw_rank"] for r in asked) == list(range(1, 11))
    by_rank = sorted(asked, key=lambda r: r["draw_rank"])
    assert [r["status"] for r in by_rank] == ["booked"] * 8 + ["refused"] * 2
    assert {r["refusal"] for r in by_rank[8:]} == {"slot_full"}
    new = await events(services, mark)
    created = [e for e in new if e.topic == "booking.created"]
    assert len(created) == 8
    assert all(e.payload["drawn"] for e in created)
    # the first lot got 08:00, the next ones the nearest free times after it
    starts = [
        next(e.payload["start"] for e in created if e.key == r["booking_no"]) for r in by_rank[:8]
    ]
    assert starts == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    refused = [e for e in new if e.topic == "draw.refused"]
    assert sorted(e.payload["patient_id"] for e in refused) == sorted(
        r["patient_id"] for r in by_rank[8:]
    )
    assert all(e.payload["refusal"] == "slot_full" for e in refused)
    assert await services.handle(bookings.RunDraws()) == bookings.DrawOutcome()  # drawn once


async def test_the_lots_are_the_rng_s_a_seed_draws_the_same_winners(world, services, clock):
    session = await world.basic(DAY, places=1, end=time(9, 0))  # 2 places
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, N)
    clock.set(RELEASE)
    slot = (await slot_ids(services, session.id))[0]
    for i in range(12):
        with pytest.raises(Queued):
            await services.handle(book(slot, (await world.patient(f"患者{i}", seq=200 + i)).id))
    requests = await requests_of(services, session.id)
    expected = [r["patient_id"] for r in requests]
    random.Random(7).shuffle(expected)
    services.deps = services.deps.__class__(
        cipher=services.cipher, cache=services.cache, rng=random.Random(7)
    )
    clock.set(local(2026, 7, 10, 7, 30, N))
    await services.handle(bookings.RunDraws())
    won = sorted(
        (r for r in await requests_of(services, session.id) if r["status"] == "booked"),
        key=lambda r: r["draw_rank"],
    )
    assert [r["patient_id"] for r in won] == expected[:2]


async def test_the_rules_are_applied_when_a_lot_comes_up(fair, world, services, clock):
    slot = (await slot_ids(services, fair.id))[0]
    patient = await world.patient()
    with pytest.raises(Queued):
        await services.handle(book(slot, patient.id))
    await services.handle(bookings.StopSession(session_id=fair.id, mode="cancel"))  # 停诊
    clock.set(local(2026, 7, 10, 7, 30, N))
    outcome = await services.handle(bookings.RunDraws())
    assert (outcome.booked, outcome.refused) == (0, 1)
    (request,) = await requests_of(services, fair.id)
    assert request["refusal"] == SessionUnavailable.code

    def booked(tx):
        return (yield val("SELECT count(*) FROM bookings WHERE session_id = ?", fair.id))

    assert await services.store.read(booked) == 0  # the refused attempt left nothing


# --- the second wave -------------------------------------------------------------------------


async def test_places_freed_by_expired_holds_are_released_by_a_draw(fair, world, services, clock):
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    slots = await slot_ids(services, fair.id)
    first = [await world.patient(f"患者{i}", seq=300 + i) for i in range(8)]
    for p in first:
        with pytest.raises(Queued):
            await services.handle(book(slots[0], p.id))
    clock.set(local(2026, 7, 10, 7, 30, N))
    assert (await services.handle(bookings.RunDraws())).booked == 8  # held, unpaid
    clock.set(local(2026, 7, 10, 7, 45, N))  # 15 minutes later: nobody paid
    assert await services.handle(bookings.ExpireHolds()) == 8
    late = await world.patient("晚来", seq=399)
    with pytest.raises(Queued) as queued:  # the freed places are drawn too, N s from now
        await services.handle(book(slots[3], late.id))
    assert queued.value.draw_at == local(2026, 7, 10, 7, 45, 2 * N)

    def waves(tx):
        found = yield rows(
            "SELECT wave FROM release_draws WHERE session_id = ? ORDER BY id", fair.id
        )
        return [r["wave"] for r in found]

    assert await services.store.read(waves) == ["release", "freed"]
    clock.set(local(2026, 7, 10, 7, 45, 2 * N))
    assert (await services.handle(bookings.RunDraws())).booked == 1


async def test_holds_expiring_another_day_open_no_draw(fair, world, services, clock):
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    clock.set(local(2026, 7, 11, 9, 0))  # the day after the release: first come again
    view = await services.handle(
        book((await slot_ids(services, fair.id))[0], (await world.patient()).id)
    )
    clock.advance(minutes=15)
    assert await services.handle(bookings.ExpireHolds()) == 1
    again = await services.handle(
        book((await slot_ids(services, fair.id))[0], (await world.patient()).id)
    )
    assert again.booking.status == "held"  # booked at once, no draw
    assert view.booking.booking_no != again.booking.booking_no


async def test_two_draw_workers_at_once_draw_a_window_once(race_services, clock):
    """Two engines' draw workers wake together: one draws, the other finds it drawn (the
    draw's row re-read under its lock on PostgreSQL; SQLite's one writer is serial)."""
    services = race_services
    world = World(services)
    session = await world.basic(DAY, places=1)
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, N)
    clock.set(RELEASE)
    slot = (await slot_ids(services, session.id))[0]
    for i in range(12):
        with pytest.raises(Queued):
            await services.handle(book(slot, (await world.patient(f"患者{i}", seq=500 + i)).id))
    clock.set(local(2026, 7, 10, 7, 30, N))
    outcomes = await asyncio.gather(*(services.handle(bookings.RunDraws()) for _ in range(4)))
    assert sum(o.draws for o in outcomes) == 1
    assert sum(o.booked for o in outcomes) == 8
    assert sum(o.refused for o in outcomes) == 4
    decided = await requests_of(services, session.id)
    assert all(r["status"] != "queued" for r in decided)


# --- one ticket per patient, under a real race -----------------------------------------------

RACE_WINDOW_SECONDS = 0.1


async def _one_patient_asks_twenty_times(services, clock):
    world = World(services)
    session = await world.basic(DAY, places=1)  # 8 slots
    await set_rule(services, RuleKey.FAIR_ADMISSION_SECONDS, N)
    patient, first = await world.patient(), await world.patient("先到")
    clock.set(RELEASE)
    slots = await slot_ids(services, session.id)
    with pytest.raises(Queued):  # someone opened the draw already: the race is the patient's
        await services.handle(book(slots[0], first.id))
    asks = [book(slots[i % len(slots)], patient.id) for i in range(20)]
    results = await asyncio.gather(*(services.handle(a) for a in asks), return_exceptions=True)
    tickets = [t for t in await requests_of(services, session.id) if t["patient_id"] == patient.id]
    return results, tickets


async def test_a_patient_asking_twenty_times_at_once_holds_one_ticket(race_services, clock):
    """The patient's row lock (PostgreSQL) counts one patient's requests in turn, and the
    index of one ticket per patient and draw is the backstop."""
    results, tickets = await _one_patient_asks_twenty_times(race_services, clock)
    assert Counter(type(r).__name__ for r in results) == {"Queued": 1, "AlreadyQueued": 19}
    assert len(tickets) == 1


@pytest.fixture
async def pg_race(fresh_pg_dsn, clock, cipher):
    services = await open_race_services(fresh_pg_dsn, clock, cipher)
    try:
        yield services
    finally:
        await services.store.close()


@pytest.mark.postgres
async def test_control_without_the_lock_and_the_index_a_patient_gets_many_tickets(
    pg_race, clock, monkeypatch
):
    """The control: the patient lock taken out of the handler, the one-ticket index dropped,
    the per-phone rules (whose locks serialise one phone) off, and the gap after the rules
    held open: the same race gives the patient several tickets, so the test above could
    catch a broken guard."""
    from booking_core.bookings import admission as handler
    from booking_core.patients.repo import patient_by_id

    def unlocked(patient_id: int, *, lock: bool = False):
        return patient_by_id(patient_id, lock=False)

    admit = handler.admit

    meet: list[float] = []

    def admit_then_linger(*args, **kwargs):
        """The rules checked, then every request waits for one common instant (the first
        to get here sets it), so all look for a ticket before any has one."""
        yield from admit(*args, **kwargs)
        if not meet or meet[-1] < time_module.time():  # a new burst of requests
            meet.append(time_module.time() + RACE_WINDOW_SECONDS * 5)
        yield one(
            "SELECT pg_sleep(greatest(0, ? - extract(epoch from clock_timestamp())))", meet[-1]
        )

    def drop(tx):
        yield execute("DROP INDEX release_requests_once")

    await pg_race.store.write(drop)
    await World(pg_race).hospital()
    for per_phone in (RuleKey.PATIENTS_PER_PHONE, RuleKey.DRAW_REQUESTS_PER_PHONE_PER_MINUTE):
        # their advisory locks count one phone's requests in turn: a third guard, off too
        await set_rule(pg_race, per_phone, 5, enabled=False)
    monkeypatch.setattr(handler, "patient_by_id", unlocked)
    monkeypatch.setattr(handler, "admit", admit_then_linger)
    _results, tickets = await _one_patient_asks_twenty_times(pg_race, clock)
    assert len(tickets) > 1, "the race cannot fail: it proves nothing"
