"""Each job kind's payload, as the kiosk reads it (docs/kiosk-protocol.md, "Jobs"): the
envelope is :func:`hardware.protocol.read_job`'s, the payload is checked here.

Pure. A payload that does not fit its kind raises :class:`BadPayload` saying what is wrong
(a field missing, of the wrong type, a control character in a text, a name not masked);
the job is then acked ``failed`` / ``bad_payload``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from hardware.devices.ticket import Ticket


class BadPayload(ValueError):
    """A job's payload does not fit its kind (a field missing, of the wrong type, or
    refused by the ticket's own checks)."""


def _field(payload: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = payload.get(name)
    if value is None and optional:
        return None
    if type(value) is not kind:  # bool is no int here
        raise BadPayload(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _text(payload: dict[str, Any], name: str, *, optional: bool = False) -> str:
    value = _field(payload, name, str, optional=optional)
    if value is not None and any(unicodedata.category(c) == "Cc" for c in value):
        raise BadPayload(f"{name} has a control character")
    return value


def _amount(payload: dict[str, Any], name: str = "amount") -> int:
    amount = _field(payload, name, int)
    if amount <= 0:
        raise BadPayload(f"{name} must be a positive number of fen")
    return amount


def parse_ticket(payload: dict[str, Any], printed_at: datetime) -> Ticket:
    """The ticket of a ``print_ticket`` job; ``printed_at`` is now (the kiosk's clock)."""
    try:
        start, end = (_hhmm(_text(payload, name)) for name in ("start", "end"))
        tz = _text(payload, "tz", optional=True) or "Asia/Shanghai"
        return Ticket(
            hospital=_text(payload, "hospital"),
            department=_text(payload, "department"),
            doctor=_text(payload, "doctor"),
            doctor_title=_text(payload, "doctor_title"),
            room=_text(payload, "room"),
            day=date.fromisoformat(_text(payload, "day")),
            start=start,
            end=end,
            queue_no=_field(payload, "queue_no", int),
            booking_no=_text(payload, "booking_no"),
            masked_name=_text(payload, "masked_name"),
            fee=_field(payload, "fee", int),
            paid_by=_text(payload, "paid_by"),
            printed_at=printed_at,
            tz=tz,
        )
    except BadPayload:
        raise
    except ValueError as err:  # the Ticket's own checks, a date that is none
        raise BadPayload(str(err)) from err


def _hhmm(value: str) -> time:
    if not re.fullmatch(r"\d\d:\d\d", value):
        raise BadPayload(f"a time is HH:MM, not {value!r}")
    return time.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Charge:
    amount: int
    purpose: str
    booking_no: str | None
    card_no: str | None


def parse_charge(payload: dict[str, Any]) -> Charge:
    purpose = _text(payload, "purpose")
    if purpose not in ("booking", "top_up"):
        raise BadPayload(f"purpose must be booking or top_up, not {purpose[:20]!r}")
    booking_no = _text(payload, "booking_no", optional=True)
    card_no = _text(payload, "card_no", optional=True)
    if not (booking_no if purpose == "booking" else card_no):
        raise BadPayload("a booking charge names its booking_no, a top-up its card_no")
    return Charge(_amount(payload), purpose, booking_no, card_no)


def parse_reversal(payload: dict[str, Any]) -> str:
    """The terminal reference of the charge to reverse."""
    reference = _text(payload, "terminal_ref")
    if not reference:
        raise BadPayload("terminal_ref is empty")
    return reference


def parse_refund(payload: dict[str, Any]) -> tuple[int, str]:
    """The amount and the terminal reference of the charge it comes from."""
    return _amount(payload), parse_reversal(payload)


MESSAGE_SECONDS_MAX = 120


def parse_message(payload: dict[str, Any]) -> tuple[str, float]:
    """The text of a ``show_message`` job and how long it stays (1-120 s; 10 when left out)."""
    text = _field(payload, "text", str)
    seconds = payload.get("seconds", 10)
    if not text.strip() or len(text) > 500:
        raise BadPayload("text must be 1-500 characters")
    if type(seconds) not in (int, float) or not 1 <= seconds <= MESSAGE_SECONDS_MAX:
        raise BadPayload(f"seconds must be 1-{MESSAGE_SECONDS_MAX}")
    return text, float(seconds)
