"""SMS PDUs for the GSM modem (短信猫): GSM 03.40 / 3GPP TS 23.040 and the GSM 03.38
alphabet, both directions.

What is here: SMS-SUBMIT (what ``AT+CMGS`` sends) and SMS-DELIVER (what ``AT+CMGR`` /
``AT+CMGL`` read), the GSM-7 default alphabet with its extension table, UCS2 for Chinese,
long messages (长短信) split into concatenated parts with an 8-bit-reference user data
header (IEI 0x00; 16-bit references, IEI 0x08, are read too), semi-octet and
alphanumeric addresses, and service-centre time stamps (SCTS) with their time zone.

Why our own codec and not a library. The candidates on PyPI each cover part of it:

- ``python-gsmmodem-new`` 0.13 (last release 2021, LGPL) encodes SUBMIT and decodes
  DELIVER with UCS2 and concatenation, but it cannot encode a character outside the
  Basic Multilingual Plane (``encodeUcs2`` appends ``ord(c) >> 8`` to a bytearray: a
  ``ValueError`` for 𠮷 or an emoji, and rare characters do occur in Chinese names), it
  has no SMS-SUBMIT decoder or SMS-DELIVER encoder (which the simulator needs), its
  GSM-7 table has ``\\``` where ``§`` belongs (0x5F), and importing it pulls in its
  threaded pyserial modem driver.
- ``smspdudecoder`` 2.2 decodes only (and needs ``bitstring`` and ``pytz``);
  ``pdubuild`` 0.0.4 builds SUBMIT only, with a hard-coded concatenation reference and,
  in its own words, "for one specific piece of telecoms hardware".

Two libraries plus our own code for the missing directions would be more code to trust
than the ~300 lines below, which are pinned by published vectors in the tests.

Lengths: one GSM-7 message holds 160 septets, a concatenated part 153 (an escape pair
is never split); one UCS2 message holds 70 UTF-16 code units, a part 67 (a character
outside the BMP, two code units, is never split). UCS2 text is carried as UTF-16, so
those characters survive; :func:`join_parts` mends one that another sender's phone did
split across two parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

GSM7 = "gsm7"
UCS2 = "ucs2"
OCTETS = "8bit"

SINGLE_SEPTETS = 160
PART_SEPTETS = 153
SINGLE_UCS2_UNITS = 70
PART_UCS2_UNITS = 67
MAX_PARTS = 255

VALIDITY_24_HOURS = 0xA7
"""TP-VP, relative format: 144..167 mean 12 h + (VP - 143) x 30 min, so 0xA7 (167) is one
day. An appointment notice that has not arrived within a day is of no use any more."""

_ESCAPE = 0x1B
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128
_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F}
_EXTENSION.update({"[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65})
_BASIC_CODE = {ch: code for code, ch in enumerate(_BASIC) if code != _ESCAPE}
_EXTENSION_CHAR = {code: ch for ch, code in _EXTENSION.items()}
_SEMI_OCTET_DIGITS = "0123456789*#abc"


class PduError(ValueError):
    """A PDU that cannot be decoded (truncated, wrong type, bad field)."""


@dataclass(frozen=True, slots=True)
class Concat:
    """The concatenation header of one part of a long message (长短信)."""

    reference: int
    total: int
    seq: int


@dataclass(frozen=True, slots=True)
class EncodedPdu:
    """One part ready for ``AT+CMGS=<tpdu_length>``: ``hex`` starts with ``00`` (use the
    SIM's service centre), which ``tpdu_length`` does not count."""

    hex: str
    tpdu_length: int


@dataclass(frozen=True, slots=True)
class Submit:
    """A decoded SMS-SUBMIT (one part)."""

    number: str
    text: str
    concat: Concat | None
    message_reference: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """A decoded SMS-DELIVER (one part). ``text`` of a UCS2 part may end or start with
    half a surrogate pair; :func:`join_parts` puts the parts together."""

    sender: str
    text: str
    timestamp: datetime
    concat: Concat | None
    smsc: str | None = None


# --- alphabets ------------------------------------------------------------------------


def gsm7_septets(text: str) -> list[int] | None:
    """The septets of ``text`` in the GSM-7 default alphabet, or None if it needs UCS2."""
    septets: list[int] = []
    for ch in text:
        if ch in _BASIC_CODE:
            septets.append(_BASIC_CODE[ch])
        elif ch in _EXTENSION:
            septets += (_ESCAPE, _EXTENSION[ch])
        else:
            return None
    return septets


def _septets_to_text(septets: Iterable[int]) -> str:
    out: list[str] = []
    escaped = False
    for code in septets:
        if escaped:
            # An unknown extension code shows as its basic character (TS 23.038 §6.2.1.1).
            out.append(_EXTENSION_CHAR.get(code, _BASIC[code] if code != _ESCAPE else " "))
            escaped = False
        elif code == _ESCAPE:
            escaped = True
        else:
            out.append(_BASIC[code])
    return "".join(out)


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack 7-bit values little-endian into octets, after ``fill_bits`` padding bits."""
    value = 0
    for i, code in enumerate(septets):
        value |= code << (fill_bits + 7 * i)
    return value.to_bytes((fill_bits + 7 * len(septets) + 7) // 8, "little")


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """The inverse of :func:`pack_septets`."""
    if (fill_bits + 7 * count + 7) // 8 > len(data):
        raise PduError("user data shorter than its length says")
    value = int.from_bytes(data, "little")
    return [(value >> (fill_bits + 7 * i)) & 0x7F for i in range(count)]


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def split_message(text: str) -> tuple[str, list[str]]:
    """The alphabet and the parts ``text`` is sent in: one part if it fits, else parts of
    at most 153 septets (GSM-7) or 67 UTF-16 code units (UCS2), never cutting a
    character (an escape pair, a surrogate pair) in two."""
    septets = [gsm7_septets(ch) for ch in text]
    if all(s is not None for s in septets):
        weights = [len(s) for s in septets if s is not None]
        alphabet, single, part = GSM7, SINGLE_SEPTETS, PART_SEPTETS
    else:
        weights = [_utf16_units(ch) for ch in text]
        alphabet, single, part = UCS2, SINGLE_UCS2_UNITS, PART_UCS2_UNITS
    if sum(weights) <= single:
        return alphabet, [text]
    parts: list[str] = []
    start = used = 0
    for i, weight in enumerate(weights):
        if used + weight > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += weight
    parts.append(text[start:])
    if len(parts) > MAX_PARTS:
        raise ValueError(f"message too long: {len(parts)} parts, at most {MAX_PARTS}")
    return alphabet, parts


def join_parts(texts: Iterable[str]) -> str:
    """Join decoded parts, mending a surrogate pair split between two of them."""
    joined = "".join(texts).encode("utf-16-be", "surrogatepass")
    return joined.decode("utf-16-be", "replace")


# --- fields ---------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise PduError("PDU truncated")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def rest(self) -> bytes:
        return self.take(len(self._data) - self._pos)


def _swap_digits(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, len(digits), 2)))


def _read_digits(data: bytes) -> str:
    nibbles = [n for b in data for n in (b & 0x0F, b >> 4)]
    return "".join(_SEMI_OCTET_DIGITS[n] if n < 15 else "" for n in nibbles)


def _encode_address(number: str) -> bytes:
    """An address field: number of digits, type of address, semi-octets. A sender that is
    not a number ("HOSPITAL") becomes an alphanumeric address (only senders are)."""
    digits = number.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        if not 1 <= len(digits) <= 20:
            raise ValueError(f"a phone number has 1 to 20 digits, not {len(digits)}")
        toa = 0x91 if number.startswith("+") else 0x81
        return bytes([len(digits), toa]) + _swap_digits(digits)
    septets = gsm7_septets(number)
    if not septets or len(septets) > 11:
        raise ValueError("not a phone number nor a short GSM-7 sender name")
    packed = pack_septets(septets)
    return bytes([(len(septets) * 7 + 3) // 4, 0xD0]) + packed


def _read_address(r: _Reader) -> str:
    length, toa = r.byte(), r.byte()
    raw = r.take((length + 1) // 2)
    if toa & 0x70 == 0x50:  # alphanumeric
        return _septets_to_text(unpack_septets(raw, length * 4 // 7))
    return ("+" if toa & 0x70 == 0x10 else "") + _read_digits(raw)[:length]


def _encode_smsc(number: str | None) -> bytes:
    if not number:
        return b"\x00"
    digits = _swap_digits(number.removeprefix("+"))
    return bytes([len(digits) + 1, 0x91 if number.startswith("+") else 0x81]) + digits


def _read_smsc(r: _Reader) -> str | None:
    length = r.byte()
    if length == 0:
        return None
    toa = r.byte()
    return ("+" if toa & 0x70 == 0x10 else "") + _read_digits(r.take(length - 1))


def _bcd(value: int) -> int:
    return (value % 10) << 4 | value // 10


def _encode_scts(ts: datetime) -> bytes:
    offset = ts.utcoffset()
    if offset is None:
        raise ValueError("a service-centre time stamp needs a time zone")
    quarters = int(offset.total_seconds()) // 900
    sign = 0x08 if quarters < 0 else 0
    fields = (ts.year % 100, ts.month, ts.day, ts.hour, ts.minute, ts.second)
    return bytes(_bcd(v) for v in fields) + bytes([_bcd(abs(quarters)) | sign])


def _read_scts(raw: bytes) -> datetime:
    yy, mo, dd, hh, mi, ss = ((b & 0x0F) * 10 + (b >> 4) for b in raw[:6])
    tz = raw[6]
    quarters = (tz & 0x07) * 10 + (tz >> 4)
    minutes = -15 * quarters if tz & 0x08 else 15 * quarters
    try:
        year = yy + (1900 if yy >= 80 else 2000)  # two digits; the 1980s-90s are old vectors
        return datetime(year, mo, dd, hh, mi, ss, tzinfo=timezone(timedelta(minutes=minutes)))
    except ValueError as err:
        raise PduError(f"bad time stamp {raw.hex()}") from err


def _alphabet(dcs: int) -> str:
    """The alphabet a data coding scheme names (TS 23.038 §4)."""
    group = dcs >> 4
    if group <= 0x7:  # general data coding, with or without automatic deletion
        return (GSM7, OCTETS, UCS2, GSM7)[(dcs >> 2) & 0x03]
    if group == 0xE:  # message waiting, UCS2 text
        return UCS2
    if group == 0xF:
        return OCTETS if dcs & 0x04 else GSM7
    return GSM7


# --- user data ------------------------------------------------------------------------


def _header_septets(header_octets: int) -> tuple[int, int]:
    """Septets a user data header takes in GSM-7, and the fill bits after it."""
    septets = (header_octets * 8 + 6) // 7
    return septets, septets * 7 - header_octets * 8


def _encode_user_data(text: str, alphabet: str, concat: Concat | None) -> tuple[int, bytes]:
    header = b""
    if concat is not None:
        header = bytes([5, 0x00, 3, concat.reference & 0xFF, concat.total, concat.seq])
    if alphabet == GSM7:
        septets = gsm7_septets(text) or []
        skip, fill = _header_septets(len(header)) if header else (0, 0)
        return skip + len(septets), header + pack_septets(septets, fill)
    body = text.encode("utf-16-be")
    return len(header) + len(body), header + body


def _parse_header(header: bytes) -> Concat | None:
    r = _Reader(header)
    concat = None
    while True:
        try:
            iei = r.byte()
        except PduError:
            return concat
        data = r.take(r.byte())
        if iei == 0x00 and len(data) == 3:
            concat = Concat(data[0], data[1], data[2])
        elif iei == 0x08 and len(data) == 4:
            concat = Concat(data[0] << 8 | data[1], data[2], data[3])


def _read_user_data(r: _Reader, dcs: int, has_header: bool) -> tuple[str, Concat | None]:
    length = r.byte()
    data = r.rest()
    header = data[: data[0] + 1] if has_header and data else b""
    concat = _parse_header(header[1:]) if header else None
    alphabet = _alphabet(dcs)
    if alphabet == GSM7:
        skip, fill = _header_septets(len(header)) if header else (0, 0)
        septets = unpack_septets(data[len(header) :], length - skip, fill)
        return _septets_to_text(septets), concat
    body = data[len(header) : length]
    if len(body) != length - len(header):
        raise PduError("user data shorter than its length says")
    if alphabet == UCS2:
        if len(body) % 2:
            raise PduError("UCS2 user data of odd length")
        return body.decode("utf-16-be", "surrogatepass"), concat
    return body.decode("latin-1"), concat


# --- messages -------------------------------------------------------------------------


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int = 0,
    message_reference: int = 0,
    validity: int = VALIDITY_24_HOURS,
) -> list[EncodedPdu]:
    """The SMS-SUBMIT PDUs that send ``text`` to ``number`` ("+8613800138000" goes out as
    an international number, "13800138000" as a national one). ``reference`` is the
    concatenation reference of a long message; it should differ for consecutive long
    messages to one phone."""
    digits = number.removeprefix("+")
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("not a phone number")
    address = _encode_address(number)
    alphabet, parts = split_message(text)
    dcs = 0x00 if alphabet == GSM7 else 0x08
    pdus = []
    for seq, part in enumerate(parts, 1):
        concat = Concat(reference & 0xFF, len(parts), seq) if len(parts) > 1 else None
        first = 0x01 | 0x10 | (0x40 if concat else 0)  # SUBMIT, relative validity, UDHI
        length, data = _encode_user_data(part, alphabet, concat)
        tpdu = bytes([first, message_reference & 0xFF]) + address
        tpdu += bytes([0x00, dcs, validity, length]) + data
        pdus.append(EncodedPdu(("00" + tpdu.hex()).upper(), len(tpdu)))
    return pdus


def decode_submit(pdu: str, *, with_smsc: bool = True) -> Submit:
    """Decode an SMS-SUBMIT (what a modem is asked to send)."""
    r = _reader(pdu)
    if with_smsc:
        _read_smsc(r)
    first = r.byte()
    if first & 0x03 != 0x01:
        raise PduError("not an SMS-SUBMIT")
    reference = r.byte()
    number = _read_address(r)
    r.byte()  # protocol identifier
    dcs = r.byte()
    r.take({0: 0, 2: 1}.get((first >> 3) & 0x03, 7))  # validity period: none, relative, 7
    text, concat = _read_user_data(r, dcs, bool(first & 0x40))
    return Submit(number, text, concat, reference)


def encode_deliver(
    sender: str,
    text: str,
    timestamp: datetime,
    *,
    reference: int = 0,
    smsc: str | None = None,
) -> list[str]:
    """The SMS-DELIVER PDUs (hex, SMSC field first) in which ``text`` from ``sender``
    arrives, one per part: what a modem's SIM holds (the simulator's side)."""
    alphabet, parts = split_message(text)
    dcs = 0x00 if alphabet == GSM7 else 0x08
    head = _encode_smsc(smsc)
    address, scts = _encode_address(sender), _encode_scts(timestamp)
    pdus = []
    for seq, part in enumerate(parts, 1):
        concat = Concat(reference & 0xFF, len(parts), seq) if len(parts) > 1 else None
        first = 0x04 | (0x40 if concat else 0)  # DELIVER, no more messages waiting, UDHI
        length, data = _encode_user_data(part, alphabet, concat)
        tpdu = bytes([first]) + address + bytes([0x00, dcs]) + scts + bytes([length]) + data
        pdus.append((head + tpdu).hex().upper())
    return pdus


def decode_deliver(pdu: str, *, with_smsc: bool = True) -> Deliver:
    """Decode an SMS-DELIVER as ``AT+CMGR`` / ``AT+CMGL`` show it (SMSC field first)."""
    r = _reader(pdu)
    smsc = _read_smsc(r) if with_smsc else None
    first = r.byte()
    if first & 0x03 != 0x00:
        raise PduError("not an SMS-DELIVER")
    sender = _read_address(r)
    r.byte()  # protocol identifier
    dcs = r.byte()
    timestamp = _read_scts(r.take(7))
    text, concat = _read_user_data(r, dcs, bool(first & 0x40))
    return Deliver(sender, text, timestamp, concat, smsc)


def _reader(pdu: str) -> _Reader:
    try:
        return _Reader(bytes.fromhex(pdu.strip()))
    except ValueError as err:
        raise PduError("PDU is not hexadecimal") from err
