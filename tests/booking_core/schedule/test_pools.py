"""Channel pools with staged release (号源池、分时放号, issue 15) through the services, on
both stores, with the clock moved to each edge: a pool's release (1 s before, at), the roll
into the public pool (1 s before, at), each pool's capacity, a cancellation giving the place
back to its pool, and what each channel's listing shows.

The plan of most tests: one session on DAY (08:00-12:00, one slot of 10 places):
referral 30 % (3 places, released 28 days before at 07:30, rolled at the public release),
IVR 20 % (2 places, released with the public pool, rolled 24 h before the session),
public the other 5 (the hospital's release: 7 days before at 07:30).
"""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import bookings, schedule
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import (
    BookingClosed,
    ChannelFull,
    InvalidInput,
    OutsideBookingWindow,
    SlotFull,
)
from booking_core.kernel.unit import execute, rows
from booking_core.rules import RuleKey
from booking_core.rules.pools import parse_plan
from booking_core.schedule import FeedQuery, SlotSearch
from booking_core.schedule.week import WeekQuery, week_grid
from tests.booking_core.helpers import book, booked, hospital_id, set_rule
from tests.support.world import first_slot, local

DAY = date(2026, 8, 7)  # a Friday; referral opens 2026-07-10 07:30, public 2026-07-31 07:30
REFERRAL_OPENS = local(2026, 7, 10, 7, 30)
PUBLIC_OPENS = local(2026, 7, 31, 7, 30)
IVR_ROLLS = local(2026, 8, 6, 8, 0)  # 24 h before the session's 08:00

PLAN = {
    "pools": [
        {
            "pool": "referral",
            "percent": 30,
            "release_days": 28,
            "release_time": "07:30",
            "roll_at_public_release": True,
        },
        {"pool": "ivr", "percent": 20},
    ]
}


async def pooled_world(world, services, plan=PLAN, places: int = 10):
    session = await world.basic(DAY, places=places, slot_minutes=240)
    await set_rule(services, RuleKey.CHANNEL_POOLS, plan)
    return session, await first_slot(services, session.id)


async def pools(services, session_id: int) -> dict[str, tuple[int, int, bool]]:
    """The session's pool counters: pool → (capacity, booked, rolled)."""

    def q(tx):
        found = yield rows(
            "SELECT pool, capacity, booked, rolled_at FROM session_pools WHERE session_id = ?",
            session_id,
        )
        return {r["pool"]: (r["capacity"], r["booked"], r["rolled_at"] is not None) for r in found}

    return await services.store.read(q)


async def active_by_pool(services, session_id: int) -> dict[str | None, int]:
    def q(tx):
        found = yield rows(
            "SELECT pool, count(*) AS n FROM bookings WHERE session_id = ? "
            "AND status IN ('held', 'confirmed', 'checked_in') GROUP BY pool",
            session_id,
        )
        return {r["pool"]: r["n"] for r in found}

    return await services.store.read(q)


def referral(slot_id, patient):
    return bookings.BookSlot(
        slot_id=slot_id, patient_id=patient.id, channel=Channel.HIS, referral=True
    )


# --- the rule record ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        [],
        {"pools": [{"pool": "ivr"}]},
        {"pools": [{"pool": "phone", "percent": 10}]},
        {"pools": [{"pool": "ivr", "percent": 0}]},
        {"pools": [{"pool": "ivr", "percent": 60}, {"pool": "sms", "percent": 50}]},
        {"pools": [{"pool": "ivr", "percent": 10}, {"pool": "ivr", "percent": 10}]},
        {"pools": [{"pool": "ivr", "percent": 10, "release_time": "7h30"}]},
        {"pools": [{"pool": "ivr", "percent": 10, "release_days": -1}]},
        {"pools": [{"pool": "ivr", "percent": 10, "colour": "red"}]},
        {"pools": [], "roll_hours_before": True},
    ],
)
def test_a_bad_plan_is_refused_saying_what_is_wrong(value):
    with pytest.raises(InvalidInput):
        parse_plan(value)


