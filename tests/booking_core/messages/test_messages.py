"""The message log in the core (短信记录): once-only inbound, once-only notices, leases for
the senders, delivery reports forward only, opt-outs, surveys, reminders; both stores."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from booking_core import bookings, messages
from booking_core.events import outbox
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import NotFound
from booking_core.kernel.unit import rows
from booking_core.patients import get_patient
from tests.support.world import first_slot, local, resident_id

DAY = date(2026, 7, 11)  # tomorrow (the clock is 2026-07-10 09:00 Beijing)
PHONE = "13912345678"


async def _log(services) -> list[dict]:
    def read(tx):
        found = yield rows("SELECT * FROM messages ORDER BY id")
        return [dict(r) for r in found]

    return await services.store.read(read)


async def test_an_inbound_text_is_stored_once_and_its_reply_found_again(world, services):
    await world.hospital()
    receive = messages.ReceiveMessage(
        gateway="twilio", provider_id="SM1", hospital_code="H001", phone=PHONE, body="CX"
    )
    claims = await asyncio.gather(*(services.handle(receive) for _ in range(5)))
    assert sum(claim.won for claim in claims) == 1
    first = next(claim for claim in claims if claim.won)
    await services.handle(
        messages.AnswerMessage(message_id=first.message_id, reply="您没有预约", send=False)
    )
    again = await services.handle(receive)
    assert (again.won, again.reply) == (False, "您没有预约")
    log = await _log(services)
    assert [(r["direction"], r["kind"], r["status"]) for r in log] == [
        ("in", "command", "answered"),
        ("out", "reply", "sent"),
    ]
    assert log[0]["phone_masked"] == "139****5678"
    assert PHONE not in log[0]["phone_enc"]


async def test_an_id_number_in_a_text_is_kept_masked(world, services):
    await world.hospital()
    number = resident_id()
    await services.handle(
        messages.ReceiveMessage(
            gateway="modem",
            provider_id="x1",
            hospital_code="H001",
            phone=PHONE,
            body=f"ZC {number} 张三",
        )
    )
    (row,) = await _log(services)
    assert number not in row["body"]
    assert row["body"] == f"ZC {'*' * 14}{number[-4:]} 张三"


async def _notices(services):
    return await services.claim_notices("test")


async def test_notices_know_who_to_tell_and_are_queued_once(world, services):
    session = await world.basic(DAY)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    booked = await services.handle(
        bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel=Channel.SMS)
    )
    notices = [n for n in await _notices(services) if n.event.topic == "booking.created"]
    (notice,) = notices
    assert notice.booking.booking.booking_no == booked.booking.booking_no
    assert notice.patient_name == "张三"
    assert [(r.phone, r.opted_out) for r in notice.recipients] == [(PHONE, False)]
    message = messages.OutgoingMessage(
        key=f"confirmation:{booked.booking.booking_no}:{notice.recipients[0].phone_index}",
        gateway="twilio",
        phone=PHONE,
        body="预约成功",
        kind=messages.MessageKind.CONFIRMATION,
        booking_no=booked.booking.booking_no,
        event_id=notice.event.id,
    )
    queue = messages.QueueMessages(
        consumer="test", event_ids=(notice.event.id,), messages=(message,)
    )
    assert await services.handle(queue) == 1
    assert await services.handle(queue) == 0  # the same key again: nothing more
    outgoing = [r for r in await _log(services) if r["direction"] == "out"]
    assert [(r["status"], r["booking_no"]) for r in outgoing] == [
        ("queued", booked.booking.booking_no)
    ]
    left = await services.read(outbox.events, topic="booking.created")
    assert left  # the event is kept; only its delivery to "test" is done
    assert not [n for n in await _notices(services) if n.event.id == notice.event.id]


async def test_an_opted_out_phone_is_flagged_and_can_opt_in_again(world, services):
    session = await world.basic(DAY)
    patient = await world.patient(phone_no=PHONE)
    await services.handle(messages.SetOptOut(phone="+86" + PHONE, opted_out=True))
    assert (await services.read(c_get_patient, patient.id)).sms_opt_out
    slot = await first_slot(services, session.id)
    await services.handle(bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel="sms"))
    (notice,) = [n for n in await _notices(services) if n.event.topic == "booking.created"]
    assert [r.opted_out for r in notice.recipients] == [True]
    await services.handle(messages.SetOptOut(phone=PHONE, opted_out=False))
    assert not (await services.read(c_get_patient, patient.id)).sms_opt_out


def c_get_patient(tx, patient_id):
    return (yield from get_patient(tx, patient_id, SYSTEM))


async def _queue_one(services, key="k1", gateway="twilio"):
    message = messages.OutgoingMessage(
        key=key, gateway=gateway, phone=PHONE, body="明天就诊", kind=messages.MessageKind.REMINDER
    )
    await services.handle(
        messages.QueueMessages(consumer="test", event_ids=(), messages=(message,))
    )


async def test_senders_lease_messages_and_a_crashed_send_comes_back_as_resumed(
    world, services, clock
):
    await world.hospital()
    await _queue_one(services)
    (first,) = await services.handle(messages.ClaimOutgoing(gateway="twilio", lease_seconds=60))
    assert (first.phone, first.attempts, first.resumed) == (PHONE, 1, False)
    assert await services.handle(messages.ClaimOutgoing(gateway="twilio")) == []  # leased
    assert await services.handle(messages.ClaimOutgoing(gateway="modem")) == []  # another gateway's
    clock.advance(seconds=61)  # the sender died between sending and marking
    (again,) = await services.handle(messages.ClaimOutgoing(gateway="twilio"))
    assert (again.id, again.attempts, again.resumed) == (first.id, 2, True)
    assert again.sending_since is not None
    await services.handle(messages.MarkSent(message_id=again.id, provider_id="SM9", parts=2))
    (row,) = await _log(services)
    assert (row["status"], row["provider_id"], row["parts"]) == ("sent", "SM9", 2)


async def test_a_failed_send_is_retried_later_or_given_up(world, services, clock):
    await world.hospital()
    await _queue_one(services)
    (claimed,) = await services.handle(messages.ClaimOutgoing(gateway="twilio"))
    await services.handle(
        messages.MarkFailed(message_id=claimed.id, error="busy", retry_in_seconds=30)
    )
    assert await services.handle(messages.ClaimOutgoing(gateway="twilio")) == []
    clock.advance(seconds=31)
    (claimed,) = await services.handle(messages.ClaimOutgoing(gateway="twilio"))
    assert claimed.resumed  # the failed attempt may still have reached the gateway
    await services.handle(
        messages.MarkFailed(message_id=claimed.id, error="21211", retry_in_seconds=None)
    )
    clock.advance(seconds=3600)
    assert await services.handle(messages.ClaimOutgoing(gateway="twilio")) == []
    (row,) = await _log(services)
    assert (row["status"], row["error"], row["attempts"]) == ("failed", "21211", 2)


async def test_delivery_reports_move_a_message_forward_only(world, services):
    await world.hospital()
    await _queue_one(services)
    (claimed,) = await services.handle(messages.ClaimOutgoing(gateway="twilio"))
    await services.handle(
        messages.MarkSent(message_id=claimed.id, provider_id="SM1", status="queued")
    )

    async def report(status):
        return await services.handle(
            messages.UpdateDelivery(gateway="twilio", provider_id="SM1", status=status)
        )

    assert (await _log(services))[0]["status"] == "sent"  # Twilio's "queued": it took it
    assert await report("queued") == 0
    assert await report("sent") == 0
    assert await report("delivered") == 1
    assert await report("sent") == 0  # late: never overwrites delivered
    assert await report("bogus") == 0
    assert (await _log(services))[0]["status"] == "delivered"


async def test_a_survey_answer_goes_to_the_latest_survey_of_that_phone(world, services):
    session = await world.basic(DAY)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    booked = await services.handle(
        bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel="sms")
    )
    with pytest.raises(NotFound):
        await services.handle(messages.AnswerSurvey(phone=PHONE, score=4))
    survey = messages.OutgoingMessage(
        key="survey:1",
        gateway="twilio",
        phone=PHONE,
        body="请回复1-5",
        kind=messages.MessageKind.SURVEY,
        booking_no=booked.booking.booking_no,
    )
    await services.handle(messages.QueueMessages(consumer="test", event_ids=(), messages=(survey,)))
    assert (
        await services.handle(messages.AnswerSurvey(phone=PHONE, score=4))
        == booked.booking.booking_no
    )
    with pytest.raises(NotFound):  # answered: a second "5" is not taken as an answer
        await services.handle(messages.AnswerSurvey(phone=PHONE, score=5))
    scores = await services.read(lambda tx: (yield rows("SELECT score FROM surveys")))
    assert [r["score"] for r in scores] == [4]


async def test_reminders_go_once_per_booking_from_the_hour_hospital_local(world, services, clock):
    session = await world.basic(DAY)
    patient = await world.patient(phone_no=PHONE)
    slot = await first_slot(services, session.id)
    await services.handle(bookings.BookSlot(slot_id=slot, patient_id=patient.id, channel="sms"))
    assert await services.handle(messages.QueueReminders(hour=18)) == 0  # 09:00 Beijing: too early
    clock.set(local(2026, 7, 10, 18, 0))
    done = await asyncio.gather(
        *(services.handle(messages.QueueReminders(hour=18)) for _ in range(3))
    )
    assert sorted(done) == [0, 0, 1]
    events = await services.read(outbox.events, topic="booking.reminder")
    assert len(events) == 1
    notices = [n for n in await _notices(services) if n.event.topic == "booking.reminder"]
    assert [r.phone for r in notices[0].recipients] == [PHONE]


async def test_the_message_log_is_read_per_hospital(world, services):
    await world.hospital()
    await _queue_one(services)
    mine = Actor("agent", "a1", 1, Channel.AGENT)
    other = Actor("agent", "a2", 99, Channel.AGENT)
    await services.handle(
        messages.ReceiveMessage(
            gateway="twilio", provider_id="SM5", hospital_code="H001", phone=PHONE, body="KS"
        )
    )
    assert [r.direction for r in await services.read(messages.messages, mine)] == ["in"]
    assert await services.read(messages.messages, other) == []


async def test_a_text_whose_first_delivery_went_silent_is_taken_over(world, services, clock):
    await world.hospital()
    receive = messages.ReceiveMessage(
        gateway="twilio", provider_id="SM7", hospital_code="H001", phone=PHONE, body="CX"
    )
    first = await services.handle(receive)
    assert first.won
    clock.advance(seconds=30)  # the first delivery may still be answering
    assert not (await services.handle(receive)).won
    clock.advance(seconds=31)  # its engine died before answering: the retry takes it over
    again = await services.handle(receive)
    assert (again.won, again.message_id) == (True, first.message_id)
    assert not (await services.handle(receive)).won  # once
    await services.handle(
        messages.AnswerMessage(message_id=again.message_id, reply="好", send=False)
    )
    clock.advance(seconds=3600)
    late = await services.handle(receive)
    assert (late.won, late.reply) == (False, "好")
