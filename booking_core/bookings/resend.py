"""Texting a booking's confirmation again (补发预约短信), asked for by an agent.

The booking's own confirmation text is once-only (keyed by booking and phone), so a
resend is an event of its own, :class:`~booking_core.events.model.BookingConfirmationResent`,
which the SMS notifier texts as a confirmation. An agent cannot spam a patient's phone:
at most :data:`RESENDS_PER_HOUR` resends of one booking in any hour, counted from the audit
log (each resend is audited) under the booking's row lock, so two agents at once cannot
both pass the count."""

from __future__ import annotations

from datetime import timedelta

from ..events.audit import AuditAction
from ..events.model import BookingConfirmationResent
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidState, LimitReached
from ..kernel.unit import Tx, Unit, to_epoch, val
from .admission import booking_fields
from .commands import ResendConfirmation
from .model import BookingStatus, BookingView
from .repo import booking_by_no, view_by_id

RESENDS_PER_HOUR = 3  # a caller who lost the text twice is helped; an agent cannot flood a phone
RESEND_WINDOW = timedelta(hours=1)
RESEND_RULE = "confirmation_resends_per_hour"  # LimitReached's rule: the doors word it
RESENDABLE = (BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


def resend_confirmation(tx: Tx, cmd: ResendConfirmation, deps: Deps) -> Unit[BookingView]:
    booking = yield from booking_by_no(cmd.booking_no, lock=True)
    tenancy.check(cmd.actor, booking.hospital_id, "booking", cmd.booking_no)
    if booking.status not in RESENDABLE:
        raise InvalidState(status=str(booking.status), action="resend_confirmation")
    since = to_epoch(tx.now - RESEND_WINDOW)
    sent = yield val(
        "SELECT count(*) FROM audit WHERE entity = 'booking' AND entity_id = ? "
        "AND action = ? AND at > ?",
        booking.booking_no,
        str(AuditAction.BOOKING_CONFIRMATION_RESENT),
        since,
    )
    if (sent or 0) >= RESENDS_PER_HOUR:
        raise LimitReached(rule=RESEND_RULE, limit=RESENDS_PER_HOUR)
    view = yield from view_by_id(booking.id)
    tx.emit(BookingConfirmationResent(**booking_fields(view), by_channel=cmd.actor.channel))
    tx.audit(
        cmd.actor,
        AuditAction.BOOKING_CONFIRMATION_RESENT,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        after={"resend": int(sent or 0) + 1, "of": RESENDS_PER_HOUR},
    )
    return view
