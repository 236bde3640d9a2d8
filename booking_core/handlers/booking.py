"""Book, pay, cancel, reschedule, check in (预约、支付、退号、改约、取号)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..commands import BookSlot, CancelBooking, CheckIn, PayBooking, RescheduleBooking
from ..domain import (
    ACTIVE_SQL,
    Actor,
    Booking,
    BookingStatus,
    BookingView,
    CancelReason,
    Channel,
)
from ..errors import (
    AlreadyBooked,
    Blacklisted,
    CheckInClosed,
    CheckInNotOpen,
    Forbidden,
    IdempotencyKeyReused,
    InsufficientBalance,
    InvalidInput,
    InvalidState,
    NotFound,
    RealNameMismatch,
    SessionUnavailable,
    SlotFull,
)
from ..identity import normalize_phone
from ..repo.bookings import (
    booking_by_no,
    free_place,
    insert_booking,
    release_place,
    take_place,
    view_by_id,
    view_from,
)
from ..repo.patients import active_ban, patient_by_id
from ..rules import (
    RuleKey,
    RuleSet,
    at_local,
    check_booking_window,
    check_cancel_deadline,
    check_limit,
    check_reschedule_deadline,
)
from ..store.base import Query, Tx, UniqueViolation, execute, from_epoch, one, to_epoch, val
from . import Deps

Gen = Generator[Query, Any, Any]

SLOT_CONTEXT_SQL = """
SELECT sl.id AS slot_id, sl.capacity, sl.booked, sl.start_time, sl.end_time,
       sl.starts_at AS slot_starts_at, se.id AS session_id, se.hospital_id, se.department_id,
       se.doctor_id, se.day, se.period, se.room, se.fee, se.status AS session_status,
       se.starts_at AS session_starts_at, se.ends_at AS session_ends_at,
       h.code AS hospital_code, h.timezone, dep.code AS department_code,
       dep.name AS department_name, doc.work_no AS doctor_work_no, doc.name AS doctor_name,
       doc.title AS doctor_title
FROM slots sl
JOIN sessions se ON se.id = sl.session_id
JOIN hospitals h ON h.id = se.hospital_id
JOIN departments dep ON dep.id = se.department_id
JOIN doctors doc ON doc.id = se.doctor_id
WHERE sl.id = ?
"""


def slot_context(slot_id: int, actor: Actor) -> Gen:
    ctx = yield one(SLOT_CONTEXT_SQL, slot_id)
    if ctx is None or not actor.may_access(ctx["hospital_id"]):
        raise NotFound("slot", slot_id)
    return ctx


def booking_payload(view: BookingView) -> dict[str, Any]:
    """What every booking.* event carries: enough for an SMS or a HIS without a lookup."""
    b = view.booking
    return {
        "booking_no": b.booking_no,
        "status": str(b.status),
        "patient_id": b.patient_id,
        "slot_id": b.slot_id,
        "session_id": b.session_id,
        "hospital": view.hospital_code,
        "department": view.department_code,
        "doctor": view.doctor_work_no,
        "day": b.day.isoformat(),
        "start": view.start.strftime("%H:%M"),
        "channel": str(b.channel),
        "fee": b.fee,
        "paid": b.paid,
        "queue_no": b.queue_no,
    }


def emit_slot_changed(tx: Tx, hospital_id: int, slot_id: int, capacity: int, booked: int) -> None:
    tx.emit(
        "slot.changed",
        hospital_id=hospital_id,
        key=str(slot_id),
        payload={
            "slot_id": slot_id,
            "capacity": capacity,
            "booked": booked,
            "free": max(capacity - booked, 0),
        },
    )


def _admit(
    tx: Tx, ctx, patient, rules: RuleSet, *, phone_index: str | None, moving: int | None
) -> Gen:
    """Every rule a new place must pass; ``moving`` is the booking being rescheduled."""
    tz = ZoneInfo(ctx["timezone"])
    if ctx["session_status"] != "open":
        raise SessionUnavailable(session_id=ctx["session_id"], status=ctx["session_status"])
    day = date.fromisoformat(ctx["day"])
    check_booking_window(tx.now, day, from_epoch(ctx["session_starts_at"]), rules, tz)
    if rules.on(RuleKey.BLACKLIST_CHECK):
        ban = yield from active_ban(patient["id"], ctx["hospital_id"], tx.epoch)
        if ban is not None:
            raise Blacklisted(until=ban.ends_at.astimezone(tz), reason=ban.reason)
    other = moving if moving is not None else 0
    mine = yield one(
        "SELECT max(CASE WHEN slot_id = ? THEN booking_no END) AS in_slot, "
        "coalesce(sum(CASE WHEN department_id = ? AND day = ? THEN 1 ELSE 0 END), 0) AS same_day, "
        f"count(*) AS active FROM bookings WHERE patient_id = ? AND status IN {ACTIVE_SQL} "
        "AND id <> ?",
        ctx["slot_id"],
        ctx["department_id"],
        ctx["day"],
        patient["id"],
        other,
    )
    if mine["in_slot"] is not None:
        raise AlreadyBooked(booking_no=mine["in_slot"])
    check_limit(RuleKey.PER_DEPARTMENT_PER_DAY, mine["same_day"], rules)
    check_limit(RuleKey.MAX_ACTIVE_PER_PATIENT, mine["active"], rules)
    if phone_index and moving is None and rules.limit(RuleKey.PATIENTS_PER_PHONE) is not None:
        yield from _phone_limit(tx, phone_index, patient["id"], rules)


def _phone_limit(tx: Tx, phone_index: str, patient_id: int, rules: RuleSet) -> Gen:
    """At most M different patients booked from one phone number per period (防倒号)."""
    if tx.dialect == "postgres":  # two patients on one phone booking at once: count in turn
        yield val("SELECT pg_advisory_xact_lock(hashtext(?))", phone_index)
    period = rules.rule(RuleKey.PATIENTS_PER_PHONE).period or timedelta(days=30)
    since = to_epoch(tx.now - period)
    others = yield val(
        "SELECT count(DISTINCT patient_id) FROM bookings WHERE booker_phone_index = ? "
        "AND created_at >= ? AND patient_id <> ?",
        phone_index,
        since,
        patient_id,
    )
    check_limit(RuleKey.PATIENTS_PER_PHONE, others, rules)


def _booker_phone_index(deps: Deps, raw: str | None) -> str | None:
    """The phone a booking came from, indexed like a patient's phone: "+86 138-…" and
    "138…" are one phone for the per-phone limit. A caller ID that is no mainland mobile
    is compared by its digits; none at all (withheld): the patient's own phone counts."""
    if not raw:
        return None
    try:
        phone = normalize_phone(raw)
    except InvalidInput:
        phone = "".join(ch for ch in raw if ch.isdigit())
    return deps.cipher.blind_index(phone, context="phone") if phone else None


