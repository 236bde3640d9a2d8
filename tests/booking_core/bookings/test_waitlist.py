"""The waitlist (候补) and extra places (加号) through the services, on both stores, with the
injectable clock at the edges: the offer deadline (one second before it, at it), the
cut-off shortening it, arrival order, limits, leaving, the line closed by a 停诊 or the
cut-off, and 加号 for a named patient or for the line within the per-session maximum."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from booking_core import bookings
from booking_core.bookings import BookingStatus, WaitlistStatus
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import (
    AlreadyBooked,
    AlreadyWaiting,
    ExtraPlacesExhausted,
    InvalidState,
    LimitReached,
    NotFound,
    WaitlistClosed,
    WaitlistNotNeeded,
)
from booking_core.kernel.unit import one, rows
from booking_core.rules import RuleKey
from tests.booking_core.helpers import audit_rows, events, last_event_id, set_rule
from tests.support.world import local, slot_ids

DAY = date(2026, 7, 15)  # released 2026-07-08 07:30; the clock stands at 2026-07-10 09:00
AGENT = Actor("operator", "agent01", None, Channel.AGENT)


async def full_session(world, services, places: int = 2):
    """A session of two 30-minute slots of one place each (08:00-09:00), every place
    booked by its own patient; (session, [slot ids], [booking numbers])."""
    session = await world.basic(DAY, places=1, end=time(9, 0))
    slots = await slot_ids(services, session.id)
    nos = []
    for i, slot in enumerate(slots):
        p = await world.patient(f"占位{i}")
        nos.append((await world.book(slot, p.id)).booking.booking_no)
    return session, slots, nos


async def join(services, session_id: int, patient_id: int, channel=Channel.SMS):
    return await services.handle(
        bookings.JoinWaitlist(session_id=session_id, patient_id=patient_id, channel=channel)
    )


async def entry(services, entry_id: int):
    def q(tx):
        return dict((yield one("SELECT * FROM waitlist WHERE id = ?", entry_id)))

    return await services.store.read(q)


async def held_of(services, entry_id: int):
    """The booking held as the entry's offer."""
    row = await entry(services, entry_id)
    assert row["offer_booking_id"] is not None, row

    def q(tx):
        return (yield one("SELECT * FROM bookings WHERE id = ?", row["offer_booking_id"]))

    return dict(await services.store.read(q))


async def cancel(services, no: str):
    return await services.handle(bookings.CancelBooking(booking_no=no))


# --- joining -----------------------------------------------------------------------------


async def test_only_a_full_session_can_be_waited_for_and_positions_are_arrival_order(
    world, services
):
    session = await world.basic(DAY, places=1, end=time(9, 0))
    slots = await slot_ids(services, session.id)
    first = await world.patient("甲")
    await world.book(slots[0], first.id)
    waiter = await world.patient("乙")
    with pytest.raises(WaitlistNotNeeded) as refused:
        await join(services, session.id, waiter.id)
    assert refused.value.free == 1  # "there are places: book one"
    await world.book(slots[1], (await world.patient("丙")).id)
    a, b, c = [await world.patient(n) for n in ("丁", "戊", "己")]
    mark = await last_event_id(services)
    got = [await join(services, session.id, p.id) for p in (a, b, c)]
    assert [e.position for e in got] == [1, 2, 3]
    assert all(e.status is WaitlistStatus.WAITING for e in got)
    joined = [e for e in await events(services, mark) if e.topic == "waitlist.joined"]
    assert [e.payload["position"] for e in joined] == [1, 2, 3]
    with pytest.raises(AlreadyWaiting) as again:
        await join(services, session.id, b.id)
    assert again.value.position == 2
    with pytest.raises(AlreadyBooked):  # never both waiting and booked for one session
        await join(services, session.id, first.id)
    line = await services.read(bookings.waitlist_line, session.id, SYSTEM)
    assert [(e.patient_id, e.position) for e in line] == [(a.id, 1), (b.id, 2), (c.id, 3)]
    audits = [r for r in await audit_rows(services) if r["action"] == "waitlist.joined"]
    assert len(audits) == 3


