"""Every booking rule of PRODUCT.md through the services, at its edges, on both stores
(the real-name rule is tested with registration, in patients/; the blacklist's, in
blacklist/).

The clock starts at 2026-07-10 09:00 Beijing time and is moved, never slept on. Sessions
are the world's morning sessions: 08:00-12:00, 30-minute slots.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from booking_core import bookings, rules, schedule
from booking_core.bookings import BookingStatus
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Channel
from booking_core.kernel.errors import (
    BookingClosed,
    CancelDeadlinePassed,
    InvalidState,
    LimitReached,
    OutsideBookingWindow,
    RescheduleDeadlinePassed,
)
from booking_core.rules import PeriodType, RuleKey
from booking_core.schedule import Period
from tests.booking_core.helpers import book, booked, set_rule, topics
from tests.support.world import first_slot, local, slot_ids

TOMORROW = date(2026, 7, 11)


# --- helpers ---------------------------------------------------------------------------


async def second_department(world, day: date, work_no: str = "00901"):
    await world.department("102", "外科")
    await world.doctor(work_no, department="102")
    return await world.session(day, work_no=work_no)


# --- booking window and release time (放号) --------------------------------------------


async def test_day_d_plus_7_opens_at_0730_on_day_d(world, services, clock):
    session = await world.basic(date(2026, 7, 17))
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    clock.set(local(2026, 7, 10, 7, 29, 59))
    with pytest.raises(OutsideBookingWindow) as err:
        await book(services, slot, patient)
    assert err.value.opens_at == local(2026, 7, 10, 7, 30)
    assert await booked(services, slot) == 0
    clock.set(local(2026, 7, 10, 7, 30))
    view = await book(services, slot, patient)
    assert view.booking.status is BookingStatus.CONFIRMED


async def test_day_d_plus_8_tells_when_it_opens(world, services, clock):
    session = await world.basic(date(2026, 7, 18))
    patient = await world.patient()
    clock.set(local(2026, 7, 10, 23, 59, 59))
    with pytest.raises(OutsideBookingWindow) as err:
        await book(services, await first_slot(services, session.id), patient)
    assert err.value.opens_at == local(2026, 7, 11, 7, 30)


async def test_hospital_window_and_release_time_move_the_edge(world, services, clock):
    session = await world.basic(date(2026, 7, 24))
    patient = await world.patient()
    await set_rule(services, RuleKey.BOOKING_WINDOW_DAYS, 14)
    await set_rule(services, RuleKey.RELEASE_TIME, "08:00")
    slot = await first_slot(services, session.id)
    clock.set(local(2026, 7, 10, 7, 59, 59))
    with pytest.raises(OutsideBookingWindow) as err:
        await book(services, slot, patient)
    assert err.value.opens_at == local(2026, 7, 10, 8, 0)
    clock.set(local(2026, 7, 10, 8, 0))
    await book(services, slot, patient)


async def _release_world(world):
    """Morning sessions today (7/10), on D+6, D+7 and D+8, and one this afternoon."""
    await world.basic(date(2026, 7, 10))
    await world.session(date(2026, 7, 10), period=Period.AFTERNOON, start=time(14), end=time(17))
    for day in (16, 17, 18):
        await world.session(date(2026, 7, day))


def _search(**kw) -> schedule.SlotSearch:
    return schedule.SlotSearch(
        hospital_code="H001", day=date(2026, 7, 10), day_to=date(2026, 7, 18), **kw
    )


async def test_slot_search_marks_and_keeps_out_what_cannot_be_booked_now(world, services, clock):
    """#9 item 10: one rule for every door. Before 07:30 day D+7 is not released yet, after
    it is; the search's marks say exactly what a booking would be told."""
    await _release_world(world)
    clock.set(local(2026, 7, 10, 7, 29, 59))
    window = await services.read(rules.booking_window_of, "H001", SYSTEM)
    assert (window.today, window.days) == (date(2026, 7, 10), 7)
    assert (window.last_open_day, window.next_day) == (date(2026, 7, 16), date(2026, 7, 17))
    assert window.next_opens_at == local(2026, 7, 10, 7, 30)
    bookable = await services.read(schedule.search_slots, _search(bookable_only=True), SYSTEM)
    assert {v.day.day for v in bookable} == {10, 16}
    assert all(v.bookable and v.window == "open" for v in bookable)
    every = await services.read(schedule.search_slots, _search(), SYSTEM)
    marks = {(v.day.day, v.period): (v.window, v.opens_at) for v in every}
    assert marks[(17, Period.MORNING)] == ("not_yet_open", local(2026, 7, 10, 7, 30))
    assert marks[(18, Period.MORNING)] == ("not_yet_open", local(2026, 7, 11, 7, 30))
    assert marks[(16, Period.MORNING)][0] == "open"

    # the marks are what the booking itself is told: one patient per session's first place
    firsts = {}
    for v in every:
        firsts.setdefault(v.session_id, v)
    for i, v in enumerate(firsts.values()):
        patient = await world.patient(f"患者{i}")
        if v.window == "open":
            await book(services, v.slot_id, patient)
        else:
            with pytest.raises(OutsideBookingWindow) as err:
                await book(services, v.slot_id, patient)
            assert err.value.opens_at == v.opens_at

    clock.set(local(2026, 7, 10, 7, 30))
    window = await services.read(rules.booking_window_of, "H001", SYSTEM)
    assert (window.last_open_day, window.next_day) == (date(2026, 7, 17), date(2026, 7, 18))
    assert window.next_opens_at == local(2026, 7, 11, 7, 30)
    bookable = await services.read(schedule.search_slots, _search(bookable_only=True), SYSTEM)
    assert {v.day.day for v in bookable} == {10, 16, 17}


