"""The ticket printer driver against the printer simulator on a real pseudo-terminal."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hardware.devices import (
    CoverOpen,
    DeviceConnectionError,
    DeviceState,
    DeviceTimeout,
    PaperOut,
    Printer,
    PrinterFault,
    PrinterNotReady,
    PrinterOffline,
    PrinterStatus,
    SerialPrinter,
)
from hardware.devices.base import (
    RECONNECT_INTERVAL_SECONDS,
    STATUS_POLL_INTERVAL_SECONDS,
    STATUS_TIMEOUT_SECONDS,
)
from hardware.devices.escpos_render import render_ticket
from hardware.devices.serial_printer import status_from_answers
from hardware.devices.ticket import ticket_from_printout
from hardware.simulators import PrinterSimulator
from tests.hardware.helpers import eventually, make_ticket, reconnect, running

QUERIES = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
RECONNECT = RECONNECT_INTERVAL_SECONDS


@pytest.fixture
async def sim(tmp_path):
    async with PrinterSimulator(link=tmp_path / "ttyPRN0") as simulator:
        yield simulator


@pytest.fixture
def states() -> list[DeviceState]:
    return []


@pytest.fixture
def printer(sim, clock, states) -> SerialPrinter:
    return SerialPrinter(sim.port, sleep=clock.sleep, on_state=states.append)


def messages(caplog, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hardware.devices" and text in r.message]


async def test_a_ticket_is_printed_between_two_status_checks(sim, printer):
    ticket = make_ticket()
    async with running(printer):
        status = await printer.print_ticket(ticket)

    assert isinstance(printer, Printer)
    assert status == PrinterStatus()
    assert len(sim.printed) == 1
    assert ticket_from_printout(sim.printed[0]) == ticket
    # the handshake, then: status, the job, status
    assert bytes(sim.received) == QUERIES + QUERIES + render_ticket(ticket) + QUERIES
    assert sim.unknown_commands == []


@pytest.mark.parametrize(
    ("condition", "error", "code"),
    [
        ("paper_out", PaperOut, "paper_out"),
        ("cover_open", CoverOpen, "cover_open"),
        ("cutter_jam", PrinterFault, "printer_fault"),
        ("offline", PrinterOffline, "printer_offline"),
    ],
)
async def test_a_printer_not_ready_gets_no_job_and_prints_once_it_is(
    sim, printer, states, condition, error, code
):
    async with running(printer):
        setattr(sim, condition, True)
        with pytest.raises(error) as refused:
            await printer.print_ticket(make_ticket())
        received = bytes(sim.received)
        setattr(sim, condition, False)
        await printer.print_ticket(make_ticket())

    assert refused.value.code == code
    assert refused.value.outcome_unknown is False
    assert "nothing printed" in refused.value.reason
    assert not refused.value.status.ready
    assert received == QUERIES + QUERIES  # not one byte of the job
    assert len(sim.printed) == 1
    assert [s.problem for s in states] == [None, code, None]


async def test_paper_running_out_during_the_job_fails_it_and_the_reprint_comes_out_whole(
    sim, printer
):
    async with running(printer):
        sim.paper_runs_out_after(5)
        with pytest.raises(PaperOut) as refused:
            await printer.print_ticket(make_ticket())
        sim.paper_out = False  # a new roll
        await printer.print_ticket(make_ticket())

    assert refused.value.outcome_unknown is True
    assert "may be cut short" in refused.value.reason
    assert refused.value.status.paper_out
    [torn] = sim.incomplete
    assert not torn.cut
    printed = [line for line in torn.lines if line]
    assert printed[:3] == ["首都医科大学附属北京安贞医院", "挂号凭条", "-" * 48]
    assert len(sim.printed) == 1
    assert ticket_from_printout(sim.printed[0]) == make_ticket()


async def test_unplugged_mid_job_then_back_prints_the_next_ticket(sim, printer, clock, caplog):
    caplog.set_level(logging.INFO, "hardware.devices")
    async with running(printer):
        sim.vanish_after(len(QUERIES) + 300)  # the status, and 300 bytes of the ticket
        with pytest.raises(DeviceConnectionError) as lost:
            async with asyncio.timeout(3):
                await printer.print_ticket(make_ticket())
        await eventually(lambda: not printer.available)
        with pytest.raises(DeviceConnectionError) as meanwhile:
            await printer.print_ticket(make_ticket())

        await sim.come_back()  # a new /dev/pts/N behind the same link
        await reconnect(printer, clock, RECONNECT)
        await printer.print_ticket(make_ticket())

    assert lost.value.outcome_unknown is True
    assert meanwhile.value.outcome_unknown is False
    assert len(sim.incomplete) == 1
    assert len(sim.printed) == 1
    assert ticket_from_printout(sim.printed[0]) == make_ticket()
    down, up = messages(caplog, "unavailable on"), messages(caplog, "ready on")
    assert len(down) == 1
    assert down[0].levelno == logging.WARNING
    assert len(up) == 2  # at start and once back
    assert caplog.records.index(up[0]) < caplog.records.index(down[0])
    assert caplog.records.index(down[0]) < caplog.records.index(up[1])


async def test_noise_from_the_printer_is_dropped_logged_once_and_printing_goes_on(
    sim, printer, caplog
):
    caplog.set_level(logging.INFO, "hardware.devices")
    async with running(printer):
        sim.send_raw(b"\xff\x00\xff")  # nobody asked
        await eventually(lambda: printer.bad_input == 3)
        # before every answer: no DLE EOT answer looks like these (taken for one, 0xFF
        # would say paper out, cover open and offline)
        sim.noise = b"\xff\xe1"
        await printer.print_ticket(make_ticket())
        sim.noise = b""
        sim.send_raw(b"\x00")
        await eventually(lambda: printer.bad_input == 3 + 2 * 8 + 1)

    assert len(sim.printed) == 1
    assert len(messages(caplog, "sent what it should not")) == 1
    assert "nobody asked for" in messages(caplog, "sent what it should not")[0].message


async def test_a_printer_that_stops_answering_times_out_and_is_reopened(sim, printer, clock):
    async with running(printer):
        sim.silent = True
        asking = asyncio.create_task(printer.status())
        await eventually(lambda: STATUS_TIMEOUT_SECONDS in clock.sleeping)
        clock.advance(STATUS_TIMEOUT_SECONDS - 0.1)
        await asyncio.sleep(0.02)
        assert not asking.done()

        clock.advance(0.1)
        with pytest.raises(DeviceTimeout, match="no answer to DLE EOT 1 within 2 s"):
            await asking
        await eventually(lambda: not printer.available)
        sim.silent = False
        await reconnect(printer, clock, RECONNECT)
        assert await printer.status() == PrinterStatus()


async def test_between_jobs_the_status_is_polled_and_reported_once_per_change(
    sim, printer, clock, states, caplog
):
    caplog.set_level(logging.INFO, "hardware.devices")
    async with running(printer):
        sim.paper_out = True
        for _ in range(3):
            await eventually(lambda: STATUS_POLL_INTERVAL_SECONDS in clock.sleeping)
            polls = len(sim.status_requests)
            clock.advance(STATUS_POLL_INTERVAL_SECONDS)
            await eventually(lambda: len(sim.status_requests) == polls + 4)  # noqa: B023
        sim.paper_out = False
        await eventually(lambda: STATUS_POLL_INTERVAL_SECONDS in clock.sleeping)
        clock.advance(STATUS_POLL_INTERVAL_SECONDS)
        await eventually(lambda: states[-1].problem is None)

    assert [(s.connected, s.problem) for s in states] == [
        (True, None),
        (True, "paper_out"),
        (True, None),
    ]
    assert states[1].detail == "paper out"
    assert len(messages(caplog, "paper_out (paper out)")) == 1
    assert len(messages(caplog, "paper_out cleared")) == 1


async def test_paper_near_its_end_still_prints_and_says_so(sim, printer):
    async with running(printer):
        sim.paper_near_end = True
        status = await printer.print_ticket(make_ticket())

    assert status == PrinterStatus(paper_near_end=True)
    assert status.ready
    assert len(sim.printed) == 1


async def test_a_missing_port_is_tried_again_until_the_printer_is_there(tmp_path, clock, caplog):
    caplog.set_level(logging.INFO, "hardware.devices")
    link = tmp_path / "ttyPRN1"
    printer = SerialPrinter(str(link), sleep=clock.sleep)
    async with printer:
        await eventually(lambda: RECONNECT in clock.sleeping)
        clock.advance(RECONNECT)  # tried again: still missing, not logged again
        await eventually(lambda: RECONNECT in clock.sleeping)
        async with PrinterSimulator(link=link) as sim:
            await reconnect(printer, clock, RECONNECT)
            await printer.print_ticket(make_ticket())

    assert len(sim.printed) == 1
    assert len(messages(caplog, "unavailable on")) == 1


@pytest.mark.parametrize(
    ("answers", "status"),
    [
        ((0x12, 0x12, 0x12, 0x12), PrinterStatus()),
        ((0x1A, 0x32, 0x12, 0x72), PrinterStatus(offline=True, paper_out=True)),
        ((0x12, 0x12, 0x12, 0x1E), PrinterStatus(paper_near_end=True)),
        ((0x1A, 0x16, 0x12, 0x12), PrinterStatus(offline=True, cover_open=True)),
        ((0x1A, 0x52, 0x1A, 0x12), PrinterStatus(offline=True, error=True)),
    ],
)
def test_dle_eot_answers_read_as_epson_documents_them(answers, status):
    assert status_from_answers(*answers) == status
    problem = status.problem
    assert problem is None or issubclass(
        {
            "paper_out": PaperOut,
            "cover_open": CoverOpen,
            "printer_fault": PrinterFault,
            "printer_offline": PrinterOffline,
        }[problem],
        PrinterNotReady,
    )


async def test_each_printed_ticket_is_drawn_where_the_simulator_was_told(tmp_path, clock):
    drawn = tmp_path / "tickets"
    sim = PrinterSimulator(link=tmp_path / "ttyPRN2", save_dir=drawn)
    async with sim, running(SerialPrinter(sim.port, sleep=clock.sleep)) as printer:
        assert isinstance(printer, SerialPrinter)
        await printer.print_ticket(make_ticket())
        sim.paper_out = True
        with pytest.raises(PaperOut):
            await printer.print_ticket(make_ticket(queue_no=13))

    assert sorted(p.name for p in drawn.iterdir()) == ["ticket-0001.png"]
    assert (drawn / "ticket-0001.png").read_bytes().startswith(b"\x89PNG")
