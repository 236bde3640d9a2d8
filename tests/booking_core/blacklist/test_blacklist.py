"""The blacklist (黑名单) through the services, on both stores: bans added, lifted and
listed with their events and audit; with the credit ladder switched off, the fixed rule:
three no-shows within 90 days ban for 90 (爽约; the ladder: test_credit_ladder.py);
platform-wide and hospital bans, and who may ban, see and lift whom."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from booking_core import blacklist, bookings
from booking_core.bookings import BookingStatus
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Actor
from booking_core.kernel.errors import Blacklisted, Forbidden, InvalidInput, NotFound
from booking_core.rules import RuleKey
from tests.booking_core.helpers import (
    audit_rows,
    book,
    events,
    hospital_id,
    last_event_id,
    set_rule,
)
from tests.support.world import first_slot, local, resident_id

TOMORROW = date(2026, 7, 11)
SECOND = timedelta(seconds=1)


# --- blacklist add / lift / list -------------------------------------------------------


async def test_blacklist_add_lift_list_with_events_and_audit(world, services, clock):
    await world.basic(TOMORROW)
    patient = await world.patient()
    admin = Actor("operator", "admin01")
    mark = await last_event_id(services)
    entry = await services.handle(
        blacklist.AddToBlacklist(
            patient_id=patient.id, until=date(2026, 8, 31), reason=" 倒号 ", actor=admin
        )
    )
    assert (entry.reason, entry.source, entry.lifted_at) == ("倒号", "admin", None)
    assert entry.starts_at == local(2026, 7, 10, 9, 0)
    assert entry.ends_at == local(2026, 9, 1)
    assert [e.id for e in await services.read(blacklist.list_blacklist, SYSTEM)] == [entry.id]
    his = await services.handle(
        blacklist.AddToBlacklist(
            patient_id=patient.id, until=date(2026, 7, 31), reason="HIS", source="his"
        )
    )
    assert his.source == "his"

    lifted = await services.handle(blacklist.LiftBan(entry_id=entry.id, actor=admin))
    assert lifted.lifted_at == local(2026, 7, 10, 9, 0)
    again = await services.handle(blacklist.LiftBan(entry_id=entry.id, actor=admin))  # idempotent
    assert again.lifted_at == lifted.lifted_at
    assert [e.id for e in await services.read(blacklist.list_blacklist, SYSTEM)] == [his.id]
    everything = await services.read(blacklist.list_blacklist, SYSTEM, active_only=False)
    assert [e.id for e in everything] == [entry.id, his.id]
    mine = await services.read(blacklist.list_blacklist, SYSTEM, patient_id=patient.id + 999)
    assert mine == []

    new = await events(services, mark)
    assert [(e.topic, e.payload["entry_id"]) for e in new] == [
        ("patient.blacklisted", entry.id),
        ("patient.blacklisted", his.id),
        ("patient.ban_lifted", entry.id),
    ]
    assert new[0].payload["until"] == local(2026, 9, 1).isoformat()
    actions = [(r["actor"], r["action"]) for r in await audit_rows(services, str(patient.id))]
    assert ("operator:admin01", "patient.blacklisted") in actions
    assert ("operator:admin01", "patient.ban_lifted") in actions
    assert actions.count(("operator:admin01", "patient.ban_lifted")) == 1

    clock.set(local(2026, 8, 1))  # the HIS ban has run out
    assert await services.read(blacklist.list_blacklist, SYSTEM) == []


@pytest.mark.parametrize(
    ("field", "kw"),
    [("reason", {"reason": "  "}), ("source", {"source": "sms"})],
)
async def test_blacklist_entry_needs_a_reason_and_a_known_source(world, services, field, kw):
    await world.basic(TOMORROW)
    patient = await world.patient()
    with pytest.raises(InvalidInput) as err:
        await services.handle(
            blacklist.AddToBlacklist(
                patient_id=patient.id, until=date(2026, 8, 31), **({"reason": "x"} | kw)
            )
        )
    assert err.value.field == field


# --- no-show → blacklist (爽约), the fixed rule: the credit ladder switched off -------------


async def _fixed_rule(services) -> None:
    """The hospital switched the credit ladder off: the fixed no-show ban is in force."""
    await set_rule(services, RuleKey.CREDIT_LADDER, [0, 30, 90], enabled=False)


async def _no_show(world, services, clock, patient, day: date, *, sweep_at=(12, 0, 0)):
    """Book ``day``'s session the day before, never come, sweep when it has ended."""
    session = await world.session(day)
    prev = day - timedelta(days=1)
    clock.set(local(prev.year, prev.month, prev.day, 9, 0))
    await book(services, await first_slot(services, session.id), patient)
    clock.set(local(day.year, day.month, day.day, *sweep_at))
    return await services.handle(bookings.SweepNoShows())


