"""The waitlist (候补): a patient joins the line of a full session; a freed place is offered
to the first in line, held for them as a booking until a deadline, then passed on.

- Join (:func:`join_waitlist`): only a full session (no free place in any of its slots),
  open, released and before its cut-off; not a patient booked in it already; the entry
  counts against the patient's limits (同科室同日, active per patient) like a booking.
  Arrival order is the entry's id; the position told is the place among those waiting.
- Offer (:func:`offer_places`): wherever a place of a session frees — a cancellation, a
  hold that expired, a reschedule away, 加号 — the same unit offers it: the first waiting
  entry is taken by compare-and-set (``status = 'waiting'`` in the update's condition, so
  two units freeing two places at once offer them to two patients, in order), and a held
  booking is made for them until ``min(now + waitlist_offer_minutes, the cut-off)``.
  The patient confirms (``ConfirmBooking``) or pays (``PayBooking``) it; :func:`accept_offer`.
- Lapse: the offer is a held booking, so the hold sweep (``ExpireHolds``) releases it at
  its deadline; the cancellation ends the entry (:func:`end_offer`, lapsed) and offers
  the place to the next in line in the same unit. A declined offer (the held booking
  cancelled) passes on the same way.
- Close (:func:`close_line`): a stopped session (停诊) closes its line at once; one that
  passed its cut-off is closed by :func:`sweep_waitlists`. Each patient still waiting is
  texted (``waitlist.closed``).
- Places freed by a 停诊 (its own bookings cancelled, or moved away) are not offered:
  the session is closing. A 停诊 that moves bookings *into* a session takes places, it
  frees none. A no-show frees nothing (the session is over).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ..events.audit import AuditAction
from ..events.model import (
    BookingCreated,
    WaitlistClosed,
    WaitlistOffered,
)
from ..kernel import tenancy
from ..kernel.actor import Actor, Channel
from ..kernel.deps import Deps
from ..kernel.errors import (
    NotFound,
)
from ..kernel.unit import (
    Row,
    Tx,
    Unit,
    execute,
    from_epoch,
    one,
    rows,
    to_epoch,
    val,
)
from ..rules.checks import booking_cutoff
from ..rules.model import RuleKey, RuleSet
from ..rules.pools import pool_of
from ..rules.repo import cached_rules, rules_for
from .admission import (
    booking_fields,
    claim_place,
    emit_slot_changed,
    pool_for_move,
    slot_context,
)
from .commands import SweepWaitlists
from .model import (
    ACTIVE_SQL,
    Booking,
    BookingStatus,
    CancelReason,
    WaitlistEntry,
    WaitlistStatus,
)
from .repo import insert_booking, view_by_id

OFFER_RACE_PAUSE_SECONDS = 0.0
"""Test-only: a pause (PostgreSQL) between reading the first waiting entry and taking it,
so a race test's units all read the same entry before any takes it. Zero in service."""

SESSION_SQL = """
SELECT se.*, h.timezone, doc.work_no AS doctor_work_no
FROM sessions se
JOIN hospitals h ON h.id = se.hospital_id
JOIN doctors doc ON doc.id = se.doctor_id
WHERE se.id = ?
"""


def session_row(session_id: int, actor: Actor) -> Unit[Row]:
    ctx = yield one(SESSION_SQL, session_id)
    if ctx is None:
        raise NotFound("session", session_id)
    tenancy.check(actor, ctx["hospital_id"], "session", session_id)
    return ctx


def entry_from(row: Row, position: int, booking_no: str | None = None) -> WaitlistEntry:
    return WaitlistEntry(
        id=row["id"],
        hospital_id=row["hospital_id"],
        session_id=row["session_id"],
        patient_id=row["patient_id"],
        day=date.fromisoformat(row["day"]),
        channel=Channel(row["channel"]),
        status=WaitlistStatus(row["status"]),
        joined_at=from_epoch(row["joined_at"]),
        position=position,
        offer_booking_no=booking_no,
        offer_expires_at=from_epoch(row["offer_expires_at"]),
    )


