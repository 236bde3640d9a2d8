"""自助预约 at a kiosk (#12 flow 3), on both stores: real name from the ID card (the
patient found by ID number, or registered by patients' own registration), booked under
every rule every door has, channel kiosk; a booking confirmed for today checked in and
printed at once; the same request sent again booking once."""

from __future__ import annotations

from datetime import date

import pytest

from booking_core import blacklist, kiosks
from booking_core.kernel.errors import (
    Blacklisted,
    BookingError,
    InvalidIdNumber,
    InvalidInput,
    NotFound,
    RealNameMismatch,
    SlotFull,
)
from booking_core.rules import RuleKey
from tests.booking_core.helpers import patient_count, set_rule
from tests.booking_core.kiosks.hall import HASH, TOMORROW, hall, jobs
from tests.support.world import World, resident_id, slot_ids


def book(h, slot_id: int, name: str = "李四", id_number: str | None = None, **kw):
    return h.services.handle(
        kiosks.BookAtKiosk(
            kiosk_id=h.kiosk.kiosk_id,
            slot_id=slot_id,
            name=name,
            id_number=id_number or h.id_number,
            **kw,
        )
    )


async def test_a_known_patient_books_today_and_takes_the_ticket_at_once(services):
    h = await hall(services)
    made = await book(h, h.today[0])
    b = made.booking.booking
    assert (b.patient_id, b.channel, b.status, b.queue_no) == (
        h.patient.id,
        "kiosk",
        "checked_in",
        1,
    )
    assert not made.registered
    assert made.ticket is not None
    assert made.ticket.kind == "print_ticket"
    assert made.ticket.payload["queue_no"] == 1


async def test_a_booking_for_tomorrow_waits_for_its_day(services):
    h = await hall(services)
    made = await book(h, h.tomorrow[0])
    assert (made.booking.booking.status, made.ticket) == ("confirmed", None)
    assert await jobs(services) == []


async def test_a_held_booking_is_paid_next(services):
    h = await hall(services, prepay=True)
    made = await book(h, h.today[0])
    assert (made.booking.booking.status, made.ticket) == ("held", None)
    charge = await services.handle(
        kiosks.PayAtKiosk(kiosk_id=h.kiosk.kiosk_id, booking_no=made.booking.booking.booking_no)
    )
    assert charge.amount == made.booking.booking.fee


async def test_a_patient_the_hospital_does_not_know_is_registered_first(services):
    h = await hall(services)
    newcomer = resident_id()
    count = await patient_count(services)
    made = await book(h, h.tomorrow[1], "赵六", newcomer, phone="13900001234")
    assert made.registered
    assert made.booking.patient_name == "赵六"
    assert await patient_count(services) == count + 1
    # the next time the ID card finds them
    again = await book(h, h.today[1], "赵六", newcomer)
    assert not again.registered
    assert again.booking.booking.patient_id == made.booking.booking.patient_id


async def test_registration_at_the_kiosk_keeps_the_real_name_rule(services):
    """The real-name rule asks for a phone: without one a newcomer is refused as every
    door refuses them, and nothing is kept."""
    h = await hall(services)
    count = await patient_count(services)
    with pytest.raises(InvalidInput) as err:
        await book(h, h.tomorrow[1], "赵六", resident_id())
    assert err.value.params["field"] == "phone"
    assert await patient_count(services) == count
    await set_rule(services, RuleKey.REAL_NAME, False)
    made = await book(h, h.tomorrow[1], "赵六", resident_id())
    assert made.registered


async def test_a_name_that_is_not_the_registered_one_is_refused(services):
    h = await hall(services)
    with pytest.raises(RealNameMismatch):
        await book(h, h.today[0], "李五")
    with pytest.raises(InvalidIdNumber):
        await book(h, h.today[0], "李四", "110105198001010000")
    assert await jobs(services) == []


async def test_every_rule_of_every_door_applies(services):
    h = await hall(services, places=1)
    await book(h, h.today[0])
    with pytest.raises(SlotFull):  # taken (by the kiosk, or by anyone)
        await book(h, h.today[0], "王五", resident_id(), phone="13900005678")
    banned_id = resident_id()
    banned = await h.world.patient("钱七", id_number=banned_id)
    await services.handle(
        blacklist.AddToBlacklist(patient_id=banned.id, until=date(2026, 8, 1), reason="爽约")
    )
    with pytest.raises(Blacklisted):
        await book(h, h.tomorrow[0], "钱七", banned_id)


async def test_a_kiosk_books_today_and_tomorrow_only_and_its_own_hospital(services):
    h = await hall(services)
    later = await h.world.session(TOMORROW.replace(day=12))
    with pytest.raises(InvalidInput) as err:
        await book(h, (await slot_ids(services, later.id))[0])
    assert err.value.params["field"] == "slot_id"
    elsewhere = World(services).at("H002")
    session = await elsewhere.basic(TOMORROW)
    with pytest.raises(NotFound):
        await book(h, (await slot_ids(services, session.id))[0])


async def test_the_same_request_sent_again_books_once(services):
    h = await hall(services)
    first = await book(h, h.today[0], request_id="5b0e7c3e-1")
    again = await book(h, h.today[0], request_id="5b0e7c3e-1")
    assert again.booking.booking.booking_no == first.booking.booking.booking_no
    assert again.booking.replayed
    assert first.ticket is not None
    assert again.ticket is not None
    assert again.ticket.job_id == first.ticket.job_id
    assert len(await jobs(services, kind="print_ticket")) == 1


async def test_a_second_kiosk_names_the_same_request_id_for_itself(services):
    """Request ids are the kiosk's own: another kiosk's same id is another request."""
    h = await hall(services)
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    await book(h, h.today[0], request_id="r-1")
    with pytest.raises(BookingError) as err:  # the same patient again: refused by the rules
        await services.handle(
            kiosks.BookAtKiosk(
                kiosk_id=other.kiosk_id,
                slot_id=h.today[0],
                name="李四",
                id_number=h.id_number,
                request_id="r-1",
            )
        )
    assert err.value.code in ("already_booked", "limit_reached")