async def test_slot_search_leaves_out_sessions_past_the_cut_off(world, services, clock):
    await _release_world(world)
    clock.set(local(2026, 7, 10, 9, 0))  # this morning's session started at 08:00
    every = await services.read(schedule.search_slots, _search(), SYSTEM)
    today = [v for v in every if v.day == date(2026, 7, 10)]
    assert {v.period: v.window for v in today} == {
        Period.MORNING: "closed",
        Period.AFTERNOON: "open",
    }
    assert all(not v.bookable for v in today if v.period is Period.MORNING)
    bookable = await services.read(schedule.search_slots, _search(bookable_only=True), SYSTEM)
    assert {(v.day.day, v.period) for v in bookable} == {
        (10, Period.AFTERNOON),
        (16, Period.MORNING),
        (17, Period.MORNING),
    }
    morning = next(v for v in today if v.period is Period.MORNING)
    with pytest.raises(BookingClosed):
        await book(services, morning.slot_id, await world.patient())


async def test_slot_search_follows_the_hospitals_window_and_release_time(world, services, clock):
    await _release_world(world)
    await world.session(date(2026, 7, 24))
    await set_rule(services, RuleKey.BOOKING_WINDOW_DAYS, 14)
    await set_rule(services, RuleKey.RELEASE_TIME, "08:00")
    clock.set(local(2026, 7, 10, 7, 59, 59))
    window = await services.read(rules.booking_window_of, "H001", SYSTEM)
    assert (window.days, window.last_open_day) == (14, date(2026, 7, 23))
    search = _search(bookable_only=True)
    wide = schedule.SlotSearch(
        hospital_code="H001", day=search.day, day_to=date(2026, 7, 24), bookable_only=True
    )
    assert 24 not in {v.day.day for v in await services.read(schedule.search_slots, wide, SYSTEM)}
    clock.set(local(2026, 7, 10, 8, 0))
    assert 24 in {v.day.day for v in await services.read(schedule.search_slots, wide, SYSTEM)}


# --- cut-off (截止) ----------------------------------------------------------------------


async def test_booking_closes_at_the_session_start_by_default(world, services, clock):
    session = await world.basic(TOMORROW)
    first, second = await world.patient("张三"), await world.patient("李四")
    slots = await slot_ids(services, session.id)
    clock.set(local(2026, 7, 11, 7, 59, 59))
    await book(services, slots[0], first)
    clock.set(local(2026, 7, 11, 8, 0))
    with pytest.raises(BookingClosed) as err:
        # the cut-off is the session's, so a later slot of a started session is closed too
        await book(services, slots[-1], second)
    assert err.value.closed_at == local(2026, 7, 11, 8, 0)