async def test_waiting_counts_against_the_patients_limits(world, services):
    session, _slots, _ = await full_session(world, services)
    await world.doctor("00900")  # another doctor of 心内科, the same day
    other = await world.session(DAY, "00900", places=1)
    patient = await world.patient("甲")
    await join(services, session.id, patient.id)
    with pytest.raises(LimitReached) as refused:  # one per department per day, waiting counts
        await world.book((await slot_ids(services, other.id))[0], patient.id)
    assert refused.value.rule == "per_department_per_day"
    await set_rule(services, RuleKey.PER_DEPARTMENT_PER_DAY, 5)
    await set_rule(services, RuleKey.MAX_ACTIVE_PER_PATIENT, 1)
    with pytest.raises(LimitReached) as refused:
        await world.book((await slot_ids(services, other.id))[0], patient.id)
    assert refused.value.rule == "max_active_per_patient"


async def test_the_rule_switched_off_closes_joining(world, services):
    session, _slots, _ = await full_session(world, services)
    await set_rule(services, RuleKey.WAITLIST, False)
    with pytest.raises(WaitlistClosed) as refused:
        await join(services, session.id, (await world.patient("甲")).id)
    assert refused.value.reason == "off"


async def test_joining_after_the_cut_off_is_refused_with_the_instant(world, services, clock):
    session, _slots, _ = await full_session(world, services)
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 60)
    patient = await world.patient("甲")
    clock.set(local(2026, 7, 15, 7, 0))  # the cut-off itself
    with pytest.raises(WaitlistClosed) as refused:
        await join(services, session.id, patient.id)
    assert refused.value.reason == "closed"
    assert refused.value.closed_at == local(2026, 7, 15, 7, 0)
    clock.set(local(2026, 7, 15, 6, 59, 59))
    assert (await join(services, session.id, patient.id)).position == 1


# --- offers: order, deadline, lapse ---------------------------------------------------------


async def test_a_freed_place_is_offered_to_the_first_in_line_held_until_the_deadline(
    world, services, clock
):
    session, _slots, nos = await full_session(world, services)
    a, b, c = [await world.patient(n) for n in ("甲", "乙", "丙")]
    ea, eb, ec = [await join(services, session.id, p.id) for p in (a, b, c)]
    mark = await last_event_id(services)
    await cancel(services, nos[1])
    assert (await entry(services, ea.id))["status"] == "offered"
    assert (await entry(services, eb.id))["status"] == "waiting"
    held = await held_of(services, ea.id)
    assert (held["patient_id"], held["status"]) == (a.id, "held")
    deadline = clock.now() + timedelta(minutes=120)
    assert held["hold_expires_at"] == int(deadline.timestamp())
    new = await events(services, mark)
    offered = [e for e in new if e.topic == "waitlist.offered"]
    assert len(offered) == 1
    assert offered[0].payload["entry_id"] == ea.id
    assert offered[0].payload["deadline"] == deadline.isoformat()
    created = [e for e in new if e.topic == "booking.created"]
    assert created[0].payload["held_for"] == "waitlist"
    line = await services.read(bookings.waitlist_line, session.id, SYSTEM)
    assert [(e.patient_id, e.position) for e in line] == [(a.id, 0), (b.id, 1), (c.id, 2)]

    # one second before the deadline the sweep leaves it; at the deadline it lapses
    clock.set(deadline - timedelta(seconds=1))
    assert await services.handle(bookings.ExpireHolds()) == 0
    clock.set(deadline)
    assert await services.handle(bookings.ExpireHolds()) == 1
    assert (await entry(services, ea.id))["status"] == "lapsed"
    assert (await entry(services, eb.id))["status"] == "offered"  # passed to the next
    assert (await entry(services, ec.id))["status"] == "waiting"
    with pytest.raises(InvalidState):  # too late for the first
        await services.handle(bookings.ConfirmBooking(booking_no=held["booking_no"]))
    actions = [r["action"] for r in await audit_rows(services)]
    assert actions.count("waitlist.offered") == 2
    assert "waitlist.lapsed" in actions