async def test_three_no_shows_put_the_patient_on_the_blacklist(world, services, clock):
    await world.basic(date(2026, 7, 1))  # an old session: the world needs one
    await _fixed_rule(services)
    patient = await world.patient()
    assert await _no_show(world, services, clock, patient, date(2026, 7, 11)) == (1, 0, 0)
    assert await _no_show(world, services, clock, patient, date(2026, 7, 12)) == (1, 0, 0)
    # the third session ends at 12:00: one second before, the sweep finds nothing
    last = await world.session(date(2026, 7, 13))
    clock.set(local(2026, 7, 12, 9, 0))
    await book(services, await first_slot(services, last.id), patient)
    clock.set(local(2026, 7, 13, 11, 59, 59))
    assert await services.handle(bookings.SweepNoShows()) == (0, 0, 0)
    clock.set(local(2026, 7, 13, 12, 0))
    assert await services.handle(bookings.SweepNoShows()) == (1, 0, 1)

    ban_ends = local(2026, 10, 11)  # 90 days counting 07-13 as the first
    events = await services.read(outbox.events, topic="patient.blacklisted")
    assert len(events) == 1
    assert events[0].key == str(patient.id)
    assert events[0].payload["until"] == ban_ends.isoformat()
    assert events[0].payload["source"] == "no_show"

    target = await world.session(date(2026, 10, 11))
    slot = await first_slot(services, target.id)
    clock.set(ban_ends - SECOND)  # the ban's last second
    with pytest.raises(Blacklisted) as err:
        await book(services, slot, patient)
    assert err.value.until == ban_ends
    assert "no-show" in err.value.reason
    clock.set(ban_ends)
    await book(services, slot, patient)


