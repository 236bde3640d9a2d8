"""ESC/POS bytes back into what a printer would put on paper (pure; no I/O).

:class:`EscPosDecoder` takes the byte stream in pieces as it comes and calls back with
each printed item (:class:`~hardware.devices.printout.Line` or
:class:`~hardware.devices.printout.QrCode`), each cut and each ``DLE EOT`` status request.
Understood: ``ESC @`` (initialise), ``ESC !`` / ``ESC E`` / ``ESC G`` (bold),
``GS !`` / ``FS !`` (size), ``ESC a`` (alignment), ``FS &`` / ``FS .`` (Chinese character
mode on / off: text in GB18030, else code page 437), ``ESC d`` (feed lines),
``GS ( k`` (QR code: model, module size, error correction, store, print), ``GS V``,
``ESC i``, ``ESC m`` (cut), ``DLE EOT n``. Other commands of known length are skipped
(``GS ( …``, ``GS v 0`` raster images, ``GS k`` barcodes, one-argument ``ESC``/``GS``/``FS``
commands) and named in :attr:`EscPosDecoder.unknown`.
"""

from __future__ import annotations

from collections.abc import Callable

from hardware.devices.printout import Align, Line, PrintItem, QrCode, QrError, Span

LF, CR, DLE, ESC, FS, GS = 0x0A, 0x0D, 0x10, 0x1B, 0x1C, 0x1D
_ALIGN: dict[int, Align] = {
    0: "left",
    1: "center",
    2: "right",
    48: "left",
    49: "center",
    50: "right",
}
_QR_ERROR: dict[int, QrError] = {48: "L", 49: "M", 50: "Q", 51: "H"}
_ESC_ONE_ARG = frozenset(b"!-3EGJMRUVadt{ %")  # ESC x n
_GS_ONE_ARG = frozenset(b"!BHIbfhwar")  # GS x n
_FS_ONE_ARG = frozenset(b"!-CW")  # FS x n
_GS_CUT_WITH_FEED = frozenset((65, 66, 97, 98, 103, 104))


