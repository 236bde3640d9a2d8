"""取号 at a kiosk (#12 flow 1), on both stores: the core's own check-in and a print job
whose payload is the protocol's ticket, in one unit; the ack of the print records the
ticket on the booking; a failed print (paper out) leaves it reprintable, from the console
or the kiosk; a swipe lists the patient's bookings of today."""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import bookings, kiosks, payments
from booking_core.events import TicketPrinted, decode
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import (
    CheckInNotOpen,
    Forbidden,
    InvalidIdNumber,
    InvalidInput,
    InvalidState,
    NotFound,
)
from booking_core.schedule import Period
from tests.booking_core.helpers import audit_rows, events, last_event_id
from tests.booking_core.kiosks.hall import (
    FEE,
    HASH,
    TODAY,
    booking_row,
    hall,
    jobs,
    ledger,
    queued_events,
)
from tests.support.world import World, first_slot, local


def check_in(h, booking_no: str, **kw):
    return h.services.handle(
        kiosks.CheckInAtKiosk(
            kiosk_id=kw.pop("kiosk_id", h.kiosk.kiosk_id), booking_no=booking_no, **kw
        )
    )


async def test_a_check_in_at_the_kiosk_gives_a_queue_number_and_a_ticket_to_print(services):
    h = await hall(services)
    await services.handle(payments.TopUp(patient_id=h.patient.id, amount=FEE))
    booking_no = await h.book()
    await services.handle(bookings.PayBooking(booking_no=booking_no, method="balance"))
    before = await last_event_id(services)

    done = await check_in(h, booking_no)

    assert done.queue_no == 1
    assert done.booking.booking.status == "checked_in"
    job = done.job
    assert (job.kind, job.status, job.kiosk_id, job.booking_no) == (
        "print_ticket",
        "queued",
        h.kiosk.kiosk_id,
        booking_no,
    )
    assert job.job_id.startswith("J")
    assert len(job.job_id) == 17
    assert job.payload == {
        "hospital": "协和医院",
        "department": "心内科",
        "doctor": "医生00868",
        "doctor_title": "主任医师",
        "room": "301",
        "day": "2026-07-10",
        "start": "14:00",
        "end": "14:30",
        "queue_no": 1,
        "booking_no": booking_no,
        "masked_name": "李*",
        "fee": FEE,
        "paid_by": "预交金",
        "tz": "Asia/Shanghai",
    }
    assert job.expires_at == local(2026, 7, 10, 17, 0)  # the session's end
    # the check-in, its event and the job's event: one unit
    assert [e.topic for e in await events(services, before)] == [
        "booking.checked_in",
        "kiosk.job_queued",
    ]
    [queued] = await queued_events(services, before)
    assert queued["job_id"] == job.job_id
    assert queued["kiosk_id"] == h.kiosk.kiosk_id
    assert queued["job_payload"] == job.payload
    assert queued["kind"] == "print_ticket"
    [audit] = [
        a for a in await audit_rows(services, booking_no) if a["action"] == "booking.checked_in"
    ]
    assert audit["actor"] == f"kiosk:{h.kiosk.kiosk_id}"


@pytest.mark.parametrize(
    ("method", "words"), [("cash", "现金"), (None, "待缴费")], ids=["cash", "unpaid"]
)
async def test_the_ticket_says_how_the_fee_was_paid(services, method, words):
    h = await hall(services)
    booking_no = await h.book()
    if method:
        await services.handle(bookings.PayBooking(booking_no=booking_no, method=method))
    done = await check_in(h, booking_no)
    assert done.job.payload["paid_by"] == words


async def test_a_free_visit_and_an_empty_room_print_as_words(services):
    h = await hall(services)
    await h.world.doctor("00869", fee=0, title="")
    session = await h.world.session(
        TODAY, "00869", period=Period.AFTERNOON, start=time(14), end=time(15), room=""
    )
    booking_no = await h.book(await first_slot(services, session.id))
    done = await check_in(h, booking_no)
    assert done.job.payload["paid_by"] == "免费"
    assert done.job.payload["room"] == "—"
    assert done.job.payload["doctor_title"] == "—"


async def test_the_same_check_in_asked_again_answers_the_same_ticket(services):
    """The kiosk asks again when the reply was lost: the same queue number and job, no
    second check-in (and no second ticket)."""
    h = await hall(services)
    booking_no = await h.book()
    first = await check_in(h, booking_no)
    again = await check_in(h, booking_no)
    assert (again.queue_no, again.job.job_id) == (first.queue_no, first.job.job_id)
    assert len(await jobs(services, kind="print_ticket")) == 1
    await h.ack(first.job.job_id)
    with pytest.raises(InvalidState) as err:  # printed: a third ask is a new check-in, refused
        await check_in(h, booking_no)
    assert err.value.params == {"status": "checked_in", "action": "check_in"}


async def test_a_check_in_is_refused_as_the_core_refuses_it(services, clock):
    h = await hall(services)
    tomorrow = await h.book(h.tomorrow[0])
    with pytest.raises(CheckInNotOpen):
        await check_in(h, tomorrow)
    with pytest.raises(NotFound):
        await check_in(h, "123456786")
    assert await jobs(services) == []