def position_of(entry_id: int, session_id: int) -> Unit[int]:
    """The entry's place among those still waiting for the session (1: next offered)."""
    return (
        yield val(
            "SELECT count(*) FROM waitlist WHERE session_id = ? AND status = 'waiting' AND id <= ?",
            session_id,
            entry_id,
        )
    )


def free_places(session_id: int) -> Unit[int]:
    return (
        yield val(
            "SELECT coalesce(sum(capacity - booked), 0) FROM slots WHERE session_id = ? "
            "AND booked < capacity",
            session_id,
        )
    )


def audit_entry(tx: Tx, actor: Actor, action: AuditAction, entry: Row, **after: Any) -> None:
    tx.audit(
        actor,
        action,
        "waitlist",
        entry["id"],
        hospital_id=entry["hospital_id"],
        before={"status": entry["status"]},
        after={"session_id": entry["session_id"], "patient_id": entry["patient_id"], **after},
    )


def event_fields(entry: Row, doctor: str) -> dict[str, Any]:
    return {
        "hospital_id": entry["hospital_id"],
        "entry_id": entry["id"],
        "session_id": entry["session_id"],
        "patient_id": entry["patient_id"],
        "day": date.fromisoformat(entry["day"]),
        "doctor": doctor,
    }


def end_entry(tx: Tx, row: Row, status: WaitlistStatus, reason: str) -> Unit[bool]:
    """End a live entry (compare-and-set on its status); False: it had ended already."""
    changed = yield execute(
        "UPDATE waitlist SET status = ?, end_reason = ?, ended_at = ?, updated_at = ? "
        "WHERE id = ? AND status = ?",
        str(status),
        reason,
        tx.epoch,
        tx.epoch,
        row["id"],
        row["status"],
    )
    return bool(changed)


# --- offers ----------------------------------------------------------------------------


def offer_deadline(now: datetime, session_starts_at: datetime, rules: RuleSet) -> datetime:
    """Until when an offer is held: the offer time (``waitlist_offer_minutes``) or the
    session's booking cut-off, whichever comes first."""
    minutes = int(rules.value(RuleKey.WAITLIST_OFFER_MINUTES))
    return min(now + timedelta(minutes=minutes), booking_cutoff(session_starts_at, rules))


def offer_places(tx: Tx, session_id: int, actor: Actor, deps: Deps | None) -> Unit[int]:
    """Offer the session's free places to its waiting patients, first come first offered,
    one place each; the number of offers made. Nothing is offered once the session is not
    open or its cut-off has come (the place stays free; the line is closed by the sweep)."""
    waiting = yield val(
        "SELECT 1 FROM waitlist WHERE session_id = ? AND status = 'waiting' LIMIT 1", session_id
    )
    if not waiting:  # most places freed have nobody waiting for them: one index probe
        return 0
    session = yield one(SESSION_SQL, session_id)
    if session is None or session["status"] != "open":
        return 0
    hospital_id = session["hospital_id"]
    if deps is None:  # a cancellation's unit: the rules as stored now
        rules = yield from rules_for(hospital_id)
    else:
        rules = yield from cached_rules(deps.cache, hospital_id)
    deadline = offer_deadline(tx.now, from_epoch(session["starts_at"]), rules)
    if deadline <= tx.now:
        return 0
    prepay = rules.on(RuleKey.PREPAY_REQUIRED) and session["fee"] > 0
    offered = 0
    while True:
        first = yield one(
            "SELECT * FROM waitlist WHERE session_id = ? AND status = 'waiting' "
            "ORDER BY id LIMIT 1",
            session_id,
        )
        if first is None:
            return offered
        slot = yield one(
            "SELECT id FROM slots WHERE session_id = ? AND booked < capacity "
            f"AND id NOT IN (SELECT slot_id FROM bookings WHERE patient_id = ? "
            f"AND session_id = ? AND status IN {ACTIVE_SQL}) ORDER BY start_time, id LIMIT 1",
            session_id,
            first["patient_id"],
            session_id,
        )
        if slot is None:
            return offered
        if OFFER_RACE_PAUSE_SECONDS and tx.dialect == "postgres":
            yield val("SELECT pg_sleep(?)", OFFER_RACE_PAUSE_SECONDS)
        taken = yield from _take(tx, first, deadline)
        if not taken:  # another unit offered this entry a place first: the next in line
            continue
        yield from _make_offer(tx, session, first, slot["id"], deadline, prepay, actor)
        offered += 1


