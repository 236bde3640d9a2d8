"""Late payment (超时支付): money for a booking whose unpaid hold ran out.

The hospital chooses with the ``late_payment`` rule:

- ``refund`` (the default): the payment is refused as ``hold_expired``. A balance payment
  therefore never leaves the balance; a kiosk's card charge, already taken, is reversed on
  its terminal (``booking_core.kiosks.money``), and the patient is texted that the money
  goes back (:class:`~booking_core.events.model.BookingLatePaymentRefunded`).
- ``confirm_if_free``: if the booking can still have a place, it is given one again under
  the capacity guard (the same guard as every booking, so the slot is never overbooked)
  and the payment confirms it; if not (the place was taken, the session stopped, booking
  for it closed, the patient booked the slot again), it is refunded as above.

Either way there is never money without a booking: the ledger records a payment only
together with the booking it confirmed, once per reference."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..events.audit import AuditAction
from ..events.model import BookingLatePaymentRefunded
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import BookingError
from ..kernel.unit import Tx, Unit, execute, from_epoch, val
from ..patients.repo import patient_by_id
from ..rules.checks import check_booking_window
from ..rules.model import RuleKey
from ..rules.repo import cached_rules
from .admission import booking_fields, claim_place, emit_slot_changed, slot_context
from .model import ACTIVE_SQL, Booking, BookingStatus, CancelReason
from .repo import view_by_id

CONFIRM_IF_FREE = "confirm_if_free"


def hold_lapsed(booking: Booking, now: datetime) -> bool:
    """Whether ``booking``'s unpaid hold ran out: cancelled by the hold sweep, or still
    held past its expiry (the sweep not there yet)."""
    if booking.status is BookingStatus.HELD:
        return booking.hold_expires_at is not None and booking.hold_expires_at <= now
    return (
        booking.status is BookingStatus.CANCELLED
        and booking.cancel_reason == CancelReason.HOLD_EXPIRED
    )


def retake_if_free(tx: Tx, booking: Booking, actor: Actor, deps: Deps) -> Unit[Booking | None]:
    """Under ``confirm_if_free``: ``booking`` held again, its place re-taken, with no
    expiry (the caller pays it at once), or None when the rule refunds or no place can be
    had. Audited as ``payment.late_confirmed``."""
    rules = yield from cached_rules(deps.cache, booking.hospital_id)
    if not rules.on(RuleKey.LATE_PAYMENT) or rules.value(RuleKey.LATE_PAYMENT) != CONFIRM_IF_FREE:
        return None
    place = booking.place_no
    if booking.status is BookingStatus.CANCELLED:
        ctx = yield from slot_context(booking.slot_id, actor)
        if ctx["session_status"] != "open":
            return None
        try:  # the session may have begun (or its cut-off passed) since the hold
            check_booking_window(
                tx.now,
                date.fromisoformat(ctx["day"]),
                from_epoch(ctx["session_starts_at"]),
                rules,
                ZoneInfo(ctx["timezone"]),
            )
        except BookingError:
            return None
        # the patient's lock, as a booking takes it: a new booking of theirs waits for this
        yield from patient_by_id(booking.patient_id, lock=True)
        again = yield val(
            f"SELECT count(*) FROM bookings WHERE slot_id = ? AND patient_id = ? "
            f"AND status IN {ACTIVE_SQL}",
            booking.slot_id,
            booking.patient_id,
        )
        if again:  # booked the same slot again meanwhile: that booking is the one
            return None
        try:
            place, booked = yield from claim_place(tx, booking.slot_id, ctx["capacity"])
        except BookingError:  # SlotFull: the place went to someone else
            return None
        emit_slot_changed(tx, booking.hospital_id, booking.slot_id, ctx["capacity"], booked)
    yield execute(
        "UPDATE bookings SET status = 'held', place_no = ?, hold_expires_at = NULL, "
        "cancelled_at = NULL, cancel_reason = NULL, updated_at = ? WHERE id = ?",
        place,
        tx.epoch,
        booking.id,
    )
    tx.audit(
        actor,
        AuditAction.LATE_PAYMENT_CONFIRMED,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status), "cancel_reason": booking.cancel_reason},
        after={"status": str(BookingStatus.HELD), "place_no": place},
    )
    return replace(
        booking,
        status=BookingStatus.HELD,
        place_no=place,
        hold_expires_at=None,
        cancel_reason=None,
    )


def record_late_refund(
    tx: Tx, booking: Booking, actor: Actor, amount: int, method: str
) -> Unit[None]:
    """Money for ``booking`` arrived late and goes back the way it came (the caller sends
    it back: a kiosk's reversal): the patient is texted, and it is audited."""
    view = yield from view_by_id(booking.id)
    event = BookingLatePaymentRefunded(**booking_fields(view), amount=amount, method=method)
    tx.emit(event)
    tx.audit(
        actor,
        AuditAction.BOOKING_LATE_PAYMENT_REFUNDED,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        after={"amount": amount, "method": method, "status": str(booking.status)},
    )
