"""The demo's GSM modem: a simulated modem on a pseudo-terminal inside the demo process.

The engine talks to it over the pty exactly as to a modem on ``/dev/ttyUSB0``. What it
sends is printed; to text the engine as a patient, write ``<phone> <text>`` lines into
the FIFO ``<demo dir>/modem.in`` (``guahao demo`` prints the command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from booking_core.kernel.identity import mask_phone
from sms.modem.simulator import ModemSimulator, SentMessage

log = logging.getLogger(__name__)

PORT_NAME = "ttyGSM0"
INBOX_NAME = "modem.in"


def port_path(folder: Path) -> Path:
    return folder / PORT_NAME


def inbox_path(folder: Path) -> Path:
    return folder / INBOX_NAME


def _show(message: SentMessage) -> None:
    number = mask_phone(message.number.removeprefix("+86"))
    print(f"[demo modem] text to {number} ({message.parts} part(s)): {message.text}", flush=True)


def simulated_modem_ctx(
    folder: Path,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that runs the simulator (put it before the engine's own, so the
    port exists when the engine opens it) and feeds it texts from the FIFO."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        fifo = inbox_path(folder)
        with contextlib.suppress(FileNotFoundError):
            fifo.unlink()
        os.mkfifo(fifo, 0o600)
        simulator = ModemSimulator(link=port_path(folder), on_sent=_show)
        await simulator.start()
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        keep = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # no EOF when a writer leaves
        pending = bytearray()

        def readable() -> None:
            with contextlib.suppress(BlockingIOError):
                pending.extend(os.read(fd, 4096))
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                phone, _, text = line.decode("utf-8", "replace").strip().partition(" ")
                if phone and text:
                    simulator.deliver(phone, text)

        loop = asyncio.get_running_loop()
        loop.add_reader(fd, readable)
        try:
            yield
        finally:
            loop.remove_reader(fd)
            os.close(fd)
            os.close(keep)
            await simulator.stop()
            with contextlib.suppress(FileNotFoundError):
                fifo.unlink()

    return ctx