def _take(tx: Tx, entry: Row, deadline: datetime) -> Unit[bool]:
    """The compare-and-set that makes one entry one offer: only a still-waiting entry is
    taken. (The test-only unsafe mode takes it blind: the negative control.)"""
    guard = "" if tx.unsafe_capacity_check else " AND status = 'waiting'"
    changed = yield execute(
        "UPDATE waitlist SET status = 'offered', offered_at = ?, offer_expires_at = ?, "
        f"updated_at = ? WHERE id = ?{guard}",
        tx.epoch,
        to_epoch(deadline),
        tx.epoch,
        entry["id"],
    )
    return bool(changed)


def _make_offer(
    tx: Tx,
    session: Row,
    entry: Row,
    slot_id: int,
    deadline: datetime,
    prepay: bool,
    actor: Actor,
) -> Unit[None]:
    ctx = yield from slot_context(slot_id, actor)
    place, booked = yield from claim_place(tx, slot_id, ctx["capacity"])
    # 号源池: the place freed went back to a pool; the offer takes it from there (its
    # channel's own first), so the pools' counters keep agreeing with the bookings
    rules = yield from rules_for(ctx["hospital_id"])
    pool = yield from pool_for_move(tx, ctx, rules, pool_of(str(entry["channel"]), False))
    fields = {
        "hospital_id": ctx["hospital_id"],
        "department_id": ctx["department_id"],
        "doctor_id": ctx["doctor_id"],
        "session_id": ctx["session_id"],
        "slot_id": slot_id,
        "patient_id": entry["patient_id"],
        "place_no": place,
        "day": ctx["day"],
        "channel": entry["channel"],
        "actor": entry["actor"],
        "booker_phone_index": None,
        "status": str(BookingStatus.HELD),
        "fee": ctx["fee"],
        "created_at": tx.epoch,
        "updated_at": tx.epoch,
        "hold_expires_at": to_epoch(deadline),
        "pool": pool,
    }
    inserted = yield from insert_booking(fields)
    if inserted is None:  # the place index refused it: the claim and the rows disagree
        raise RuntimeError(f"waitlist offer: place {place} of slot {slot_id} is taken")
    booking_id, booking_no = inserted
    yield execute("UPDATE waitlist SET offer_booking_id = ? WHERE id = ?", booking_id, entry["id"])
    view = yield from view_by_id(booking_id)
    tx.emit(BookingCreated(**booking_fields(view), held_for="waitlist"))
    tx.emit(
        WaitlistOffered(
            **booking_fields(view), entry_id=entry["id"], deadline=deadline, prepay=prepay
        )
    )
    emit_slot_changed(tx, ctx["hospital_id"], slot_id, ctx["capacity"], booked)
    tx.audit(  # under the offer's key (its booking), as the event names it
        actor,
        AuditAction.WAITLIST_OFFERED,
        "booking",
        booking_no,
        hospital_id=entry["hospital_id"],
        before={"entry_id": entry["id"], "status": entry["status"]},
        after={"entry_id": entry["id"], "status": "offered", "deadline": deadline.isoformat()},
    )


