"""The credit ladder (信用) and appeals (申诉) through the services, on both stores, at their
edges with the frozen clock: the 1st no-show warns, the 2nd bans 30 days, the 3rd 90; a
strike a year and a second old no longer counts; the Nth same-day cancellation (当日退号) and
the Nth cancellation within days (频繁退号) are strikes; a platform-wide ladder ban is refused
at another hospital; an appeal granted lifts the ban, one rejected leaves it; every step
has its event and audit row."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from booking_core import blacklist, bookings
from booking_core.blacklist import within_period
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import (
    AppealPending,
    Blacklisted,
    Forbidden,
    InvalidInput,
    InvalidState,
    NoBanToAppeal,
)
from booking_core.rules import Rule, RuleKey, SetRule, ladder_step, validate_rule
from tests.booking_core.helpers import (
    audit_rows,
    book,
    events,
    hospital_id,
    last_event_id,
    set_rule,
)
from tests.support.world import first_slot, local, resident_id

SECOND = timedelta(seconds=1)
ADMIN = Actor("operator", "admin01")
BY_TEXT = Actor("patient", "sms:139****0000", None, Channel.SMS)


async def _book_ahead(world, services, clock, patient, day: date, **session):
    """Book ``day``'s session the day before (09:00); the booking."""
    found = await world.session(day, **session)
    prev = day - timedelta(days=1)
    clock.set(local(prev.year, prev.month, prev.day, 9, 0))
    return await book(services, await first_slot(services, found.id), patient)


async def _sweep_at(services, clock, when):
    clock.set(when)
    return await services.handle(bookings.SweepNoShows())


async def _topics(services, mark: int) -> list[tuple[str, dict]]:
    return [(e.topic, e.payload) for e in await events(services, mark)]


# --- the ladder: pure -------------------------------------------------------------------


def test_a_ladder_steps_up_and_repeats_its_last_step():
    assert [ladder_step([0, 30, 90], n) for n in (1, 2, 3, 4, 9)] == [0, 30, 90, 90, 90]
    year = timedelta(days=365)
    ref = local(2027, 7, 11, 12, 0)
    assert within_period(ref - year, ref, year)
    assert not within_period(ref - year - SECOND, ref, year)


@pytest.mark.parametrize(
    "value",
    [[], [0, 30, 10], [-1], ["30"], [True], 30, [0] * 11, [3651]],
)
def test_a_ladder_must_be_a_short_escalating_list_of_days(value):
    with pytest.raises(InvalidInput):
        validate_rule(Rule(RuleKey.CREDIT_LADDER, value, period_type="days", period_value=365))


def test_the_ladder_needs_a_period_and_platform_wide_is_the_platforms():
    with pytest.raises(InvalidInput) as err:
        validate_rule(Rule(RuleKey.CREDIT_LADDER, [0, 30]))
    assert err.value.field == "period"
    with pytest.raises(InvalidInput) as err:
        validate_rule(Rule(RuleKey.CREDIT_PLATFORM_WIDE, True, hospital_id=1))
    assert err.value.field == "hospital"
    validate_rule(Rule(RuleKey.CREDIT_PLATFORM_WIDE, True))


# --- no-shows on the ladder ------------------------------------------------------------


