"""The ticket (取号凭条) a kiosk prints: the ``print_ticket`` job's payload, field by field
as docs/kiosk-protocol.md gives it, and the job itself."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..bookings.model import BookingView
from ..catalogue.repo import hospital_by_id
from ..kernel.identity import mask_name
from ..kernel.unit import Tx, Unit, from_epoch, one, val
from .model import ChargeResult, JobKind, Kiosk, KioskJob
from .repo import queue_job

EMPTY = "—"
"""Printed for a field the hospital left empty (a room not given): the kiosk refuses an
empty line, and a dash tells the patient there is nothing to read there."""

METHOD_WORDS = {"balance": "预交金", "cash": "现金", "card": "银行卡"}
"""How a payment method is printed on the ticket."""

UNPAID = "待缴费"  # booked without paying first: paid at the window before the visit
FREE = "免费"


def paid_by(fee: int, paid: int, method: str | None, card: str | None = None) -> str:
    """How the fee was paid, as printed: 银行卡 尾号0123, 预交金, 现金, 待缴费 or 免费.
    ``card`` is the card as the terminal masked it (its last 4 digits are printed)."""
    if fee <= 0:
        return FREE
    if paid < fee:
        return UNPAID
    words = METHOD_WORDS.get(method or "", "已支付")
    digits = "".join(ch for ch in card or "" if ch.isdigit())
    if method == "card" and len(digits) >= 4:
        return f"{words} 尾号{digits[-4:]}"
    return words


def printable(text: str) -> str:
    """One line of a ticket: no control character (it would be a printer command), never
    empty."""
    kept = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in text
    )
    return " ".join(kept.split()) or EMPTY


def ticket_payload(
    view: BookingView, hospital_name: str, tz: str, paid_words: str
) -> dict[str, Any]:
    """The ``print_ticket`` payload of a checked-in booking: the patient's name masked
    (张*: tickets are left on trays), times hospital-local, the fee in fen."""
    b = view.booking
    assert b.queue_no is not None, "a ticket is printed for a checked-in booking"
    return {
        "hospital": printable(hospital_name),
        "department": printable(view.department_name),
        "doctor": printable(view.doctor_name),
        "doctor_title": printable(view.doctor_title),
        "room": printable(view.room),
        "day": b.day.isoformat(),
        "start": view.start.strftime("%H:%M"),
        "end": view.end.strftime("%H:%M"),
        "queue_no": b.queue_no,
        "booking_no": b.booking_no,
        "masked_name": printable(mask_name(view.patient_name.strip()) or "*"),
        "fee": b.fee,
        "paid_by": printable(paid_words),
        "tz": tz,
    }


def _paying_card(booking_id: int) -> Unit[str | None]:
    """The card (as the terminal masked it) of the kiosk charge that paid the booking."""
    row = yield one(
        "SELECT detail FROM kiosk_jobs WHERE booking_id = ? AND kind = 'charge' AND result = ? "
        "ORDER BY id DESC LIMIT 1",
        booking_id,
        str(ChargeResult.PAID),
    )
    if row is None or not row["detail"]:
        return None
    card: Any = json.loads(row["detail"]).get("card")
    return card if isinstance(card, str) else None


def queue_ticket(tx: Tx, kiosk: Kiosk, view: BookingView) -> Unit[KioskJob]:
    """A ``print_ticket`` job of ``view`` (checked in) for ``kiosk``. It expires when the
    session ends: a ticket printed after that sends nobody anywhere."""
    b = view.booking
    hospital = yield from hospital_by_id(b.hospital_id)
    method = yield val("SELECT pay_method FROM bookings WHERE id = ?", b.id)
    card = (yield from _paying_card(b.id)) if method == "card" else None
    payload = ticket_payload(
        view, hospital.name, hospital.timezone, paid_by(b.fee, b.paid, method, card)
    )
    ends_at = yield val("SELECT ends_at FROM sessions WHERE id = ?", b.session_id)
    return (
        yield from queue_job(
            tx,
            kiosk,
            JobKind.PRINT_TICKET,
            payload,
            booking=(b.id, b.booking_no),
            expires_at=from_epoch(ends_at),
        )
    )