async def test_past_session_is_closed(world, services, clock):
    session = await world.basic(date(2026, 7, 9))
    with pytest.raises(BookingClosed) as err:
        await book(services, await first_slot(services, session.id), await world.patient())
    assert err.value.closed_at == local(2026, 7, 9, 8, 0)


async def test_hospital_cutoff_override_moves_the_edge(world, services, clock):
    session = await world.basic(TOMORROW)
    first, second = await world.patient("张三"), await world.patient("李四")
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 60)
    slot = await first_slot(services, session.id)
    clock.set(local(2026, 7, 11, 6, 59, 59))
    await book(services, slot, first)
    clock.set(local(2026, 7, 11, 7, 0))
    with pytest.raises(BookingClosed) as err:
        await book(services, slot, second)
    assert err.value.closed_at == local(2026, 7, 11, 7, 0)
    # switched off by a disabled record of higher priority: back to the session start
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 60, enabled=False, priority=1)
    await book(services, slot, second)


async def test_priority_platform_beats_hospital_then_equal_priority_hospital_wins(
    world, services, clock
):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 60, priority=0)
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 120, hospital=None, priority=1)
    clock.set(local(2026, 7, 11, 6, 0))
    with pytest.raises(BookingClosed) as err:
        await book(services, slot, patient)
    assert err.value.closed_at == local(2026, 7, 11, 6, 0)
    effective, _ = await services.read(rules.effective_rules, "H001", SYSTEM)
    assert effective.limit(RuleKey.BOOKING_CUTOFF_MINUTES) == 120
    # the hospital raises its record to the platform's priority: the hospital wins
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 60, priority=1)
    await book(services, slot, patient)


async def test_another_hospitals_override_does_not_apply(world, services, clock):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    await world.at("H002").hospital(name="另一家医院")
    await set_rule(services, RuleKey.BOOKING_CUTOFF_MINUTES, 600, hospital="H002")
    clock.set(local(2026, 7, 11, 7, 59, 59))
    await book(services, await first_slot(services, session.id), patient)


# --- unpaid hold (锁号) ------------------------------------------------------------------


async def test_unpaid_hold_expires_after_15_minutes(world, services, clock):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    slot = await first_slot(services, session.id)
    view = await book(services, slot, patient)
    no = view.booking.booking_no
    assert view.booking.status is BookingStatus.HELD
    assert view.booking.hold_expires_at == local(2026, 7, 10, 9, 15)
    stored = await services.read(bookings.get_booking, no, SYSTEM)
    assert stored.booking.hold_expires_at == local(2026, 7, 10, 9, 15)

    clock.set(local(2026, 7, 10, 9, 14, 59))
    assert await services.handle(bookings.ExpireHolds()) == 0
    assert (await services.read(bookings.get_booking, no, SYSTEM)).booking.status == "held"
    assert await booked(services, slot) == 1

    clock.set(local(2026, 7, 10, 9, 15))
    before = len(await topics(services))
    assert await services.handle(bookings.ExpireHolds()) == 1
    after = await services.read(bookings.get_booking, no, SYSTEM)
    assert after.booking.status is BookingStatus.CANCELLED
    assert after.booking.cancel_reason == "hold_expired"
    assert await booked(services, slot) == 0
    new = (await services.read(outbox.events))[before:]
    assert [e.topic for e in new] == ["booking.cancelled", "slot.changed"]
    assert new[0].payload["reason"] == "hold_expired"
    assert new[1].payload == {"slot_id": slot, "capacity": 2, "booked": 0, "free": 2}
    with pytest.raises(InvalidState) as err:
        await services.handle(bookings.PayBooking(booking_no=no, method="card"))
    assert err.value.params == {"status": "cancelled", "action": "pay"}
    assert await services.handle(bookings.ExpireHolds()) == 0