def claim_place(tx: Tx, slot_id: int, capacity: int, *, probe: bool = True) -> Gen:
    """The capacity guard, then a free place: (place_no, booked).

    Without ``probe`` the place is the new booked count, unchecked: the caller's
    insert meets the active-place index and comes back for :func:`other_place`.
    """
    guarded = not tx.unsafe_capacity_check
    booked = yield from take_place(slot_id, guarded=guarded)
    if booked is None:
        raise SlotFull(slot_id=slot_id)
    if not probe:
        return booked, booked
    place = yield from free_place(slot_id, capacity if guarded else None, booked)
    if place is None:  # the counter and the places disagree: trust neither, refuse
        raise SlotFull(slot_id=slot_id)
    return place, booked


def _idempotent_replay(cmd: BookSlot) -> Gen:
    prior = yield one(
        "SELECT request_hash, booking_id FROM idempotency_keys WHERE scope = ? AND key = ?",
        cmd.idempotency_scope,
        cmd.idempotency_key,
    )
    if prior is None:
        return None
    if prior["request_hash"] != cmd.request_hash:
        raise IdempotencyKeyReused(key=cmd.idempotency_key)
    view = yield from view_by_id(prior["booking_id"])
    return replace(view, replayed=True)


def book_slot(tx: Tx, cmd: BookSlot, deps: Deps) -> Gen:
    if cmd.idempotency_key:
        replay = yield from _idempotent_replay(cmd)
        if replay is not None:
            return replay
    ctx = yield from slot_context(cmd.slot_id, cmd.actor)
    patient = yield from patient_by_id(cmd.patient_id, lock=True)
    if cmd.idempotency_key and tx.dialect == "postgres":
        # a concurrent retry may have committed while we waited for the patient's lock
        replay = yield from _idempotent_replay(cmd)
        if replay is not None:
            return replay
    if patient["hospital_id"] != ctx["hospital_id"]:
        raise NotFound("patient", cmd.patient_id)
    if cmd.patient_name is not None and cmd.patient_name.strip() != patient["name"]:
        raise RealNameMismatch()
    rules = yield from deps.rules.get(ctx["hospital_id"])
    phone_index = _booker_phone_index(deps, cmd.booker_phone) or patient["phone_index"]
    yield from _admit(tx, ctx, patient, rules, phone_index=phone_index, moving=None)
    place, booked = yield from claim_place(tx, ctx["slot_id"], ctx["capacity"], probe=False)
    held = rules.on(RuleKey.PREPAY_REQUIRED) and ctx["fee"] > 0
    hold_until = tx.now + timedelta(minutes=int(rules.value(RuleKey.HOLD_MINUTES)))
    status = BookingStatus.HELD if held else BookingStatus.CONFIRMED
    fields = {
        "hospital_id": ctx["hospital_id"],
        "department_id": ctx["department_id"],
        "doctor_id": ctx["doctor_id"],
        "session_id": ctx["session_id"],
        "slot_id": ctx["slot_id"],
        "patient_id": patient["id"],
        "place_no": place,
        "day": ctx["day"],
        "channel": str(cmd.channel),
        "actor": cmd.actor.label,
        "booker_phone_index": phone_index,
        "status": str(status),
        "fee": ctx["fee"],
        "created_at": tx.epoch,
        "updated_at": tx.epoch,
        "hold_expires_at": to_epoch(hold_until) if held else None,
    }
    inserted = yield from insert_booking(fields)
    if inserted is None:  # that place was freed and retaken since: the lowest free one
        place = yield from free_place(ctx["slot_id"], ctx["capacity"], None)
        if place is None:
            raise SlotFull(slot_id=ctx["slot_id"])
        fields["place_no"] = place
        inserted = yield from insert_booking(fields)
    if inserted is None:  # an active-booking index refused the row again
        raise SlotFull(slot_id=ctx["slot_id"])
    booking_id, booking_no = inserted
    if cmd.idempotency_key:
        try:
            yield execute(
                "INSERT INTO idempotency_keys (scope, key, request_hash, booking_id, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                cmd.idempotency_scope,
                cmd.idempotency_key,
                cmd.request_hash,
                booking_id,
                tx.epoch,
            )
        except UniqueViolation as err:  # PostgreSQL: another request (another patient) won the key
            raise IdempotencyKeyReused(key=cmd.idempotency_key) from err
    view = _view_of_new(ctx, patient, booking_id, booking_no, fields)
    payload = booking_payload(view)
    tx.emit("booking.created", hospital_id=ctx["hospital_id"], key=booking_no, payload=payload)
    emit_slot_changed(tx, ctx["hospital_id"], ctx["slot_id"], ctx["capacity"], booked)
    tx.audit(
        cmd.actor,
        "booking.create",
        "booking",
        booking_no,
        hospital_id=ctx["hospital_id"],
        after=payload,
    )
    return view


