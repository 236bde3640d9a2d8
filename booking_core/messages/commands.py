"""Commands for text messages (短信): in and out, delivery reports, opt-outs, surveys,
reminders."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.unit import Command
from .model import Claimed, InboundClaim, MessageStatus, OutgoingMessage


@dataclass(frozen=True, kw_only=True)
class ReceiveMessage(Command[InboundClaim]):
    """A text came in (上行短信). Stored once per (gateway, provider id): a gateway's retry
    finds the first delivery and its stored reply."""

    gateway: str
    provider_id: str
    hospital_code: str
    phone: str
    body: str


@dataclass(frozen=True, kw_only=True)
class AnswerMessage(Command[str]):
    """The reply to a received text: stored on it and logged as an outgoing message,
    ``queued`` for the gateway's sender (``send``) or already answered inline (Twilio's
    TwiML ``<Message>``)."""

    message_id: int
    reply: str
    send: bool
    booking_no: str | None = None


@dataclass(frozen=True, kw_only=True)
class QueueMessages(Command[int]):
    """Notices worked out from outbox events, queued, and those events marked done for
    ``consumer``, in one transaction: an event becomes its messages exactly once."""

    consumer: str
    event_ids: tuple[int, ...]
    messages: tuple[OutgoingMessage, ...]


@dataclass(frozen=True, kw_only=True)
class ClaimOutgoing(Command[list[Claimed]]):
    """Up to ``limit`` due messages of ``gateway``, leased to the caller and marked
    ``sending`` (one tried before comes back ``resumed``: it may have left)."""

    gateway: str
    limit: int = 10
    lease_seconds: int = 120


@dataclass(frozen=True, kw_only=True)
class MarkSent(Command[int]):
    """The gateway took the message; its status (Twilio's "queued", "accepted" …) is
    recorded as ``sent`` unless it says more (``delivered``)."""

    message_id: int
    provider_id: str | None
    parts: int = 1
    status: str = MessageStatus.SENT


@dataclass(frozen=True, kw_only=True)
class MarkFailed(Command[int]):
    """A send failed: try again in ``retry_in_seconds``, or (None) give up."""

    message_id: int
    error: str
    retry_in_seconds: int | None


@dataclass(frozen=True, kw_only=True)
class UpdateDelivery(Command[int]):
    """A gateway's delivery report (Twilio's status callback). Moves a message's status
    forward only: a late ``sent`` never overwrites ``delivered``."""

    gateway: str
    provider_id: str
    status: str
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class SetOptOut(Command[bool]):
    """退订 / 订阅: this phone gets no reminders, surveys or hospital notices (or again)."""

    phone: str
    opted_out: bool


@dataclass(frozen=True, kw_only=True)
class KeepUndecodable(Command[int]):
    """A message a gateway received and cannot decode (a GSM modem's PDU): kept,
    encrypted, once per PDU, so the gateway can delete it from the SIM."""

    gateway: str
    pdu: str
    error: str


@dataclass(frozen=True, kw_only=True)
class CountRegistration(Command[int]):
    """A ``ZC`` from this phone is about to be tried: counted (in a unit of its own, so a
    refused registration counts too), or refused with ``LimitReached`` once the phone has
    tried ``sms_registrations_per_day`` times today (the hospital's local day)."""

    hospital_code: str
    phone: str


@dataclass(frozen=True, kw_only=True)
class AnswerSurvey(Command[str]):
    """A 1–5 reply to the latest unanswered survey sent to this phone (满意度)."""

    phone: str
    score: int


@dataclass(frozen=True, kw_only=True)
class QueueReminders(Command[int]):
    """The day-before reminders (就诊提醒): at or after ``hour`` hospital-local time, one
    ``booking.reminder`` event per active booking of tomorrow, never two for a booking."""

    hour: int
