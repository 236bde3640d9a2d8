"""A printout drawn as the paper would look (PNG), for people who would rather look at a
ticket than read bytes.

The paper is 80 mm at 203 dpi: 576 printable dots between 32-dot margins. Text sits on
the printer's grid, font A: a cell 12 dots wide (24 for a CJK character) and 24 high,
times the size multipliers, in a CJK font found with fontconfig (``fc-list :lang=zh``:
Debian's fonts-noto-cjk or fonts-wqy-*); without one, :func:`save_png` draws nothing and
says so. QR codes are real ones (segno makes the matrix), ``module_size`` dots a module.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from hardware.devices.printout import Line, Printout, QrCode, Span

logger = logging.getLogger(__name__)

PRINTABLE_DOTS = 576  # 80 mm paper, 72 mm printable, 203 dpi
MARGIN_DOTS = 32
CELL_WIDTH, CELL_HEIGHT, LINE_GAP = 12, 24, 8  # font A; the gap makes 1/6 inch lines
_PREFERRED = ("NotoSansCJK", "NotoSerifCJK", "wqy-zenhei", "wqy-microhei", "Droid")

Font = ImageFont.FreeTypeFont


@functools.cache
def find_cjk_font() -> str | None:
    """The file of a font with Chinese glyphs, Noto CJK or WenQuanYi first; None if
    fontconfig knows none (or is not installed)."""
    if shutil.which("fc-list") is None:
        return None
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "--format", "%{file}\n"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(set(listed))
    for name in _PREFERRED:
        for file in files:
            if name.lower() in Path(file).name.lower():
                return file
    return files[0] if files else None


@functools.cache
def _font(path: str, size: int) -> Font:
    return ImageFont.truetype(path, size)


def _cells(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


@dataclass(frozen=True, slots=True)
class _Row:
    """One row of print as the printer wraps a line: each character in its span's style."""

    chars: tuple[tuple[str, Span], ...]
    align: str

    @property
    def height(self) -> int:
        return max((span.height for _, span in self.chars), default=1) * CELL_HEIGHT + LINE_GAP


def _rows(line: Line) -> list[_Row]:
    rows: list[list[tuple[str, Span]]] = [[]]
    used = 0
    for span in line.spans:
        for char in span.text:
            width = _cells(char) * CELL_WIDTH * span.width
            if used + width > PRINTABLE_DOTS and rows[-1]:
                rows.append([])
                used = 0
            rows[-1].append((char, span))
            used += width
    return [_Row(tuple(row), line.align) for row in rows]


def _left(width: int, align: str) -> int:
    return MARGIN_DOTS + {"left": 0, "center": 1, "right": 2}[align] * (PRINTABLE_DOTS - width) // 2


def _draw_row(paper: Image.Image, row: _Row, top: int, font_path: str) -> None:
    cells = [_cells(char) * CELL_WIDTH * span.width for char, span in row.chars]
    left = _left(sum(cells), row.align)
    baseline = top + row.height - LINE_GAP
    for (char, span), cell in zip(row.chars, cells, strict=True):
        size = CELL_HEIGHT * span.height
        glyph = Image.new("L", (cell * span.height // span.width, size + size // 4), 255)
        ImageDraw.Draw(glyph).text(
            (glyph.width / 2, size * 0.88),
            char,
            font=_font(font_path, size),
            fill=0,
            anchor="ms",
            stroke_width=1 if span.bold else 0,
            stroke_fill=0,
        )
        if span.width != span.height:  # the printer stretches one way only
            glyph = glyph.resize((cell, glyph.height))
        paper.paste(0, (left, baseline - size), mask=Image.eval(glyph, lambda v: 255 - v))
        left += cell


def _qr_image(code: QrCode) -> Image.Image:
    matrix = segno.make_qr(code.data, error=code.error, boost_error=False).matrix
    m = code.module_size
    image = Image.new("L", (len(matrix) * m, len(matrix) * m), 255)
    pen = ImageDraw.Draw(image)
    for y, modules in enumerate(matrix):
        for x, dark in enumerate(modules):
            if dark:
                pen.rectangle((x * m, y * m, x * m + m - 1, y * m + m - 1), fill=0)
    return image


def draw(printout: Printout, font_path: str) -> Image.Image:
    """The printout on a strip of paper (a grey line at the foot when it was not cut)."""
    blocks: list[_Row | tuple[Image.Image, str]] = []
    for item in printout.items:
        if isinstance(item, QrCode):
            blocks.append((_qr_image(item), item.align))
        else:
            blocks.extend(_rows(item))
    heights = [b.height if isinstance(b, _Row) else b[0].height + 2 * LINE_GAP for b in blocks]
    paper = Image.new("L", (PRINTABLE_DOTS + 2 * MARGIN_DOTS, sum(heights) + 2 * MARGIN_DOTS), 255)
    top = MARGIN_DOTS
    for block, height in zip(blocks, heights, strict=True):
        if not isinstance(block, _Row):
            qr, align = block
            paper.paste(qr, (_left(qr.width, align), top + LINE_GAP))
        elif block.chars:
            _draw_row(paper, block, top, font_path)
        top += height
    if not printout.cut:
        ImageDraw.Draw(paper).line((0, paper.height - 2, paper.width, paper.height - 2), fill=128)
    return paper


def save_png(
    printout: Printout, path: str | os.PathLike[str], *, font_path: str | None = None
) -> bool:
    """Draw ``printout`` into ``path``; False (and a log line) when no CJK font is found."""
    font_path = font_path or find_cjk_font()
    if font_path is None:
        logger.info("no CJK font (fc-list :lang=zh finds none): %s not drawn", path)
        return False
    draw(printout, font_path).save(path, format="PNG")
    return True
