"""Print items to ESC/POS bytes, built with python-escpos's ``Dummy`` printer (which
collects the bytes instead of sending them: the driver sends them on its own port).

Two things are written by hand, because python-escpos has no call for them:

- ``FS &`` (select Chinese character mode) after ``ESC @``: a Chinese-market printer then
  reads two- and four-byte GB18030 sequences as one character. python-escpos knows only
  single-byte code pages.
- the text itself, as GB18030 bytes. python-escpos's ``text()`` sends GB18030 only for
  a string with a CJK ideograph between U+4E00 and U+9FA5; any other line (``￥25.00``,
  ``预约号`` written in a rarer ideograph, full-width ``：`` alone) goes through
  single-byte code pages with ``ESC t`` switches, which a printer in Chinese mode prints
  as garbage.

Everything else (``ESC @``, ``ESC a``, ``ESC E``, ``GS !``, ``GS ( k`` for the QR code,
``ESC d`` + ``GS V`` for the cut) comes from python-escpos.
"""

from __future__ import annotations

from collections.abc import Iterable

from escpos.constants import FS, QR_ECLEVEL_H, QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q
from escpos.printer import Dummy

from .printout import PrintItem, QrCode
from .ticket import COLUMNS, Ticket, ticket_layout

CHINESE_MODE_ON = FS + b"&"
ENCODING = "gb18030"
_QR_ERROR = {"L": QR_ECLEVEL_L, "M": QR_ECLEVEL_M, "Q": QR_ECLEVEL_Q, "H": QR_ECLEVEL_H}


def render(items: Iterable[PrintItem]) -> bytes:
    """One print job: initialise, the items, feed and cut."""
    printer = Dummy()
    printer.hw("INIT")
    printer._raw(CHINESE_MODE_ON)  # no python-escpos call for FS & (see the module docstring)
    for item in items:
        if isinstance(item, QrCode):
            # centred by ESC a: python-escpos's center= is for QR codes drawn as images only
            printer.set(align=item.align)
            printer.qr(item.data, ec=_QR_ERROR[item.error], size=item.module_size, native=True)
            continue
        printer.set(align=item.align)
        for span in item.spans:
            printer.set(bold=span.bold, custom_size=True, width=span.width, height=span.height)
            printer._raw(span.text.encode(ENCODING))  # GB18030 for every line: see the docstring
        printer._raw(b"\n")
    printer.set(align="left", bold=False, custom_size=True, width=1, height=1)
    printer.cut()
    return printer.output


def render_ticket(ticket: Ticket, *, columns: int = COLUMNS) -> bytes:
    """The ticket as one ESC/POS job."""
    return render(ticket_layout(ticket, columns=columns))