async def test_a_bad_plan_is_refused_as_a_rule_record(world, services):
    await world.basic(DAY)
    with pytest.raises(InvalidInput):
        await set_rule(services, RuleKey.CHANNEL_POOLS, {"pools": [{"pool": "ivr"}]})


def test_the_split_rounds_each_pool_down_and_the_rest_is_public():
    plan = parse_plan(PLAN)
    assert plan.split(10) == {"referral": 3, "ivr": 2, "public": 5}
    assert plan.split(7) == {"referral": 2, "ivr": 1, "public": 4}
    assert plan.split(0) == {"referral": 0, "ivr": 0, "public": 0}


# --- no pools: as before --------------------------------------------------------------------


async def test_without_pools_a_booking_has_no_pool_and_no_counter_is_made(world, services, clock):
    session = await world.basic(DAY, places=10, slot_minutes=240)
    slot = await first_slot(services, session.id)
    clock.set(PUBLIC_OPENS)
    view = await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert view.booking.pool is None
    assert await pools(services, session.id) == {}


# --- staged release (分时放号) -----------------------------------------------------------------


async def test_the_referral_pool_opens_at_its_own_release_instant(world, services, clock):
    session, slot = await pooled_world(world, services)
    patient = await world.patient()
    clock.set(local(2026, 7, 10, 7, 29, 59))
    with pytest.raises(OutsideBookingWindow) as err:
        await services.handle(referral(slot, patient))
    assert err.value.opens_at == REFERRAL_OPENS
    assert await booked(services, slot) == 0
    clock.set(REFERRAL_OPENS)
    view = await services.handle(referral(slot, patient))
    assert view.booking.pool == "referral"
    assert (await pools(services, session.id))["referral"] == (3, 1, False)


async def test_other_channels_wait_for_the_public_release(world, services, clock):
    _session, slot = await pooled_world(world, services)
    clock.set(REFERRAL_OPENS)
    with pytest.raises(OutsideBookingWindow) as err:
        await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert err.value.opens_at == PUBLIC_OPENS
    clock.set(local(2026, 7, 31, 7, 29, 59))
    with pytest.raises(OutsideBookingWindow):
        await book(services, slot, await world.patient(), channel=Channel.SMS)
    clock.set(PUBLIC_OPENS)
    view = await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert view.booking.pool == "public"


async def test_only_a_hospital_system_marks_a_referral(world, services, clock):
    _session, slot = await pooled_world(world, services)
    clock.set(REFERRAL_OPENS)
    with pytest.raises(InvalidInput):
        await services.handle(
            bookings.BookSlot(
                slot_id=slot,
                patient_id=(await world.patient()).id,
                channel=Channel.SMS,
                referral=True,
            )
        )


async def test_the_cut_off_still_closes_every_pool(world, services, clock):
    _session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 7, 8, 0))
    with pytest.raises(BookingClosed):
        await services.handle(referral(slot, await world.patient()))


# --- capacity per pool ----------------------------------------------------------------------


async def test_each_pool_holds_its_share_and_an_empty_one_says_channel_full(world, services, clock):
    session, slot = await pooled_world(world, services)
    clock.set(PUBLIC_OPENS - (PUBLIC_OPENS - REFERRAL_OPENS) / 2)  # referral open, public not
    for _ in range(3):
        await services.handle(referral(slot, await world.patient()))
    with pytest.raises(OutsideBookingWindow) as err:  # its pool full; the public opens later
        await services.handle(referral(slot, await world.patient()))
    assert err.value.opens_at == PUBLIC_OPENS
    clock.set(local(2026, 8, 1, 9, 0))  # after the public release; the referral pool rolled
    ivr = [await book(services, slot, await world.patient(), channel=Channel.IVR) for _ in "ab"]
    assert [v.booking.pool for v in ivr] == ["ivr", "ivr"]
    sms = [await book(services, slot, await world.patient(), channel=Channel.SMS) for _ in "abc"]
    assert {v.booking.pool for v in sms} == {"public"}
    extra_ivr = await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert extra_ivr.booking.pool == "public"  # its own pool full: the public one
    await book(services, slot, await world.patient(), channel=Channel.AGENT)  # the last public
    assert await booked(services, slot) == 10
    counts = await pools(services, session.id)
    assert counts == {"public": (5, 5, False), "ivr": (2, 2, False), "referral": (3, 3, True)}
    with pytest.raises(SlotFull):
        await book(services, slot, await world.patient(), channel=Channel.IVR)


