"""The notifier (短信通知): outbox events become queued text messages.

Each round leases a batch of events for the ``sms`` consumer, works out who is told what
(:func:`messages_for`), and queues those messages *and* marks the events done in one
transaction (:class:`~booking_core.messages.QueueMessages`). A crash before that
leaves the events leased, to be worked out again; a message's key makes a second
queueing of it a no-op. Sending is the gateways' senders' job (:mod:`sms.sender`).

Keys: a confirmation is keyed by booking and phone (the booking's own event and an IVR
call's ``call.booked`` reach the same phone once); every other notice by event and phone
(an agent's resend of a confirmation too: each resend is a text of its own).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from booking_core import catalogue, events
from booking_core.bookings import BookingStatus
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import ALL_ERRORS, GuahaoError, NotFound
from booking_core.messages import (
    HOSPITAL_INITIATED,
    MessageKind,
    Notice,
    OutgoingMessage,
    QueueMessages,
)

from .replies import Replies

log = logging.getLogger(__name__)

CONSUMER = "sms"
BATCH = 50


def kind_of(notice: Notice) -> tuple[str, str | None] | None:
    """(message kind, reason) for an event, or None: nobody is texted about it."""
    match notice.happened:
        case events.ComplaintReplied(status=status):
            return MessageKind.COMPLAINT, status
        case events.CallCodeIssued():
            return MessageKind.CODE, None
        case events.CallbackClosed(reason=reason):
            return MessageKind.CALLBACK, reason
        case events.CreditWarned():
            return MessageKind.CREDIT, "warning"
        case events.PatientBlacklisted(source="credit"):  # the ladder's; not an admin's or HIS's
            return MessageKind.CREDIT, "ban"
        case events.AppealDecided(granted=granted):
            return MessageKind.APPEAL, "granted" if granted else "rejected"
        case events.DrawRequestRefused(refusal=refusal):
            return MessageKind.DRAW, refusal
        case events.WaitlistClosed(reason=reason):
            return MessageKind.WAITLIST, reason
    if notice.booking is None:
        return None
    match notice.happened:
        case events.BookingCreated(held_for="confirmation"):
            return None  # a hospital system's hold (FHIR $hold): texted once it is booked
        case events.BookingCreated(held_for="waitlist"):
            return None  # 候补: the offer's own text (waitlist.offered) says it
        case events.WaitlistOffered():
            return MessageKind.WAITLIST, "offered"
        case events.BookingCreated() | events.CallBooked():
            return MessageKind.CONFIRMATION, None
        case events.BookingConfirmed(method="none"):  # that hold booked, nothing paid
            return MessageKind.CONFIRMATION, None
        case events.BookingConfirmed():
            return MessageKind.CONFIRMATION, "paid"
        case events.BookingConfirmationResent():  # an agent's resend: the same text again
            return MessageKind.CONFIRMATION, None
        case events.BookingMoved(reason="session_stopped"):
            return MessageKind.STOP, "moved"
        case events.BookingMoved():
            return MessageKind.CHANGE, None
        case events.BookingCancelled(reason="session_stopped"):
            return MessageKind.STOP, "cancelled"
        case events.BookingCancelled(reason="hold_expired", waitlist_offer=True):
            return MessageKind.CANCELLATION, "offer_lapsed"  # 候补: not "not paid in time"
        case events.BookingCancelled(reason=reason):
            return MessageKind.CANCELLATION, reason or "patient"
        case events.BookingLatePaymentRefunded():  # 超时支付: the money goes back
            return MessageKind.CANCELLATION, "late_payment"
        case events.BookingReminderDue():
            return MessageKind.REMINDER, None
        case events.BookingCompleted():
            return MessageKind.SURVEY, None
    return None


def _asked_on(happened: events.Event | None) -> Channel | None:
    """Where the change was asked for; for a new booking, where it was made."""
    match happened:
        case (
            events.BookingCancelled(by_channel=by)
            | events.BookingMoved(by_channel=by)
            | events.BookingConfirmationResent(by_channel=by)
        ):
            return by
        case events.BookingEvent(channel=by) | events.CallBooked(channel=by):
            return by
    return None


def _own_action(kind: str, reason: str | None) -> bool:
    """Whether the notice answers something the patient did (it goes even when opted out)."""
    if kind in HOSPITAL_INITIATED:
        return False
    return not (kind == MessageKind.CANCELLATION and reason != "patient")


def _overtaken(notice: Notice, kind: str) -> str | None:
    """Why a notice is no longer worth sending, or None. A confirmation of a booking
    cancelled before we got to it would only confuse (the cancellation says all): it is
    kept in the log as ``skipped`` with this reason, like a notice to an opted-out phone,
    so the console shows what was not sent and why."""
    view = notice.booking
    if kind == MessageKind.CONFIRMATION and view and view.booking.status is BookingStatus.CANCELLED:
        return "booking_cancelled"
    return None


def _key(notice: Notice, kind: str, reason: str | None, phone_index: str) -> str:
    booking_no = notice.booking.booking.booking_no if notice.booking else notice.event.key
    resent = isinstance(notice.happened, events.BookingConfirmationResent)
    if kind == MessageKind.CONFIRMATION and not resent:  # a resend is its own message
        return f"{kind}{'-' + reason if reason else ''}:{booking_no}:{phone_index}"
    return f"ev{notice.event.id}:{phone_index}"


def _in_zone(instant: datetime | None, hospital: Hospital | None) -> datetime | None:
    """An instant in the hospital's time, for a text."""
    if instant is None or hospital is None:
        return instant
    return instant.astimezone(ZoneInfo(hospital.timezone))