async def test_confirmed_one_second_before_the_deadline_the_offer_is_accepted(
    world, services, clock
):
    session, _slots, nos = await full_session(world, services)
    a = await world.patient("甲")
    ea = await join(services, session.id, a.id)
    await cancel(services, nos[0])
    held = await held_of(services, ea.id)
    clock.set(clock.now() + timedelta(minutes=120, seconds=-1))
    view = await services.handle(bookings.ConfirmBooking(booking_no=held["booking_no"]))
    assert view.booking.status is BookingStatus.CONFIRMED
    assert (await entry(services, ea.id))["status"] == "accepted"
    clock.advance(seconds=1)
    assert await services.handle(bookings.ExpireHolds()) == 0


async def test_the_cut_off_shortens_the_offer_deadline(world, services, clock):
    session, _slots, nos = await full_session(world, services)
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 30)  # closes 07:30 on the day
    clock.set(local(2026, 7, 15, 6, 45))  # 120 minutes would run to 08:45
    a = await world.patient("甲")
    ea = await join(services, session.id, a.id)
    await cancel(services, nos[0])
    held = await held_of(services, ea.id)
    assert held["hold_expires_at"] == int(local(2026, 7, 15, 7, 30).timestamp())
    # freed at the cut-off itself: nothing is offered, the line is closed by the sweep
    b = await world.patient("乙")
    eb = await join(services, session.id, b.id)
    clock.set(local(2026, 7, 15, 7, 30))
    await services.handle(bookings.CancelBooking(booking_no=nos[1], by_hospital=True))
    assert (await entry(services, eb.id))["status"] == "waiting"
    mark = await last_event_id(services)
    assert await services.handle(bookings.SweepWaitlists()) == (1, 0)
    assert (await entry(services, eb.id))["status"] == "closed"
    closed = [e for e in await events(services, mark) if e.topic == "waitlist.closed"]
    assert [e.payload["reason"] for e in closed] == ["closed"]
    assert closed[0].payload["phone_enc"]  # the notifier texts the patient


async def test_two_places_freed_go_to_the_first_two_in_order(world, services):
    session, _slots, nos = await full_session(world, services)
    people = [await world.patient(n) for n in ("甲", "乙", "丙")]
    got = [await join(services, session.id, p.id) for p in people]
    await cancel(services, nos[1])
    await cancel(services, nos[0])
    statuses = [(await entry(services, e.id))["status"] for e in got]
    assert statuses == ["offered", "offered", "waiting"]


async def test_a_declined_offer_passes_on_and_leaving_is_one_command(world, services):
    session, _slots, nos = await full_session(world, services)
    a, b, c = [await world.patient(n) for n in ("甲", "乙", "丙")]
    ea, eb, _ec = [await join(services, session.id, p.id) for p in (a, b, c)]
    left = await services.handle(bookings.LeaveWaitlist(session_id=session.id, patient_id=c.id))
    assert left.status is WaitlistStatus.LEFT
    await cancel(services, nos[0])
    # the first leaves while holding the offer: declined, the place goes to the second
    await services.handle(bookings.LeaveWaitlist(session_id=session.id, patient_id=a.id))
    assert (await entry(services, ea.id))["status"] == "declined"
    assert (await entry(services, eb.id))["status"] == "offered"
    with pytest.raises(NotFound):
        await services.handle(bookings.LeaveWaitlist(session_id=session.id, patient_id=c.id))


async def test_booking_a_place_of_the_session_ends_the_patients_entry(world, services):
    session, _slots, _nos = await full_session(world, services)
    a = await world.patient("甲")
    ea = await join(services, session.id, a.id)
    await services.handle(bookings.AddExtraPlaces(session_id=session.id, patient_id=a.id))
    row = await entry(services, ea.id)
    assert (row["status"], row["end_reason"]) == ("left", "booked")


async def test_a_stopped_session_closes_its_line_with_a_text_each(world, services):
    session, _slots, _nos = await full_session(world, services)
    a, b = await world.patient("甲"), await world.patient("乙")
    await join(services, session.id, a.id)
    await join(services, session.id, b.id)
    mark = await last_event_id(services)
    await services.handle(bookings.StopSession(session_id=session.id, mode="cancel"))
    closed = [e for e in await events(services, mark) if e.topic == "waitlist.closed"]
    assert sorted(e.payload["patient_id"] for e in closed) == sorted([a.id, b.id])
    assert not [e for e in await events(services, mark) if e.topic == "waitlist.offered"]


# --- 加号 ------------------------------------------------------------------------------------


