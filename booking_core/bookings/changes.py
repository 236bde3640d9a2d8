"""Changes to a booking: pay, cancel (退号), reschedule (改约), move, check in (取号)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from ..blacklist.credit import after_cancellation
from ..blacklist.repo import active_ban
from ..events.audit import AuditAction
from ..events.model import (
    BookingCancelled,
    BookingCheckedIn,
    BookingConfirmed,
    BookingMoved,
    BookingPaid,
)
from ..kernel import tenancy
from ..kernel.actor import SYSTEM, Actor, Channel
from ..kernel.deps import Deps
from ..kernel.errors import (
    Blacklisted,
    BookingError,
    CheckInClosed,
    CheckInNotOpen,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidInput,
    InvalidState,
    NotFound,
)
from ..kernel.unit import Row, Tx, UniqueViolation, Unit, execute, from_epoch, val
from ..patients.repo import patient_by_id
from ..payments.repo import movement_by_reference, record_movement
from ..rules.checks import at_local, check_cancel_deadline, check_reschedule_deadline
from ..rules.model import RuleKey
from ..rules.pools import REFERRAL, pool_of
from ..rules.repo import cached_rules
from ..schedule.pools import give_back
from .admission import (
    admit,
    booking_fields,
    claim_place,
    emit_slot_changed,
    leave_line,
    slot_context,
    take_from_pool,
)
from .commands import CancelBooking, CheckIn, ConfirmBooking, PayBooking, RescheduleBooking
from .late import hold_lapsed, retake_if_free
from .model import Booking, BookingStatus, BookingView, CancelReason
from .repo import booking_by_no, release_place, view_by_id
from .waitlist import accept_offer, end_offer, offer_places


def _owned(tx: Tx, booking_no: str, actor: Actor) -> Unit[Booking]:
    booking = yield from booking_by_no(booking_no, lock=True)
    tenancy.check(actor, booking.hospital_id, "booking", booking_no)
    return booking


def _set_status(tx: Tx, booking: Booking, status: BookingStatus, **extra: Any) -> Unit[None]:
    sets = ", ".join(["status = ?", "updated_at = ?", *(f"{k} = ?" for k in extra)])
    yield execute(
        f"UPDATE bookings SET {sets} WHERE id = ?",
        str(status),
        tx.epoch,
        *extra.values(),
        booking.id,
    )


def refund(tx: Tx, booking: Booking, actor: Actor, method: str | None) -> Unit[None]:
    """Money back the way it came: the card balance, or a refund row for the terminal."""
    if booking.paid <= 0:
        return
    how = method or "balance"
    recorded = yield from record_movement(
        tx,
        hospital_id=booking.hospital_id,
        patient_id=booking.patient_id,
        booking_id=booking.id,
        kind="refund",
        method=how,
        amount=booking.paid,
        reference=booking.booking_no,  # one refund per booking, whatever asked for it
        actor=actor,
    )
    if recorded is None:  # refunded before: the state guard failed, never pay out twice
        raise InvalidState(status="refunded", action="refund")
    if how == "balance":
        yield execute(
            "UPDATE patients SET balance = balance + ?, updated_at = ? WHERE id = ?",
            booking.paid,
            tx.epoch,
            booking.patient_id,
        )


def cancel_one(
    tx: Tx,
    booking: Booking,
    actor: Actor,
    reason: CancelReason,
    why: dict[str, str] | None = None,
) -> Unit[BookingView]:
    """Cancel, free the place, refund, and record it (used by cancel, expiry and 停诊);
    ``why``: the door's reason and note, for the audit log only."""
    method = yield val("SELECT pay_method FROM bookings WHERE id = ?", booking.id)
    booked = yield from release_place(booking.slot_id, tx.epoch)
    yield from give_back(tx, booking.session_id, booking.pool)  # 号源池: to the pool it came from
    yield from _set_status(
        tx, booking, BookingStatus.CANCELLED, cancelled_at=tx.epoch, cancel_reason=str(reason)
    )
    yield from refund(tx, booking, actor, method)
    view = yield from view_by_id(booking.id)
    offer = yield from end_offer(tx, booking, reason, actor)  # 候补: an offer declined or lapsed
    tx.emit(
        BookingCancelled(
            **booking_fields(view),
            reason=str(reason),
            refunded=booking.paid,
            by_channel=actor.channel,  # where the change was asked for (vs. "channel")
            waitlist_offer=offer,
        )
    )
    capacity = yield val("SELECT capacity FROM slots WHERE id = ?", booking.slot_id)
    emit_slot_changed(tx, booking.hospital_id, booking.slot_id, capacity, booked)
    tx.audit(
        actor,
        AuditAction.BOOKING_CANCELLED,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status)},
        after={"status": str(BookingStatus.CANCELLED), "reason": str(reason), **(why or {})},
    )
    if reason is not CancelReason.SESSION_STOPPED:  # a 停诊 closes the line instead
        yield from offer_places(tx, booking.session_id, actor, None)
    return view


