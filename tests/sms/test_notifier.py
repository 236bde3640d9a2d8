"""The notifier: outbox events become queued texts, once, to the right phones, worded for
what happened; opted-out phones get only the answers to their own actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import ClassVar

import pytest

from booking_core import bookings, calls, complaints
from booking_core.events import Event
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.unit import execute, rows
from booking_core.messages import SetOptOut
from booking_core.schedule import Period
from sms.notifier import Notifier
from sms.replies import Replies
from tests.support.events import noted
from tests.support.world import first_slot

TOMORROW = date(2026, 7, 11)  # the clock is 2026-07-10 09:00 Beijing
PHONE = "13912345678"
CALLER = "13800000009"


@pytest.fixture
def notifier(services) -> Notifier:
    return Notifier(services, Replies(), "twilio", consumer="test")  # the store fixture's


@pytest.fixture
async def booked(world, services):
    session = await world.basic(TOMORROW, places=2)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    view = await services.handle(
        bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel=Channel.AGENT)
    )
    return view.booking


async def _queued(services) -> list[dict]:
    def read(tx):
        found = yield rows(
            "SELECT kind, status, body, booking_no, error, idem_key FROM messages "
            "WHERE direction = 'out' ORDER BY id"
        )
        return [dict(r) for r in found]

    return await services.read(read)


async def _drain(notifier: Notifier) -> None:
    while await notifier.run_once():
        pass


async def test_a_booking_is_confirmed_once_signed_with_the_hospital(notifier, booked, services):
    await _drain(notifier)
    await _drain(notifier)
    (message,) = await _queued(services)
    assert message["kind"] == "confirmation"
    assert message["status"] == "queued"
    assert booked.booking_no in message["body"]
    assert "协和医院" in message["body"]
    assert len(message["body"]) <= 70


async def _call_booking(world, services, caller: str):
    session = await world.basic(TOMORROW, places=2)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    await services.handle(
        calls.StartCall(
            call_sid="CA1",
            hospital_code="H001",
            caller=caller,
            state="{}",
            digits="!incoming",
            response="<Response/>",
        )
    )
    return await services.handle(
        calls.BookForCall(call_sid="CA1", slot_id=slot, patient_id=patient.id)
    )


async def test_a_phone_booking_from_the_patients_own_phone_is_confirmed_once(
    notifier, world, services
):
    view = await _call_booking(world, services, "+86" + PHONE)
    await _drain(notifier)
    messages = await _queued(services)
    assert [msg["kind"] for msg in messages] == ["confirmation"]
    assert messages[0]["booking_no"] == view.booking.booking_no


async def test_a_phone_booking_from_another_phone_is_confirmed_to_both(notifier, world, services):
    await _call_booking(world, services, "+86" + CALLER)
    await _drain(notifier)
    messages = await _queued(services)
    assert [msg["kind"] for msg in messages] == ["confirmation", "confirmation"]
    assert len({msg["idem_key"] for msg in messages}) == 2


async def test_an_opted_out_phone_gets_its_own_confirmations_but_no_stop_notice(
    notifier, booked, world, services
):
    await services.handle(SetOptOut(phone=PHONE, opted_out=True))
    await _drain(notifier)
    session = await world.session(TOMORROW, period=Period.AFTERNOON, start=time(14), end=time(17))
    await services.handle(
        bookings.StopSession(
            session_id=booked.session_id, mode="move", target_session_id=session.id
        )
    )
    await _drain(notifier)
    messages = await _queued(services)
    assert [(msg["kind"], msg["status"], msg["error"]) for msg in messages] == [
        ("confirmation", "queued", None),
        ("stop", "skipped", "opted_out"),
    ]


async def test_a_doctor_stop_says_what_happens_next(notifier, booked, world, services):
    await _drain(notifier)
    session = await world.session(TOMORROW, period=Period.AFTERNOON, start=time(14), end=time(17))
    await services.handle(
        bookings.StopSession(
            session_id=booked.session_id, mode="move", target_session_id=session.id
        )
    )
    await _drain(notifier)
    stop = (await _queued(services))[-1]
    assert stop["kind"] == "stop"
    assert "14:00" in stop["body"]


async def test_a_booking_cancelled_before_its_confirmation_went_gets_one_text(
    notifier, booked, services
):
    await services.handle(bookings.CancelBooking(booking_no=booked.booking_no))
    await _drain(notifier)
    found = [(msg["kind"], msg["status"], msg["error"]) for msg in await _queued(services)]
    assert found == [  # the confirmation is not dropped silently (#9 item 13)
        ("confirmation", "skipped", "booking_cancelled"),
        ("cancellation", "queued", None),
    ]


async def test_a_completed_visit_gets_a_survey(notifier, booked, services, clock):
    await _drain(notifier)

    def seen(tx):  # the patient took a ticket (取号) and saw the doctor
        yield execute("UPDATE bookings SET status = 'checked_in' WHERE id = ?", booked.id)

    await services.store.write(seen)
    clock.advance(days=2)
    await services.handle(bookings.SweepNoShows())
    await _drain(notifier)
    survey = (await _queued(services))[-1]
    assert survey["kind"] == "survey"
    assert "1" in survey["body"]
    assert "5" in survey["body"]


async def test_what_a_patient_asked_for_by_text_is_not_texted_twice(notifier, world, services):
    session = await world.basic(TOMORROW, places=2)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    sms = Actor("patient", "sms:139****5678", None, Channel.SMS)
    view = await services.handle(
        bookings.BookSlot(actor=sms, slot_id=slot, patient_id=patient.id, channel=Channel.SMS)
    )
    await services.handle(bookings.CancelBooking(actor=sms, booking_no=view.booking.booking_no))
    await _drain(notifier)
    assert await _queued(services) == []  # the replies to the texts said it all


async def test_the_outcome_of_a_complaint_is_texted_to_the_number_that_complained(
    notifier, world, services
):
    await world.hospital(name="协和医院")
    await services.handle(
        calls.StartCall(
            call_sid="CA9",
            hospital_code="H001",
            caller="+86" + CALLER,
            state="{}",
            digits="!incoming",
            response="<Response/>",
        )
    )
    tracking_no = await services.handle(complaints.OpenComplaint(call_sid="CA9"))
    await services.handle(
        complaints.ReplyToComplaint(tracking_no=tracking_no, reply="已与科室沟通，向您致歉。")
    )
    await _drain(notifier)
    (message,) = await _queued(services)
    assert message["kind"] == "complaint"
    assert tracking_no in message["body"]
    assert "已与科室沟通" in message["body"]
    assert message["body"].startswith("【协和医院】")


@dataclass(frozen=True, kw_only=True, slots=True)
class Truncated(Event):
    """A booking.created row as no engine writes it: the booking number alone."""

    topic: ClassVar[str] = "booking.created"
    key_field: ClassVar[str] = "booking_no"

    booking_no: str


def _emit(tx, *events: Event):
    for event in events:
        tx.emit(event)
    yield from ()


async def test_an_event_the_notifier_cannot_read_is_marked_done_untexted(
    notifier, booked, services, caplog
):
    await _drain(notifier)
    confirmed = await _queued(services)
    unknown, misfit = noted("x"), Truncated(hospital_id=None, booking_no=booked.booking_no)
    await services.store.write(_emit, unknown, misfit)
    assert await notifier.run_once() == 2  # a topic it does not know; a payload that does not fit
    assert await notifier.run_once() == 0  # both marked done
    assert await _queued(services) == confirmed
    assert "does not fit" in caplog.text


async def test_a_fhir_hold_is_texted_once_booked_and_not_as_paid(notifier, world, services):
    """A hospital system's hold ($hold) is no booking yet: no text; its $book (nothing
    paid) is texted as a booking, never as a payment."""
    session = await world.basic(TOMORROW, places=2)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    held = await services.handle(
        bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel=Channel.HIS, hold=True)
    )
    await _drain(notifier)
    assert await _queued(services) == []
    await services.handle(bookings.ConfirmBooking(booking_no=held.booking.booking_no))
    await _drain(notifier)
    (message,) = await _queued(services)
    assert message["kind"] == "confirmation"
    assert "预约成功" in message["body"]
    assert "支付成功" not in message["body"]
    assert "到院缴纳" in message["body"]  # the fee is due at the hospital
