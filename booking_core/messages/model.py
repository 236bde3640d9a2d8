"""Text messages (短信): kinds, statuses, what is queued and what the notifier is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..bookings.model import BookingView
from ..events.model import (
    AppealDecided,
    BookingCancelled,
    BookingCompleted,
    BookingConfirmationResent,
    BookingConfirmed,
    BookingCreated,
    BookingLatePaymentRefunded,
    BookingMoved,
    BookingReminderDue,
    CallbackClosed,
    CallBooked,
    CallCodeIssued,
    ComplaintReplied,
    CreditWarned,
    DrawRequestRefused,
    Event,
    OutboxEvent,
    PatientBlacklisted,
    WaitlistClosed,
    WaitlistOffered,
)


class MessageKind(StrEnum):
    """What a message is for (stored with it; reports and the console group by it)."""

    COMMAND = "command"  # a patient's text in
    REPLY = "reply"  # the answer to it
    CONFIRMATION = "confirmation"  # 预约成功
    CHANGE = "change"  # 改约 (the patient's own)
    CANCELLATION = "cancellation"  # 取消
    STOP = "stop"  # 停诊: moved or cancelled by the hospital
    REMINDER = "reminder"  # the day before
    SURVEY = "survey"  # 满意度调查, after the visit
    COMPLAINT = "complaint"  # 投诉处理结果: the outcome of the patient's complaint
    CODE = "code"  # 验证码: a phone caller asked to hear or cancel the patient's bookings
    CALLBACK = "callback"  # 回拨未接通: a call-back could not reach the caller
    CREDIT = "credit"  # 信用: a strike's warning, or a ladder ban that starts
    APPEAL = "appeal"  # 申诉结果: the decision on the patient's appeal against a ban
    DRAW = "draw"  # 放号抽签结果: a request queued at release was not booked by its draw
    WAITLIST = "waitlist"  # 候补: a place offered (confirm by the deadline), or the line closed


HOSPITAL_INITIATED = frozenset({MessageKind.STOP, MessageKind.REMINDER, MessageKind.SURVEY})
"""Notices an opted-out phone does not get (the answers to a patient's own actions still go)."""


class MessageStatus(StrEnum):
    """Where a message is (stored with it; a delivery report only moves it forward)."""

    RECEIVED = "received"  # in: stored, being answered
    ANSWERED = "answered"  # in: the reply is stored
    QUEUED = "queued"  # out: waiting for its gateway
    ACCEPTED = "accepted"  # out: Twilio's messaging service took it, before its own queue
    SENDING = "sending"  # out: handed to the gateway; not yet known to have left
    SENT = "sent"  # out: the gateway took it
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    SKIPPED = "skipped"  # out: never sent (opted out); kept so nobody wonders


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A notice to send. ``key`` makes it once-only (the same key is never queued twice);
    ``skip`` is why it will not be sent at all (kept in the log as ``skipped``)."""

    key: str
    gateway: str
    phone: str
    body: str
    kind: MessageKind
    hospital_id: int | None = None
    booking_no: str | None = None
    event_id: int | None = None
    skip: str | None = None


NOTICE_EVENTS: tuple[type[Event], ...] = (
    BookingCreated,
    BookingConfirmed,
    BookingCancelled,
    BookingMoved,
    BookingReminderDue,
    BookingCompleted,
    BookingConfirmationResent,
    BookingLatePaymentRefunded,
    CallBooked,
    CallCodeIssued,
    CallbackClosed,
    ComplaintReplied,
    CreditWarned,
    PatientBlacklisted,  # the credit ladder's bans only (the notifier's kind_of)
    AppealDecided,
    DrawRequestRefused,
    WaitlistOffered,
    WaitlistClosed,
)
"""Events somebody is told of by text; the others are marked done untouched."""


@dataclass(frozen=True, slots=True)
class Recipient:
    phone: str
    phone_index: str
    opted_out: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """An outbox event as the notifier needs it: the row, what happened (its typed event;
    None for a topic this engine does not know), the booking it is about (None when it is
    gone or not a booking event) and who is told (none: the event is just marked done)."""

    event: OutboxEvent
    happened: Event | None
    booking: BookingView | None
    patient_name: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True, slots=True)
class InboundClaim:
    """What :class:`~booking_core.messages.ReceiveMessage` found: ``won`` when
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
    kind: MessageKind
    status: MessageStatus
    attempts: int
    parts: int
    booking_no: str | None
    provider_id: str | None
    error: str | None
    created_at: datetime