async def test_no_shows_spread_over_more_than_90_days_give_no_ban(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await _fixed_rule(services)
    patient = await world.patient()
    for day in (date(2026, 7, 11), date(2026, 8, 30), date(2026, 10, 10)):  # 91 days apart
        assert await _no_show(world, services, clock, patient, day) == (1, 0, 0)
    assert await services.read(blacklist.list_blacklist, SYSTEM) == []


async def test_no_shows_exactly_90_days_apart_are_within_the_period(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await _fixed_rule(services)
    patient = await world.patient()
    results = [
        await _no_show(world, services, clock, patient, day)
        for day in (date(2026, 7, 11), date(2026, 8, 25), date(2026, 10, 9))  # 90 days apart
    ]
    assert results[-1] == (1, 0, 1)


async def test_a_late_sweep_bans_as_an_on_time_one_would(world, services, clock):
    """The 90 days run back from the latest missed session, not from the sweep: a sweep
    that runs ten days late (an outage) still sees three no-shows within 90 days."""
    await world.basic(date(2026, 7, 1))
    await _fixed_rule(services)
    patient = await world.patient()
    for day in (date(2026, 7, 11), date(2026, 8, 25)):
        assert await _no_show(world, services, clock, patient, day) == (1, 0, 0)
    last = await world.session(date(2026, 10, 8))  # 89 days after the first
    clock.set(local(2026, 10, 7, 9, 0))
    await book(services, await first_slot(services, last.id), patient)
    clock.set(local(2026, 10, 18, 12, 0))  # the sweeper was down for ten days
    assert await services.handle(bookings.SweepNoShows()) == (1, 0, 1)


async def test_checked_in_bookings_complete_and_do_not_count(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await _fixed_rule(services)
    patient = await world.patient()
    for day in (date(2026, 7, 11), date(2026, 7, 12)):
        await _no_show(world, services, clock, patient, day)
    session = await world.session(date(2026, 7, 13))
    clock.set(local(2026, 7, 12, 9, 0))
    view = await book(services, await first_slot(services, session.id), patient)
    clock.set(local(2026, 7, 13, 8, 10))
    await services.handle(bookings.CheckIn(booking_no=view.booking.booking_no))
    clock.set(local(2026, 7, 13, 12, 0))
    assert await services.handle(bookings.SweepNoShows()) == (0, 1, 0)
    done = await services.read(bookings.get_booking, view.booking.booking_no, SYSTEM)
    assert done.booking.status is BookingStatus.COMPLETED
    assert await services.read(blacklist.list_blacklist, SYSTEM) == []


async def test_no_show_rule_override_and_switch_off(world, services, clock):
    await world.basic(date(2026, 7, 1))
    await _fixed_rule(services)
    await set_rule(services, RuleKey.NO_SHOW_BLACKLIST, 1, period_value=30)
    await set_rule(services, RuleKey.BLACKLIST_BAN_DAYS, 7)
    patient = await world.patient()
    assert await _no_show(world, services, clock, patient, date(2026, 7, 11)) == (1, 0, 1)
    [entry] = await services.read(blacklist.list_blacklist, SYSTEM)
    assert entry.ends_at == local(2026, 7, 18)
    other = await world.patient("李四")
    await set_rule(services, RuleKey.NO_SHOW_BLACKLIST, 1, period_value=30, enabled=False)
    assert await _no_show(world, services, clock, other, date(2026, 7, 12)) == (1, 0, 0)


# --- blacklist (黑名单) -------------------------------------------------------------------


async def test_admin_ban_refuses_until_the_end_of_its_last_day_and_lift_allows(
    world, services, clock
):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    entry = await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 7, 20), reason="倒号")
    )
    assert entry.ends_at == local(2026, 7, 21)
    tomorrow = await first_slot(services, session.id)
    with pytest.raises(Blacklisted) as err:
        await book(services, tomorrow, patient)
    assert err.value.params == {"until": local(2026, 7, 21), "reason": "倒号", "source": "admin"}
    # the ban's last second, then its end
    ban_day = await first_slot(services, (await world.session(date(2026, 7, 21))).id)
    clock.set(local(2026, 7, 20, 23, 59, 59))
    with pytest.raises(Blacklisted):
        await book(services, ban_day, patient)
    clock.set(local(2026, 7, 21))
    await book(services, ban_day, patient)


async def test_lifted_ban_allows_booking_at_once(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    entry = await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 12, 31), reason="爽约")
    )
    slot = await first_slot(services, session.id)
    with pytest.raises(Blacklisted):
        await book(services, slot, patient)
    await services.handle(blacklist.LiftBan(entry_id=entry.id))
    await book(services, slot, patient)


async def test_blacklist_check_switched_off_lets_a_banned_patient_book(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 12, 31), reason="爽约")
    )
    await set_rule(services, RuleKey.BLACKLIST_CHECK, False)
    await book(services, await first_slot(services, session.id), patient)