def _view_of_new(ctx, patient, booking_id: int, booking_no: str, fields: dict) -> BookingView:
    """The new booking as :func:`view_from` would read it back, without reading it back."""
    return view_from(
        {
            **fields,
            "id": booking_id,
            "booking_no": booking_no,
            "paid": 0,
            "queue_no": None,
            "cancel_reason": None,
            "hospital_code": ctx["hospital_code"],
            "department_code": ctx["department_code"],
            "department_name": ctx["department_name"],
            "doctor_work_no": ctx["doctor_work_no"],
            "doctor_name": ctx["doctor_name"],
            "doctor_title": ctx["doctor_title"],
            "room": ctx["room"],
            "period": ctx["period"],
            "start_time": ctx["start_time"],
            "end_time": ctx["end_time"],
            "slot_starts_at": ctx["slot_starts_at"],
            "patient_name": patient["name"],
            "patient_card_no": patient["card_no"],
        }
    )


def _owned(tx: Tx, booking_no: str, actor: Actor) -> Gen:
    booking = yield from booking_by_no(booking_no, lock=True)
    if not actor.may_access(booking.hospital_id):
        raise NotFound("booking", booking_no)
    return booking


def _set_status(tx: Tx, booking: Booking, status: BookingStatus, **extra: Any) -> Gen:
    sets = ", ".join(["status = ?", "updated_at = ?", *(f"{k} = ?" for k in extra)])
    yield execute(
        f"UPDATE bookings SET {sets} WHERE id = ?",
        str(status),
        tx.epoch,
        *extra.values(),
        booking.id,
    )


def refund(tx: Tx, booking: Booking, actor: Actor, method: str | None) -> Gen:
    """Money back the way it came: the card balance, or a refund row for the terminal."""
    if booking.paid <= 0:
        return
    how = method or "balance"
    if how == "balance":
        yield execute(
            "UPDATE patients SET balance = balance + ?, updated_at = ? WHERE id = ?",
            booking.paid,
            tx.epoch,
            booking.patient_id,
        )
    yield execute(
        "INSERT INTO ledger (hospital_id, patient_id, booking_id, kind, method, amount, reference, "
        "actor, created_at) VALUES (?, ?, ?, 'refund', ?, ?, NULL, ?, ?)",
        booking.hospital_id,
        booking.patient_id,
        booking.id,
        how,
        booking.paid,
        actor.label,
        tx.epoch,
    )