async def test_first_no_show_warns_second_bans_30_days_third_90(world, services, clock):
    await world.basic(date(2026, 7, 1))
    patient = await world.patient()
    days = [date(2026, 7, 11), date(2026, 7, 12), date(2026, 7, 13), date(2026, 7, 14)]
    clock.set(local(2026, 7, 10, 9, 0))
    for day in days:  # all booked before the first ban
        session = await world.session(day)
        await book(services, await first_slot(services, session.id), patient)
    mark = await last_event_id(services)

    # the first session ends at 12:00: a second before, nothing; then a warning, no ban
    assert await _sweep_at(services, clock, local(2026, 7, 11, 11, 59, 59)) == (0, 0, 0)
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 0)) == (1, 0, 0)
    warned = [p for t, p in await _topics(services, mark) if t == "patient.credit_warned"]
    assert warned == [
        {
            "patient_id": patient.id,
            "strike": 1,
            "kind": "no_show",
            "next_ban_days": 30,
            "period_days": 365,
        }
    ]
    assert await services.read(blacklist.list_blacklist, SYSTEM) == []

    # the second: 30 days, 07-12 the first of them
    mark = await last_event_id(services)
    assert await _sweep_at(services, clock, local(2026, 7, 12, 12, 0)) == (1, 0, 1)
    [ban] = [p for t, p in await _topics(services, mark) if t == "patient.blacklisted"]
    assert ban["until"] == local(2026, 8, 11).isoformat()
    assert (ban["source"], ban["strike"]) == ("credit", 2)

    # the third: 90 days from 07-13; the fourth (past the ladder's end) 90 again
    assert await _sweep_at(services, clock, local(2026, 7, 13, 12, 0)) == (1, 0, 1)
    assert await _sweep_at(services, clock, local(2026, 7, 14, 12, 0)) == (1, 0, 1)
    bans = await services.read(blacklist.list_blacklist, SYSTEM)
    assert [b.ends_at for b in bans] == [
        local(2026, 8, 11),
        local(2026, 10, 11),
        local(2026, 10, 12),
    ]
    assert {b.source for b in bans} == {"credit"}

    strikes = await services.read(blacklist.credit_strikes, SYSTEM, patient.id)
    assert [(s["step"], s["action"]) for s in strikes] == [
        (4, "ban"),
        (3, "ban"),
        (2, "ban"),
        (1, "warning"),
    ]
    actions = [r["action"] for r in await audit_rows(services, str(patient.id))]
    assert actions.count("patient.credit_warned") == 1
    assert actions.count("patient.blacklisted") == 3

    target = await first_slot(services, (await world.session(date(2026, 10, 12))).id)
    clock.set(local(2026, 10, 11, 23, 59, 59))  # the last ban's last second
    with pytest.raises(Blacklisted) as err:
        await book(services, target, patient)
    assert err.value.until == local(2026, 10, 12)
    clock.set(local(2026, 10, 12))
    await book(services, target, patient)


async def test_a_sweep_run_twice_counts_a_no_show_once(world, services, clock):
    await world.basic(date(2026, 7, 1))
    patient = await world.patient()
    await _book_ahead(world, services, clock, patient, date(2026, 7, 11))
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 0)) == (1, 0, 0)
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 5)) == (0, 0, 0)
    assert len(await services.read(blacklist.credit_strikes, SYSTEM, patient.id)) == 1


@pytest.mark.parametrize(
    ("end", "banned"),
    [(time(12, 0), True), (time(12, 1), False)],  # exactly 365 days after; a minute more
)
async def test_the_rolling_year_edge(world, services, clock, end, banned):
    """A no-show counts for one at most 365 days after it (the pure edge, a second past,
    is test_a_ladder_steps_up_and_repeats_its_last_step): 2026-07-11 12:00 and
    2027-07-11 12:00 are 365 days apart."""
    await world.basic(date(2026, 7, 1))
    patient = await world.patient()
    await _book_ahead(world, services, clock, patient, date(2026, 7, 11))
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 0)) == (1, 0, 0)
    await _book_ahead(
        world, services, clock, patient, date(2027, 7, 11), start=time(8, end.minute), end=end
    )
    after = await _sweep_at(services, clock, local(2027, 7, 11, 13, 0))
    assert after == (1, 0, 1 if banned else 0)
    [latest, _] = await services.read(blacklist.credit_strikes, SYSTEM, patient.id)
    assert latest["step"] == (2 if banned else 1)