async def _same_person_at_two_hospitals(world, services):
    """张三 registered with one ID number at H001 and at H002, and a session at each."""
    session = await world.basic(TOMORROW)
    number = resident_id()
    here = await world.patient("张三", id_number=number)
    h002 = world.at("H002")
    await h002.hospital(name="另一家医院")
    await h002.department("201", "内科")
    await h002.doctor("00001", "201", fee=0, name="李医生", title="", specialty="")
    elsewhere = await h002.session(TOMORROW, "00001", room="")
    there = await h002.patient("张三", id_number=number)
    return (here, await first_slot(services, session.id)), (
        there,
        await first_slot(services, elsewhere.id),
    )


async def test_platform_wide_ban_blocks_the_person_at_every_hospital(world, services):
    (here, slot_here), (there, slot_there) = await _same_person_at_two_hospitals(world, services)
    stranger = await world.at("H002").patient("李四")
    await services.handle(
        blacklist.AddToBlacklist(
            patient_id=here.id, until=date(2026, 12, 31), reason="炒号", platform_wide=True
        )
    )
    with pytest.raises(Blacklisted):
        await book(services, slot_here, here)
    with pytest.raises(Blacklisted) as err:
        await book(services, slot_there, there)
    assert err.value.params == {"until": local(2027, 1, 1), "reason": "炒号", "source": "admin"}
    await book(services, slot_there, stranger)


async def test_hospital_ban_stays_at_its_hospital(world, services):
    (here, slot_here), (there, slot_there) = await _same_person_at_two_hospitals(world, services)
    await services.handle(
        blacklist.AddToBlacklist(patient_id=here.id, until=date(2026, 12, 31), reason="x")
    )
    with pytest.raises(Blacklisted):
        await book(services, slot_here, here)
    await book(services, slot_there, there)


async def test_scoped_actor_cannot_ban_see_or_lift_another_hospitals_patient(world, services):
    session = await world.basic(TOMORROW)
    patient = await world.patient()
    await world.at("H002").hospital(name="另一家医院")
    mine = Actor("operator", "h1admin", hospital_id=await hospital_id(services, "H001"))
    theirs = Actor("operator", "h2admin", hospital_id=await hospital_id(services, "H002"))
    with pytest.raises(NotFound):
        await services.handle(
            blacklist.AddToBlacklist(
                patient_id=patient.id, until=date(2026, 12, 31), reason="x", actor=theirs
            )
        )
    with pytest.raises(Forbidden):
        await services.handle(
            blacklist.AddToBlacklist(
                patient_id=patient.id,
                until=date(2026, 12, 31),
                reason="x",
                actor=mine,
                platform_wide=True,
            )
        )
    entry = await services.handle(
        blacklist.AddToBlacklist(
            patient_id=patient.id, until=date(2026, 12, 31), reason="x", actor=mine
        )
    )
    assert [e.id for e in await services.read(blacklist.list_blacklist, mine)] == [entry.id]
    assert await services.read(blacklist.list_blacklist, theirs) == []
    with pytest.raises(NotFound):
        await services.handle(blacklist.LiftBan(entry_id=entry.id, actor=theirs))
    platform = await services.handle(
        blacklist.AddToBlacklist(
            patient_id=patient.id, until=date(2026, 12, 31), reason="y", platform_wide=True
        )
    )
    assert {e.id for e in await services.read(blacklist.list_blacklist, mine)} == {
        entry.id,
        platform.id,
    }
    with pytest.raises(Forbidden):
        await services.handle(blacklist.LiftBan(entry_id=platform.id, actor=mine))
    await services.handle(blacklist.LiftBan(entry_id=entry.id, actor=mine))
    with pytest.raises(Blacklisted):  # the platform's ban is still in force
        await book(services, await first_slot(services, session.id), patient)


async def test_admin_ban_that_is_already_over_is_refused(world, services):
    await world.basic(TOMORROW)
    patient = await world.patient()
    with pytest.raises(InvalidInput) as err:
        await services.handle(
            blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 7, 9), reason="x")
        )
    assert err.value.field == "until"
    # a ban to the end of today is still a ban
    await services.handle(
        blacklist.AddToBlacklist(patient_id=patient.id, until=date(2026, 7, 10), reason="x")
    )