async def test_hold_cannot_be_paid_at_its_expiry_even_before_the_sweep(world, services, clock):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    slots = await slot_ids(services, session.id)
    late = await book(services, slots[0], await world.patient("张三"))
    in_time = await book(services, slots[1], await world.patient("李四"))
    clock.set(local(2026, 7, 10, 9, 14, 59))
    paid = await services.handle(
        bookings.PayBooking(booking_no=in_time.booking.booking_no, method="card")
    )
    assert paid.booking.status is BookingStatus.CONFIRMED
    assert paid.booking.hold_expires_at is None
    clock.set(local(2026, 7, 10, 9, 15))
    with pytest.raises(InvalidState) as err:
        await services.handle(
            bookings.PayBooking(booking_no=late.booking.booking_no, method="card")
        )
    assert err.value.status == "hold_expired"
    assert await services.handle(bookings.ExpireHolds()) == 1  # the paid one is not touched
    kept = await services.read(bookings.get_booking, in_time.booking.booking_no, SYSTEM)
    assert kept.booking.status is BookingStatus.CONFIRMED


async def test_hold_minutes_override_and_free_sessions_are_not_held(world, services, clock):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    await set_rule(services, RuleKey.HOLD_MINUTES, 5)
    view = await book(services, await first_slot(services, session.id), await world.patient())
    assert view.booking.hold_expires_at == local(2026, 7, 10, 9, 5)
    await world.doctor("00777", fee=0)
    free = await world.session(TOMORROW, work_no="00777", period="afternoon")
    other = await book(services, await first_slot(services, free.id), await world.patient("李四"))
    assert other.booking.status is BookingStatus.CONFIRMED
    assert other.booking.hold_expires_at is None


async def test_without_prepayment_nothing_is_held(world, services):
    session = await world.basic(TOMORROW)
    view = await book(services, await first_slot(services, session.id), await world.patient())
    assert view.booking.status is BookingStatus.CONFIRMED
    assert view.booking.hold_expires_at is None


# --- one booking per patient per department per day (同科室同日限号) --------------------


async def test_second_booking_same_department_same_day_is_refused(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    slots = await slot_ids(services, session.id)
    first = await book(services, slots[0], patient)
    with pytest.raises(LimitReached) as err:
        await book(services, slots[1], patient)
    assert err.value.params == {"rule": "per_department_per_day", "limit": 1}
    # another doctor of the same department that day: refused as well
    await world.doctor("00869", department="101")
    afternoon = await world.session(TOMORROW, work_no="00869", period="afternoon")
    with pytest.raises(LimitReached):
        await book(services, await first_slot(services, afternoon.id), patient)
    # another day, another department: fine
    next_day = await world.session(date(2026, 7, 12))
    await book(services, await first_slot(services, next_day.id), patient)
    surgery = await second_department(world, TOMORROW)
    await book(services, await first_slot(services, surgery.id), patient)
    # after cancelling the first, the same department that day is open again
    await services.handle(bookings.CancelBooking(booking_no=first.booking.booking_no))
    await book(services, slots[1], patient)


async def test_per_department_override_and_switch_off(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    slots = await slot_ids(services, session.id)
    await set_rule(services, RuleKey.PER_DEPARTMENT_PER_DAY, 2)
    await book(services, slots[0], patient)
    await book(services, slots[1], patient)
    with pytest.raises(LimitReached) as err:
        await book(services, slots[2], patient)
    assert err.value.limit == 2
    await set_rule(services, RuleKey.PER_DEPARTMENT_PER_DAY, 2, enabled=False)
    await book(services, slots[2], patient)


# --- at most K active bookings per patient (每人有效预约上限) -------------------------------


async def test_sixth_active_booking_is_refused(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    sessions = [await world.session(TOMORROW + timedelta(days=i)) for i in range(1, 6)]
    first = await book(services, await first_slot(services, session.id), patient)
    for s in sessions[:4]:
        await book(services, await first_slot(services, s.id), patient)
    with pytest.raises(LimitReached) as err:
        await book(services, await first_slot(services, sessions[4].id), patient)
    assert err.value.params == {"rule": "max_active_per_patient", "limit": 5}
    await services.handle(bookings.CancelBooking(booking_no=first.booking.booking_no))
    await book(services, await first_slot(services, sessions[4].id), patient)


async def test_held_bookings_count_as_active(world, services):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.PREPAY_REQUIRED, True)
    await set_rule(services, RuleKey.MAX_ACTIVE_PER_PATIENT, 1)
    patient = await world.patient()
    other_day = await world.session(date(2026, 7, 12))
    held = await book(services, await first_slot(services, session.id), patient)
    assert held.booking.status is BookingStatus.HELD
    with pytest.raises(LimitReached):
        await book(services, await first_slot(services, other_day.id), patient)


# --- at most M patients per phone per period (一个手机号限约人数) --------------------------

BOOKER = "13800000000"


async def test_sixth_patient_from_one_phone_is_refused_until_the_period_passes(
    world, services, clock
):
    session = await world.basic(TOMORROW, places=2)
    slots = await slot_ids(services, session.id)
    patients = [await world.patient(f"患者{i}") for i in range(6)]
    for i, p in enumerate(patients[:5]):
        await book(services, slots[i], p, booker_phone=BOOKER, channel=Channel.SMS)
    with pytest.raises(LimitReached) as err:
        await book(services, slots[5], patients[5], booker_phone=BOOKER)
    assert err.value.params == {"rule": "patients_per_phone", "limit": 5}
    # the same phone books again for a patient it already booked for: fine
    next_day = await world.session(date(2026, 7, 12))
    await book(services, await first_slot(services, next_day.id), patients[0], booker_phone=BOOKER)
    # the sixth patient from their own phone: fine
    await book(services, slots[5], patients[5])
    # 30 days after the first five bookings, the phone may book for a new patient again
    later = await world.session(date(2026, 8, 10))
    newcomer = await world.patient("新人")
    clock.set(local(2026, 8, 9, 8, 59, 59))
    with pytest.raises(LimitReached):
        await book(services, await first_slot(services, later.id), newcomer, booker_phone=BOOKER)
    clock.set(local(2026, 8, 9, 9, 0, 1))
    await book(services, await first_slot(services, later.id), newcomer, booker_phone=BOOKER)


async def test_cancelled_bookings_still_count_for_the_phone(world, services):
    """Book-and-cancel is how places are passed on (倒号): it still uses up the phone."""
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.PATIENTS_PER_PHONE, 1)
    slots = await slot_ids(services, session.id)
    first, second = await world.patient("张三"), await world.patient("李四")
    view = await book(services, slots[0], first, booker_phone=BOOKER)
    await services.handle(bookings.CancelBooking(booking_no=view.booking.booking_no))
    with pytest.raises(LimitReached):
        await book(services, slots[1], second, booker_phone=BOOKER)


async def test_one_phone_in_any_format_is_one_phone(world, services):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.PATIENTS_PER_PHONE, 1)
    slots = await slot_ids(services, session.id)
    first, second = await world.patient("张三"), await world.patient("李四")
    await book(services, slots[0], first, booker_phone=BOOKER)
    for form in ("+8613800000000", "+86 138 0000 0000", "138-0000-0000"):
        with pytest.raises(LimitReached):
            await book(services, slots[1], second, booker_phone=form)


