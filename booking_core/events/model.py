"""Events (事件): what happened, typed, past tense, and the outbox rows they are kept in.

A unit of work records an :class:`Event` with ``tx.emit(BookingCreated(...))``; the store
writes it to the outbox in the same transaction as the change (its ``topic``, ``hospital_id``,
``key`` and :meth:`Event.payload` as JSON). Consumers read rows back as :class:`OutboxEvent`
and turn them into typed events with :func:`decode`, then match on the type.

Each event type is part of the contract hospital systems read (``docs/events.md``, written
from these classes by :mod:`booking_core.events.document`): its topic never changes, and its
payload only gains fields (with a default, so older rows still decode).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from enum import Enum
from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError

from ..kernel.actor import Channel

log = logging.getLogger(__name__)


def doc(meaning: str, default: Any = MISSING) -> Any:
    """A payload field with its meaning (the docs and the JSON Schema show it)."""
    return field(default=default, metadata={"doc": meaning})


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as the outbox keeps it: the row, its payload as stored (JSON)."""

    id: int
    topic: str  # booking.created, booking.cancelled, slot.changed ...
    hospital_id: int | None
    key: str  # the aggregate: a booking number, a slot id ...
    payload: dict[str, Any] = field(hash=False)
    created_at: datetime
    attempts: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Something that happened. ``topic`` names it in the outbox (and in the audit log, when
    the act is audited too); ``key`` is the aggregate it is about, read from the payload
    field ``key_field``; ``hospital_id`` travels beside the payload, not in it."""

    topic: ClassVar[str]
    key_field: ClassVar[str]

    hospital_id: int | None = doc("The hospital the event belongs to (null: platform-wide)")

    @property
    def key(self) -> str:
        return str(getattr(self, self.key_field))

    def payload(self) -> dict[str, Any]:
        """The payload as the outbox stores it: JSON values (dates as ISO 8601 text)."""
        return {name: _plain(getattr(self, name)) for name in payload_fields(type(self))}


def _plain(value: Any) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


_PAYLOAD_FIELDS: dict[type[Event], tuple[str, ...]] = {}


def payload_fields(event_type: type[Event]) -> tuple[str, ...]:
    """The names of ``event_type``'s payload fields, in the order the payload lists them."""
    names = _PAYLOAD_FIELDS.get(event_type)
    if names is None:
        names = tuple(f.name for f in fields(event_type) if f.name != "hospital_id")
        _PAYLOAD_FIELDS[event_type] = names
    return names


