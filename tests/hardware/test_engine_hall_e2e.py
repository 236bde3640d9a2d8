"""The hall end to end with the real engine (#12): ``guahao serve`` as a process, a private
mosquitto whose files the engine writes, ``guahao-kiosk run`` with its simulators. What a
patient does at the kiosk, and what the desk does for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from booking_core import bookings, kiosks
from booking_core.rules import RuleKey
from hardware.devices.ticket import ticket_from_printout
from tests.booking_core.helpers import set_rule
from tests.booking_core.kiosks.hall import balance, ledger
from tests.hardware.engine_world import FEE, EngineHall, engine_hall
from tests.support.world import phone, resident_id

pytestmark = pytest.mark.slow


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[EngineHall]:
    async with engine_hall(tmp_path, str(tmp_path / "guahao.db")) as running:
        yield running


async def test_a_swipe_checks_in_and_the_ticket_is_printed(hall: EngineHall):
    booking_no = await hall.confirmed_booking(hall.patient)
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the ticket printed")
    ticket = ticket_from_printout(hall.printer.printed[0])
    assert (ticket.booking_no, ticket.queue_no, ticket.masked_name) == (booking_no, 1, "李*")
    assert "排队号：1号" in hall.screen()
    [job] = await hall.jobs(kind="print_ticket")
    job = await hall.job_ended(job.job_id)
    assert (job.status, job.attempts) == ("done", 1)
    view = await hall.booking(booking_no)
    assert (view.booking.status, view.booking.queue_no) == ("checked_in", 1)


async def test_a_held_booking_is_paid_at_the_terminal_then_checked_in_and_printed(
    hall: EngineHall,
):
    await set_rule(hall.services, RuleKey.PREPAY_REQUIRED, True)
    view = await hall.world.book(hall.today[0], hall.patient.id)
    booking_no = view.booking.booking_no
    assert view.booking.status == "held"
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the ticket after paying")
    (charge,) = hall.terminal.charges()
    assert hall.terminal.taken() == FEE
    ticket = ticket_from_printout(hall.printer.printed[0])
    assert ticket.booking_no == booking_no
    assert ticket.paid_by == "银行卡 尾号0123"
    paid = await hall.booking(booking_no)
    assert (paid.booking.status, paid.booking.paid) == ("checked_in", FEE)
    [job] = await hall.jobs(kind="charge")
    assert (job.status, job.result, job.terminal_ref) == ("done", "paid", charge.reference)
    assert [(k, m, a) for k, m, a, _ in await ledger(hall.services)] == [("payment", "card", -FEE)]


async def test_a_booking_made_at_the_kiosk_with_an_id_card_is_printed_at_once(hall: EngineHall):
    async with hall.as_kiosk() as kiosk:
        slots = await kiosk.ask("slots", department="101", day=hall.today_day)
        assert slots["ok"] is True, slots
        slot = slots["slots"][0]
        assert (slot["slot_id"], slot["fee"]) == (hall.today[0], FEE)
        reply = await kiosk.ask(
            "book", slot_id=slot["slot_id"], name="赵六", id_number=resident_id(), phone=phone()
        )
    assert reply["ok"] is True, reply
    assert (reply["registered"], reply["booking"]["status"]) == (True, "checked_in")
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the new booking's ticket")
    ticket = ticket_from_printout(hall.printer.printed[0])
    assert (ticket.booking_no, ticket.masked_name) == (reply["booking"]["booking_no"], "赵*")
    job = await hall.job_ended(reply["ticket_job"])
    assert job.status == "done"


async def test_a_top_up_is_charged_at_the_terminal_and_credited_once(hall: EngineHall):
    async with hall.as_kiosk() as kiosk:
        reply = await kiosk.ask("top_up", card_no=hall.patient.card_no, amount=10_000)
    assert (reply["ok"], reply["amount"]) == (True, 10_000)
    job = await hall.job_ended(reply["job_id"])
    assert (job.status, job.result) == ("done", "topped_up")
    assert hall.terminal.taken() == 10_000
    assert await balance(hall.services, hall.patient.id) == 10_000
    assert [(k, m, a) for k, m, a, _ in await ledger(hall.services)] == [("top_up", "card", 10_000)]


async def test_a_ticket_is_printed_again_when_the_desk_asks(hall: EngineHall):
    booking_no = await hall.confirmed_booking(hall.patient)
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the first ticket")
    [first] = await hall.jobs(kind="print_ticket")
    await hall.job_ended(first.job_id)
    again = await hall.services.handle(kiosks.ReprintTicket(booking_no=booking_no))
    assert (again.kiosk_id, again.job_id != first.job_id) == (hall.kiosk_id, True)
    await hall.until(lambda: len(hall.printer.printed) == 2, what="the ticket again")
    tickets = [ticket_from_printout(p) for p in hall.printer.printed]
    assert {(t.booking_no, t.queue_no) for t in tickets} == {(booking_no, 1)}
    assert (await hall.job_ended(again.job_id)).status == "done"


async def test_a_cancelled_booking_paid_at_the_kiosk_is_refunded_to_the_card(hall: EngineHall):
    await set_rule(hall.services, RuleKey.PREPAY_REQUIRED, True)
    view = await hall.world.book(hall.tomorrow[0], hall.patient.id)
    booking_no = view.booking.booking_no
    async with hall.as_kiosk() as kiosk:
        reply = await kiosk.ask("pay", booking_no=booking_no)
    assert (reply["ok"], reply["amount"]) == (True, FEE)
    charge = await hall.job_ended(reply["job_id"])
    assert (charge.status, charge.result) == ("done", "paid")
    await hall.until(lambda: "缴费成功" in hall.screen(), what="paid: come back tomorrow")
    await hall.services.handle(bookings.CancelBooking(booking_no=booking_no))

    async def refund():
        return await hall.jobs(kind="refund")

    [job] = await hall.until(refund, what="the refund job")
    done = await hall.job_ended(job.job_id)
    assert (done.status, done.result, done.terminal_ref) == (
        "done",
        "refunded",
        charge.terminal_ref,
    )
    assert hall.terminal.taken() == 0  # the money went back to the card
    assert [(k, m, a) for k, m, a, _ in await ledger(hall.services)] == [
        ("payment", "card", -FEE),
        ("refund", "card", FEE),
    ]