async def test_a_switched_off_ladder_falls_back_to_the_fixed_rule(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await set_rule(services, RuleKey.CREDIT_LADDER, [0, 30, 90], enabled=False)
    await set_rule(services, RuleKey.NO_SHOW_BLACKLIST, 0, enabled=False)
    patient = await world.patient()
    for day in (date(2026, 7, 11), date(2026, 7, 12), date(2026, 7, 13)):
        await _book_ahead(world, services, clock, patient, day)
        assert await _sweep_at(services, clock, local(day.year, day.month, day.day, 12)) == (
            1,
            0,
            0,
        )
    assert await services.read(blacklist.credit_strikes, SYSTEM, patient.id) == []


async def test_a_custom_ladder_record(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await set_rule(services, RuleKey.CREDIT_LADDER, [7])  # every strike: a week
    patient = await world.patient()
    await _book_ahead(world, services, clock, patient, date(2026, 7, 11))
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 0)) == (1, 0, 1)
    [ban] = await services.read(blacklist.list_blacklist, SYSTEM)
    assert ban.ends_at == local(2026, 7, 18)


# --- cancellations on the ladder ---------------------------------------------------------


async def _book_and_cancel(services, slot, patient, clock, when):
    clock.set(when)
    view = await book(services, slot, patient)
    await services.handle(bookings.CancelBooking(booking_no=view.booking.booking_no))


async def test_every_nth_same_day_cancellation_is_a_strike(world, services, clock):
    session = await world.basic(date(2026, 7, 11))
    await set_rule(services, RuleKey.SAME_DAY_CANCEL_STRIKE, 2)
    await set_rule(services, RuleKey.BOOK_CANCEL_STRIKE, 0, enabled=False)
    patient = await world.patient()
    slot = await first_slot(services, session.id)
    # the day before: not a same-day cancellation
    await _book_and_cancel(services, slot, patient, clock, local(2026, 7, 10, 23, 59, 59))
    await _book_and_cancel(services, slot, patient, clock, local(2026, 7, 11, 0, 0))
    assert await services.read(blacklist.credit_strikes, SYSTEM, patient.id) == []
    mark = await last_event_id(services)
    await _book_and_cancel(services, slot, patient, clock, local(2026, 7, 11, 7, 0))  # 2nd
    [(topic, warned)] = [
        (t, p) for t, p in await _topics(services, mark) if t.startswith("patient.")
    ]
    assert (topic, warned["kind"], warned["strike"]) == (
        "patient.credit_warned",
        "same_day_cancel",
        1,
    )
    # the count starts again after a strike: one more is not yet the next
    await _book_and_cancel(services, slot, patient, clock, local(2026, 7, 11, 7, 10))
    assert len(await services.read(blacklist.credit_strikes, SYSTEM, patient.id)) == 1
    await _book_and_cancel(services, slot, patient, clock, local(2026, 7, 11, 7, 20))
    [ban] = await services.read(blacklist.list_blacklist, SYSTEM)
    assert ban.ends_at == local(2026, 8, 10)
    with pytest.raises(Blacklisted):
        await book(services, slot, patient)


async def test_a_hospitals_cancellation_is_no_strike(world, services, clock):
    session = await world.basic(date(2026, 7, 11))
    await set_rule(services, RuleKey.SAME_DAY_CANCEL_STRIKE, 1)
    patient = await world.patient()
    clock.set(local(2026, 7, 11, 7, 0))
    view = await book(services, await first_slot(services, session.id), patient)
    await services.handle(
        bookings.CancelBooking(booking_no=view.booking.booking_no, by_hospital=True)
    )
    assert await services.read(blacklist.credit_strikes, SYSTEM, patient.id) == []