MAX_WHY = 32  # a code from a door's list of reasons
MAX_NOTE = 200  # a sentence or two the agent typed; the audit row stays small


def _why(cmd: CancelBooking) -> dict[str, str] | None:
    """The door's reason and note as the audit row keeps them (None: none given)."""
    why, note = cmd.why.strip(), " ".join(cmd.note.split())
    if len(why) > MAX_WHY or not all(c.isascii() and (c.isalnum() or c == "_") for c in why):
        raise InvalidInput("why", f"a reason code of at most {MAX_WHY} letters, digits or _")
    if len(note) > MAX_NOTE:
        raise InvalidInput("note", f"at most {MAX_NOTE} characters")
    kept = {k: v for k, v in (("why", why), ("note", note)) if v}
    return kept or None


def cancel_booking(tx: Tx, cmd: CancelBooking, deps: Deps) -> Unit[BookingView]:
    why = _why(cmd)
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise InvalidState(status=str(booking.status), action="cancel")
    if not cmd.by_hospital:
        ctx = yield from slot_context(booking.slot_id, cmd.actor)
        rules = yield from cached_rules(deps.cache, booking.hospital_id)
        check_cancel_deadline(
            tx.now, from_epoch(ctx["session_starts_at"]), rules, ZoneInfo(ctx["timezone"])
        )
    reason = CancelReason.HOSPITAL if cmd.by_hospital else CancelReason.PATIENT
    view = yield from cancel_one(tx, booking, cmd.actor, reason, why)
    if reason is CancelReason.PATIENT:  # 当日退号 / 频繁退号 count on the credit ladder
        yield from after_cancellation(
            tx,
            patient_id=booking.patient_id,
            hospital_id=booking.hospital_id,
            booking_id=booking.id,
            day=booking.day,
            actor=SYSTEM,  # the rule's doing, not the patient's: the engine's in the audit
            deps=deps,
        )
    return view


def payment_refusal(booking: Booking, now: datetime) -> InvalidState | None:
    """Why ``booking`` cannot be paid at ``now`` (what :func:`pay_booking` refuses it with:
    not held or confirmed, paid already, its hold expired), or None. A caller that must not
    fail (a kiosk's charge already taken) asks first and reverses the charge instead."""
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        return InvalidState(status=str(booking.status), action="pay")
    if booking.paid >= booking.fee:
        return InvalidState(status="paid", action="pay")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= now:
        return InvalidState(status="hold_expired", action="pay")
    return None


