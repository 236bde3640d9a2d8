"""Booking a place (预约): every rule a new place must pass, the capacity guard, the insert."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..blacklist.repo import active_ban
from ..events.audit import AuditAction
from ..events.model import BookingCreated, SlotChanged, WaitlistLeft
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.deps import Deps
from ..kernel.errors import (
    AlreadyBooked,
    Blacklisted,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    RealNameMismatch,
    SessionUnavailable,
    SlotFull,
)
from ..kernel.identity import normalize_phone
from ..kernel.pii import Cipher
from ..kernel.unit import Row, Tx, UniqueViolation, Unit, execute, from_epoch, one, to_epoch, val
from ..patients.eligibility import check_patient_eligible
from ..patients.names import clean_name  # names are registered folded (張三 → 张三)
from ..patients.repo import patient_by_id
from ..rules.checks import (
    check_booking_cutoff,
    check_booking_hours,
    check_booking_window,
    check_limit,
    check_open_day,
)
from ..rules.model import RuleKey, RuleSet, pool_plan
from ..rules.pools import pool_of
from ..rules.repo import cached_rules
from ..schedule.pools import place_anywhere, session_times, take_for
from .commands import BookSlot
from .draws import queue_if_fair
from .model import ACTIVE_SQL, BookingStatus, BookingView
from .repo import free_place, insert_booking, take_place, view_by_id, view_from, waiting_counts

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


def slot_context(slot_id: int, actor: Actor) -> Unit[Any]:
    ctx = yield one(SLOT_CONTEXT_SQL, slot_id)
    if ctx is None:
        raise NotFound("slot", slot_id)
    tenancy.check(actor, ctx["hospital_id"], "slot", slot_id)
    return ctx


def booking_fields(view: BookingView) -> dict[str, Any]:
    """What every booking event carries (:class:`~booking_core.events.model.BookingEvent`):
    the booking as it stands, enough for an SMS or a HIS without a lookup."""
    b = view.booking
    return {
        "hospital_id": b.hospital_id,
        "booking_no": b.booking_no,
        "status": str(b.status),
        "patient_id": b.patient_id,
        "slot_id": b.slot_id,
        "session_id": b.session_id,
        "hospital": view.hospital_code,
        "department": view.department_code,
        "doctor": view.doctor_work_no,
        "day": b.day,
        "start": view.start.strftime("%H:%M"),
        "channel": b.channel,
        "fee": b.fee,
        "paid": b.paid,
        "queue_no": b.queue_no,
    }


def emit_slot_changed(tx: Tx, hospital_id: int, slot_id: int, capacity: int, booked: int) -> None:
    free = max(capacity - booked, 0)
    tx.emit(
        SlotChanged(
            hospital_id=hospital_id, slot_id=slot_id, capacity=capacity, booked=booked, free=free
        )
    )


def admit(
    tx: Tx,
    ctx: Row,
    patient: Row,
    rules: RuleSet,
    *,
    phone_index: str | None,
    moving: int | None,
    cipher: Cipher,
) -> Unit[None]:
    """Every rule a new place must pass; ``moving`` is the booking being rescheduled;
    ``cipher`` reads the birth date in the ID number where a department limits age."""
    tz = ZoneInfo(ctx["timezone"])
    if ctx["session_status"] != "open":
        raise SessionUnavailable(session_id=ctx["session_id"], status=ctx["session_status"])
    day = date.fromisoformat(ctx["day"])
    check_open_day(day, rules)  # 节假日: before the window, which would name a release
    if pool_plan(rules) is None:
        check_booking_window(tx.now, day, from_epoch(ctx["session_starts_at"]), rules, tz)
    else:  # each pool has its own release (分时放号): :func:`take_from_pool` checks it
        check_booking_cutoff(tx.now, from_epoch(ctx["session_starts_at"]), rules, tz)
    check_booking_hours(tx.now, rules, tz)  # 停止预约时段
    yield from check_patient_eligible(patient, rules, ctx, cipher)  # 就诊资格
    if rules.on(RuleKey.BLACKLIST_CHECK):
        ban = yield from active_ban(patient["id"], ctx["hospital_id"], tx.epoch)
        if ban is not None:
            raise Blacklisted(
                until=ban.ends_at.astimezone(tz), reason=ban.reason, source=str(ban.source)
            )
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
    # 候补: waiting entries count as bookings (but not the one this booking would end)
    waits = yield from waiting_counts(
        patient["id"], ctx["department_id"], ctx["day"], ctx["session_id"]
    )
    check_limit(RuleKey.PER_DEPARTMENT_PER_DAY, mine["same_day"] + waits[0], rules)
    check_limit(RuleKey.MAX_ACTIVE_PER_PATIENT, mine["active"] + waits[1], rules)
    if phone_index and moving is None and rules.limit(RuleKey.PATIENTS_PER_PHONE) is not None:
        yield from _phone_limit(tx, phone_index, patient["id"], rules)


def _phone_limit(tx: Tx, phone_index: str, patient_id: int, rules: RuleSet) -> Unit[None]:
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


def claim_place(
    tx: Tx, slot_id: int, capacity: int, *, probe: bool = True
) -> Unit[tuple[int, int]]:
    """The capacity guard, then a free place: (place_no, booked).

    Without ``probe`` the place is the new booked count, unchecked: the caller's
    insert meets the active-place index and comes back for :func:`other_place`.
    """
    guarded = not tx.unsafe_capacity_check
    booked = yield from take_place(slot_id, tx.epoch, guarded=guarded)
    if booked is None:
        raise SlotFull(slot_id=slot_id)
    if not probe:
        return booked, booked
    place = yield from free_place(slot_id, capacity if guarded else None, booked)
    if place is None:  # the counter and the places disagree: trust neither, refuse
        raise SlotFull(slot_id=slot_id)
    return place, booked


def take_from_pool(tx: Tx, ctx: Row, rules: RuleSet, channel: str, pool: str) -> Unit[str | None]:
    """The channel-pool guard (号源池), after the slot's: the pool the place came from, or
    None where the hospital has no pools (every place public, as before pools)."""
    plan = pool_plan(rules)
    if plan is None:
        return None
    tz = ZoneInfo(ctx["timezone"])
    times = session_times(date.fromisoformat(ctx["day"]), ctx["session_starts_at"], rules, tz)
    return (
        yield from take_for(
            tx,
            slot_id=ctx["slot_id"],
            session_id=ctx["session_id"],
            times=times,
            plan=plan,
            rules=rules,
            pool=pool,
            channel=channel,
        )
    )


def pool_for_move(tx: Tx, ctx: Row, rules: RuleSet, preferred: str | None) -> Unit[str | None]:
    """The pool a booking the hospital moves into ``ctx``'s session counts against (停诊):
    any with a place, its own first; None where the hospital has no pools."""
    plan = pool_plan(rules)
    if plan is None:
        return None
    return (yield from place_anywhere(tx, ctx["session_id"], plan, preferred))


def _idempotent_replay(cmd: BookSlot) -> Unit[BookingView | None]:
    prior = yield one(
        "SELECT request_hash, booking_id FROM idempotency_keys WHERE scope = ? AND key = ?",
        cmd.idempotency_scope,
        cmd.idempotency_key,
    )
    if prior is None:
        return None
    if prior["request_hash"] != cmd.request_hash:
        raise IdempotencyKeyReused(key=cmd.idempotency_key or "")
    view = yield from view_by_id(prior["booking_id"])
    return replace(view, replayed=True)


def book_slot(tx: Tx, cmd: BookSlot, deps: Deps) -> Unit[BookingView]:
    """Book a place; in fair mode at a release (公平放号) the request is queued for its
    draw instead (:func:`.draws.queue_if_fair` raises ``Queued``)."""
    return (yield from book_now(tx, cmd, deps, drawn=False))


def book_now(tx: Tx, cmd: BookSlot, deps: Deps, *, drawn: bool) -> Unit[BookingView]:
    """:func:`book_slot`; ``drawn``: a release draw serves a queued request (never queued
    again, and its booking event says so, so the booker is texted)."""
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
    if cmd.patient_name is not None and clean_name(cmd.patient_name) != clean_name(patient["name"]):
        raise RealNameMismatch()
    rules = yield from cached_rules(deps.cache, ctx["hospital_id"])
    own_pool = pool_of(str(cmd.channel), cmd.referral)
    phone_index = _booker_phone_index(deps, cmd.booker_phone) or patient["phone_index"]
    yield from admit(
        tx, ctx, patient, rules, phone_index=phone_index, moving=None, cipher=deps.cipher
    )
    if not drawn:
        yield from queue_if_fair(tx, cmd, ctx, patient, rules, phone_index, deps)
    place, booked = yield from claim_place(tx, ctx["slot_id"], ctx["capacity"], probe=False)
    pool = yield from take_from_pool(tx, ctx, rules, str(cmd.channel), own_pool)
    prepay = rules.on(RuleKey.PREPAY_REQUIRED) and ctx["fee"] > 0
    held = cmd.hold or prepay
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
        "pool": pool,
    }
    inserted = yield from insert_booking(fields)
    if inserted is None:  # that place was freed and retaken since: the lowest free one
        free = yield from free_place(ctx["slot_id"], ctx["capacity"], None)
        if free is None:
            raise SlotFull(slot_id=ctx["slot_id"])
        fields["place_no"] = free
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
            raise IdempotencyKeyReused(key=cmd.idempotency_key or "") from err
    yield from leave_line(tx, ctx, patient["id"], cmd.actor)
    view = _view_of_new(ctx, patient, booking_id, booking_no, fields)
    held_for = "payment" if prepay else "confirmation" if held else ""
    created = BookingCreated(**booking_fields(view), held_for=held_for, drawn=drawn)
    tx.emit(created)
    emit_slot_changed(tx, ctx["hospital_id"], ctx["slot_id"], ctx["capacity"], booked)
    tx.audit(
        cmd.actor,
        AuditAction.BOOKING_CREATED,
        "booking",
        booking_no,
        hospital_id=ctx["hospital_id"],
        after=created.payload(),
    )
    return view


def _view_of_new(
    ctx: Row, patient: Row, booking_id: int, booking_no: str, fields: dict[str, Any]
) -> BookingView:
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


def leave_line(tx: Tx, ctx: Row, patient_id: int, actor: Actor) -> Unit[None]:
    """候补: a patient who books a place of a session they were waiting for leaves its line
    (never both waiting and booked for one session)."""
    entry_id = yield val(
        "UPDATE waitlist SET status = 'left', end_reason = 'booked', ended_at = ?, "
        "updated_at = ? WHERE session_id = ? AND patient_id = ? AND status = 'waiting' "
        "RETURNING id",
        tx.epoch,
        tx.epoch,
        ctx["session_id"],
        patient_id,
    )
    if entry_id is None:
        return
    tx.emit(
        WaitlistLeft(
            hospital_id=ctx["hospital_id"],
            entry_id=entry_id,
            session_id=ctx["session_id"],
            patient_id=patient_id,
            day=date.fromisoformat(ctx["day"]),
            doctor=ctx["doctor_work_no"],
            reason="booked",
        )
    )
    tx.audit(
        actor,
        AuditAction.WAITLIST_LEFT,
        "waitlist",
        entry_id,
        hospital_id=ctx["hospital_id"],
        before={"status": "waiting"},
        after={"status": "left", "reason": "booked"},
    )


def unsafe_precheck(tx: Tx, slot_id: int) -> Unit[None]:
    """Test-only negative control: the capacity check done *outside* the write transaction."""
    row = yield one("SELECT capacity, booked FROM slots WHERE id = ?", slot_id)
    if row is not None and row["booked"] >= row["capacity"]:
        raise SlotFull(slot_id=slot_id)