async def test_the_printed_ticket_is_recorded_on_the_booking(services, clock):
    h = await hall(services)
    booking_no = await h.book()
    done = await check_in(h, booking_no)
    sent = await services.handle(kiosks.MarkJobSent(job_id=done.job.job_id))
    assert (sent.status, sent.attempts) == ("sent", 1)
    before = await last_event_id(services)
    clock.advance(seconds=5)

    acked = await h.ack(done.job.job_id)

    assert acked.first
    assert (acked.job.status, acked.job.acked_at) == ("done", clock.now())
    assert (await booking_row(services, booking_no))["ticket_printed_at"] == int(
        clock.now().timestamp()
    )
    happened = await events(services, before)
    assert [e.topic for e in happened] == ["booking.ticket_printed", "kiosk.job_acked"]
    printed = decode(happened[0])
    assert isinstance(printed, TicketPrinted)
    assert (printed.kiosk_id, printed.job_id, printed.status, printed.queue_no) == (
        h.kiosk.kiosk_id,
        done.job.job_id,
        "checked_in",
        1,
    )
    assert happened[1].payload == {
        "kiosk_id": h.kiosk.kiosk_id,
        "job_id": done.job.job_id,
        "kind": "print_ticket",
        "outcome": "done",
        "reason": "",
        "booking_no": booking_no,
        "requeued": False,
    }


async def test_paper_out_fails_the_print_and_the_ticket_is_printed_again(services, clock):
    h = await hall(services)
    booking_no = await h.book()
    done = await check_in(h, booking_no)
    failed = await h.ack(done.job.job_id, "failed", reason="paper_out", message="纸将尽")
    assert (failed.job.status, failed.job.reason, failed.job.message) == (
        "failed",
        "paper_out",
        "纸将尽",
    )
    assert (await booking_row(services, booking_no))["ticket_printed_at"] is None
    [overview] = await services.read(kiosks.kiosks, SYSTEM)
    assert [f.job_id for f in overview.failures] == [done.job.job_id]

    # paper is back: the console reprints at the kiosk that failed (the one that tried last)
    desk = Actor("operator", "desk01", h.kiosk.hospital_id, Channel.AGENT)
    again = await services.handle(kiosks.ReprintTicket(actor=desk, booking_no=booking_no))
    assert again.job_id != done.job.job_id
    assert (again.kiosk_id, again.kind, again.payload) == (
        h.kiosk.kiosk_id,
        "print_ticket",
        done.job.payload,
    )
    # asked twice before it is printed: the same job
    assert (
        await services.handle(kiosks.ReprintTicket(actor=desk, booking_no=booking_no))
    ).job_id == again.job_id
    await h.ack(again.job_id)
    assert (await booking_row(services, booking_no))["ticket_printed_at"] is not None

    # the kiosk asks for a copy too, or another kiosk of the hospital is named
    other = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H001", name="2号机", password_hash=HASH)
    )
    copy = await services.handle(
        kiosks.ReprintTicket(booking_no=booking_no, kiosk_id=other.kiosk_id)
    )
    assert copy.kiosk_id == other.kiosk_id


async def test_a_reprint_needs_a_checked_in_booking_and_a_kiosk(services):
    h = await hall(services)
    booking_no = await h.book()
    with pytest.raises(InvalidInput) as err:  # never printed at a kiosk: name one
        await services.handle(kiosks.ReprintTicket(booking_no=booking_no))
    assert err.value.params["field"] == "kiosk_id"
    with pytest.raises(InvalidState):
        await services.handle(
            kiosks.ReprintTicket(booking_no=booking_no, kiosk_id=h.kiosk.kiosk_id)
        )


async def test_a_disabled_kiosk_checks_in_nobody(services):
    h = await hall(services)
    booking_no = await h.book()
    await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    with pytest.raises(Forbidden) as err:
        await check_in(h, booking_no)
    assert err.value.params == {"action": "kiosk_disabled"}


# --- the swipe (刷卡) ------------------------------------------------------------------------


async def test_a_swiped_card_lists_the_patients_bookings_of_today(services, cipher):
    h = await hall(services)
    later = await h.book(h.today[2])
    await h.book(h.tomorrow[0])  # not today's
    await services.handle(bookings.PayBooking(booking_no=later, method="cash"))
    swiped = await services.read(
        kiosks.swipe, h.kiosk.kiosk_id, kiosks.PatientCard(h.patient.card_no), SYSTEM, cipher
    )
    assert swiped.fields() == {
        "patient": {"masked_name": "李*", "card_no": h.patient.card_no},
        "bookings": [
            {
                "booking_no": later,
                "department": "心内科",
                "doctor": "医生00868",
                "time": "15:00-15:30",
                "status": "confirmed",
                "fee": FEE,
                "paid": True,
                "ticket_printed": False,
            }
        ],
    }
    by_id = await services.read(
        kiosks.swipe, h.kiosk.kiosk_id, kiosks.IdCard("李四", h.id_number), SYSTEM, cipher
    )
    assert by_id == swiped