def pay_booking(tx: Tx, cmd: PayBooking, deps: Deps) -> Unit[BookingView]:
    """Pay what is due. The same payment sent again under its ``reference`` (a terminal or
    bank transaction) moves no money and answers with the booking as it stands; the
    reference reused for another booking or method is refused."""
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if cmd.reference is not None:  # after the booking's lock: a waiting retry sees the first
        prior = yield from movement_by_reference(booking.hospital_id, "payment", cmd.reference)
        if prior is not None:
            return (yield from _payment_replayed(cmd, booking, prior))
    refusal = payment_refusal(booking, tx.now)
    if refusal is not None and hold_lapsed(booking, tx.now):  # 超时支付: the hospital's rule
        retaken = yield from retake_if_free(tx, booking, cmd.actor, deps)
        if retaken is not None:  # confirm_if_free, and the place could be had again
            booking, refusal = retaken, None
    if refusal is not None:
        raise refusal
    if cmd.method not in ("balance", "card", "cash"):
        raise InvalidInput("method", "balance, card or cash")
    due = booking.fee - booking.paid
    if cmd.amount is not None and cmd.amount != due:
        raise InvalidInput("amount", f"{due} fen are due")
    recorded = yield from record_movement(
        tx,
        hospital_id=booking.hospital_id,
        patient_id=booking.patient_id,
        booking_id=booking.id,
        kind="payment",
        method=cmd.method,
        amount=-due,
        reference=cmd.reference,
        actor=cmd.actor,
    )
    if recorded is None:  # this reference was taken meanwhile (by another booking's payment)
        raise IdempotencyKeyReused(key=cmd.reference or "")
    if cmd.method == "balance":
        if cmd.actor.channel is Channel.AGENT:
            rules = yield from cached_rules(deps.cache, booking.hospital_id)
            if not rules.on(RuleKey.AGENT_DIRECT_DEBIT):
                raise Forbidden(action="agent_direct_debit")
        debited = yield execute(
            "UPDATE patients SET balance = balance - ?, updated_at = ? "
            "WHERE id = ? AND balance >= ?",
            due,
            tx.epoch,
            booking.patient_id,
            due,
        )
        if not debited:
            balance = yield val("SELECT balance FROM patients WHERE id = ?", booking.patient_id)
            raise InsufficientBalance(balance=balance, needed=due)
    yield from _set_status(
        tx,
        booking,
        BookingStatus.CONFIRMED,
        paid=booking.fee,
        pay_method=cmd.method,
        hold_expires_at=None,
    )
    if booking.status is BookingStatus.HELD:
        yield from accept_offer(tx, booking, cmd.actor)  # 候补: a place offered, paid for
    view = yield from view_by_id(booking.id)
    paid = BookingConfirmed if booking.status is BookingStatus.HELD else BookingPaid
    event = paid(**booking_fields(view), method=cmd.method)
    tx.emit(event)
    tx.audit(
        cmd.actor,
        AuditAction(event.topic),
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status), "paid": booking.paid},
        after={"status": str(BookingStatus.CONFIRMED), "paid": booking.fee, "method": cmd.method},
    )
    return view


def confirm_booking(tx: Tx, cmd: ConfirmBooking, deps: Deps) -> Unit[BookingView]:
    """A held booking confirmed before its hold ends, its patient checked against the
    blacklist again (a ban may have come in since the hold). Where the hospital requires
    prepayment and the fee is still due, only paying confirms it."""
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status is not BookingStatus.HELD:
        raise InvalidState(status=str(booking.status), action="confirm")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= tx.now:
        raise InvalidState(status="hold_expired", action="confirm")
    rules = yield from cached_rules(deps.cache, booking.hospital_id)
    if rules.on(RuleKey.PREPAY_REQUIRED) and booking.paid < booking.fee:
        raise InvalidState(status="unpaid", action="confirm")
    if rules.on(RuleKey.BLACKLIST_CHECK):
        ban = yield from active_ban(booking.patient_id, booking.hospital_id, tx.epoch)
        if ban is not None:
            ctx = yield from slot_context(booking.slot_id, cmd.actor)
            raise Blacklisted(
                until=ban.ends_at.astimezone(ZoneInfo(ctx["timezone"])),
                reason=ban.reason,
                source=str(ban.source),
            )
    yield from _set_status(tx, booking, BookingStatus.CONFIRMED, hold_expires_at=None)
    yield from accept_offer(tx, booking, cmd.actor)  # 候补: a place offered, confirmed
    view = yield from view_by_id(booking.id)
    event = BookingConfirmed(**booking_fields(view), method="none")
    tx.emit(event)
    tx.audit(
        cmd.actor,
        AuditAction.BOOKING_CONFIRMED,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status)},
        after={"status": str(BookingStatus.CONFIRMED)},
    )
    return view