async def test_full_for_this_channel_while_another_pool_has_places(world, services, clock):
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))
    for _ in range(5):  # the public pool (the referral pool rolled at the public release: 3)
        await book(services, slot, await world.patient(), channel=Channel.SMS)
    for _ in range(3):
        await book(services, slot, await world.patient(), channel=Channel.SMS)
    with pytest.raises(ChannelFull) as err:  # the IVR pool keeps its 2
        await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert err.value.params == {"slot_id": slot, "channel": "sms"}
    assert await booked(services, slot) == 8
    for _ in range(2):
        await book(services, slot, await world.patient(), channel=Channel.IVR)
    with pytest.raises(SlotFull):  # nothing left anywhere
        await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert await active_by_pool(services, session.id) == {"public": 8, "ivr": 2}


# --- the roll into the public pool -----------------------------------------------------------


async def test_the_ivr_pool_rolls_into_the_public_pool_at_its_instant(world, services, clock):
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))
    for _ in range(8):  # public 5 + the rolled referral 3
        await book(services, slot, await world.patient(), channel=Channel.AGENT)
    clock.set(local(2026, 8, 6, 7, 59, 59))
    with pytest.raises(ChannelFull):
        await book(services, slot, await world.patient(), channel=Channel.AGENT)
    clock.set(IVR_ROLLS)
    view = await book(services, slot, await world.patient(), channel=Channel.AGENT)
    assert view.booking.pool == "public"
    counts = await pools(services, session.id)
    assert counts["ivr"] == (0, 0, True)
    assert counts["public"] == (10, 9, False)
    # after its roll an IVR caller books the public pool like everyone
    view = await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert view.booking.pool == "public"


async def test_the_referral_pool_rolls_at_the_public_release(world, services, clock):
    session, slot = await pooled_world(world, services)
    clock.set(REFERRAL_OPENS)
    await services.handle(referral(slot, await world.patient()))
    clock.set(local(2026, 7, 31, 7, 29, 59))
    view = await services.handle(referral(slot, await world.patient()))
    assert view.booking.pool == "referral"
    clock.set(PUBLIC_OPENS)
    view = await services.handle(referral(slot, await world.patient()))
    assert view.booking.pool == "public"  # the referral pool's last place went public
    counts = await pools(services, session.id)
    assert counts["referral"] == (2, 2, True)
    assert counts["public"] == (6, 1, False)


# --- a cancellation gives the place back to its pool --------------------------------------


async def test_a_cancel_gives_the_place_back_to_its_pool(world, services, clock):
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))
    ivr = await book(services, slot, await world.patient(), channel=Channel.IVR)
    assert (await pools(services, session.id))["ivr"] == (2, 1, False)
    await services.handle(bookings.CancelBooking(booking_no=ivr.booking.booking_no))
    assert (await pools(services, session.id))["ivr"] == (2, 0, False)
    # after its roll, a place given back to the IVR pool goes on to the public pool
    ivr = await book(services, slot, await world.patient(), channel=Channel.IVR)
    clock.set(IVR_ROLLS)
    await book(services, slot, await world.patient(), channel=Channel.SMS)  # does the roll
    counts = await pools(services, session.id)
    assert counts["ivr"] == (1, 1, True)
    await services.handle(bookings.CancelBooking(booking_no=ivr.booking.booking_no))
    counts = await pools(services, session.id)
    assert counts["ivr"] == (0, 0, True)
    assert counts["public"] == (10, 1, False)


# --- what each channel's listing shows --------------------------------------------------------


def reader(hid: int, channel: Channel) -> Actor:
    return Actor("patient", f"test-{channel}", hid, channel)


async def free_seen(services, hid: int, channel: Channel, *, referral: bool = False) -> int:
    found = await services.read(
        schedule.search_slots,
        SlotSearch(hospital_code="H001", day=DAY, bookable_only=True, referral=referral),
        reader(hid, channel),
    )
    return sum(v.free for v in found)