@pytest.mark.parametrize(("last", "struck"), [(0, True), (1, False)])
async def test_n_cancellations_within_d_days_are_a_strike(world, services, clock, last, struck):
    """Three cancellations within 7 days: the third exactly 7 days after the first counts
    it; a second later the first is out of the period."""
    await world.basic(date(2026, 7, 1))
    await set_rule(services, RuleKey.BOOK_CANCEL_STRIKE, 3, period_value=7)
    patient = await world.patient()
    times = [local(2026, 7, 14, 9, 0), local(2026, 7, 17, 9, 0), local(2026, 7, 21, 9, 0, last)]
    for day, when in zip((15, 18, 22), times, strict=True):
        session = await world.session(date(2026, 7, day))
        await _book_and_cancel(
            services, await first_slot(services, session.id), patient, clock, when
        )
    strikes = await services.read(blacklist.credit_strikes, SYSTEM, patient.id)
    assert [(s["kind"], s["action"]) for s in strikes] == (
        [("book_cancel", "warning")] if struck else []
    )


# --- platform-wide -------------------------------------------------------------------------


async def test_a_platform_wide_ladder_ban_is_refused_at_another_hospital(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await services.handle(SetRule(rule=Rule(RuleKey.CREDIT_PLATFORM_WIDE, True)))
    number = resident_id()
    here = await world.patient("张三", id_number=number)
    h002 = world.at("H002")
    await h002.hospital(name="另一家医院")
    await h002.department("201", "内科")
    await h002.doctor("00001", "201", fee=0, name="李医生", title="", specialty="")
    there = await h002.patient("张三", id_number=number)
    stranger = await h002.patient("李四")
    # one no-show at each hospital: the second strike of the person, a platform-wide ban
    await _book_ahead(world, services, clock, here, date(2026, 7, 11))
    assert await _sweep_at(services, clock, local(2026, 7, 11, 12, 0)) == (1, 0, 0)
    elsewhere = await h002.session(date(2026, 7, 12), "00001", room="")
    clock.set(local(2026, 7, 11, 13, 0))
    await book(services, await first_slot(services, elsewhere.id), there)
    assert await _sweep_at(services, clock, local(2026, 7, 12, 12, 0)) == (1, 0, 1)
    [ban] = await services.read(blacklist.list_blacklist, SYSTEM)
    assert (ban.hospital_id, ban.patient_id) == (None, there.id)

    later = await h002.session(date(2026, 7, 14), "00001", room="")
    later_here = await world.session(date(2026, 7, 14))
    with pytest.raises(Blacklisted) as err:
        await book(services, await first_slot(services, later_here.id), here)
    assert err.value.until == local(2026, 8, 11)
    with pytest.raises(Blacklisted):
        await book(services, await first_slot(services, later.id), there)
    await book(services, await first_slot(services, later.id), stranger)


async def test_without_platform_wide_a_ladder_ban_stays_at_its_hospital(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await set_rule(services, RuleKey.CREDIT_LADDER, [30])
    patient = await world.patient()
    await _book_ahead(world, services, clock, patient, date(2026, 7, 11))
    await _sweep_at(services, clock, local(2026, 7, 11, 12, 0))
    [ban] = await services.read(blacklist.list_blacklist, SYSTEM)
    assert ban.hospital_id is not None


# --- appeals (申诉) -------------------------------------------------------------------------


async def _banned(world, services):
    session = await world.basic(date(2026, 7, 11))
    patient = await world.patient()
    entry = await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 31), reason="爽约")
    )
    return patient, entry, await first_slot(services, session.id)


