"""What a notifier is told about an event: :func:`claim_notices` leases outbox events
with the booking and the phones to tell (decrypted only here, for the sender)."""

from __future__ import annotations

from ..bookings.repo import view_by_no
from ..events.model import (
    AppealDecided,
    BookingCreated,
    BookingEvent,
    CallbackClosed,
    CallBooked,
    CallCodeIssued,
    ComplaintReplied,
    CreditWarned,
    DrawRequestRefused,
    OutboxEvent,
    PatientBlacklisted,
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
    if isinstance(happened, CreditWarned | PatientBlacklisted | AppealDecided):  # the patient's
        patient = yield one(
            "SELECT name, phone_enc FROM patients WHERE id = ?", happened.patient_id
        )
        recipients = yield from _recipients(cipher, patient["phone_enc"] if patient else None)
        return Notice(event, happened, None, patient["name"] if patient else "", recipients)
    if isinstance(happened, DrawRequestRefused):  # to the phone that asked, else the patient's
        phone_enc = happened.phone_enc
        patient = yield one("SELECT phone_enc FROM patients WHERE id = ?", happened.patient_id)
        if not phone_enc and patient is not None:
            phone_enc = patient["phone_enc"]
        recipients = yield from _recipients(cipher, phone_enc)
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
    if isinstance(happened, BookingCreated) and happened.drawn:
        recipients += yield from _drawn_booker(cipher, happened.booking_no, recipients)
    return Notice(event, happened, view, patient["name"] if patient else "", recipients)


def _drawn_booker(
    cipher: Cipher, booking_no: str, told: tuple[Recipient, ...]
) -> Unit[tuple[Recipient, ...]]:
    """A release draw's booking (公平放号) is told to the phone that asked too (a relative,
    a caller), as its refusal would have been: "we will text you the result" was said there."""
    asked = yield one(
        "SELECT booker_phone_enc FROM release_requests WHERE booking_no = ?", booking_no
    )
    if asked is None:
        return ()
    extra = yield from _recipients(cipher, asked["booker_phone_enc"])
    return tuple(r for r in extra if r.phone_index not in {t.phone_index for t in told})


def _recipients(cipher: Cipher, phone_enc: str | None) -> Unit[tuple[Recipient, ...]]:
    """The phone behind ``phone_enc`` (none when there is none), with its opt-out."""
    if not phone_enc:
        return ()
    phone = cipher.decrypt(phone_enc, context="phone")
    index = cipher.blind_index(phone, context="phone")
    out = yield one("SELECT 1 AS x FROM sms_opt_outs WHERE phone_index = ?", index)
    return (Recipient(phone, index, out is not None),)