async def test_each_channel_lists_what_it_may_book(world, services, clock):
    session, slot = await pooled_world(world, services)
    hid = await hospital_id(services)
    clock.set(REFERRAL_OPENS)
    assert await free_seen(services, hid, Channel.HIS, referral=True) == 3
    assert await free_seen(services, hid, Channel.IVR) == 0  # not yet released for it
    assert await free_seen(services, hid, Channel.SMS) == 0
    # listed with its window: not yet open to the phone line, and what opens to it then
    [later] = await services.read(
        schedule.search_slots, SlotSearch(hospital_code="H001", day=DAY), reader(hid, Channel.IVR)
    )
    assert (later.window, later.opens_at, later.free) == ("not_yet_open", PUBLIC_OPENS, 2 + 8)
    clock.set(local(2026, 8, 1, 9, 0))
    await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert await free_seen(services, hid, Channel.IVR) == 2 + 7
    assert await free_seen(services, hid, Channel.SMS) == 7  # the public 5 + rolled 3 - 1
    assert await free_seen(services, hid, Channel.HIS) == 7
    slots = await services.read(
        schedule.feed_slots,
        FeedQuery(hospital_id=hid, session_id=session.id, free=True, bookable=True),
        reader(hid, Channel.HIS),
    )
    assert [s.free for s in slots] == [7]
    grid = await services.read(
        week_grid,
        WeekQuery(hospital_code="H001", doctor_work_no="00868", day=DAY),
        reader(hid, Channel.IVR),
    )
    assert grid.cells[0].left == 9
    # the public fills up: SMS sees the session full, IVR still its 2
    for _ in range(7):
        await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert await free_seen(services, hid, Channel.SMS) == 0
    assert await free_seen(services, hid, Channel.IVR) == 2
    found = await services.read(
        schedule.search_slots,
        SlotSearch(hospital_code="H001", day=DAY, only_free=False),
        reader(hid, Channel.SMS),
    )
    assert [(v.free, v.bookable) for v in found] == [(0, False)]


async def test_a_session_with_bookings_before_the_pools_counts_them_public(world, services, clock):
    session = await world.basic(DAY, places=10, slot_minutes=240)
    slot = await first_slot(services, session.id)
    clock.set(local(2026, 8, 1, 9, 0))
    old = await book(services, slot, await world.patient(), channel=Channel.SMS)
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN)
    await book(services, slot, await world.patient(), channel=Channel.IVR)
    counts = await pools(services, session.id)
    assert counts["public"] == (8, 1, False)  # 5 + the rolled 3; the old booking in it
    await services.handle(bookings.CancelBooking(booking_no=old.booking.booking_no))
    assert (await pools(services, session.id))["public"] == (8, 0, False)


async def test_rescheduling_to_another_session_takes_a_place_in_its_pools(world, services, clock):
    session, slot = await pooled_world(world, services)
    other = await world.session(
        DAY,
        period=schedule.Period.AFTERNOON,
        start=time(13, 0),
        end=time(17, 0),
        slot_minutes=240,
        places=10,
    )
    other_slot = await first_slot(services, other.id)
    clock.set(local(2026, 8, 1, 9, 0))
    view = await book(services, slot, await world.patient(), channel=Channel.IVR)
    moved = await services.handle(
        bookings.RescheduleBooking(booking_no=view.booking.booking_no, slot_id=other_slot)
    )
    assert moved.booking.pool == "ivr"
    assert (await pools(services, session.id))["ivr"] == (2, 0, False)
    assert (await pools(services, other.id))["ivr"] == (2, 1, False)