def _payment_replayed(cmd: PayBooking, booking: Booking, prior: Row) -> Unit[BookingView]:
    """Already applied: the booking as it stands, if ``prior`` paid this very booking."""
    if (prior["booking_id"], prior["method"]) != (booking.id, cmd.method):
        raise IdempotencyKeyReused(key=cmd.reference or "")
    return (yield from view_by_id(booking.id))


def move_booking(
    tx: Tx,
    booking: Booking,
    target_ctx: Row,
    place: int,
    booked: int,
    actor: Actor,
    reason: str,
    *,
    pool: str | None,
) -> Unit[BookingView]:
    """Put ``booking`` into the place already claimed in ``target_ctx``'s slot; free the old
    one. ``pool``: the target session's pool the place counts against (号源池; claimed by the
    caller when the session changes, the booking's own when it stays)."""
    old_booked = yield from release_place(booking.slot_id, tx.epoch)
    if target_ctx["session_id"] != booking.session_id:
        yield from give_back(tx, booking.session_id, booking.pool)
    old_capacity = yield val("SELECT capacity FROM slots WHERE id = ?", booking.slot_id)
    status = (
        BookingStatus.CONFIRMED if booking.status is BookingStatus.CHECKED_IN else booking.status
    )
    yield execute(
        "UPDATE bookings SET slot_id = ?, session_id = ?, doctor_id = ?, department_id = ?, "
        "day = ?, "
        "place_no = ?, status = ?, queue_no = NULL, pool = ?, updated_at = ? WHERE id = ?",
        target_ctx["slot_id"],
        target_ctx["session_id"],
        target_ctx["doctor_id"],
        target_ctx["department_id"],
        target_ctx["day"],
        place,
        str(status),
        pool,
        tx.epoch,
        booking.id,
    )
    yield from leave_line(tx, target_ctx, booking.patient_id, actor)
    view = yield from view_by_id(booking.id)
    tx.emit(
        BookingMoved(
            **booking_fields(view),
            from_slot_id=booking.slot_id,
            from_session_id=booking.session_id,
            from_day=booking.day,
            reason=reason,
            by_channel=actor.channel,
        )
    )
    emit_slot_changed(tx, booking.hospital_id, booking.slot_id, old_capacity, old_booked)
    emit_slot_changed(
        tx, booking.hospital_id, target_ctx["slot_id"], target_ctx["capacity"], booked
    )
    tx.audit(
        actor,
        AuditAction.BOOKING_MOVED,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"slot_id": booking.slot_id, "day": booking.day.isoformat()},
        after={"slot_id": target_ctx["slot_id"], "day": target_ctx["day"], "reason": reason},
    )
    if reason != "session_stopped":  # 候补: the place left behind goes to the line
        yield from offer_places(tx, booking.session_id, actor, None)
    return view