class EscPosDecoder:
    """Feed it bytes with :meth:`feed`; it calls ``on_item``, ``on_cut`` and ``on_status``
    (with ``n`` of ``DLE EOT n``) in stream order."""

    def __init__(
        self,
        *,
        on_item: Callable[[PrintItem], None],
        on_cut: Callable[[], None],
        on_status: Callable[[int], None],
    ) -> None:
        self._on_item = on_item
        self._on_cut = on_cut
        self._on_status = on_status
        self._buffer = bytearray()
        self.unknown: list[str] = []
        """Commands skipped without being understood, as ``ESC x`` / ``GS x`` …"""
        self.reset()

    def reset(self) -> None:
        """Power-up state (also ``ESC @``): styles off, not in Chinese mode."""
        self.bold = False
        self.width = self.height = 1
        self.align: Align = "left"
        self.chinese = False
        self._text = bytearray()
        self._spans: list[Span] = []
        self._line_align: Align | None = None
        self._qr_data = b""
        self._qr_size = 3
        self._qr_error: QrError = "L"

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer and (used := self._step()):
            del self._buffer[:used]

    # --- one command --------------------------------------------------------------------

    def _step(self) -> int:
        """Handle the command at the start of the buffer; how many bytes it took, 0 when
        it is not all there yet."""
        b = self._buffer
        first = b[0]
        if first >= 0x20 or first == 0x09:
            end = next((i for i, c in enumerate(b) if c < 0x20 and c != 0x09), len(b))
            if self._line_align is None:
                self._line_align = self.align
            self._text += b[:end]
            return end
        if first == LF:
            self._end_line()
            return 1
        if first == DLE:
            return self._dle()
        if first in (ESC, GS, FS):
            if len(b) < 2:
                return 0
            handler = {ESC: self._esc, GS: self._gs, FS: self._fs}[first]
            return handler(b[1])
        if first != CR:
            self.unknown.append(f"0x{first:02X}")
        return 1

    def _arg(self, offset: int) -> int | None:
        return self._buffer[offset] if len(self._buffer) > offset else None

    def _dle(self) -> int:
        if len(self._buffer) < 3:
            return 0
        if self._buffer[1] == 0x04:
            self._on_status(self._buffer[2])
            return 3
        self.unknown.append(f"DLE 0x{self._buffer[1]:02X}")
        return 2

    def _esc(self, command: int) -> int:
        if command == ord("@"):
            self._flush_text()
            self.reset()
            return 2
        if command in (ord("i"), ord("m")):
            self._cut()
            return 2
        if command == ord("2"):
            return 2
        if command == ord("p"):
            return 5 if len(self._buffer) >= 5 else 0
        if command not in _ESC_ONE_ARG:
            self.unknown.append(f"ESC {chr(command)!r}")
            return 2
        n = self._arg(2)
        if n is None:
            return 0
        if command == ord("!"):
            self._style(
                bold=bool(n & 0x08), width=2 if n & 0x20 else 1, height=2 if n & 0x10 else 1
            )
        elif command in (ord("E"), ord("G")):
            self._style(bold=bool(n & 1))
        elif command == ord("a"):
            self.align = _ALIGN.get(n, self.align)
        elif command == ord("d"):
            if self._spans or self._text:
                self._end_line()
            for _ in range(n):
                self._on_item(Line((), self.align))
        return 3

    def _gs(self, command: int) -> int:
        if command == ord("("):
            return self._gs_paren()
        if command == ord("V"):
            m = self._arg(2)
            if m is None or (m in _GS_CUT_WITH_FEED and len(self._buffer) < 4):
                return 0
            self._cut()
            return 4 if m in _GS_CUT_WITH_FEED else 3
        if command == ord("v"):  # GS v 0 m xL xH yL yH d1…dk: a raster image
            if len(self._buffer) < 8:
                return 0
            x, y = self._buffer[4] + 256 * self._buffer[5], self._buffer[6] + 256 * self._buffer[7]
            total = 8 + x * y
            if len(self._buffer) < total:
                return 0
            self.unknown.append("GS v 0 (image)")
            return total
        if command == ord("k"):
            return self._gs_barcode()
        if command in (ord("L"), ord("W")):
            return 4 if len(self._buffer) >= 4 else 0
        if command not in _GS_ONE_ARG:
            self.unknown.append(f"GS {chr(command)!r}")
            return 2
        n = self._arg(2)
        if n is None:
            return 0
        if command == ord("!"):
            self._style(width=(n >> 4) + 1, height=(n & 0x0F) + 1)
        elif command != ord("b"):
            self.unknown.append(f"GS {chr(command)!r}")
        return 3

    def _gs_paren(self) -> int:
        """``GS ( fn pL pH …``: the length says where it ends; ``GS ( k`` with cn 49 is QR."""
        if len(self._buffer) < 5:
            return 0
        fn, size = self._buffer[2], self._buffer[3] + 256 * self._buffer[4]
        total = 5 + size
        if len(self._buffer) < total:
            return 0
        params = bytes(self._buffer[5:total])
        if fn == ord("k") and len(params) >= 2 and params[0] == 49:
            self._qr(params[1], params[2:])
        else:
            self.unknown.append(f"GS ( {chr(fn)!r}")
        return total

    def _qr(self, function: int, args: bytes) -> None:
        if function == 67 and args:  # module size
            self._qr_size = args[0]
        elif function == 69 and args:  # error correction
            self._qr_error = _QR_ERROR.get(args[0], self._qr_error)
        elif function == 80 and args:  # store the data (after m = 48)
            self._qr_data = args[1:]
        elif function == 81:  # print what is stored
            if self._spans or self._text:
                self._end_line()
            data = self._qr_data.decode("utf-8", "replace")
            self._on_item(QrCode(data, self._qr_size, self._qr_error, self.align))

    def _gs_barcode(self) -> int:
        m = self._arg(2)
        if m is None:
            return 0
        if m <= 6:  # NUL-terminated data
            end = self._buffer.find(0, 3)
            return 0 if end < 0 else end + 1
        n = self._arg(3)
        if n is None or len(self._buffer) < 4 + n:
            return 0
        self.unknown.append("GS k (barcode)")
        return 4 + n

    def _fs(self, command: int) -> int:
        if command == ord("&"):
            self._flush_text()
            self.chinese = True
            return 2
        if command == ord("."):
            self._flush_text()
            self.chinese = False
            return 2
        if command not in _FS_ONE_ARG:
            self.unknown.append(f"FS {chr(command)!r}")
            return 2
        n = self._arg(2)
        if n is None:
            return 0
        if command == ord("!"):
            self._style(width=2 if n & 0x04 else 1, height=2 if n & 0x08 else 1)
        return 3

    # --- what ends up on paper ----------------------------------------------------------

    def _style(self, **changes: int | bool) -> None:
        self._flush_text()
        for name, value in changes.items():
            setattr(self, name, value)

    def _flush_text(self) -> None:
        if self._text:
            text = self._text.decode("gb18030" if self.chinese else "cp437", "replace")
            self._spans.append(Span(text, self.bold, self.width, self.height))
            self._text.clear()

    def _end_line(self) -> None:
        self._flush_text()
        self._on_item(Line(tuple(self._spans), self._line_align or self.align))
        self._spans, self._line_align = [], None

    def _cut(self) -> None:
        if self._spans or self._text:
            self._end_line()
        self._on_cut()
