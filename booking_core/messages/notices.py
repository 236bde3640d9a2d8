"""What a notifier is told about an event: :func:`claim_notices` leases outbox events
with the booking and the phones to tell (decrypted only here, for the sender)."""

from __future__ import annotations

from ..bookings.repo import view_by_no
from ..events.model import (
    BookingEvent,
    CallbackClosed,
    CallBooked,
    CallCodeIssued,
    ComplaintReplied,
    OutboxEvent,
    WaitlistClosed,
    decode,
)
from ..events.outbox import claim
from ..kernel.errors import NotFound
from ..kernel.pii import Cipher
from ..kernel.unit import Tx, Unit, one
from .model import NOTICE_EVENTS, Notice, Recipient


def claim_notices(
    tx: Tx, consumer: str, cipher: Cipher, limit: int = 50, lease_seconds: int = 60
) -> Unit[list[Notice]]:
    events = yield from claim(tx, consumer, limit, lease_seconds)
    notices: list[Notice] = []
    for event in events:
        notices.append((yield from _notice(event, cipher)))
    return notices


def _notice(event: OutboxEvent, cipher: Cipher) -> Unit[Notice]:
    happened = decode(event)
    if not isinstance(happened, NOTICE_EVENTS):
        return Notice(event, happened, None, "", ())
    if isinstance(happened, ComplaintReplied):  # the outcome, to the number that complained
        recipients = yield from _recipients(cipher, happened.caller_enc)
        return Notice(event, happened, None, "", recipients)
    if isinstance(happened, CallCodeIssued):  # to the patient's own phone, never the caller's
        recipients = yield from _recipients(cipher, happened.phone_enc)
        return Notice(event, happened, None, "", recipients)
    if isinstance(happened, CallbackClosed):  # to the number that asked to be called back
        recipients = yield from _recipients(cipher, happened.phone_enc)
        return Notice(event, happened, None, "", recipients)
    if isinstance(happened, WaitlistClosed):  # 候补: to the patient's phone when it closed
        recipients = yield from _recipients(cipher, happened.phone_enc)
        return Notice(event, happened, None, "", recipients)
    assert isinstance(happened, BookingEvent | CallBooked)  # the other NOTICE_EVENTS
    try:
        view = yield from view_by_no(happened.booking_no)
    except NotFound:
        return Notice(event, happened, None, "", ())
    patient = yield one(
        "SELECT name, phone_enc, phone_index FROM patients WHERE id = ?", view.booking.patient_id
    )
    if isinstance(happened, CallBooked):  # the number that called, when it can take texts
        phone_enc = happened.caller_enc
    else:
        phone_enc = patient["phone_enc"] if patient is not None else None
    recipients = yield from _recipients(cipher, phone_enc)
    return Notice(event, happened, view, patient["name"] if patient else "", recipients)


def _recipients(cipher: Cipher, phone_enc: str | None) -> Unit[tuple[Recipient, ...]]:
    """The phone behind ``phone_enc`` (none when there is none), with its opt-out."""
    if not phone_enc:
        return ()
    phone = cipher.decrypt(phone_enc, context="phone")
    index = cipher.blind_index(phone, context="phone")
    out = yield one("SELECT 1 AS x FROM sms_opt_outs WHERE phone_index = ?", index)
    return (Recipient(phone, index, out is not None),)
