"""The hall end to end with the real engine when things go wrong (#12): the broker restarts
mid-job, the kiosk is away when its job is made, a job is delivered twice, the engine is
killed right after the terminal took the money, the printer runs out of paper, and two
engines share one PostgreSQL and one broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from booking_core import bookings, kiosks
from booking_core.kernel.actor import SYSTEM
from booking_core.rules import RuleKey
from hardware.devices.ticket import ticket_from_printout
from tests.booking_core.helpers import set_rule
from tests.booking_core.kiosks.hall import ledger
from tests.hardware.engine_world import FEE, EngineHall, engine_hall

pytestmark = pytest.mark.slow


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[EngineHall]:
    async with engine_hall(tmp_path, str(tmp_path / "guahao.db")) as running:
        yield running


async def checked_in(hall: EngineHall) -> tuple[str, kiosks.KioskJob]:
    """A booking checked in at the kiosk by a swipe: its number and its print job."""
    booking_no = await hall.confirmed_booking(hall.patient)
    hall.reader.swipe_card(hall.patient.card_no)

    async def queued():
        return await hall.jobs(kind="print_ticket")

    [job] = await hall.until(queued, what="the print job")
    return booking_no, job


async def test_a_broker_restart_mid_print_prints_the_ticket_exactly_once(hall: EngineHall):
    printer = hall.printer
    printer.hold_after_next_job = True  # printed, its last status held: the job in hand
    _, job = await checked_in(hall)
    await hall.until(lambda: printer.holding, what="the ticket on paper")
    await asyncio.to_thread(hall.broker.stop)
    printer.release()  # the job finishes while the broker is away
    await hall.until(lambda: f"job {job.job_id} (print_ticket) done" in hall.agent.log())
    await asyncio.sleep(1.0)
    await asyncio.to_thread(hall.broker.start_again)
    acked = await hall.job_ended(job.job_id, seconds=45)
    assert acked.status == "done"
    assert len(printer.printed) == 1
    await hall.kiosk_ready()


async def test_a_job_made_while_the_kiosk_is_away_is_printed_once_when_it_is_back(
    hall: EngineHall,
):
    booking_no, first = await checked_in(hall)
    await hall.job_ended(first.job_id)
    await asyncio.to_thread(hall.agent.stop)  # stopped on purpose: offline, "stopped"

    async def offline():
        return (await hall.services.read(kiosks.kiosk, hall.kiosk_id, SYSTEM)).online is False

    await hall.until(offline, what="the kiosk offline in the engine")
    again = await hall.services.handle(kiosks.ReprintTicket(booking_no=booking_no))

    async def sent():
        return (await hall.job(again.job_id)).status == "sent"

    await hall.until(sent, what="the job published to the kiosk's session")  # held by the broker
    assert len(hall.printer.printed) == 1
    hall.printer.hold_after_next_job = True  # the broker's copy in hand until the engine re-sent
    hall.agent.start()
    await hall.until(lambda: hall.printer.holding, what="the broker's copy on paper")

    async def resent():
        return (await hall.job(again.job_id)).attempts >= 2

    await hall.until(resent, what="the job published again as the kiosk came online")
    await hall.until(lambda: f"job {again.job_id} came again while in hand" in hall.agent.log())
    hall.printer.release()
    job = await hall.job_ended(again.job_id)
    assert job.status == "done"
    await asyncio.sleep(0.5)  # a second print would have started by now
    assert len(hall.printer.printed) == 2  # the first ticket, and this one once
    assert {ticket_from_printout(p).booking_no for p in hall.printer.printed} == {booking_no}


async def test_paper_out_fails_the_job_with_its_reason_and_a_reprint_then_works(
    hall: EngineHall,
):
    hall.printer.paper_out = True
    booking_no, job = await checked_in(hall)
    failed = await hall.job_ended(job.job_id)
    assert (failed.status, failed.reason) == ("failed", "paper_out")

    async def paper_out():
        [overview] = await hall.services.read(kiosks.kiosks, SYSTEM)
        return {d.device: d.state for d in overview.devices}.get("printer") == "paper_out"

    await hall.until(paper_out, what="the printer shown without paper")
    assert hall.printer.printed == []
    hall.printer.paper_out = False
    again = await hall.services.handle(kiosks.ReprintTicket(booking_no=booking_no))
    assert (await hall.job_ended(again.job_id)).status == "done"
    assert [ticket_from_printout(p).booking_no for p in hall.printer.printed] == [booking_no]


async def test_after_paper_out_the_patient_swipes_again_and_the_kiosk_prints_the_ticket(
    hall: EngineHall,
):
    """No desk needed: once paper is back the patient swipes again; the kiosk sees their
    checked-in booking's ticket was never printed, offers 补打凭条 (acted on at once, being
    the only one) and prints it. A second swipe after that offers nothing."""
    hall.printer.paper_out = True
    booking_no, job = await checked_in(hall)
    assert (await hall.job_ended(job.job_id)).status == "failed"
    hall.printer.paper_out = False
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the ticket printed")
    assert ticket_from_printout(hall.printer.printed[0]).booking_no == booking_no
    await hall.until(lambda: "请取走凭条" in hall.screen(), what="the patient told")

    async def printed() -> bool:
        card = kiosks.PatientCard(hall.patient.card_no)
        swiped = await hall.services.read(
            kiosks.swipe, hall.kiosk_id, card, SYSTEM, hall.services.cipher
        )
        return [b.ticket_printed for b in swiped.bookings] == [True]

    await hall.until(printed, what="the printed ticket recorded on the booking")
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: "今天没有需要办理的预约" in hall.screen(), what="nothing more")
    assert len(hall.printer.printed) == 1


async def test_an_engine_killed_right_after_the_terminal_took_the_money_settles_it_once(
    hall: EngineHall,
):
    await set_rule(hall.services, RuleKey.PREPAY_REQUIRED, True)
    view = await hall.world.book(hall.today[0], hall.patient.id)
    booking_no = view.booking.booking_no
    hall.terminal.hold_approvals = True  # the money is taken; the kiosk hears of it later
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: hall.terminal.holding, what="the charge approved at the terminal")
    await asyncio.to_thread(hall.engine.kill9)
    [charge] = await hall.jobs(kind="charge")
    hall.terminal.release()  # the kiosk acks while the engine is dead
    await hall.until(lambda: f"job {charge.job_id} (charge) done" in hall.agent.log())
    assert (await hall.job(charge.job_id)).status.open  # nobody recorded the ack
    await asyncio.to_thread(hall.engine.start)  # its client id again: its session resumes
    done = await hall.job_ended(charge.job_id)
    assert (done.status, done.result) == ("done", "paid")
    await hall.until(lambda: len(hall.printer.printed) == 1, what="the ticket")
    paid = await hall.booking(booking_no)
    assert (paid.booking.status, paid.booking.paid) == ("checked_in", FEE)
    assert hall.terminal.taken() == FEE  # charged once
    assert [f[0] for f in hall.terminal.requests if f[0] != "PING"] == ["SALE"]
    assert [(k, m, a) for k, m, a, _ in await ledger(hall.services)] == [("payment", "card", -FEE)]
    assert await hall.jobs(kind="reversal") == []
    await asyncio.sleep(1.0)  # a re-sent charge is answered from the kiosk's journal
    assert hall.terminal.taken() == FEE
    assert len(hall.printer.printed) == 1


@pytest.mark.postgres
async def test_two_engines_on_one_postgresql_handle_each_request_once(
    tmp_path: Path, fresh_pg_dsn: str
):
    async with engine_hall(tmp_path, fresh_pg_dsn, engines=2) as hall:
        async with hall.as_kiosk() as kiosk:
            asked = [await kiosk.send("dance") for _ in range(12)]
            await hall.until(lambda: all(kiosk.answers(r) for r in asked), what="every reply")
            await asyncio.sleep(1.0)  # a second answer would have come by now
            assert [len(kiosk.answers(r)) for r in asked] == [1] * 12
        handled = [
            e.log_path.read_text().count("asked an unknown kind of request") for e in hall.engines
        ]
        assert sum(handled) == 12
        assert all(handled), handled  # the broker shares them out
        booking_no, job = await checked_in(hall)
        assert (await hall.job_ended(job.job_id)).status == "done"
        assert len(hall.printer.printed) == 1
        assert (await hall.booking(booking_no)).booking.queue_no == 1


async def test_money_taken_for_a_booking_gone_while_the_engine_was_dead_is_reversed(
    hall: EngineHall,
):
    """The terminal approves, the engine is killed before it hears of it, and while it is
    down the booking goes (cancelled, as a hold running out would release it): on restart
    the charge's ack cannot pay anything, so the terminal reverses it (冲正) and the patient
    is told on the screen; no money kept, no booking confirmed, the ledger untouched."""
    await set_rule(hall.services, RuleKey.PREPAY_REQUIRED, True)
    view = await hall.world.book(hall.today[0], hall.patient.id)
    booking_no = view.booking.booking_no
    hall.terminal.hold_approvals = True
    hall.reader.swipe_card(hall.patient.card_no)
    await hall.until(lambda: hall.terminal.holding, what="the charge approved at the terminal")
    await asyncio.to_thread(hall.engine.kill9)
    [charge] = await hall.jobs(kind="charge")
    await hall.services.handle(bookings.CancelBooking(booking_no=booking_no, by_hospital=True))
    hall.terminal.release()
    await hall.until(lambda: f"job {charge.job_id} (charge) done" in hall.agent.log())
    await asyncio.to_thread(hall.engine.start)
    settled = await hall.job_ended(charge.job_id)
    assert settled.status == "done"
    assert settled.result != "paid"

    async def reversed_() -> list[kiosks.KioskJob]:
        return [j for j in await hall.jobs(kind="reversal") if j.status == "done"]

    [reversal] = await hall.until(reversed_, what="the reversal done at the terminal")
    assert (reversal.of_job, reversal.terminal_ref) == (charge.job_id, settled.terminal_ref)
    assert hall.terminal.taken() == 0  # the money went back
    assert [f[0] for f in hall.terminal.requests if f[0] != "PING"] == ["SALE", "REVERSAL"]
    assert await ledger(hall.services) == []
    gone = await hall.booking(booking_no)
    assert (gone.booking.status, gone.booking.paid) == ("cancelled", 0)
    await hall.until(lambda: "原路退回" in hall.screen(), what="the patient told")
    assert hall.printer.printed == []
