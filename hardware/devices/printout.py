"""What a receipt printer puts on paper, as data: lines of styled text and QR codes.

:mod:`hardware.devices.ticket` lays a ticket out in these, :mod:`hardware.devices.escpos_render`
turns them into ESC/POS bytes, and the printer simulator decodes those bytes back into
them (and draws them), so a ticket can be checked without reading bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Align = Literal["left", "center", "right"]
QrError = Literal["L", "M", "Q", "H"]


@dataclass(frozen=True, slots=True)
class Span:
    """Text in one style: ``width`` and ``height`` are the printer's character size
    multipliers (1-8)."""

    text: str
    bold: bool = False
    width: int = 1
    height: int = 1


@dataclass(frozen=True, slots=True)
class Line:
    """One printed line (up to a line feed); no spans is a blank line."""

    spans: tuple[Span, ...] = ()
    align: Align = "left"

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True, slots=True)
class QrCode:
    """A QR code the printer draws itself (``GS ( k``): ``module_size`` dots per module."""

    data: str
    module_size: int = 6
    error: QrError = "M"
    align: Align = "center"


PrintItem = Line | QrCode


@dataclass(frozen=True, slots=True)
class Printout:
    """One job as it came out of the printer: its items and whether it was cut off."""

    items: tuple[PrintItem, ...]
    cut: bool = True

    @property
    def lines(self) -> list[str]:
        """The text of each line (QR codes as ``[QR <data>]``)."""
        return [i.text if isinstance(i, Line) else f"[QR {i.data}]" for i in self.items]
