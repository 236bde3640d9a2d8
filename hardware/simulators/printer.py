"""An ESC/POS ticket printer on a real pseudo-terminal, for tests and the demo.

:class:`PrinterSimulator` decodes what the driver sends (:mod:`.escpos_decoder`), puts it
on "paper" while it is ready, and answers ``DLE EOT 1..4`` with the bits of Epson's
ESC/POS reference from its settable state: ``paper_out``, ``paper_near_end``,
``cover_open``, ``offline``, ``cutter_jam``; ``silent`` stops it answering (a printer
switched off behind its USB adapter) and ``noise`` goes before each answer (a bad cable).
Each job that ends in a cut while it is ready is a
:class:`~hardware.devices.printout.Printout` in :attr:`~PrinterSimulator.printed`; what was
on paper when a job could not finish (paper ran out, the cover opened, the printer was
unplugged) is in :attr:`~PrinterSimulator.incomplete`, marked not cut. With ``save_dir``
each printed ticket is also drawn there as ``ticket-0001.png`` …

:meth:`~PrinterSimulator.paper_runs_out_after` and :meth:`~PrinterSimulator.vanish_after`
make the next job fail part-way, for the tests of what the driver then says.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from hardware.devices.printout import Line, PrintItem, Printout

from .escpos_decoder import EscPosDecoder
from .pty_device import PtyDevice
from .ticket_image import save_png

logger = logging.getLogger(__name__)

FIXED = 0x12  # bits 1 and 4 of every DLE EOT answer


class PrinterSimulator(PtyDevice):
    def __init__(
        self,
        *,
        link: str | os.PathLike[str] | None = None,
        save_dir: str | os.PathLike[str] | None = None,
        on_printed: Callable[[Printout], None] | None = None,
    ) -> None:
        super().__init__(link=link)
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        self.cutter_jam = False
        self.silent = False
        self.noise = b""
        """Sent before each status answer (a printer with a bad cable)."""
        self.printed: list[Printout] = []
        self.incomplete: list[Printout] = []
        self.status_requests: list[int] = []
        self.save_dir = Path(save_dir) if save_dir is not None else None
        self.on_printed = on_printed
        self._items: list[PrintItem] = []
        self._lines_left: int | None = None  # paper left, when a test set it
        self._bytes_left: int | None = None  # bytes until it is unplugged, when a test set it
        self._decoder = self._new_decoder()

    def _new_decoder(self) -> EscPosDecoder:
        return EscPosDecoder(on_item=self._item, on_cut=self._cut, on_status=self._status)

    @property
    def ready(self) -> bool:
        return not (self.paper_out or self.cover_open or self.offline or self.cutter_jam)

    @property
    def unknown_commands(self) -> list[str]:
        return self._decoder.unknown

    # --- what tests do ------------------------------------------------------------------

    def paper_runs_out_after(self, lines: int) -> None:
        """The roll ends after ``lines`` more lines (QR codes count as one)."""
        self._lines_left = lines

    def vanish_after(self, received: int) -> None:
        """Unplugged once ``received`` more bytes have come."""
        self._bytes_left = received

    def save(self, path: str | os.PathLike[str], index: int = -1) -> bool:
        """Draw printed ticket ``index`` (the last by default) as a PNG."""
        return save_png(self.printed[index], path)

    # --- the byte stream ----------------------------------------------------------------

    def _powered_on(self) -> None:
        self._decoder = self._new_decoder()
        self._items = []

    def _powering_off(self) -> None:
        self._tear_off()

    def _received(self, data: bytes) -> None:
        if self._bytes_left is not None:
            data, self._bytes_left = data[: self._bytes_left], self._bytes_left - len(data)
            if self._bytes_left <= 0:
                self._bytes_left = None
                self._decoder.feed(data)
                self.power_off()
                return
        self._decoder.feed(data)

    def _item(self, item: PrintItem) -> None:
        if not self.ready:
            return  # an offline printer prints nothing
        if self._lines_left is not None and isinstance(item, Line) and not item.spans:
            self._items.append(item)  # feeding blank paper at the end of a roll: no matter
            return
        if self._lines_left is not None:
            if self._lines_left <= 0:
                self.paper_out, self._lines_left = True, None
                return
            self._lines_left -= 1
        self._items.append(item)

    def _cut(self) -> None:
        if not self.ready:
            self._tear_off()
            return
        printout, self._items = Printout(tuple(self._items), cut=True), []
        self.printed.append(printout)
        if self.save_dir is not None:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            save_png(printout, self.save_dir / f"ticket-{len(self.printed):04d}.png")
        if self.on_printed is not None:
            self.on_printed(printout)

    def _tear_off(self) -> None:
        """What is on paper of a job that cannot finish."""
        if any(not isinstance(item, Line) or item.spans for item in self._items):
            self.incomplete.append(Printout(tuple(self._items), cut=False))
        self._items = []

    def _status(self, n: int) -> None:
        self.status_requests.append(n)
        if self.silent or not 1 <= n <= 4:
            return
        stopped = self.paper_out or self.cover_open or self.offline or self.cutter_jam
        answer = {
            1: 0x08 if stopped else 0,  # offline
            2: (0x04 if self.cover_open else 0)
            | (0x20 if self.paper_out else 0)
            | (0x40 if self.cutter_jam else 0),
            3: 0x08 if self.cutter_jam else 0,  # autocutter error
            4: (0x0C if self.paper_near_end or self.paper_out else 0)
            | (0x60 if self.paper_out else 0),
        }[n]
        self._write(self.noise + bytes([FIXED | answer]))