# --- bookings (预约) -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingEvent(Event):
    """What every booking event carries: the booking as it stands after the change, enough
    for a text or a hospital system without a lookup."""

    key_field: ClassVar[str] = "booking_no"

    booking_no: str = doc("The booking number (预约号): 8 digits and a check digit; the key")
    status: str = doc(
        "The booking's status after the change: held, confirmed, checked_in, completed, "
        "cancelled or no_show"
    )
    patient_id: int = doc("The patient's id in the engine")
    slot_id: int = doc("The slot (号源) the booking holds a place in")
    session_id: int = doc("The session (排班: a doctor's half day) of the slot")
    hospital: str = doc("The hospital's code")
    department: str = doc("The department's code (科室)")
    doctor: str = doc("The doctor's work number (工号)")
    day: date = doc("The day of the visit, hospital-local")
    start: str = doc("When the slot starts, hospital-local HH:MM")
    channel: Channel = doc("Where the booking was made")
    fee: int = doc("The fee, in fen (分)")
    paid: int = doc("What has been paid, in fen (0: nothing yet)")
    queue_no: int | None = doc("The queue number (就诊序号) given at check-in; null before")


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingCreated(BookingEvent):
    """A place was booked (预约成功): held until paid, or confirmed at once."""

    topic: ClassVar[str] = "booking.created"

    held_for: str = doc(
        "What a held booking waits for: payment (预付), or confirmation (a FHIR $hold, "
        "confirmed by $book); empty when it was confirmed at once",
        "",
    )
    drawn: bool = doc(
        "Booked by a release draw (公平放号): the request was queued at release and won its "
        "lot, so the booker is texted even when they asked by text",
        False,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingConfirmed(BookingEvent):
    """A held booking was paid, so it is confirmed (支付确认); or a FHIR $hold was
    confirmed by $book with nothing due first (``method`` none)."""

    topic: ClassVar[str] = "booking.confirmed"

    method: str = doc(
        "How it was paid: balance (预交金), card or cash; none when a hold was confirmed "
        "with nothing due (FHIR $book)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingPaid(BookingEvent):
    """A booking already confirmed (booked without paying first) was paid."""

    topic: ClassVar[str] = "booking.paid"

    method: str = doc("How it was paid: balance (预交金), card or cash")


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingCancelled(BookingEvent):
    """A booking was cancelled (取消) and its place freed; what was paid was refunded."""

    topic: ClassVar[str] = "booking.cancelled"

    reason: str = doc(
        "Why: patient (asked for it), hospital (an operator did it for the hospital), "
        "hold_expired (not paid in time) or session_stopped (停诊)"
    )
    refunded: int = doc("What was refunded, in fen")
    by_channel: Channel = doc("Where the cancellation was asked for (channel: where it was booked)")
    waitlist_offer: bool = doc(
        "Whether the booking was a place offered from the waitlist (候补) and held for the "
        "patient: with hold_expired, the offer lapsed and passed to the next in line",
        False,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingMoved(BookingEvent):
    """A booking was moved to another slot (改约), by the patient or by a doctor stop."""

    topic: ClassVar[str] = "booking.moved"

    from_slot_id: int = doc("The slot it was moved from")
    from_session_id: int = doc("The session it was moved from")
    from_day: date = doc("The day it was moved from, hospital-local")
    reason: str = doc("Why: rescheduled (asked for) or session_stopped (停诊, to a substitute)")
    by_channel: Channel = doc("Where the move was asked for (channel: where it was booked)")


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingCheckedIn(BookingEvent):
    """The patient checked in on the day (取号) and was given a queue number."""

    topic: ClassVar[str] = "booking.checked_in"


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingNoShow(BookingEvent):
    """The session ended and the patient never checked in (爽约)."""

    topic: ClassVar[str] = "booking.no_show"


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingCompleted(BookingEvent):
    """The session of a checked-in booking ended: the visit took place (已就诊)."""

    topic: ClassVar[str] = "booking.completed"


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingReminderDue(BookingEvent):
    """The visit is tomorrow: the day-before reminder is due (once per booking)."""

    topic: ClassVar[str] = "booking.reminder"


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingLatePaymentRefunded(BookingEvent):
    """Money for the booking arrived after its hold had expired (超时支付) and went back the
    way it came: the place was gone, or the hospital refunds late payments (rule
    ``late_payment``). The booking stays cancelled; it was never paid."""

    topic: ClassVar[str] = "booking.late_payment_refunded"

    amount: int = doc("Fen sent back")
    method: str = doc("How it came and goes back: card (a kiosk's terminal reverses it)")


@dataclass(frozen=True, kw_only=True, slots=True)
class BookingConfirmationResent(BookingEvent):
    """The booking's confirmation is to be texted again (补发预约短信), asked for by an
    agent at the caller's request."""

    topic: ClassVar[str] = "booking.confirmation_resent"

    by_channel: Channel = doc("Where the resend was asked for (channel: where it was booked)")


# --- slots and sessions (号源、排班) ---------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SlotChanged(Event):
    """The number of places taken in a slot changed (a booking made, cancelled or moved)."""

    topic: ClassVar[str] = "slot.changed"
    key_field: ClassVar[str] = "slot_id"

    slot_id: int = doc("The slot (号源); the key")
    capacity: int = doc("Places in the slot")
    booked: int = doc("Places taken")
    free: int = doc("Places left (never below 0)")


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionCreated(Event):
    """A session (排班) was published with its slots (放号)."""

    topic: ClassVar[str] = "session.created"
    key_field: ClassVar[str] = "session_id"

    session_id: int = doc("The session; the key")
    doctor: str = doc("The doctor's work number (工号)")
    day: date = doc("The day, hospital-local")
    period: str = doc("morning, afternoon or evening")
    slots: int = doc("How many slots it has")
    places_per_slot: int = doc("Places in each slot")


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionStopped(Event):
    """A session was stopped (停诊): its bookings moved to a substitute or cancelled."""

    topic: ClassVar[str] = "session.stopped"
    key_field: ClassVar[str] = "session_id"

    session_id: int = doc("The session stopped; the key")
    mode: str = doc("move (to the target session) or cancel")
    target_session_id: int | None = doc("The substitute session (null when cancelling)")
    moved: int = doc("Bookings moved")
    cancelled: int = doc("Bookings cancelled")
    reason: str = doc("Why, as the hospital gave it (may be empty)")


# --- release draws (公平放号) ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class DrawRequestRefused(Event):
    """A request queued at release (公平放号) was decided by its draw and not booked: no
    place left for it, or a rule refused it when its turn came. (A request that won is a
    :class:`BookingCreated` with ``drawn`` true.)"""

    topic: ClassVar[str] = "draw.refused"
    key_field: ClassVar[str] = "request_id"

    request_id: int = doc("The queued request; the key")
    patient_id: int = doc("The patient's id in the engine")
    session_id: int = doc("The session (排班) the request was for")
    slot_id: int = doc("The slot (号源) asked for")
    department: str = doc("The department's code (科室)")
    doctor: str = doc("The doctor's work number (工号)")
    department_name: str = doc("The department's name, for the text")
    doctor_name: str = doc("The doctor's name, for the text")
    day: date = doc("The day of the visit asked for, hospital-local")
    start: str = doc("When the slot asked for starts, hospital-local HH:MM")
    refusal: str = doc(
        "Why, as an error code (slot_full: every place went to earlier lots; blacklisted, "
        "limit_reached … : a rule refused it)"
    )
    params: dict[str, Any] = doc("The refusal's details (dates ISO 8601 with their offset)")
    phone_enc: str | None = doc(
        "The phone the request came from, encrypted for the engine's notifier (null: the "
        "patient's own phone is texted)"
    )


# --- patients and the blacklist (患者、黑名单) -----------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientRegistered(Event):
    """A patient was registered under their real name (实名建档)."""

    topic: ClassVar[str] = "patient.registered"
    key_field: ClassVar[str] = "patient_id"

    patient_id: int = doc("The patient's id in the engine; the key")
    card_no: str = doc("The patient's card number (就诊卡号)")


@dataclass(frozen=True, kw_only=True, slots=True)
class PatientBlacklisted(Event):
    """A patient was put on the blacklist (黑名单) by an operator, an import or the
    no-show sweep (爽约 too often)."""

    topic: ClassVar[str] = "patient.blacklisted"
    key_field: ClassVar[str] = "patient_id"

    entry_id: int = doc("The blacklist entry")
    patient_id: int = doc("The patient; the key")
    until: datetime = doc("When the ban ends, with the hospital's UTC offset")
    reason: str = doc("Why, in words")
    source: str = doc(
        "Who decided: admin (an operator, or a file one imported), his (the hospital's "
        "system), no_show (the fixed no-show rule) or credit (the credit ladder, 信用)"
    )
    strike: int | None = doc(
        "The credit ladder's strike that gave the ban (its number in the period); null: "
        "not the ladder's",
        None,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class BanLifted(Event):
    """A blacklist entry was lifted before its end (解除)."""

    topic: ClassVar[str] = "patient.ban_lifted"
    key_field: ClassVar[str] = "patient_id"

    entry_id: int = doc("The blacklist entry lifted")
    patient_id: int = doc("The patient; the key")


@dataclass(frozen=True, kw_only=True, slots=True)
class CreditWarned(Event):
    """The credit ladder (信用) warned a patient: a strike whose step is a warning, not a
    ban (by default the first no-show of the year)."""

    topic: ClassVar[str] = "patient.credit_warned"
    key_field: ClassVar[str] = "patient_id"

    patient_id: int = doc("The patient; the key")
    strike: int = doc("The strike's number within the period (1: the first)")
    kind: str = doc("What earned it: no_show, same_day_cancel or book_cancel")
    next_ban_days: int = doc("How many days the next strike would ban for (0: another warning)")
    period_days: int = doc("The rolling period strikes are counted in, in days")


@dataclass(frozen=True, kw_only=True, slots=True)
class AppealFiled(Event):
    """A patient appealed against a ban (申诉): by text or at the desk."""

    topic: ClassVar[str] = "patient.appeal_filed"
    key_field: ClassVar[str] = "patient_id"

    appeal_id: int = doc("The appeal")
    entry_id: int = doc("The blacklist entry appealed against")
    patient_id: int = doc("The patient; the key")
    channel: str = doc("Where it was filed: sms, agent or api")


@dataclass(frozen=True, kw_only=True, slots=True)
class AppealDecided(Event):
    """An administrator decided an appeal (申诉): granted (the ban is lifted, see
    BanLifted) or rejected, with the answer the patient is texted."""

    topic: ClassVar[str] = "patient.appeal_decided"
    key_field: ClassVar[str] = "patient_id"

    appeal_id: int = doc("The appeal")
    entry_id: int = doc("The blacklist entry appealed against")
    patient_id: int = doc("The patient; the key")
    granted: bool = doc("True: the ban was lifted; false: it stands")
    answer: str = doc("The administrator's words to the patient")
    until: datetime = doc("When the ban ends (if it stands), with the hospital's UTC offset")


# --- rules (规则) -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleChanged(Event):
    """A booking rule was set for a hospital (or for every hospital: hospital_id null)."""

    topic: ClassVar[str] = "rule.changed"
    key_field: ClassVar[str] = "key"

    key: str = doc("The rule's name, e.g. max_active_per_patient; the key")
    value: Any = doc("Its value (a number, a switch or a list, by rule)")
    enabled: bool = doc("Whether the rule applies")
    priority: int = doc("Which record wins when several match (higher first)")


# --- calls (来电) -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class CallBooked(Event):
    """A phone call booked a place; the confirmation may go to the number that called."""

    topic: ClassVar[str] = "call.booked"
    key_field: ClassVar[str] = "booking_no"

    call_sid: str = doc("The call (Twilio's CallSid)")
    booking_no: str = doc("The booking made; the key")
    channel: Channel = doc("The call's channel (ivr)")
    caller_enc: str | None = doc("The calling number, encrypted for the engine's notifier")
    caller_masked: str = doc("The calling number, masked (139****0001)")
    lang: str = doc("The language the call was in (zh, en)")


@dataclass(frozen=True, kw_only=True, slots=True)
class CallCodeIssued(Event):
    """A caller asked to hear or cancel a patient's bookings from another phone: a one-time
    code (验证码) is to be texted to the patient's own phone."""

    topic: ClassVar[str] = "call.code"
    key_field: ClassVar[str] = "call_sid"

    call_sid: str = doc("The call that asked; the key")
    phone_enc: str = doc("The patient's phone, encrypted for the engine's notifier")
    code_enc: str = doc("The code, encrypted for the engine's notifier alone")
    minutes: int = doc("How long the code is good for, in minutes")
    lang: str = doc("The language of the text (zh, en)")


@dataclass(frozen=True, kw_only=True, slots=True)
class CallTransferred(Event):
    """A call was handed to the agents' queue, with what the caller had said so far."""

    topic: ClassVar[str] = "call.transferred"
    key_field: ClassVar[str] = "call_sid"

    call_sid: str = doc("The call; the key")
    caller_masked: str = doc("The calling number, masked")
    patient_id: int | None = doc("The patient the call had found (null: none yet)")
    context: dict[str, Any] = doc(
        "Where the caller was: the queue and what they typed (long digit runs masked)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class CallEnded(Event):
    """A call ended (once per call)."""

    topic: ClassVar[str] = "call.ended"
    key_field: ClassVar[str] = "call_sid"

    call_sid: str = doc("The call; the key")
    result: str = doc("What came of it: booked, cancelled, complaint or abandoned")
    duration_seconds: int = doc("How long it lasted, in seconds")


@dataclass(frozen=True, kw_only=True, slots=True)
class CallbackClosed(Event):
    """A call-back (回拨) was given up: the caller could not be reached in the attempts
    allowed; they are texted to call again."""

    topic: ClassVar[str] = "call.callback_closed"
    key_field: ClassVar[str] = "call_sid"

    call_sid: str = doc("The call that asked to be called back; the key")
    phone_enc: str = doc("The number to call back, encrypted for the engine's notifier")
    phone_masked: str = doc("That number, masked (139****0001)")
    reason: str = doc("Why it was closed: not_reached (not answered, busy or not taken)")
    attempts: int = doc("How many tries were made")
    lang: str = doc("The language of the call and the text (zh, en)")


# --- the waitlist (候补) and extra places (加号) ------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitlistEvent(Event):
    """What every waitlist event carries: the entry (a patient's place in a full session's
    line) and the session it waits for."""

    key_field: ClassVar[str] = "entry_id"

    entry_id: int = doc("The waitlist entry's id; the key (arrival order: lower came first)")
    session_id: int = doc("The session (排班) waited for")
    patient_id: int = doc("The patient's id in the engine")
    day: date = doc("The session's day, hospital-local")
    doctor: str = doc("The doctor's work number (工号)")


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitlistJoined(WaitlistEvent):
    """A patient joined the waitlist of a full session (加入候补)."""

    topic: ClassVar[str] = "waitlist.joined"

    position: int = doc("Their place in the line when they joined (1: first)")
    channel: Channel = doc("Where they joined")


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitlistLeft(WaitlistEvent):
    """A patient left a waitlist (退出候补): they asked (``patient``), or booked a place of
    the session themselves (``booked``)."""

    topic: ClassVar[str] = "waitlist.left"

    reason: str = doc("patient (they asked to leave) or booked (they booked a place)")


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitlistClosed(WaitlistEvent):
    """A session's line was closed with the patient still waiting (候补未成功): the session
    was stopped (停诊), or its booking closed; the patient is texted."""

    topic: ClassVar[str] = "waitlist.closed"

    reason: str = doc("stopped (停诊) or closed (booking for the session closed)")
    phone_enc: str = doc("The patient's phone, encrypted for the engine's notifier", "")


@dataclass(frozen=True, kw_only=True, slots=True)
class WaitlistOffered(BookingEvent):
    """A freed place was offered to the first patient waiting (候补成功，待确认): it is held
    for them as a booking until ``deadline``; they confirm (or pay) it, or it passes on."""

    topic: ClassVar[str] = "waitlist.offered"

    entry_id: int = doc("The waitlist entry the place was offered to")
    deadline: datetime = doc(
        "When the offer lapses unless confirmed or paid (UTC): the offer time or the "
        "session's booking cut-off, whichever is first"
    )
    prepay: bool = doc("Whether the fee must be paid to confirm (预付)", False)


@dataclass(frozen=True, kw_only=True, slots=True)
class ExtraPlacesAdded(Event):
    """加号: a doctor or admin added places to a session, for a named patient (booked at
    once) or for its waitlist (offered in order)."""

    topic: ClassVar[str] = "session.extra_places"
    key_field: ClassVar[str] = "session_id"

    session_id: int = doc("The session; the key")
    slot_id: int = doc("The slot the places were added to")
    places: int = doc("How many places were added")
    added_total: int = doc("The session's extra places so far, these included")
    booking_no: str | None = doc("The named patient's booking, or null (for the waitlist)")
    offered: int = doc("How many of the places were offered to the waitlist at once")


# --- complaints (投诉) ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class ComplaintReceived(Event):
    """A complaint's recording arrived: the complaint is in the office's inbox (受理)."""

    topic: ClassVar[str] = "complaint.received"
    key_field: ClassVar[str] = "tracking_no"

    tracking_no: str = doc("The complaint's tracking number, read to the caller; the key")
    call_sid: str = doc("The call it was left on")


@dataclass(frozen=True, kw_only=True, slots=True)
class ComplaintReplied(Event):
    """The hospital answered a complaint; the answer is texted to the number that complained."""

    topic: ClassVar[str] = "complaint.replied"
    key_field: ClassVar[str] = "tracking_no"

    tracking_no: str = doc("The complaint's tracking number; the key")
    status: str = doc("The complaint's status now: in_progress or resolved")
    reply: str = doc("What the hospital says")
    caller_enc: str | None = doc("Where the answer goes, encrypted (null: no number known)")
    caller_masked: str = doc("The number that complained, masked (empty: not by phone)")
    patient_id: int | None = doc("The patient it concerns (null: unknown)")


# --- kiosks (自助机) ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketPrinted(BookingEvent):
    """A kiosk printed the ticket (取号凭条) of a checked-in booking: the ack of its print job."""

    topic: ClassVar[str] = "booking.ticket_printed"

    kiosk_id: str = doc("The kiosk that printed it (k and 8 hex digits)")
    job_id: str = doc("The print job it acknowledged")


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskRegistered(Event):
    """A kiosk (自助机) was registered: its broker account exists from now on."""

    topic: ClassVar[str] = "kiosk.registered"
    key_field: ClassVar[str] = "kiosk_id"

    kiosk_id: str = doc("The kiosk's id and MQTT user name (k and 8 hex digits); the key")
    name: str = doc("What the hospital calls it (门诊大厅1号机)")
    location: str = doc("Where it stands (may be empty)")


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskDisabled(Event):
    """A kiosk was disabled (停用): its broker account is gone, it can do nothing more."""

    topic: ClassVar[str] = "kiosk.disabled"
    key_field: ClassVar[str] = "kiosk_id"

    kiosk_id: str = doc("The kiosk; the key")
    name: str = doc("What the hospital calls it")


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskPasswordReset(Event):
    """A kiosk's broker password was replaced: the old one no longer connects."""

    topic: ClassVar[str] = "kiosk.password_reset"
    key_field: ClassVar[str] = "kiosk_id"

    kiosk_id: str = doc("The kiosk; the key")


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskStatusChanged(Event):
    """A kiosk went online or offline, or one of its devices changed state (a status that
    says the same thing again records nothing)."""

    topic: ClassVar[str] = "kiosk.status_changed"
    key_field: ClassVar[str] = "kiosk_id"

    kiosk_id: str = doc("The kiosk; the key")
    online: bool = doc("Whether it is connected now")
    reason: str = doc(
        "Why it is offline: lost (its connection died) or stopped (on purpose); empty when online"
    )
    since: datetime = doc("Since when it has been online or offline (UTC)")
    devices: dict[str, Any] = doc(
        "Each device by name (printer, card_reader, terminal): state (ok, paper_out …), "
        "reason, since (UTC) and pending_reversals"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskJobQueued(Event):
    """A job for a kiosk's devices was made (print a ticket, charge, reverse, refund, show a
    message): the engine publishes it to the kiosk. Written with the change it belongs to."""

    topic: ClassVar[str] = "kiosk.job_queued"
    key_field: ClassVar[str] = "job_id"

    kiosk_id: str = doc("The kiosk the job is for")
    job_id: str = doc("The job's id, kept when it is sent again; the key")
    kind: str = doc("print_ticket, charge, reversal, refund or show_message")
    job_payload: dict[str, Any] = doc(
        "The job's payload, as docs/kiosk-protocol.md gives it for each kind"
    )
    created_at: datetime = doc("When the job was made (UTC)")
    expires_at: datetime | None = doc(
        "After this the kiosk acks it expired untouched (null: never)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class KioskJobAcked(Event):
    """A kiosk acknowledged a job: its one outcome is recorded (a repeated ack records nothing)."""

    topic: ClassVar[str] = "kiosk.job_acked"
    key_field: ClassVar[str] = "job_id"

    kiosk_id: str = doc("The kiosk that acked it")
    job_id: str = doc("The job; the key")
    kind: str = doc("print_ticket, charge, reversal, refund or show_message")
    outcome: str = doc("done or failed")
    reason: str = doc("Why it failed (paper_out, declined, expired …); empty when done")
    booking_no: str | None = doc("The booking the job was for (null: none)")
    requeued: bool = doc(
        "The job was put back to be sent again under its id (a reversal or refund whose "
        "outcome was unknown)"
    )


def _by_topic(*event_types: type[Event]) -> Mapping[str, type[Event]]:
    table: dict[str, type[Event]] = {}
    for t in event_types:
        if t.topic in table:
            raise RuntimeError(f"{t.__name__} and {table[t.topic].__name__} share {t.topic}")
        table[t.topic] = t
    return table


EVENT_TYPES = _by_topic(
    BookingCreated,
    BookingConfirmed,
    BookingPaid,
    BookingCancelled,
    BookingMoved,
    BookingCheckedIn,
    BookingNoShow,
    BookingCompleted,
    BookingReminderDue,
    BookingConfirmationResent,
    BookingLatePaymentRefunded,
    SlotChanged,
    SessionCreated,
    SessionStopped,
    DrawRequestRefused,
    PatientRegistered,
    PatientBlacklisted,
    BanLifted,
    CreditWarned,
    AppealFiled,
    AppealDecided,
    RuleChanged,
    CallBooked,
    CallCodeIssued,
    CallTransferred,
    CallEnded,
    CallbackClosed,
    WaitlistJoined,
    WaitlistLeft,
    WaitlistClosed,
    WaitlistOffered,
    ExtraPlacesAdded,
    ComplaintReceived,
    ComplaintReplied,
    TicketPrinted,
    KioskRegistered,
    KioskDisabled,
    KioskPasswordReset,
    KioskStatusChanged,
    KioskJobQueued,
    KioskJobAcked,
)
"""Every event type by its topic: how :func:`decode` finds the type of an outbox row."""


_ADAPTERS: dict[type[Event], TypeAdapter[Any]] = {}


def _adapter(event_type: type[Event]) -> TypeAdapter[Any]:
    """pydantic's validator of ``event_type`` (built once: a few milliseconds each)."""
    adapter = _ADAPTERS.get(event_type)
    if adapter is None:
        adapter = _ADAPTERS[event_type] = TypeAdapter(event_type)
    return adapter


def decode(row: OutboxEvent) -> Event | None:
    """The typed event of an outbox row; None for a topic this engine does not know (a row
    written by a newer engine, or by a test) or a payload that does not fit its type (logged).
    Fields the type does not have are ignored."""
    event_type = EVENT_TYPES.get(row.topic)
    if event_type is None:
        return None
    try:
        return _adapter(event_type).validate_python(row.payload | {"hospital_id": row.hospital_id})
    except ValidationError as err:
        log.warning("outbox event %s (%s) does not fit %s: %s", row.id, row.topic, event_type, err)
        return None
