"""The ticket printer (凭条打印机) on a serial port: ESC/POS, status by ``DLE EOT``.

A job is: the status (``DLE EOT 1`` to ``4``, one byte each), the ticket's bytes (see
:mod:`hardware.devices.escpos_render`), the status again. A printer that is not ready
before the job gets nothing and the job fails with the cause (:class:`PaperOut`,
:class:`CoverOpen`, :class:`PrinterFault`, :class:`PrinterOffline`); one that is not
ready after it fails the job the same way, ``outcome_unknown`` (the ticket may be cut
short: print it again once the cause is fixed). Between jobs the status is asked every
``status_poll_interval``, so the kiosk reports a printer out of paper before the next
patient finds out.

``DLE EOT`` answers always have bits 1 and 4 set and bits 0 and 7 clear (Epson's ESC/POS
reference, followed by every Chinese kiosk printer we know); any other byte, or a byte no
one asked for, is noise: dropped and logged once. A printer that does not answer within
``STATUS_TIMEOUT_SECONDS`` is taken for gone: the port is closed and opened again.

A real printer answers ``DLE EOT`` at once, even with lines still in its buffer, so the
status after a job sees a paper end that happened while the ticket was printing only
once the job has reached the paper; the simulator prints each byte as it comes. Printers
that support ``GS ( H`` (a process-id answer after the job) could be asked to wait: not
done yet.
"""

from __future__ import annotations

import asyncio
import contextlib

from .base import (
    PRINT_TIMEOUT_SECONDS,
    RECONNECT_INTERVAL_SECONDS,
    STATUS_POLL_INTERVAL_SECONDS,
    STATUS_TIMEOUT_SECONDS,
    CoverOpen,
    DeviceError,
    PaperOut,
    PrinterFault,
    PrinterNotReady,
    PrinterOffline,
    PrinterStatus,
    Sleep,
    StateCallback,
)
from .escpos_render import render_ticket
from .serial_device import SerialDevice
from .ticket import COLUMNS, Ticket

DLE_EOT = b"\x10\x04"
FIXED_MASK, FIXED_BITS = 0x93, 0x12  # bits 0, 1, 4, 7 of every DLE EOT answer
OFFLINE = 0x08  # n=1, bit 3
COVER_OPEN = 0x04  # n=2, bit 2
PAPER_STOPPED = 0x20  # n=2, bit 5: printing stopped by a paper end
ERROR_OCCURRED = 0x40  # n=2, bit 6
ERRORS = 0x04 | 0x08 | 0x20 | 0x40  # n=3: mechanical, autocutter, unrecoverable, auto-recoverable
PAPER_NEAR_END = 0x0C  # n=4, bits 2-3: the roll's near-end sensor
PAPER_END = 0x60  # n=4, bits 5-6: the roll's end sensor

_REFUSALS: dict[str, type[PrinterNotReady]] = {
    PaperOut.code: PaperOut,
    CoverOpen.code: CoverOpen,
    PrinterFault.code: PrinterFault,
    PrinterOffline.code: PrinterOffline,
}
_WORDS = {
    PaperOut.code: "paper out",
    CoverOpen.code: "cover open",
    PrinterFault.code: "printer error (cutter jam or mechanism)",
    PrinterOffline.code: "printer offline",
}


def status_from_answers(n1: int, n2: int, n3: int, n4: int) -> PrinterStatus:
    """The answers to ``DLE EOT 1``, ``2``, ``3`` and ``4`` as one status."""
    return PrinterStatus(
        offline=bool(n1 & OFFLINE),
        cover_open=bool(n2 & COVER_OPEN),
        paper_out=bool(n4 & PAPER_END) or bool(n2 & PAPER_STOPPED),
        paper_near_end=bool(n4 & PAPER_NEAR_END),
        error=bool(n3 & ERRORS) or bool(n2 & ERROR_OCCURRED),
    )


def describe(status: PrinterStatus) -> str:
    words = [_WORDS[code] for code in _REFUSALS if code == status.problem]
    if status.paper_near_end and not status.paper_out:
        words.append("paper near its end")
    return ", ".join(words) or "ready"


