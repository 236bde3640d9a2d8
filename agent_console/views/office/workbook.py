"""The booking query as an .xlsx sheet (Excel 导出), built off the event loop.

Every text cell is written as text: a doctor named ``=cmd|' /C calc'!A0`` or a department
``=HYPERLINK(…)`` stays a string (openpyxl would otherwise store it as a formula), and a
cell that begins with a character a spreadsheet reads as the start of a formula
(``= + - @``, a tab or a carriage return) is marked "quote prefix", so Excel shows it as
typed and does not evaluate it when the cell is edited. Characters XML cannot carry are
dropped rather than failing the export.

The sheet is built in write-only mode (rows streamed to the file, not kept as cell
objects), in a worker thread (:func:`build`), so an export of 10,000 bookings leaves the
event loop free for every other request.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from aiohttp import web
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from booking_core.bookings import BookingView

from ...i18n_office import office_text
from ..records import booking_row


class ExportGate:
    """Exports under way in one console (``make_app`` keeps one): at most ``admitted`` at
    once, past which an export is told to try again (429); of those, ``building`` sheets
    are built at a time. Building is pure Python: two threads at it would fight the event
    loop for the GIL, and ``/healthz`` would wait its turn behind them."""

    def __init__(self, admitted: int, building: int = 1) -> None:
        self.admitted = asyncio.Semaphore(admitted)
        self.building = asyncio.Semaphore(building)

    def full(self) -> bool:
        return self.admitted.locked()


EXPORTS = web.AppKey("exports", ExportGate)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YIELD_EVERY_ROWS = 50  # a fraction of a millisecond of work between chances for the event loop
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet (or a CSV saved from it) may take as the start of a formula."""

COLUMNS = (
    ("booking_no", "booking_no"),
    ("day", "day"),
    ("start", "time"),
    ("department", "department"),
    ("doctor", "doctor"),
    ("patient_name", "patient"),
    ("card_no", "card_no"),
    ("channel", "channel"),
    ("status", "status"),
    ("fee", "fee_yuan"),
)


WORDED = ("channel", "status")  # columns whose codes the sheet shows in words


def text_cell(sheet: Any, value: object) -> str | WriteOnlyCell:
    """``value`` as a cell that holds it as text, whatever it begins with (a plain string
    when openpyxl would store it as text anyway: much quicker for 10,000 rows)."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if not text.startswith(FORMULA_STARTS):
        return text
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"  # never "f": openpyxl guesses a formula from a leading "="
    cell.quotePrefix = True
    return cell


def workbook(bookings: Sequence[BookingView], lang: str) -> bytes:
    """The bookings as an .xlsx sheet: a header row, then one row per booking (the
    patient's name masked as on every console page, the fee in yuan, the channel and the
    status in words; the day and time are the hospital's local ones, as booked)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(office_text(lang, "booking_query")[:31])
    sheet.append([text_cell(sheet, office_text(lang, label)) for _, label in COLUMNS])
    for n, view in enumerate(bookings):
        if n % YIELD_EVERY_ROWS == 0:
            time.sleep(0)  # let the event loop's thread have the GIL now, not in 5 ms
        row = booking_row(view)
        cells: list[object] = []
        for key, _ in COLUMNS:
            value = row[key]
            if key == "fee":
                cells.append(value / 100)
            elif key == "day":
                cells.append(text_cell(sheet, value.isoformat()))
            elif key in WORDED:  # a channel or a status in words, as on the screens
                cells.append(text_cell(sheet, office_text(lang, f"{key}_{value}")))
            else:
                cells.append(text_cell(sheet, value))
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_COLLECTOR_HELD = 0  # exports under way that asked the cyclic collector to wait


@contextlib.contextmanager
def collector_held() -> Iterator[None]:
    """No cyclic garbage collection while an export's rows are alive. A full (generation
    2) collection stops every thread, the event loop's too, and with 10,000 bookings and
    their sheet in memory it took 100–160 ms on a 2-core machine (measured with
    ``gc.callbacks`` during three exports: ``/healthz`` then took 230–265 ms). The rows
    and cells hold no reference cycles, so reference counting frees them as they go; the
    collector runs again as soon as the last export is done."""
    global _COLLECTOR_HELD
    if _COLLECTOR_HELD == 0:
        was_enabled = gc.isenabled()
        gc.disable()
    else:
        was_enabled = False  # the first export decides, and re-enables it
    _COLLECTOR_HELD += 1
    try:
        yield
    finally:
        _COLLECTOR_HELD -= 1
        if was_enabled:
            gc.enable()


async def build(
    gate: ExportGate, read: Callable[[], Awaitable[Sequence[BookingView]]], lang: str
) -> bytes:
    """The rows ``read`` gives as a sheet, one export at a time: the read (10,000 rows
    mapped in a reader thread) and :func:`workbook` (in a worker thread), so neither is on
    the event loop and only one thread at a time competes with it."""
    async with gate.building:
        with collector_held():
            bookings = await read()
            return await asyncio.to_thread(workbook, bookings, lang)


def listing(bookings: Sequence[BookingView]) -> str:
    """The export's JSON twin: the same rows as JSON text (dates as ISO 8601)."""
    rows = [booking_row(view) for view in bookings]
    return json.dumps({"bookings": rows, "count": len(rows)}, default=str, ensure_ascii=False)


async def build_listing(
    gate: ExportGate, read: Callable[[], Awaitable[Sequence[BookingView]]]
) -> str:
    """:func:`listing` off the loop, one export at a time, as :func:`build`."""
    async with gate.building:
        with collector_held():
            bookings = await read()
            return await asyncio.to_thread(listing, bookings)
