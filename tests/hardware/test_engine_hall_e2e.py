"""The hall end to end with the real engine (#12): ``guahao serve`` as a process, a private
mosquitto whose files the engine writes, ``guahao-kiosk run`` with its simulators. What a
patient does at the kiosk, and what the desk does for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hardware.devices.ticket import ticket_from_printout
from tests.hardware.engine_world import EngineHall, engine_hall

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