async def test_patients_registered_on_one_phone_share_its_limit(world, services):
    """Without a booker phone the patient's own registered phone counts."""
    session = await world.basic(TOMORROW)
    slots = await slot_ids(services, session.id)
    family = [await world.patient(f"家人{i}", phone_no=BOOKER) for i in range(6)]
    for i, p in enumerate(family[:5]):
        await book(services, slots[i], p)
    with pytest.raises(LimitReached) as err:
        await book(services, slots[5], family[5])
    assert err.value.rule == "patients_per_phone"
    # an SMS from the patient's own registered phone, as the gateway passes it, is the same
    with pytest.raises(LimitReached):
        await book(services, slots[5], family[5], booker_phone="+86" + BOOKER)


async def test_phone_limit_period_in_hours(world, services, clock):
    session = await world.basic(TOMORROW)
    await set_rule(
        services, RuleKey.PATIENTS_PER_PHONE, 1, period_type=PeriodType.HOURS, period_value=2
    )
    slots = await slot_ids(services, session.id)
    first, second = await world.patient("张三"), await world.patient("李四")
    await book(services, slots[0], first, booker_phone=BOOKER)
    clock.set(local(2026, 7, 10, 10, 59, 59))
    with pytest.raises(LimitReached):
        await book(services, slots[1], second, booker_phone=BOOKER)
    clock.set(local(2026, 7, 10, 11, 0, 1))
    await book(services, slots[1], second, booker_phone=BOOKER)


# --- cancel deadline (退号截止) -----------------------------------------------------------


