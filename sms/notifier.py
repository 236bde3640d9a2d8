"""The notifier (短信通知): outbox events become queued text messages.

Each round leases a batch of events for the ``sms`` consumer, works out who is told what
(:func:`messages_for`), and queues those messages *and* marks the events done in one
transaction (:class:`~booking_core.messages.QueueMessages`). A crash before that
leaves the events leased, to be worked out again; a message's key makes a second
queueing of it a no-op. Sending is the gateways' senders' job (:mod:`sms.sender`).

Keys: a confirmation is keyed by booking and phone (the booking's own event and an IVR
call's ``call.booked`` reach the same phone once); every other notice by event and phone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from booking_core import catalogue
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital
from booking_core.kernel.errors import NotFound
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
    topic, payload = notice.event.topic, notice.event.payload
    reason = payload.get("reason")
    if topic == "complaint.replied":
        return MessageKind.COMPLAINT, payload.get("status")
    if topic == "call.code":
        return MessageKind.CODE, None
    if notice.booking is None:
        return None
    if topic in ("booking.created", "call.booked"):
        return MessageKind.CONFIRMATION, None
    if topic == "booking.confirmed":
        return MessageKind.CONFIRMATION, "paid"
    if topic == "booking.moved":
        if reason == "session_stopped":
            return MessageKind.STOP, "moved"
        return MessageKind.CHANGE, None
    if topic == "booking.cancelled":
        if reason == "session_stopped":
            return MessageKind.STOP, "cancelled"
        return MessageKind.CANCELLATION, reason or "patient"
    if topic == "booking.reminder":
        return MessageKind.REMINDER, None
    if topic == "booking.completed":
        return MessageKind.SURVEY, None
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
    if kind == MessageKind.CONFIRMATION and view and str(view.booking.status) == "cancelled":
        return "booking_cancelled"
    return None


def _key(notice: Notice, kind: str, reason: str | None, phone_index: str) -> str:
    booking_no = notice.booking.booking.booking_no if notice.booking else notice.event.key
    if kind == MessageKind.CONFIRMATION:
        return f"{kind}{'-' + reason if reason else ''}:{booking_no}:{phone_index}"
    return f"ev{notice.event.id}:{phone_index}"


@dataclass
class Notifier:
    services: BookingServices
    replies: Replies
    gateway: str  # which gateway notices go out through
    consumer: str = CONSUMER
    hospitals: dict[int, Hospital | None] = field(default_factory=dict)
    """Hospitals by id: their name signs a notice, their zone dates it (forgotten when a
    hospital is changed through this process's core)."""
    _version: int = -1

    async def _know_hospitals(self, notices: list[Notice]) -> None:
        if self._version != self.services.catalogue_version:
            self.hospitals.clear()
            self._version = self.services.catalogue_version
        for notice in notices:
            hospital_id = notice.event.hospital_id
            if hospital_id is not None and hospital_id not in self.hospitals:
                try:
                    found = await self.services.read(catalogue.hospital_with_id, hospital_id)
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
        payload = notice.event.payload
        if kind == MessageKind.COMPLAINT:
            return self.replies.render(
                "notice.complaint",
                hospital=name,
                tracking_no=payload.get("tracking_no", notice.event.key),
                status=payload.get("status", ""),
                reply=payload.get("reply", ""),
            )
        if kind == MessageKind.CODE:
            return self.replies.render(
                "notice.code",
                hospital=name,
                code=self.services.cipher.decrypt(payload["code_enc"], context="call_code"),
                minutes=payload.get("minutes", 5),
            )
        view = notice.booking
        assert view is not None  # kind_of gives booking kinds only for booking events
        by = payload.get("by_channel") or payload.get("channel")
        if by == "sms" and notice.event.topic != "booking.confirmed" and _own_action(kind, reason):
            return None  # asked for by text: the reply to that text said it already
        from_day = payload.get("from_day")
        return self.replies.notice(
            kind,
            view,
            reason=reason,
            from_day=date.fromisoformat(from_day) if from_day else None,
            hospital=name,
            timezone=hospital.timezone if hospital else None,
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