def reschedule_booking(tx: Tx, cmd: RescheduleBooking, deps: Deps) -> Unit[BookingView]:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise InvalidState(status=str(booking.status), action="reschedule")
    if cmd.slot_id == booking.slot_id:
        raise InvalidInput("slot_id", "the booking is already in this slot")
    old = yield from slot_context(booking.slot_id, cmd.actor)
    rules = yield from cached_rules(deps.cache, booking.hospital_id)
    check_reschedule_deadline(
        tx.now, booking.day, from_epoch(old["session_starts_at"]), rules, ZoneInfo(old["timezone"])
    )
    target = yield from slot_context(cmd.slot_id, cmd.actor)
    if target["hospital_id"] != booking.hospital_id:
        raise NotFound("slot", cmd.slot_id)
    patient = yield from patient_by_id(booking.patient_id, lock=True)
    yield from admit(
        tx, target, patient, rules, phone_index=None, moving=booking.id, cipher=deps.cipher
    )
    place, booked = yield from claim_place(tx, target["slot_id"], target["capacity"])
    pool = booking.pool
    if target["session_id"] != booking.session_id:  # a new session: its pools as a new booking
        own = pool_of(str(booking.channel), booking.pool == REFERRAL)
        pool = yield from take_from_pool(tx, target, rules, str(cmd.actor.channel), own)
    return (
        yield from move_booking(
            tx, booking, target, place, booked, cmd.actor, "rescheduled", pool=pool
        )
    )


def check_in_refusal(tx: Tx, booking: Booking, actor: Actor) -> Unit[BookingError | None]:
    """Why ``booking`` cannot be checked in now (what :func:`check_in` refuses it with: not
    confirmed, before its day, after its session), or None."""
    if booking.status is not BookingStatus.CONFIRMED:
        return InvalidState(status=str(booking.status), action="check_in")
    ctx = yield from slot_context(booking.slot_id, actor)
    tz = ZoneInfo(ctx["timezone"])
    opens_at = at_local(booking.day, time(0, 0), tz)
    if tx.now < opens_at:
        return CheckInNotOpen(opens_at=opens_at)
    ends_at = from_epoch(ctx["session_ends_at"])
    if tx.now >= ends_at:
        return CheckInClosed(closed_at=ends_at.astimezone(tz))
    return None


def _check_in_scope(hospital_id: int) -> str:
    """The idempotency scope of check-in references: one hospital's (its HIS numbers them)."""
    return f"check_in:{hospital_id}"


def check_in(tx: Tx, cmd: CheckIn, deps: Deps) -> Unit[BookingView]:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    scope = _check_in_scope(booking.hospital_id)
    if cmd.reference is not None:  # after the booking's lock: a waiting retry sees the first
        prior = yield val(
            "SELECT booking_id FROM idempotency_keys WHERE scope = ? AND key = ?",
            scope,
            cmd.reference,
        )
        if prior is not None:
            if prior != booking.id:
                raise IdempotencyKeyReused(key=cmd.reference)
            return (yield from view_by_id(booking.id))
    refusal = yield from check_in_refusal(tx, booking, cmd.actor)
    if refusal is not None:
        raise refusal
    if cmd.reference is not None:
        try:
            yield execute(
                "INSERT INTO idempotency_keys (scope, key, request_hash, booking_id, created_at) "
                "VALUES (?, ?, 'check_in', ?, ?)",
                scope,
                cmd.reference,
                booking.id,
                tx.epoch,
            )
        except UniqueViolation as err:  # PostgreSQL: another booking's check-in took it
            raise IdempotencyKeyReused(key=cmd.reference) from err
    queue_no = yield val(
        "UPDATE sessions SET last_queue_no = last_queue_no + 1 WHERE id = ? "
        "RETURNING last_queue_no",
        booking.session_id,
    )
    yield from _set_status(
        tx, booking, BookingStatus.CHECKED_IN, queue_no=queue_no, checked_in_at=tx.epoch
    )
    view = yield from view_by_id(booking.id)
    tx.emit(BookingCheckedIn(**booking_fields(view)))
    tx.audit(
        cmd.actor,
        AuditAction.BOOKING_CHECKED_IN,
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(BookingStatus.CONFIRMED)},
        after={"status": str(BookingStatus.CHECKED_IN), "queue_no": queue_no},
    )
    return view