def accept_offer(tx: Tx, booking: Booking, actor: Actor) -> Unit[None]:
    """A held booking was confirmed or paid: if it was a waitlist offer, it is accepted."""
    row = yield one(
        "SELECT * FROM waitlist WHERE offer_booking_id = ? AND status = 'offered'", booking.id
    )
    if row is not None and (yield from end_entry(tx, row, WaitlistStatus.ACCEPTED, "confirmed")):
        audit_entry(
            tx,
            actor,
            AuditAction.WAITLIST_ACCEPTED,
            row,
            status="accepted",
            booking_no=booking.booking_no,
        )


def end_offer(tx: Tx, booking: Booking, reason: CancelReason, actor: Actor) -> Unit[bool]:
    """A held booking was cancelled: if it was a waitlist offer, the entry ends (lapsed when
    its hold ran out, declined when cancelled, closed by a 停诊). True if it was an offer."""
    if booking.status is not BookingStatus.HELD:
        return False
    row = yield one(
        "SELECT * FROM waitlist WHERE offer_booking_id = ? AND status = 'offered'", booking.id
    )
    if row is None:
        return False
    status = {
        CancelReason.HOLD_EXPIRED: WaitlistStatus.LAPSED,
        CancelReason.SESSION_STOPPED: WaitlistStatus.CLOSED,
    }.get(reason, WaitlistStatus.DECLINED)
    if (yield from end_entry(tx, row, status, str(reason))):
        audit_entry(
            tx,
            actor,
            AuditAction.WAITLIST_LAPSED,
            row,
            status=str(status),
            booking_no=booking.booking_no,
        )
    return True


# --- closing lines ---------------------------------------------------------------------


def close_line(tx: Tx, session_id: int, reason: str, actor: Actor) -> Unit[int]:
    """Every patient still waiting for the session is told the line is closed (``reason``:
    stopped or closed); the number of entries closed."""
    found = yield rows(
        "SELECT w.*, doc.work_no, p.phone_enc FROM waitlist w "
        "JOIN sessions se ON se.id = w.session_id JOIN doctors doc ON doc.id = se.doctor_id "
        "JOIN patients p ON p.id = w.patient_id "
        "WHERE w.session_id = ? AND w.status = 'waiting' ORDER BY w.id",
        session_id,
    )
    closed = 0
    for row in found:
        if not (yield from end_entry(tx, row, WaitlistStatus.CLOSED, reason)):
            continue
        tx.emit(
            WaitlistClosed(
                **event_fields(row, row["work_no"]),
                reason=reason,
                phone_enc=row["phone_enc"] or "",
            )
        )
        audit_entry(tx, actor, AuditAction.WAITLIST_CLOSED, row, status="closed", reason=reason)
        closed += 1
    return closed


def sweep_waitlists(tx: Tx, cmd: SweepWaitlists, deps: Deps) -> Unit[tuple[int, int]]:
    """Lines of sessions not open, or past their cut-off, are closed; a session with a line
    and a free place (a place freed when no offer could be made, capacity raised by a
    schedule edit) has it offered. Returns (entries closed, offers made)."""
    found = yield rows(
        "SELECT DISTINCT se.id, se.hospital_id, se.status, se.starts_at FROM waitlist w "
        "JOIN sessions se ON se.id = w.session_id WHERE w.status = 'waiting' "
        "ORDER BY se.starts_at, se.id LIMIT ?",
        cmd.limit,
    )
    closed = offered = 0
    for s in found:
        rules = yield from cached_rules(deps.cache, s["hospital_id"])
        if s["status"] != "open":
            closed += yield from close_line(tx, s["id"], "stopped", cmd.actor)
        elif tx.now >= booking_cutoff(from_epoch(s["starts_at"]), rules):
            closed += yield from close_line(tx, s["id"], "closed", cmd.actor)
        else:
            offered += yield from offer_places(tx, s["id"], cmd.actor, deps)
    return closed, offered