async def test_a_doctor_stop_moves_bookings_into_the_substitute_sessions_pools(
    world, services, clock
):
    session, slot = await pooled_world(world, services)
    await world.doctor("00869")
    other = await world.session(DAY, "00869", slot_minutes=240, places=10)
    clock.set(local(2026, 8, 1, 9, 0))
    views = [
        await book(services, slot, await world.patient(), channel=channel)
        for channel in (Channel.IVR, Channel.SMS, Channel.IVR)
    ]
    assert [v.booking.pool for v in views] == ["ivr", "public", "ivr"]
    await services.handle(
        bookings.StopSession(session_id=session.id, mode="move", target_session_id=other.id)
    )
    assert await active_by_pool(services, session.id) == {}
    assert {p: b for p, (_c, b, _r) in (await pools(services, session.id)).items()} == {
        "ivr": 0,
        "public": 0,
        "referral": 0,
    }
    moved = await active_by_pool(services, other.id)
    assert moved == {"ivr": 2, "public": 1}
    counts = await pools(services, other.id)
    assert {p: b for p, (_c, b, _r) in counts.items()} == {"ivr": 2, "public": 1, "referral": 0}


async def test_the_desk_count_of_free_slots_is_what_the_desk_may_book(world, services, clock):
    session = await world.basic(DAY, places=1)  # 8 half-hour slots of one place
    await set_rule(services, RuleKey.CHANNEL_POOLS, {"pools": [{"pool": "ivr", "percent": 50}]})
    hid = await hospital_id(services)
    clock.set(local(2026, 8, 1, 9, 0))
    search = SlotSearch(hospital_code="H001", day=DAY, bookable_only=True)
    desk = reader(hid, Channel.AGENT)
    for _ in range(4):  # the public pool's 4 places, by the desk
        found = await services.read(schedule.search_slots, search, desk)
        await book(services, found[0].slot_id, await world.patient(), channel=Channel.AGENT)
    assert await services.read(schedule.search_slots, search, desk) == []
    assert await services.read(schedule.count_slots, search, desk) == 0
    phone = reader(hid, Channel.IVR)
    assert await services.read(schedule.count_slots, search, phone) == 4
    assert session.id


async def test_pools_switched_off_book_as_before_and_leave_the_counters_alone(
    world, services, clock
):
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))
    await book(services, slot, await world.patient(), channel=Channel.IVR)
    before = await pools(services, session.id)
    await set_rule(services, RuleKey.CHANNEL_POOLS, PLAN, enabled=False)
    view = await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert view.booking.pool is None
    await services.handle(bookings.CancelBooking(booking_no=view.booking.booking_no))
    assert await pools(services, session.id) == before


async def test_places_added_to_a_session_later_go_to_the_public_pool(world, services, clock):
    """A session whose places grow after its split (a schedule import, 加号): the difference
    is the public pool's at the next booking."""
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))
    await book(services, slot, await world.patient(), channel=Channel.SMS)
    assert (await pools(services, session.id))["public"] == (8, 1, False)

    def grow(tx):
        yield execute("UPDATE slots SET capacity = capacity + 2 WHERE id = ?", slot)

    await services.store.write(grow)
    await book(services, slot, await world.patient(), channel=Channel.SMS)
    counts = await pools(services, session.id)
    assert counts["public"] == (10, 2, False)
    assert sum(c for c, _b, _r in counts.values()) == 12


# --- a waitlist offer takes the freed place from its pool -------------------------------------


async def test_a_waitlist_offer_takes_the_freed_place_from_its_pool(world, services, clock):
    """候补 × 号源池: a place freed in the IVR pool of a full session is offered to the first
    in line, and the offer counts in that pool: every pool's counter still equals its
    active bookings, so no channel books past its share once the offer is answered."""
    session, slot = await pooled_world(world, services)
    clock.set(local(2026, 8, 1, 9, 0))  # public released; referral rolled into it
    nos = []
    for channel in (Channel.IVR, Channel.IVR, *[Channel.SMS] * 8):
        nos.append((await book(services, slot, await world.patient(), channel=channel)).booking)
    waiting = await world.patient()
    await services.handle(
        bookings.JoinWaitlist(session_id=session.id, patient_id=waiting.id, channel=Channel.SMS)
    )
    await services.handle(bookings.CancelBooking(booking_no=nos[0].booking_no))
    counts = await pools(services, session.id)
    actives = await active_by_pool(services, session.id)
    assert {p: c[1] for p, c in counts.items() if c[1]} == actives
    assert actives == {"ivr": 2, "public": 8}  # the offer (held) in the IVR pool