async def test_extra_places_go_to_the_line_in_order_within_the_maximum(world, services):
    session, slots, _nos = await full_session(world, services)
    await set_rule(services, RuleKey.EXTRA_PLACES_PER_SESSION, 3)
    people = [await world.patient(n) for n in ("甲", "乙", "丙")]
    got = [await join(services, session.id, p.id) for p in people]
    added = await services.handle(
        bookings.AddExtraPlaces(session_id=session.id, places=2, actor=AGENT)
    )
    assert (added.slot_id, added.added_total, added.offered) == (slots[-1], 2, 2)
    statuses = [(await entry(services, e.id))["status"] for e in got]
    assert statuses == ["offered", "offered", "waiting"]
    with pytest.raises(ExtraPlacesExhausted) as refused:
        await services.handle(bookings.AddExtraPlaces(session_id=session.id, places=2))
    assert (refused.value.added, refused.value.limit) == (2, 3)
    named = await world.patient("丁")
    one_more = await services.handle(
        bookings.AddExtraPlaces(session_id=session.id, patient_id=named.id, slot_id=slots[0])
    )
    assert one_more.booking is not None
    assert one_more.booking.booking.status is BookingStatus.CONFIRMED
    assert one_more.added_total == 3

    def q(tx):
        found = yield rows("SELECT capacity, booked FROM slots WHERE session_id = ?", session.id)
        return [(r["capacity"], r["booked"]) for r in found]

    assert sorted(await services.store.read(q)) == [(2, 2), (3, 3)]
    audits = [r for r in await audit_rows(services, str(session.id))]
    assert [r["action"] for r in audits].count("session.extra_places") == 2


async def test_extra_places_are_tenancy_checked(world, services):
    session, _slots, _nos = await full_session(world, services)
    other = await world.at("H002").hospital()
    stranger = Actor("operator", "admin2", other.id, Channel.AGENT)
    with pytest.raises(NotFound):
        await services.handle(bookings.AddExtraPlaces(session_id=session.id, actor=stranger))
    with pytest.raises(NotFound):
        await services.read(bookings.waitlist_line, session.id, stranger)


async def test_every_waitlist_act_is_audited_under_its_events_topic_and_key(world, services):
    """Join, leave (asked, or by booking), offer, lapse, close, 加号: each event's audit row
    is under its topic and key; the acts only the audit log records (accepted, lapsed)
    are there too."""
    session, _slots, nos = await full_session(world, services)
    await set_rule(services, RuleKey.EXTRA_PLACES_PER_SESSION, 3)
    a, b, c, d = [await world.patient(n) for n in ("甲", "乙", "丙", "丁")]
    for p in (a, b, c, d):
        await join(services, session.id, p.id)
    await services.handle(bookings.LeaveWaitlist(session_id=session.id, patient_id=d.id))
    await cancel(services, nos[0])  # offered to 甲
    held = await held_of(
        services, (await services.read(bookings.waitlist_of_patient, a.id, SYSTEM))[0].id
    )
    await services.handle(bookings.ConfirmBooking(booking_no=held["booking_no"]))
    await services.handle(bookings.AddExtraPlaces(session_id=session.id))  # offered to 乙
    await services.handle(bookings.AddExtraPlaces(session_id=session.id, patient_id=c.id))
    await services.handle(bookings.ExpireHolds())  # nothing due yet
    await services.handle(bookings.StopSession(session_id=session.id, mode="cancel"))

    def audit(tx):
        return [dict(r) for r in (yield rows("SELECT action, entity_id FROM audit"))]

    audited = {(r["action"], r["entity_id"]) for r in await services.store.read(audit)}
    mine = ("waitlist.", "session.extra_places")
    emitted = {(e.topic, e.key) for e in await events(services) if e.topic.startswith(mine)}
    assert {t for t, _ in emitted} == {
        "waitlist.joined",
        "waitlist.left",
        "waitlist.offered",
        "session.extra_places",
    }
    assert emitted <= audited
    assert {
        (a, k)
        for a, k in audited
        if a.startswith(mine) and a != "waitlist.accepted" and a != "waitlist.lapsed"
    } <= emitted
    actions = {a for a, _ in audited}
    assert {"waitlist.accepted", "waitlist.lapsed"} <= actions