def cancel_one(tx: Tx, booking: Booking, actor: Actor, reason: CancelReason) -> Gen:
    """Cancel, free the place, refund, and record it (used by cancel, expiry and 停诊)."""
    method = yield val("SELECT pay_method FROM bookings WHERE id = ?", booking.id)
    booked = yield from release_place(booking.slot_id)
    yield from _set_status(
        tx, booking, BookingStatus.CANCELLED, cancelled_at=tx.epoch, cancel_reason=str(reason)
    )
    yield from refund(tx, booking, actor, method)
    view = yield from view_by_id(booking.id)
    payload = booking_payload(view) | {"reason": str(reason), "refunded": booking.paid}
    tx.emit(
        "booking.cancelled",
        hospital_id=booking.hospital_id,
        key=booking.booking_no,
        payload=payload,
    )
    capacity = yield val("SELECT capacity FROM slots WHERE id = ?", booking.slot_id)
    emit_slot_changed(tx, booking.hospital_id, booking.slot_id, capacity, booked)
    tx.audit(
        actor,
        "booking.cancel",
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status)},
        after={"status": "cancelled", "reason": str(reason)},
    )
    return view


def cancel_booking(tx: Tx, cmd: CancelBooking, deps: Deps) -> Gen:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise InvalidState(status=str(booking.status), action="cancel")
    if not cmd.by_hospital:
        ctx = yield from slot_context(booking.slot_id, cmd.actor)
        rules = yield from deps.rules.get(booking.hospital_id)
        check_cancel_deadline(
            tx.now, from_epoch(ctx["session_starts_at"]), rules, ZoneInfo(ctx["timezone"])
        )
    reason = CancelReason.HOSPITAL if cmd.by_hospital else CancelReason.PATIENT
    return (yield from cancel_one(tx, booking, cmd.actor, reason))


def pay_booking(tx: Tx, cmd: PayBooking, deps: Deps) -> Gen:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise InvalidState(status=str(booking.status), action="pay")
    if booking.paid >= booking.fee:
        raise InvalidState(status="paid", action="pay")
    if booking.hold_expires_at is not None and booking.hold_expires_at <= tx.now:
        raise InvalidState(status="hold_expired", action="pay")
    if cmd.method not in ("balance", "card", "cash"):
        raise InvalidInput("method", "balance, card or cash")
    due = booking.fee - booking.paid
    if cmd.method == "balance":
        if cmd.actor.channel is Channel.AGENT:
            rules = yield from deps.rules.get(booking.hospital_id)
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
    yield execute(
        "INSERT INTO ledger (hospital_id, patient_id, booking_id, kind, method, amount, reference, "
        "actor, created_at) VALUES (?, ?, ?, 'payment', ?, ?, ?, ?, ?)",
        booking.hospital_id,
        booking.patient_id,
        booking.id,
        cmd.method,
        -due,
        cmd.reference,
        cmd.actor.label,
        tx.epoch,
    )
    yield from _set_status(
        tx,
        booking,
        BookingStatus.CONFIRMED,
        paid=booking.fee,
        pay_method=cmd.method,
        hold_expires_at=None,
    )
    view = yield from view_by_id(booking.id)
    payload = booking_payload(view) | {"method": cmd.method}
    topic = "booking.confirmed" if booking.status is BookingStatus.HELD else "booking.paid"
    tx.emit(topic, hospital_id=booking.hospital_id, key=booking.booking_no, payload=payload)
    tx.audit(
        cmd.actor,
        "booking.pay",
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": str(booking.status), "paid": booking.paid},
        after={"status": "confirmed", "paid": booking.fee, "method": cmd.method},
    )
    return view