class SerialPrinter(SerialDevice):
    """:class:`~hardware.devices.base.Printer` on an ESC/POS printer's serial port."""

    kind = "printer"

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 115200,
        rtscts: bool = True,
        columns: int = COLUMNS,
        reconnect_interval: float = RECONNECT_INTERVAL_SECONDS,
        status_poll_interval: float = STATUS_POLL_INTERVAL_SECONDS,
        sleep: Sleep = asyncio.sleep,
        on_state: StateCallback | None = None,
    ) -> None:
        super().__init__(
            port,
            baudrate=baudrate,
            rtscts=rtscts,
            reconnect_interval=reconnect_interval,
            sleep=sleep,
            on_state=on_state,
        )
        self.columns = columns
        self._status_poll_interval = status_poll_interval
        self._lock = asyncio.Lock()  # one exchange at a time: a job, or a status poll
        self._answer: asyncio.Future[int] | None = None
        self.last_status: PrinterStatus | None = None

    async def status(self) -> PrinterStatus:
        async with self._lock:
            self._require_ready()
            return self._update(await self._query())

    async def print_ticket(self, ticket: Ticket) -> PrinterStatus:
        return await self.print_job(render_ticket(ticket, columns=self.columns))

    async def print_job(self, data: bytes) -> PrinterStatus:
        """Print ESC/POS ``data`` (one job, ending in a cut) between two status checks."""
        async with self._lock:
            self._require_ready()
            before = self._update(await self._query())
            _refuse(before, "before the job: nothing printed", outcome_unknown=False)
            try:
                await self._send(data, PRINT_TIMEOUT_SECONDS, "the print job")
                after = self._update(await self._query())
            except DeviceError as err:
                err.outcome_unknown = True  # bytes went out: part of the ticket may be on paper
                raise
            _refuse(after, "during the job: the ticket may be cut short", outcome_unknown=True)
            return after

    # --- the exchange -------------------------------------------------------------------

    async def _query(self) -> PrinterStatus:
        answers = []
        for n in (1, 2, 3, 4):
            answer: asyncio.Future[int] = self._waiter(outcome_unknown=False)
            self._answer = answer
            query, seconds = DLE_EOT + bytes([n]), STATUS_TIMEOUT_SECONDS
            try:
                answers.append(
                    await self._ask(query, answer, seconds, f"DLE EOT {n}", outcome_unknown=False)
                )
            except DeviceError as err:
                self._abort(err.reason)  # silent or gone: open the port again
                raise
            finally:
                self._answer = None
        return status_from_answers(*answers)

    def _update(self, status: PrinterStatus) -> PrinterStatus:
        self.last_status = status
        if self.available:
            self._report(True, status.problem, describe(status))
        return status

    def _received(self, data: bytes) -> None:
        for byte in data:
            answer = self._answer
            if answer is None or answer.done():
                self._bad_input(f"byte 0x{byte:02X} nobody asked for")
            elif byte & FIXED_MASK != FIXED_BITS:
                self._bad_input(f"byte 0x{byte:02X} is no DLE EOT answer")
            else:
                answer.set_result(byte)

    # --- the connection -----------------------------------------------------------------

    def _connected(self) -> None:
        self._answer = None

    async def _handshake(self) -> None:
        self.last_status = await self._query()

    def _problem(self) -> tuple[str | None, str]:
        status = self.last_status or PrinterStatus()
        return status.problem, describe(status)

    async def _watch(self) -> None:
        with contextlib.suppress(DeviceError):  # the query closed the port: run() reconnects
            while True:
                await self._sleep(self._status_poll_interval)
                async with self._lock:
                    self._update(await self._query())


def _refuse(status: PrinterStatus, when: str, *, outcome_unknown: bool) -> None:
    if (problem := status.problem) is not None:
        raise _REFUSALS[problem](
            status, f"{_WORDS[problem]} {when}", outcome_unknown=outcome_unknown
        )
