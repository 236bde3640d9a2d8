"""The framed serial protocol of our card reader and card terminal firmware.

One frame::

    STX  LLLL  field US field US …  ETX  CC
    02   4 hex digits: the byte length of the body   03   2 hex digits

The body is UTF-8 text, its fields separated by US (0x1F); ``CC`` is the XOR of every byte
from the first ``L`` to ``ETX``, both included, in upper-case hex. Because the length and
the checksum are hex digits and a field holds no control character, STX and ETX appear
nowhere but at the ends of a frame: a reader that lost bytes finds the next frame at the
next STX. :class:`FrameDecoder` is that reader: it never raises, and hands back each frame's
fields, or a :class:`FrameError` for what it had to drop (bytes between frames, a frame cut
short by the next one, a wrong length or checksum, a body over ``MAX_BODY_BYTES``, a body
that is not UTF-8 text).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import reduce

STX, ETX, US = 0x02, 0x03, 0x1F
MAX_BODY_BYTES = 1024
"""Our longest frame (an ID card read, a terminal answer) is under 200 bytes; past this
it is noise that happened to start with STX."""

_HEX = frozenset(b"0123456789ABCDEF")
Fields = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FrameError:
    """What the decoder dropped, and why."""

    reason: str


def _checksum(data: bytes) -> int:
    return reduce(lambda a, b: a ^ b, data, 0)


def encode_frame(*fields: str) -> bytes:
    """A frame of ``fields``; ``ValueError`` for a field with a control character."""
    for field in fields:
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in field):
            raise ValueError(f"control character in frame field {field!r}")
    body = "\x1f".join(fields).encode("utf-8")
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"frame body of {len(body)} bytes, at most {MAX_BODY_BYTES}")
    inner = f"{len(body):04X}".encode("ascii") + body + bytes([ETX])
    return bytes([STX]) + inner + f"{_checksum(inner):02X}".encode("ascii")


class FrameDecoder:
    """Frames out of a byte stream that arrives in pieces: :meth:`feed` as bytes come."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Fields | FrameError]:
        """Everything complete in what has come so far, in order; an unfinished frame is
        kept for the next call."""
        self._buffer += data
        found: list[Fields | FrameError] = []
        while self._buffer:
            start = self._buffer.find(STX)
            if start != 0:
                skipped = len(self._buffer) if start < 0 else start
                found.append(FrameError(f"{skipped} byte(s) outside any frame"))
                del self._buffer[:skipped]
                continue
            item = self._frame()
            if item is None:
                break
            found.append(item)
        return found

    def _frame(self) -> Fields | FrameError | None:
        """The frame at the start of the buffer (which starts with STX), removed; None
        when it is not all there yet."""
        buffer = self._buffer
        restart = buffer.find(STX, 1)
        end = buffer.find(ETX, 1)
        if restart >= 0 and (end < 0 or restart <= end + 2):  # before its ETX or checksum
            del buffer[:restart]
            return FrameError(f"frame cut short after {restart} byte(s): a new frame began")
        if end < 0:
            if len(buffer) > MAX_BODY_BYTES + 8:
                del buffer[:1]  # the next STX (if any) starts the next frame
                return FrameError(f"no ETX within {MAX_BODY_BYTES} bytes")
            return None
        if len(buffer) < end + 3:
            return None  # the checksum is still coming
        frame = bytes(buffer[: end + 3])
        del buffer[: end + 3]
        head, body, tail = frame[1:5], frame[5:end], frame[end + 1 :]
        if not set(head) <= _HEX or not set(tail) <= _HEX:
            return FrameError("length or checksum is not hex")
        if int(head, 16) != len(body):
            return FrameError(f"length says {int(head, 16)} bytes, the body has {len(body)}")
        if int(tail, 16) != _checksum(frame[1 : end + 1]):
            return FrameError("checksum does not match")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return FrameError("body is not UTF-8")
        fields = tuple(text.split("\x1f"))
        if any(unicodedata.category(c) in ("Cc", "Cs") for f in fields for c in f):
            return FrameError("control character in a field")
        return fields