def move_booking(
    tx: Tx, booking: Booking, target_ctx, place: int, booked: int, actor: Actor, reason: str
) -> Gen:
    """Put ``booking`` into the place already claimed in ``target_ctx``'s slot; free the old one."""
    old_booked = yield from release_place(booking.slot_id)
    old_capacity = yield val("SELECT capacity FROM slots WHERE id = ?", booking.slot_id)
    status = (
        BookingStatus.CONFIRMED if booking.status is BookingStatus.CHECKED_IN else booking.status
    )
    yield execute(
        "UPDATE bookings SET slot_id = ?, session_id = ?, doctor_id = ?, department_id = ?, "
        "day = ?, "
        "place_no = ?, status = ?, queue_no = NULL, updated_at = ? WHERE id = ?",
        target_ctx["slot_id"],
        target_ctx["session_id"],
        target_ctx["doctor_id"],
        target_ctx["department_id"],
        target_ctx["day"],
        place,
        str(status),
        tx.epoch,
        booking.id,
    )
    view = yield from view_by_id(booking.id)
    payload = booking_payload(view) | {
        "from_slot_id": booking.slot_id,
        "from_session_id": booking.session_id,
        "from_day": booking.day.isoformat(),
        "reason": reason,
    }
    tx.emit(
        "booking.moved", hospital_id=booking.hospital_id, key=booking.booking_no, payload=payload
    )
    emit_slot_changed(tx, booking.hospital_id, booking.slot_id, old_capacity, old_booked)
    emit_slot_changed(
        tx, booking.hospital_id, target_ctx["slot_id"], target_ctx["capacity"], booked
    )
    tx.audit(
        actor,
        "booking.move",
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"slot_id": booking.slot_id, "day": booking.day.isoformat()},
        after={"slot_id": target_ctx["slot_id"], "day": target_ctx["day"], "reason": reason},
    )
    return view


def reschedule_booking(tx: Tx, cmd: RescheduleBooking, deps: Deps) -> Gen:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise InvalidState(status=str(booking.status), action="reschedule")
    if cmd.slot_id == booking.slot_id:
        raise InvalidInput("slot_id", "the booking is already in this slot")
    old = yield from slot_context(booking.slot_id, cmd.actor)
    rules = yield from deps.rules.get(booking.hospital_id)
    check_reschedule_deadline(
        tx.now, booking.day, from_epoch(old["session_starts_at"]), rules, ZoneInfo(old["timezone"])
    )
    target = yield from slot_context(cmd.slot_id, cmd.actor)
    if target["hospital_id"] != booking.hospital_id:
        raise NotFound("slot", cmd.slot_id)
    patient = yield from patient_by_id(booking.patient_id, lock=True)
    yield from _admit(tx, target, patient, rules, phone_index=None, moving=booking.id)
    place, booked = yield from claim_place(tx, target["slot_id"], target["capacity"])
    return (yield from move_booking(tx, booking, target, place, booked, cmd.actor, "rescheduled"))


def check_in(tx: Tx, cmd: CheckIn, deps: Deps) -> Gen:
    booking = yield from _owned(tx, cmd.booking_no, cmd.actor)
    if booking.status is not BookingStatus.CONFIRMED:
        raise InvalidState(status=str(booking.status), action="check_in")
    ctx = yield from slot_context(booking.slot_id, cmd.actor)
    tz = ZoneInfo(ctx["timezone"])
    opens_at = at_local(booking.day, time(0, 0), tz)
    if tx.now < opens_at:
        raise CheckInNotOpen(opens_at=opens_at)
    ends_at = from_epoch(ctx["session_ends_at"])
    if tx.now >= ends_at:
        raise CheckInClosed(closed_at=ends_at.astimezone(tz))
    queue_no = yield val(
        "UPDATE sessions SET last_queue_no = last_queue_no + 1 WHERE id = ? "
        "RETURNING last_queue_no",
        booking.session_id,
    )
    yield from _set_status(
        tx, booking, BookingStatus.CHECKED_IN, queue_no=queue_no, checked_in_at=tx.epoch
    )
    view = yield from view_by_id(booking.id)
    payload = booking_payload(view)
    tx.emit(
        "booking.checked_in",
        hospital_id=booking.hospital_id,
        key=booking.booking_no,
        payload=payload,
    )
    tx.audit(
        cmd.actor,
        "booking.check_in",
        "booking",
        booking.booking_no,
        hospital_id=booking.hospital_id,
        before={"status": "confirmed"},
        after={"status": "checked_in", "queue_no": queue_no},
    )
    return view


def unsafe_precheck(tx: Tx, slot_id: int) -> Gen:
    """Test-only negative control: the capacity check done *outside* the write transaction."""
    row = yield one("SELECT capacity, booked FROM slots WHERE id = ?", slot_id)
    if row is not None and row["booked"] >= row["capacity"]:
        raise SlotFull(slot_id=slot_id)


__all__ = [
    "book_slot",
    "cancel_booking",
    "cancel_one",
    "check_in",
    "claim_place",
    "move_booking",
    "pay_booking",
    "reschedule_booking",
    "slot_context",
    "unsafe_precheck",
]
