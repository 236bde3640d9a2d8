"""Eligibility (就诊资格), the booking calendar (节假日、调休) and the hours closed to
booking, at their edges (#15): pure checks first, then through the services on both stores
with the injectable clock.

Sessions are the world's morning sessions (08:00-12:00); the clock is moved, never slept on.
2026's national calendar (chinese-calendar 1.11): 10-01..10-07 National Day off, Saturday
10-10 a 调休 working day, 09-26/27 Mid-autumn (a weekend), 12-05 an ordinary Saturday."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_core import patients, rules, schedule
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import (
    BookingHoursClosed,
    DayClosed,
    InvalidInput,
    NotEligible,
    OutsideBookingWindow,
)
from booking_core.kernel.unit import execute
from booking_core.rules import (
    Calendar,
    CalendarEntry,
    Eligibility,
    PatientFacts,
    Rule,
    RuleKey,
    RuleSet,
    check_eligibility,
    release_instant,
    validate_rule,
)
from tests.booking_core.helpers import book, booked, hospital_id, set_rule
from tests.support.world import TZ, first_slot, local, resident_id

NATIONAL_DAY = date(2026, 10, 1)
WORKING_SATURDAY = date(2026, 10, 10)  # 调休
PLAIN_SATURDAY = date(2026, 12, 5)


def ruleset(*records: Rule, entries: tuple[CalendarEntry, ...] = ()) -> RuleSet:
    return RuleSet(records, None, entries)


def years_before(day: date, years: int, plus_days: int = 0) -> date:
    return day.replace(year=day.year - years) + timedelta(days=plus_days)


# --- eligibility, pure ------------------------------------------------------------------


def facts(birth: date | None, sex: str = "F", *, has_id: bool = True, visited: bool = True):
    return PatientFacts(birth_date=birth, sex=sex, has_id=has_id, visited_before=visited)


def test_paediatrics_takes_13_years_364_days_and_refuses_14():
    day = date(2026, 7, 17)
    under_14 = Eligibility(age_under=14)
    check_eligibility(under_14, facts(years_before(day, 14, 1)), day, department="儿科")
    with pytest.raises(NotEligible) as err:
        check_eligibility(under_14, facts(years_before(day, 14)), day, department="儿科")
    assert err.value.params == {"reason": "age_under", "department": "儿科", "limit": 14}


def test_geriatrics_refuses_59_and_takes_60():
    day = date(2026, 7, 17)
    from_60 = Eligibility(age_from=60)
    check_eligibility(from_60, facts(years_before(day, 60)), day, department="老年科")
    with pytest.raises(NotEligible) as err:
        check_eligibility(from_60, facts(years_before(day, 60, 1)), day, department="老年科")
    assert (err.value.reason, err.value.limit) == ("age_from", 60)


def test_obstetrics_takes_women_only_and_an_unknown_sex_needs_an_id():
    women = Eligibility(sex="F")
    day = date(2026, 7, 17)
    check_eligibility(women, facts(date(1990, 1, 1), "F"), day, department="产科")
    with pytest.raises(NotEligible) as err:
        check_eligibility(women, facts(date(1990, 1, 1), "M"), day, department="产科")
    assert (err.value.reason, err.value.limit) == ("sex", "F")
    with pytest.raises(NotEligible) as err:
        check_eligibility(women, facts(None, "U", has_id=False), day, department="产科")
    assert err.value.reason == "id_required"


def test_a_first_visit_needs_an_id_number_an_earlier_visit_does_not():
    first = Eligibility(first_visit_id="hospital")
    day = date(2026, 7, 17)
    with pytest.raises(NotEligible) as err:
        check_eligibility(first, facts(None, "U", has_id=False, visited=False), day, department="x")
    assert err.value.reason == "id_required"
    check_eligibility(first, facts(None, "U", has_id=False, visited=True), day, department="x")
    check_eligibility(first, facts(date(1990, 1, 1), visited=False), day, department="x")


def test_a_29_february_birthday_counts_from_1_march():
    assert rules.age_on(date(2012, 2, 29), date(2026, 2, 28)) == 13
    assert rules.age_on(date(2012, 2, 29), date(2026, 3, 1)) == 14


@pytest.mark.parametrize(
    "value",
    [
        [],
        {"PED": {}},
        {"PED": {"age_under": 0}},
        {"PED": {"age_under": True}},
        {"PED": {"age_under": "14"}},
        {"PED": {"sex": "W"}},
        {"PED": {"first_visit_id": "yes"}},
        {"PED": {"colour": "red"}},
        {"MIX": {"age_from": 60, "age_under": 14}},
    ],
)
def test_bad_eligibility_records_are_refused(value):
    with pytest.raises(InvalidInput):
        validate_rule(Rule(RuleKey.ELIGIBILITY, value))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (RuleKey.CLOSED_HOURS, "6:30"),
        (RuleKey.CLOSED_HOURS, "06:30-06:30"),
        (RuleKey.CLOSED_HOURS, 630),
        (RuleKey.CLOSED_DAYS, "sundays"),
        (RuleKey.LATE_PAYMENT, "keep"),
    ],
)
def test_bad_calendar_and_payment_records_are_refused(key, value):
    with pytest.raises(InvalidInput):
        validate_rule(Rule(key, value))


def test_department_conditions_fall_back_to_star():
    value = {"PED": {"age_under": 14}, "*": {"first_visit_id": "department"}}
    assert rules.department_eligibility(value, "PED") == Eligibility(age_under=14)
    assert rules.department_eligibility(value, "101") == Eligibility(first_visit_id="department")
    assert rules.department_eligibility({}, "101") is None


# --- calendar, pure ---------------------------------------------------------------------


def test_a_holiday_closes_in_holidays_mode_a_plain_weekend_does_not():
    cal = Calendar("holidays")
    closure = cal.closure(NATIONAL_DAY)
    assert closure is not None
    assert (closure.reason, closure.name) == ("holiday", "国庆节")
    assert cal.is_open(PLAIN_SATURDAY)
    assert cal.is_open(WORKING_SATURDAY)


def test_a_working_saturday_is_open_when_weekends_are_closed():
    cal = Calendar("holidays_and_weekends")
    assert cal.is_open(WORKING_SATURDAY)
    assert cal.closure(PLAIN_SATURDAY).reason == "weekend"
    assert cal.is_open(date(2026, 12, 7))  # a Monday


def test_the_hospitals_entries_override_the_national_calendar():
    entries = (
        CalendarEntry(NATIONAL_DAY, True, "国庆义诊"),
        CalendarEntry(date(2026, 12, 8), False, "院庆"),
    )
    cal = Calendar("holidays", entries)
    assert cal.is_open(NATIONAL_DAY)
    assert cal.closure(date(2026, 12, 8)).name == "院庆"
    assert Calendar("none", entries).closure(date(2026, 12, 8)).reason == "hospital"
    assert Calendar("none").is_open(NATIONAL_DAY)


def test_a_year_the_package_does_not_cover_closes_only_weekends():
    cal = Calendar("holidays_and_weekends")
    assert cal.is_open(date(2027, 10, 1))  # a Friday: 2027 is not published in the package
    assert cal.closure(date(2027, 10, 2)).reason == "weekend"


def test_release_of_a_day_whose_release_date_is_closed_moves_to_the_open_day_before():
    """Window 7 days at 07:30: 10-08 would open on 10-01 (National Day) and 10-14 on 10-07:
    both open on 09-30, the last working day before the holiday (节前集中放号)."""
    holidays = ruleset(Rule(RuleKey.CLOSED_DAYS, "holidays"))
    assert release_instant(date(2026, 10, 8), holidays, TZ) == local(2026, 9, 30, 7, 30)
    assert release_instant(date(2026, 10, 14), holidays, TZ) == local(2026, 9, 30, 7, 30)
    assert release_instant(date(2026, 10, 15), holidays, TZ) == local(2026, 10, 8, 7, 30)
    assert release_instant(date(2026, 10, 7), holidays, TZ) == local(2026, 9, 30, 7, 30)
    assert release_instant(date(2026, 10, 6), holidays, TZ) == local(2026, 9, 29, 7, 30)
    plain = ruleset()
    assert release_instant(date(2026, 10, 8), plain, TZ) == local(2026, 10, 1, 7, 30)


def test_the_booking_window_counts_the_days_released_before_a_holiday():
    holidays = ruleset(Rule(RuleKey.CLOSED_DAYS, "holidays"))
    window = rules.booking_window(local(2026, 9, 30, 7, 30), holidays, TZ)
    assert window.last_open_day == date(2026, 10, 14)
    assert window.next_opens_at == local(2026, 10, 8, 7, 30)
    before = rules.booking_window(local(2026, 9, 30, 7, 29, 59), holidays, TZ)
    assert before.last_open_day == date(2026, 10, 6)
    assert before.next_opens_at == local(2026, 9, 30, 7, 30)


def test_closed_hours_end_exclusive_and_span_midnight():
    night = ruleset(Rule(RuleKey.CLOSED_HOURS, "00:00-06:30"))
    at = rules.booking_hours_open_at
    assert at(local(2026, 7, 10, 6, 29, 59), night, TZ) == local(2026, 7, 10, 6, 30)
    assert at(local(2026, 7, 10, 6, 30), night, TZ) is None
    assert at(local(2026, 7, 10, 0, 0), night, TZ) == local(2026, 7, 10, 6, 30)
    late = ruleset(Rule(RuleKey.CLOSED_HOURS, "23:00-06:30"))
    assert at(local(2026, 7, 10, 23, 0), late, TZ) == local(2026, 7, 11, 6, 30)
    assert at(local(2026, 7, 10, 22, 59, 59), late, TZ) is None
    assert at(local(2026, 7, 10, 3, 0), ruleset(), TZ) is None  # default: open all day


# --- through the services ---------------------------------------------------------------


async def test_booking_in_the_closed_hours_is_refused_with_when_it_opens(world, services, clock):
    session = await world.basic(date(2026, 7, 12))
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    await set_rule(services, RuleKey.CLOSED_HOURS, "00:00-06:30")
    clock.set(local(2026, 7, 11, 6, 29, 59))
    with pytest.raises(BookingHoursClosed) as err:
        await book(services, slot, patient)
    assert err.value.opens_at == local(2026, 7, 11, 6, 30)
    assert await booked(services, slot) == 0
    clock.set(local(2026, 7, 11, 6, 30))
    await book(services, slot, patient)
    assert await booked(services, slot) == 1


async def test_a_holiday_is_refused_a_working_saturday_is_booked(world, services, clock):
    holiday = await world.basic(NATIONAL_DAY)
    saturday = await world.session(WORKING_SATURDAY)
    patient = await world.patient()
    await set_rule(services, RuleKey.CLOSED_DAYS, "holidays_and_weekends")
    clock.set(local(2026, 9, 30, 9, 0))
    with pytest.raises(DayClosed) as err:
        await book(services, await first_slot(services, holiday.id), patient)
    assert err.value.params == {"day": NATIONAL_DAY, "reason": "holiday", "name": "国庆节"}
    await book(services, await first_slot(services, saturday.id), patient)


async def test_the_hospitals_calendar_closes_and_reopens_a_day(world, services, clock):
    day = date(2026, 7, 15)
    session = await world.basic(day)
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    close = rules.SetCalendarDay(hospital_code="H001", day=day, is_open=False, note="院庆")
    await services.handle(close)
    with pytest.raises(DayClosed) as err:
        await book(services, slot, patient)
    assert (err.value.reason, err.value.name) == ("hospital", "院庆")
    search = schedule.SlotSearch(hospital_code="H001", day=day, day_to=day)
    listed = await services.read(schedule.search_slots, search, SYSTEM)
    assert {v.window for v in listed} == {"closed"}  # what the doors list says the same
    bookable = schedule.FeedQuery(
        hospital_id=await hospital_id(services), session_id=session.id, bookable=True
    )
    assert await services.read(schedule.feed_slots, bookable, SYSTEM) == []  # FHIR $find too
    year = await services.read(rules.calendar_of, "H001", 2026, SYSTEM)
    assert year.covered
    assert [e.day for e in year.entries] == [day]
    assert any(n.day == WORKING_SATURDAY and n.kind == "adjusted_workday" for n in year.national)
    assert await services.handle(rules.RemoveCalendarDay(hospital_code="H001", day=day))
    assert not await services.handle(rules.RemoveCalendarDay(hospital_code="H001", day=day))
    assert slot in [s.id for s in await services.read(schedule.feed_slots, bookable, SYSTEM)]
    await book(services, slot, patient)


async def test_a_day_set_again_keeps_one_entry_with_the_last_choice(world, services, clock):
    day = date(2026, 7, 15)
    session = await world.basic(day)
    patient = await world.patient()
    for is_open, note in ((False, "院庆"), (True, "义诊")):
        await services.handle(
            rules.SetCalendarDay(hospital_code="H001", day=day, is_open=is_open, note=note)
        )
    year = await services.read(rules.calendar_of, "H001", 2026, SYSTEM)
    assert [(e.day, e.is_open, e.note) for e in year.entries] == [(day, True, "义诊")]
    await book(services, await first_slot(services, session.id), patient)


async def test_release_skips_the_holiday_through_the_services(world, services, clock):
    session = await world.basic(date(2026, 10, 8))
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    await set_rule(services, RuleKey.CLOSED_DAYS, "holidays")
    clock.set(local(2026, 9, 30, 7, 29, 59))
    with pytest.raises(OutsideBookingWindow) as err:
        await book(services, slot, patient)
    assert err.value.opens_at == local(2026, 9, 30, 7, 30)
    clock.set(local(2026, 9, 30, 7, 30))
    await book(services, slot, patient)


async def _department(world, code: str, name: str, work_no: str, day: date):
    await world.department(code, name)
    await world.doctor(work_no, department=code)
    return await world.session(day, work_no=work_no)


async def test_age_and_sex_are_checked_from_the_id_number(world, services, clock):
    day = date(2026, 7, 15)
    await world.basic(day)
    ped = await _department(world, "PED", "儿科", "00901", day)
    obs = await _department(world, "OBS", "产科", "00902", day)
    conditions = {"PED": {"age_under": 14}, "OBS": {"sex": "F"}}
    await set_rule(services, RuleKey.ELIGIBILITY, conditions)
    birth_14 = years_before(day, 14).strftime("%Y%m%d")
    birth_13 = years_before(day, 14, 1).strftime("%Y%m%d")
    child = await world.patient("小明", id_number=resident_id(11, birth=birth_13))  # male
    teen = await world.patient("小红", id_number=resident_id(12, birth=birth_14))  # female
    ped_slot = await first_slot(services, ped.id)
    obs_slot = await first_slot(services, obs.id)
    await book(services, ped_slot, child)
    with pytest.raises(NotEligible) as err:
        await book(services, ped_slot, teen)
    assert err.value.params == {"reason": "age_under", "department": "儿科", "limit": 14}
    with pytest.raises(NotEligible) as err:
        await book(services, obs_slot, child)
    assert (err.value.reason, err.value.limit) == ("sex", "F")
    await book(services, obs_slot, teen)


async def test_a_first_visit_without_an_id_number_is_refused_until_a_visit(world, services):
    day = date(2026, 7, 15)
    session = await world.basic(day)
    await set_rule(services, RuleKey.REAL_NAME, False)
    nameless = await services.handle(
        patients.RegisterPatient(
            hospital_code="H001", name="李四", id_number=None, phone="13900001111"
        )
    )
    await set_rule(services, RuleKey.ELIGIBILITY, {"*": {"first_visit_id": "department"}})
    slot = await first_slot(services, session.id)
    with pytest.raises(NotEligible) as err:
        await book(services, slot, nameless)
    assert (err.value.reason, err.value.department) == ("id_required", "心内科")
    earlier = await world.session(date(2026, 7, 11), places=1)
    await set_rule(services, RuleKey.ELIGIBILITY, {})
    done = await book(services, await first_slot(services, earlier.id), nameless)
    await set_rule(services, RuleKey.ELIGIBILITY, {"*": {"first_visit_id": "department"}})

    def completed(tx):
        yield execute(
            "UPDATE bookings SET status = 'completed' WHERE booking_no = ?", done.booking.booking_no
        )

    await services.store.write(completed)
    await book(services, slot, nameless)


def test_a_closed_day_is_listed_closed_like_a_booking_would_be_told():
    holidays = ruleset(Rule(RuleKey.CLOSED_DAYS, "holidays"))
    now = local(2026, 9, 30, 9, 0)
    starts = local(2026, 10, 1, 8, 0)
    assert rules.slot_window(now, NATIONAL_DAY, starts, holidays, TZ) == "closed"
    assert rules.slot_window(now, NATIONAL_DAY, starts, ruleset(), TZ) == "open"


@settings(max_examples=200, deadline=None)
@given(
    closed=st.sets(st.integers(min_value=0, max_value=40), max_size=15),
    minutes=st.integers(min_value=0, max_value=20 * 24 * 60),
    window=st.integers(min_value=0, max_value=14),
)
def test_the_window_lists_exactly_the_days_released_whatever_days_are_closed(
    closed, minutes, window
):
    """Releases moved before closed days stay in day order, so the window's last open day
    is what a booking of each day would be told (released or not yet)."""
    start = date(2026, 7, 1)
    entries = tuple(CalendarEntry(start + timedelta(days=d), False) for d in closed)
    ruleset_ = ruleset(Rule(RuleKey.BOOKING_WINDOW_DAYS, window), entries=entries)
    now = local(2026, 7, 1) + timedelta(minutes=minutes)
    shown = rules.booking_window(now, ruleset_, TZ)
    today = now.date()
    for n in range(window + 45):
        day = today + timedelta(days=n)
        assert (day <= shown.last_open_day) == (now >= release_instant(day, ruleset_, TZ)), day
    assert shown.next_opens_at == release_instant(shown.next_day, ruleset_, TZ)
    assert shown.next_opens_at > now