async def test_an_id_card_whose_name_is_not_the_registered_one_finds_nobody(services, cipher):
    h = await hall(services)
    for card in (
        kiosks.IdCard("李五", h.id_number),
        kiosks.PatientCard("999999999"),
    ):
        with pytest.raises(NotFound) as err:
            await services.read(kiosks.swipe, h.kiosk.kiosk_id, card, SYSTEM, cipher)
        assert h.id_number not in repr(err.value)  # never the ID number, in any log
    with pytest.raises(InvalidIdNumber):
        await services.read(
            kiosks.swipe,
            h.kiosk.kiosk_id,
            kiosks.IdCard("李四", "110105198001010000"),
            SYSTEM,
            cipher,
        )


async def test_a_kiosk_lists_today_s_and_tomorrow_s_free_places_only(services):
    h = await hall(services)
    today = await services.read(kiosks.kiosk_slots, h.kiosk.kiosk_id, "101", TODAY, SYSTEM)
    assert [s.slot_id for s in today] == h.today
    tomorrow = await services.read(
        kiosks.kiosk_slots, h.kiosk.kiosk_id, "101", date(2026, 7, 11), SYSTEM
    )
    assert [s.slot_id for s in tomorrow] == h.tomorrow
    with pytest.raises(InvalidInput):
        await services.read(kiosks.kiosk_slots, h.kiosk.kiosk_id, "101", date(2026, 7, 12), SYSTEM)
    with pytest.raises(NotFound):
        await services.read(kiosks.kiosk_slots, h.kiosk.kiosk_id, "999", TODAY, SYSTEM)
    assert await ledger(services) == []


async def test_a_kiosk_of_another_hospital_sees_and_does_nothing_of_this_ones(services, cipher):
    h = await hall(services)
    booking_no = await h.book()
    elsewhere = World(services).at("H002")
    await elsewhere.hospital()
    theirs = await services.handle(
        kiosks.RegisterKiosk(hospital_code="H002", name="乙1号机", password_hash=HASH)
    )
    card = kiosks.PatientCard(h.patient.card_no)
    with pytest.raises(NotFound):
        await services.read(kiosks.swipe, theirs.kiosk_id, card, SYSTEM, cipher)
    for command in (
        kiosks.CheckInAtKiosk(kiosk_id=theirs.kiosk_id, booking_no=booking_no),
        kiosks.PayAtKiosk(kiosk_id=theirs.kiosk_id, booking_no=booking_no),
        kiosks.ReprintTicket(kiosk_id=theirs.kiosk_id, booking_no=booking_no),
    ):
        with pytest.raises(NotFound) as err:
            await services.handle(command)
        assert err.value.params == {"entity": "booking", "key": booking_no}
    their_admin = Actor("operator", "b-admin", theirs.hospital_id, Channel.AGENT)
    assert [o.kiosk.kiosk_id for o in await services.read(kiosks.kiosks, their_admin)] == [
        theirs.kiosk_id
    ]
    with pytest.raises(NotFound):
        await services.read(kiosks.kiosk, h.kiosk.kiosk_id, their_admin)
    assert await jobs(services) == []


def test_how_a_fee_was_paid_is_worded_as_printed():
    from booking_core.kiosks.tickets import paid_by, printable

    assert paid_by(5000, 5000, "card", "6222 **** **** 0123") == "银行卡 尾号0123"
    assert paid_by(5000, 5000, "card", None) == "银行卡"  # paid by card at a desk
    assert paid_by(5000, 5000, "balance") == "预交金"
    assert paid_by(5000, 5000, "cash") == "现金"
    assert paid_by(5000, 0, None) == "待缴费"
    assert paid_by(0, 0, None) == "免费"
    assert printable("门诊楼\x1b@3层\n312诊室") == "门诊楼 @3层 312诊室"  # no printer command
    assert printable(" \t") == "—"


async def test_a_swipe_says_whether_a_checked_in_booking_s_ticket_was_printed(services, cipher):
    """So the kiosk can offer 补打凭条 to a patient whose ticket the printer never gave (paper
    ran out), and only to them."""
    h = await hall(services)
    booking_no = await h.book()
    done = await check_in(h, booking_no)
    card = kiosks.PatientCard(h.patient.card_no)

    async def printed() -> list[tuple[str, bool]]:
        swiped = await services.read(kiosks.swipe, h.kiosk.kiosk_id, card, SYSTEM, cipher)
        return [(b.status, b.ticket_printed) for b in swiped.bookings]

    await h.ack(done.job.job_id, "failed", reason="paper_out")
    assert await printed() == [("checked_in", False)]
    again = await services.handle(
        kiosks.ReprintTicket(actor=h.kiosk.actor, kiosk_id=h.kiosk.kiosk_id, booking_no=booking_no)
    )
    await h.ack(again.job_id)
    assert await printed() == [("checked_in", True)]