async def test_cancel_until_the_session_start(world, services, clock):
    session = await world.basic(TOMORROW)
    slots = await slot_ids(services, session.id)
    early = await book(services, slots[0], await world.patient("张三"))
    late = await book(services, slots[-1], await world.patient("李四"))
    clock.set(local(2026, 7, 11, 7, 59, 59))
    cancelled = await services.handle(bookings.CancelBooking(booking_no=early.booking.booking_no))
    assert cancelled.booking.status is BookingStatus.CANCELLED
    clock.set(local(2026, 7, 11, 8, 0))
    with pytest.raises(CancelDeadlinePassed) as err:
        await services.handle(bookings.CancelBooking(booking_no=late.booking.booking_no))
    assert err.value.deadline == local(2026, 7, 11, 8, 0)
    # the hospital itself may still cancel
    done = await services.handle(
        bookings.CancelBooking(booking_no=late.booking.booking_no, by_hospital=True)
    )
    assert done.booking.cancel_reason == "hospital"


async def test_hospital_cancel_deadline_override(world, services, clock):
    session = await world.basic(TOMORROW)
    await set_rule(services, RuleKey.CANCEL_DEADLINE_MINUTES, 60)
    slots = await slot_ids(services, session.id)
    a = await book(services, slots[0], await world.patient("张三"))
    b = await book(services, slots[1], await world.patient("李四"))
    clock.set(local(2026, 7, 11, 6, 59, 59))
    await services.handle(bookings.CancelBooking(booking_no=a.booking.booking_no))
    clock.set(local(2026, 7, 11, 7, 0))
    with pytest.raises(CancelDeadlinePassed) as err:
        await services.handle(bookings.CancelBooking(booking_no=b.booking.booking_no))
    assert err.value.deadline == local(2026, 7, 11, 7, 0)


# --- reschedule deadline (改约截止) --------------------------------------------------------


async def test_reschedule_until_the_end_of_the_day_before(world, services, clock):
    day = date(2026, 7, 12)
    session = await world.basic(day)
    slots = await slot_ids(services, session.id)
    view = await book(services, slots[0], await world.patient())
    no = view.booking.booking_no
    clock.set(local(2026, 7, 11, 23, 59, 59))
    moved = await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[1]))
    assert moved.booking.slot_id == slots[1]
    clock.set(local(2026, 7, 12, 0, 0))
    with pytest.raises(RescheduleDeadlinePassed) as err:
        await services.handle(bookings.RescheduleBooking(booking_no=no, slot_id=slots[2]))
    assert err.value.deadline == local(2026, 7, 12, 0, 0)
    later = await world.session(date(2026, 7, 14))
    with pytest.raises(RescheduleDeadlinePassed):  # to another day: the old day decides
        await services.handle(
            bookings.RescheduleBooking(booking_no=no, slot_id=await first_slot(services, later.id))
        )
    assert (await services.read(bookings.get_booking, no, SYSTEM)).booking.slot_id == slots[1]


async def test_reschedule_deadline_override_two_days(world, services, clock):
    day = date(2026, 7, 13)
    session = await world.basic(day)
    await set_rule(services, RuleKey.RESCHEDULE_DEADLINE_DAYS, 2)
    slots = await slot_ids(services, session.id)
    view = await book(services, slots[0], await world.patient())
    clock.set(local(2026, 7, 11, 23, 59, 59))
    await services.handle(
        bookings.RescheduleBooking(booking_no=view.booking.booking_no, slot_id=slots[1])
    )
    clock.set(local(2026, 7, 12, 0, 0))
    with pytest.raises(RescheduleDeadlinePassed) as err:
        await services.handle(
            bookings.RescheduleBooking(booking_no=view.booking.booking_no, slot_id=slots[2])
        )
    assert err.value.deadline == local(2026, 7, 12)


async def test_reschedule_target_must_itself_be_open(world, services, clock):
    session = await world.basic(TOMORROW)
    far = await world.session(date(2026, 7, 20))
    view = await book(services, await first_slot(services, session.id), await world.patient())
    with pytest.raises(OutsideBookingWindow) as err:
        await services.handle(
            bookings.RescheduleBooking(
                booking_no=view.booking.booking_no, slot_id=await first_slot(services, far.id)
            )
        )
    assert err.value.opens_at == local(2026, 7, 13, 7, 30)
