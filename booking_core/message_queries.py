"""The read side of text messages (短信), and what a notifier is told about an event.

:func:`claim_notices` is the notifier's one write: it leases outbox events and, for each,
says who must hear of it (phones decrypted, opt-outs looked up) and what about.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import outbox
from .domain import Actor, BookingView, OutboxEvent
from .errors import NotFound
from .pii import Cipher
from .repo.bookings import view_by_no
from .store.base import Query, Tx, from_epoch, one, rows

Gen = Generator[Query, Any, Any]

NOTICE_TOPICS = (
    "booking.created",
    "booking.confirmed",
    "booking.cancelled",
    "booking.moved",
    "booking.reminder",
    "booking.completed",
    "call.booked",
    "call.code",
    "complaint.replied",
)
"""Events somebody is told of by text; the others are marked done untouched."""


@dataclass(frozen=True, slots=True)
class Recipient:
    phone: str
    phone_index: str
    opted_out: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """An outbox event as the notifier needs it: the booking it is about (None when it is
    gone or not a booking event) and who is told (none: the event is just marked done)."""

    event: OutboxEvent
    booking: BookingView | None
    patient_name: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class InboundClaim:
    """What :class:`~booking_core.message_commands.ReceiveMessage` found: ``won`` when
    this delivery is the first (answer it); else the reply stored for it (None: the first
    delivery is still being answered)."""

    won: bool
    message_id: int
    reply: str | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outgoing message leased to a gateway's sender. ``resumed``: an earlier attempt
    began at ``sending_since`` (its sender died, or its answer was lost), so the message
    may have left already: ask the gateway before sending it again."""

    id: int
    key: str
    phone: str
    body: str
    attempts: int
    resumed: bool
    sending_since: datetime | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as the log shows it (phone masked)."""

    id: int
    direction: str
    gateway: str
    phone_masked: str
    body: str
    kind: str
    status: str
    attempts: int
    parts: int
    booking_no: str | None
    provider_id: str | None
    error: str | None
    created_at: datetime


def claim_notices(
    tx: Tx, consumer: str, cipher: Cipher, limit: int = 50, lease_seconds: int = 60
) -> Gen:
    events = yield from outbox.claim(tx, consumer, limit, lease_seconds)
    notices: list[Notice] = []
    for event in events:
        notices.append((yield from _notice(event, cipher)))
    return notices


def _notice(event: OutboxEvent, cipher: Cipher) -> Gen:
    if event.topic not in NOTICE_TOPICS:
        return Notice(event, None, "", ())
    if event.topic == "complaint.replied":  # the outcome, to the number that complained
        recipients = yield from _recipients(cipher, event.payload.get("caller_enc"))
        return Notice(event, None, "", recipients)
    if event.topic == "call.code":  # to the patient's own phone, never the caller's
        recipients = yield from _recipients(cipher, event.payload.get("phone_enc"))
        return Notice(event, None, "", recipients)
    booking_no = event.payload.get("booking_no") or event.key
    try:
        view = yield from view_by_no(booking_no)
    except NotFound:
        return Notice(event, None, "", ())
    patient = yield one(
        "SELECT name, phone_enc, phone_index FROM patients WHERE id = ?", view.booking.patient_id
    )
    if event.topic == "call.booked":  # the number that called, when it can take texts
        phone_enc = event.payload.get("caller_enc")
    else:
        phone_enc = patient["phone_enc"] if patient is not None else None
    recipients = yield from _recipients(cipher, phone_enc)
    return Notice(event, view, patient["name"] if patient else "", recipients)


def _recipients(cipher: Cipher, phone_enc: str | None) -> Gen:
    """The phone behind ``phone_enc`` (none when there is none), with its opt-out."""
    if not phone_enc:
        return ()
    phone = cipher.decrypt(phone_enc, context="phone")
    index = cipher.blind_index(phone, context="phone")
    out = yield one("SELECT 1 AS x FROM sms_opt_outs WHERE phone_index = ?", index)
    return (Recipient(phone, index, out is not None),)


def messages(
    tx: Tx,
    actor: Actor,
    *,
    booking_no: str | None = None,
    phone_index: str | None = None,
    direction: str | None = None,
    limit: int = 100,
) -> Gen:
    """The message log, newest first (a hospital operator sees their hospital's only)."""
    where, args = ["1 = 1"], []
    if actor.hospital_id is not None:
        where.append("hospital_id = ?")
        args.append(actor.hospital_id)
    if booking_no:
        where.append("booking_no = ?")
        args.append(booking_no)
    if phone_index:
        where.append("phone_index = ?")
        args.append(phone_index)
    if direction:
        where.append("direction = ?")
        args.append(direction)
    found = yield rows(
        f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        *args,
        limit,
    )
    return [_record(r) for r in found]


def _record(r) -> MessageRecord:
    return MessageRecord(
        id=r["id"],
        direction=r["direction"],
        gateway=r["gateway"],
        phone_masked=r["phone_masked"],
        body=r["body"],
        kind=r["kind"],
        status=r["status"],
        attempts=r["attempts"],
        parts=r["parts"],
        booking_no=r["booking_no"],
        provider_id=r["provider_id"],
        error=r["error"],
        created_at=from_epoch(r["created_at"]),
    )


def inbound_reply(tx: Tx, message_id: int) -> Gen:
    """The reply stored for a received message (None: not answered yet)."""
    row = yield one("SELECT reply FROM messages WHERE id = ?", message_id)
    return row["reply"] if row else None


def opted_out(tx: Tx, phone_index: str) -> Gen:
    row = yield one("SELECT 1 AS x FROM sms_opt_outs WHERE phone_index = ?", phone_index)
    return row is not None