async def test_an_appeal_granted_lifts_the_ban(world, services, clock):
    patient, entry, slot = await _banned(world, services)
    mark = await last_event_id(services)
    appeal = await services.handle(
        blacklist.FileAppeal(patient_id=patient.id, reason=" 那天 住院了 ", actor=BY_TEXT)
    )
    assert (appeal.reason, appeal.status, appeal.channel, appeal.ban_id) == (
        "那天 住院了",
        "open",
        "sms",
        entry.id,
    )
    with pytest.raises(AppealPending) as err:  # one open appeal per ban
        await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="again"))
    assert err.value.params == {"appeal_id": appeal.id, "filed_at": local(2026, 7, 10, 9, 0)}
    [listed] = await services.read(blacklist.list_appeals, SYSTEM)
    assert (listed["id"], listed["ban_reason"], listed["ban_ends_at"]) == (
        appeal.id,
        "爽约",
        local(2026, 9, 1),
    )

    clock.advance(hours=2)
    decided = await services.handle(
        blacklist.DecideAppeal(appeal_id=appeal.id, grant=True, answer="已核实", actor=ADMIN)
    )
    assert (decided.status, decided.decided_by, decided.answer) == (
        "granted",
        "operator:admin01",
        "已核实",
    )
    assert await services.read(blacklist.list_blacklist, SYSTEM) == []
    await book(services, slot, patient)
    assert await services.read(blacklist.list_appeals, SYSTEM) == []

    topics = [t for t, _ in await _topics(services, mark) if t.startswith("patient.")]
    assert topics == ["patient.appeal_filed", "patient.ban_lifted", "patient.appeal_decided"]
    [answer] = [p for t, p in await _topics(services, mark) if t == "patient.appeal_decided"]
    assert (answer["granted"], answer["answer"]) == (True, "已核实")
    actions = [(r["actor"], r["action"]) for r in await audit_rows(services, str(patient.id))]
    assert ("patient:sms:139****0000", "patient.appeal_filed") in actions
    assert ("operator:admin01", "patient.ban_lifted") in actions
    assert ("operator:admin01", "patient.appeal_decided") in actions
    with pytest.raises(InvalidState):  # decided once
        await services.handle(blacklist.DecideAppeal(appeal_id=appeal.id, grant=False, answer="x"))
    with pytest.raises(NoBanToAppeal):  # the ban is gone
        await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="x"))


async def test_an_appeal_rejected_leaves_the_ban_with_the_answer(world, services):
    patient, _, slot = await _banned(world, services)
    appeal = await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="忘了"))
    with pytest.raises(InvalidInput) as err:  # a rejection says why
        await services.handle(blacklist.DecideAppeal(appeal_id=appeal.id, grant=False))
    assert err.value.field == "answer"
    mark = await last_event_id(services)
    decided = await services.handle(
        blacklist.DecideAppeal(appeal_id=appeal.id, grant=False, answer="未提供证明", actor=ADMIN)
    )
    assert decided.status == "rejected"
    [(topic, payload)] = await _topics(services, mark)
    assert (topic, payload["granted"], payload["answer"]) == (
        "patient.appeal_decided",
        False,
        "未提供证明",
    )
    assert payload["until"] == local(2026, 9, 1).isoformat()
    with pytest.raises(Blacklisted):
        await book(services, slot, patient)
    # a new appeal may be filed once the last is decided
    again = await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="有证明"))
    assert again.id != appeal.id


async def test_no_ban_no_appeal_and_an_appeal_needs_words(world, services):
    await world.basic(date(2026, 7, 11))
    patient = await world.patient()
    with pytest.raises(NoBanToAppeal) as err:
        await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="x"))
    assert err.value.params == {"patient_id": patient.id}
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 8, 31), reason="r")
    )
    with pytest.raises(InvalidInput):
        await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="  "))
    with pytest.raises(InvalidInput):
        await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="长" * 201))


async def test_a_hospital_admin_cannot_decide_a_platform_wide_bans_appeal(world, services):
    await world.basic(date(2026, 7, 11))
    patient = await world.patient()
    await services.handle(
        blacklist.AddToBlacklist(
            patient_id=patient.id, until=date(2026, 8, 31), reason="炒号", platform_wide=True
        )
    )
    appeal = await services.handle(blacklist.FileAppeal(patient_id=patient.id, reason="误会"))
    local_admin = Actor("operator", "h1", hospital_id=await hospital_id(services))
    with pytest.raises(Forbidden):
        await services.handle(
            blacklist.DecideAppeal(appeal_id=appeal.id, grant=True, actor=local_admin)
        )
    [mine] = await services.read(blacklist.list_appeals, local_admin)
    assert mine["platform_wide"] is True
