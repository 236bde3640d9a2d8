"""The HIS's own SIU messages (HIS 发来的 SIU: 窗口取号、缴费、退号) and the ACKs that answer
them: pure, no I/O. :mod:`.inbound` is the listener that reads them and acts.

What is taken (``docs/hl7.md``, "From the HIS: S14 and S15")::

    SIU^S14  SCH-1 (or SCH-2) the booking number, SCH-6 what happened at the window:
             checked_in  → the check-in, under MSH-10 as its reference
             paid        → the payment; an NTE says how: amount=5000;method=cash
                           (reference=<the till's receipt>, optional: else MSH-10)
    SIU^S15  SCH-1 (or SCH-2) the booking number → cancelled by the hospital

The words are the ones the engine's own S14 uses (:mod:`.messages`: SCH-6 ``checked_in``,
``paid``; the NTE :func:`~.messages.payment_note`, ``method=…;amount=…``), so the two
directions read alike.

:func:`read_header` and :func:`read_request` raise :class:`Unacceptable` for a message
that cannot be taken as it is (an AR: HL7 table 0357's code, where, and why);
:func:`build_ack` writes the answer. No value from the message is put into the words of a
refusal (they are logged): a huge or personal field is named, never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import hl7

from booking_core.kernel.identity import is_booking_no

from .messages import CHARSET, SENDING_APPLICATION, VERSION, escape
from .mllp import field_text

MAX_REFERENCE_CHARS = 100  # as the API's reference (PayIn, CheckInIn): a receipt number
MAX_FEN = 100_000_000  # a million yuan, as the API's limit: above it is a typing error
METHODS = ("cash", "card")  # paid at the window: the till or the card terminal
FEN = re.compile(r"[0-9]{1,9}", re.ASCII)
BOOKING_NO = re.compile(r"[0-9]{9}", re.ASCII)  # str.isdigit() would take ² and ١
NOTE_KEYS = ("amount", "method", "reference")

ERROR_WORDS = {  # HL7 table 0357
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}


class Action(StrEnum):
    """What happened at the window, in the words of SCH-6 (and of the engine's own S14)."""

    CHECK_IN = "checked_in"  # 取号
    PAY = "paid"  # 缴费
    CANCEL = "cancelled"  # 退号 (S15)


@dataclass(frozen=True, slots=True)
class Header:
    """What an ACK needs of the message it answers."""

    control_id: str  # MSH-10, "" when the message has none
    trigger: str  # MSH-9.2
    sending_application: str  # MSH-3 (the ACK's MSH-5)
    sending_facility: str  # MSH-4 (the ACK's MSH-6)


@dataclass(frozen=True, slots=True)
class WindowRequest:
    """One act at the window, read from an S14 or S15."""

    action: Action
    booking_no: str
    method: str | None = None  # paid: cash or card
    amount: int | None = None  # paid: fen
    reference: str | None = None  # paid: the NTE's, else the control id


@dataclass(frozen=True, slots=True)
class AckError:
    """The ERR segment: HL7's code (table 0357), where (``SCH^1^1``), the core's own code
    (ERR-5) and the words (MSA-3 and ERR-8)."""

    code: str
    words: str
    location: str = ""
    app_code: str = ""


class Unacceptable(Exception):
    """The message cannot be taken as it is: an AR naming why."""

    def __init__(self, code: str, words: str, location: str = "") -> None:
        super().__init__(words)
        self.error = AckError(code, words, location)


def read_header(text: str) -> tuple[hl7.Message, Header]:
    """The parsed message and its header; :class:`Unacceptable` when it is not an HL7
    message at all, or not one this listener takes (SIU S14 or S15)."""
    text = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r")
    if not text.startswith("MSH"):
        raise Unacceptable("100", "the message does not begin with an MSH segment")
    try:
        message = hl7.parse(text)
    except Exception as err:  # the parser's own errors are many (IndexError, ParseException …)
        raise Unacceptable("100", f"not an HL7 v2 message ({type(err).__name__})") from None
    header = Header(
        control_id=field_text(message, "MSH", 10),
        trigger=field_text(message, "MSH", 9, 2),
        sending_application=field_text(message, "MSH", 3),
        sending_facility=field_text(message, "MSH", 4),
    )
    if not header.control_id:
        raise Unacceptable("101", "MSH-10 (message control id) is missing", "MSH^1^10")
    if len(header.control_id) > MAX_REFERENCE_CHARS:
        raise Unacceptable(
            "102", f"MSH-10 is longer than {MAX_REFERENCE_CHARS} characters", "MSH^1^10"
        )
    kind = field_text(message, "MSH", 9, 1)
    if kind != "SIU":
        raise Unacceptable("200", "only SIU messages are taken here (S14, S15)", "MSH^1^9")
    if header.trigger not in ("S14", "S15"):
        raise Unacceptable("201", "only SIU S14 and S15 are taken here", "MSH^1^9")
    return message, header


def read_request(message: hl7.Message, header: Header) -> WindowRequest:
    """What the S14 or S15 asks for; :class:`Unacceptable` naming the field that is missing
    or wrong."""
    booking_no = _booking_no(message)
    if header.trigger == "S15":
        return WindowRequest(Action.CANCEL, booking_no)
    reason = field_text(message, "SCH", 6).strip().lower()
    if not reason:
        raise Unacceptable("101", "SCH-6 (event reason: checked_in or paid) is missing", "SCH^1^6")
    if reason == Action.CHECK_IN:
        return WindowRequest(Action.CHECK_IN, booking_no)
    if reason != Action.PAY:
        raise Unacceptable("102", "SCH-6 must be checked_in or paid", "SCH^1^6")
    note = read_note(message)
    method = note.get("method", "").lower()
    if not method:
        raise Unacceptable("101", "the NTE has no method= (cash or card)", "NTE")
    if method not in METHODS:
        raise Unacceptable("102", "method must be cash or card", "NTE")
    amount = note.get("amount", "")
    if not amount:
        raise Unacceptable("101", "the NTE has no amount= (fen)", "NTE")
    if not FEN.fullmatch(amount) or int(amount) > MAX_FEN:
        raise Unacceptable("102", f"amount must be whole fen, 0 to {MAX_FEN}", "NTE")
    reference = note.get("reference") or header.control_id
    if len(reference) > MAX_REFERENCE_CHARS:
        raise Unacceptable(
            "102", f"reference is longer than {MAX_REFERENCE_CHARS} characters", "NTE"
        )
    return WindowRequest(Action.PAY, booking_no, method, int(amount), reference)


def _booking_no(message: hl7.Message) -> str:
    for index in (1, 2):  # the placer's id, else the filler's (the engine is both)
        value = field_text(message, "SCH", index).strip()
        if value:
            where = f"SCH^1^{index}"
            if not (BOOKING_NO.fullmatch(value) and is_booking_no(value)):
                raise Unacceptable(
                    "102", f"SCH-{index} is not a booking number (9 digits with its check digit)",
                    where,
                )  # fmt: skip
            return value
    raise Unacceptable("101", "SCH-1 (the booking number) is missing", "SCH^1^1")


def read_note(message: hl7.Message) -> dict[str, str]:
    """The ``key=value;…`` pairs (amount, method, reference) of the first NTE that has
    any; other NTEs, and other words in it, are a person's notes and left alone."""
    try:
        count = len(message.segments("NTE"))
    except KeyError:
        return {}
    for nth in range(1, count + 1):
        pairs: dict[str, str] = {}
        for piece in field_text(message, "NTE", 3, nth=nth).split(";"):
            key, sep, value = piece.partition("=")
            key = key.strip().lower()
            if sep and key in NOTE_KEYS and key not in pairs:
                pairs[key] = value.strip()
        if pairs:
            return pairs
    return {}


def build_ack(
    code: str,
    header: Header | None,
    *,
    hospital_code: str,
    control_id: str,
    sent_at: datetime,
    text: str = "",
    error: AckError | None = None,
) -> str:
    """An original-mode ACK: MSA-1 ``code`` (AA, AE, AR) for ``header``'s message (an empty
    MSA-2 when it could not be read), the words in MSA-3, and an ERR when ``error``."""
    trigger = header.trigger if header else ""
    msh = "|".join(
        [
            "MSH",
            "^~\\&",
            SENDING_APPLICATION,
            escape(hospital_code),
            escape(header.sending_application if header else ""),
            escape(header.sending_facility if header else ""),
            sent_at.strftime("%Y%m%d%H%M%S%z"),
            "",
            f"ACK^{escape(trigger)}^ACK" if trigger else "ACK",
            escape(control_id),
            "P",
            VERSION,
            "",
            "",
            "",
            "",
            "CHN",
            CHARSET,
        ]
    )
    words = error.words if error and not text else text
    segments = [msh, f"MSA|{code}|{escape(header.control_id if header else '')}|{escape(words)}"]
    if error is not None:
        hl7_error = f"{error.code}^{escape(ERROR_WORDS.get(error.code, 'Error'))}^HL70357"
        app = f"{escape(error.app_code)}^^GUAHAO" if error.app_code else ""
        segments.append(
            f"ERR||{error.location}|{hl7_error}|E|{app}|||{escape(error.words)}"
        )  # fmt: skip
    return "\r".join(segments) + "\r"
