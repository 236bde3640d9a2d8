"""The three simulated kiosk devices, for the demo and for a person at a terminal.

``python -m hardware.simulators DIR`` starts a printer, a card reader and a card terminal,
each on a pty behind a stable link in ``DIR`` (``printer``, ``card-reader``,
``card-terminal``), takes swipes from the FIFO ``DIR/card.in`` and draws each printed
ticket as ``DIR/tickets/ticket-0001.png`` …; lines on stdin change what the devices do
(``paper-out``, ``paper-in``, ``cover-open``, ``cover-closed``, ``decline``, ``busy``,
``no-answer``, ``die``, ``back``).

``python -m hardware.simulators --sample-ticket PATH`` prints a sample ticket through the
real printer driver onto the simulated printer and saves the picture at ``PATH`` (how
docs/screenshots/ticket.png is made).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path

from hardware.devices.serial_printer import SerialPrinter
from hardware.devices.ticket import Ticket

from .card_reader import CardReaderSimulator
from .card_terminal import Busy, CardTerminalSimulator, Decline, Die, NoAnswer
from .printer import PrinterSimulator

SAMPLE = Ticket(
    hospital="首都医科大学附属北京安贞医院",
    department="心血管内科",
    doctor="张建国",
    doctor_title="主任医师",
    room="门诊楼3层 312诊室",
    day=date(2026, 7, 10),
    start=time(8, 30),
    end=time(9, 0),
    queue_no=12,
    booking_no="384759261",
    masked_name="李*",
    fee=5000,
    paid_by="银行卡 尾号0123",
    printed_at=datetime(2026, 7, 10, 0, 12, 5, tzinfo=UTC),
)


async def sample_ticket(path: Path) -> None:
    async with PrinterSimulator() as printer, SerialPrinter(printer.port) as driver:
        async with asyncio.timeout(10):
            await driver.wait_ready()
            await driver.print_ticket(SAMPLE)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not printer.save(path):
        sys.exit("no CJK font found (fc-list :lang=zh): install fonts-noto-cjk or fonts-wqy")
    print(path)


async def run(directory: Path) -> None:
    printer = PrinterSimulator(
        link=directory / "printer",
        save_dir=directory / "tickets",
        on_printed=lambda p: print(f"printed: {' / '.join(line for line in p.lines if line)}"),
    )
    reader = CardReaderSimulator(link=directory / "card-reader")
    terminal = CardTerminalSimulator(link=directory / "card-terminal")
    loop = asyncio.get_running_loop()
    async with printer, reader, terminal:
        reader.listen(directory / "card.in")
        print(f"printer:       {printer.port}  (tickets drawn in {directory / 'tickets'})")
        print(f"card reader:   {reader.port}")
        print(f"card terminal: {terminal.port}")
        print(f"swipe a card:  echo '<card number>' > {directory / 'card.in'}")
        print(f"an ID card:    echo '<ID number> <name>' > {directory / 'card.in'}", flush=True)
        commands: dict[str, Callable[[], object]] = {
            "paper-out": lambda: setattr(printer, "paper_out", True),
            "paper-in": lambda: setattr(printer, "paper_out", False),
            "cover-open": lambda: setattr(printer, "cover_open", True),
            "cover-closed": lambda: setattr(printer, "cover_open", False),
            "decline": lambda: terminal.next_answers(Decline()),
            "busy": lambda: terminal.next_answers(Busy()),
            "no-answer": lambda: terminal.next_answers(NoAnswer()),
            "die": lambda: terminal.next_answers(Die()),
            "back": lambda: loop.create_task(terminal.come_back()),
        }
        try:
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                command = commands.get(line.strip())
                if command is None:
                    print(f"commands: {', '.join(commands)}", flush=True)
                else:
                    command()
            await asyncio.Event().wait()  # stdin closed (run in the background): keep going
        finally:
            reader.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Simulated kiosk devices on pseudo-terminals.")
    parser.add_argument("directory", nargs="?", type=Path, help="where the links and FIFO go")
    parser.add_argument("--sample-ticket", type=Path, help="draw a sample ticket here and exit")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        if args.sample_ticket is not None:
            asyncio.run(sample_ticket(args.sample_ticket))
        elif args.directory is not None:
            args.directory.mkdir(parents=True, exist_ok=True)
            asyncio.run(run(args.directory))
        else:
            parser.error("give a directory, or --sample-ticket PATH")