@dataclass
class Notifier:
    services: BookingServices
    replies: Replies
    gateway: str  # which gateway notices go out through
    consumer: str = CONSUMER
    hospitals: dict[int, Hospital | None] = field(default_factory=dict)
    """The hospitals of the round's notices, by id: their name signs a notice, their zone
    dates it (read through the core's cache)."""

    async def _know_hospitals(self, notices: list[Notice]) -> None:
        self.hospitals = {}
        for notice in notices:
            hospital_id = notice.event.hospital_id
            if hospital_id is not None and hospital_id not in self.hospitals:
                try:
                    found = await self.services.cached(catalogue.hospital_with_id, hospital_id)
                except NotFound:
                    found = None
                self.hospitals[hospital_id] = found

    def messages_for(self, notice: Notice) -> list[OutgoingMessage]:
        found = kind_of(notice)
        if found is None or not notice.recipients:
            return []
        kind, reason = found
        body = self._body(notice, kind, reason)
        if body is None:
            return []
        view = notice.booking
        gone = _overtaken(notice, kind)
        out = []
        for r in notice.recipients:
            skip = gone or ("opted_out" if r.opted_out and not _own_action(kind, reason) else None)
            out.append(
                OutgoingMessage(
                    key=_key(notice, kind, reason, r.phone_index),
                    gateway=self.gateway,
                    phone=r.phone,
                    body=body,
                    kind=kind,
                    hospital_id=notice.event.hospital_id,
                    booking_no=view.booking.booking_no if view else None,
                    event_id=notice.event.id,
                    skip=skip,
                )
            )
        return out

    def _body(self, notice: Notice, kind: str, reason: str | None) -> str | None:
        """What the notice says, or None: nothing to say after all."""
        hospital = self.hospitals.get(notice.event.hospital_id or 0)
        name = hospital.name if hospital else ""
        happened = notice.happened
        if isinstance(happened, events.ComplaintReplied):
            return self.replies.render(
                "notice.complaint",
                hospital=name,
                tracking_no=happened.tracking_no,
                status=happened.status,
                reply=happened.reply,
            )
        if isinstance(happened, events.CallCodeIssued):
            return self.replies.render(
                "notice.code",
                hospital=name,
                code=self.services.cipher.decrypt(happened.code_enc, context="call_code"),
                minutes=happened.minutes,
            )
        if isinstance(happened, events.DrawRequestRefused):
            return self._draw_refused(happened, name, hospital.timezone if hospital else None)
        if isinstance(happened, events.CallbackClosed):
            return self.replies.render(
                "notice.callback", lang=happened.lang, hospital=name, attempts=happened.attempts
            )
        if isinstance(happened, events.CreditWarned | events.PatientBlacklisted):
            return self.replies.render(
                "notice.credit",
                hospital=name,
                reason=reason,
                patient=notice.patient_name,
                strike=getattr(happened, "strike", None),
                kind=getattr(happened, "kind", ""),
                next_days=getattr(happened, "next_ban_days", 0),
                until=_in_zone(getattr(happened, "until", None), hospital),
            )
        if isinstance(happened, events.AppealDecided):
            return self.replies.render(
                "notice.appeal",
                hospital=name,
                reason=reason,
                patient=notice.patient_name,
                answer=happened.answer,
                until=_in_zone(happened.until, hospital),
            )
        if isinstance(happened, events.WaitlistClosed):
            return self.replies.render(
                "notice.waitlist_closed",
                hospital=name,
                day=happened.day,
                doctor=happened.doctor,
                reason=happened.reason,
            )
        view = notice.booking
        assert view is not None  # kind_of gives booking kinds only for booking events
        if isinstance(happened, events.WaitlistOffered):  # however they joined: texted
            params = self.replies.booking_params(
                view, timezone=hospital.timezone if hospital else None
            )
            return self.replies.render(
                "notice.waitlist", hospital=name, prepay=happened.prepay, **params
            )
        if isinstance(happened, events.BookingLatePaymentRefunded):  # what goes back
            view = replace(view, booking=replace(view.booking, paid=happened.amount))
        asked_by_text = (
            _asked_on(happened) == Channel.SMS
            and not isinstance(happened, events.BookingConfirmed)
            # a release draw's booking: the reply to the text said "queued", not "booked"
            and not (isinstance(happened, events.BookingCreated) and happened.drawn)
        )
        if asked_by_text and _own_action(kind, reason):
            return None  # asked for by text: the reply to that text said it already
        return self.replies.notice(
            kind,
            view,
            reason=reason,
            from_day=happened.from_day if isinstance(happened, events.BookingMoved) else None,
            hospital=name,
            timezone=hospital.timezone if hospital else None,
        )

    def _draw_refused(
        self, happened: events.DrawRequestRefused, hospital: str, timezone: str | None
    ) -> str:
        """A request queued at release that its draw did not book: why, in the door's words
        for the refusal (its instants read in the hospital's time)."""
        reason = self.replies.error(_refusal(happened.refusal, happened.params), timezone=timezone)
        return self.replies.render(
            "notice.draw_refused",
            hospital=hospital,
            day=happened.day,
            start=happened.start,
            dept=happened.department_name,
            doctor=happened.doctor_name,
            refusal=happened.refusal,
            reason=reason,
        )

    async def run_once(self) -> int:
        """One round: returns how many events were handled (0: nothing was due)."""
        notices = await self.services.claim_notices(self.consumer, BATCH)
        if not notices:
            return 0
        await self._know_hospitals(notices)
        messages: list[OutgoingMessage] = []
        for notice in notices:
            messages += self.messages_for(notice)
        await self.services.handle(
            QueueMessages(
                consumer=self.consumer,
                event_ids=tuple(n.event.id for n in notices),
                messages=tuple(messages),
            )
        )
        return len(notices)


def _refusal(code: str, params: dict) -> GuahaoError:
    """The refusal a draw recorded, as the error the replies word (instants parsed back)."""
    cls = next((c for c in ALL_ERRORS if c.code == code), None)
    err = GuahaoError.__new__(cls or GuahaoError)
    err.params = {k: _instant(v) for k, v in params.items()}
    return err


def _instant(value: object) -> object:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and "T" in value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
