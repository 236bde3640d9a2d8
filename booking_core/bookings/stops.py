"""A doctor stop (停诊): every booking of a stopped session moved (to a substitute
session) or cancelled, in one unit."""

from __future__ import annotations

from typing import Any

from ..events.audit import AuditAction
from ..events.model import SessionStopped
from ..kernel import tenancy
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, NotFound, SessionUnavailable, SubstituteFull
from ..kernel.unit import Tx, Unit, execute, rows, val
from ..rules.repo import cached_rules
from ..schedule.repo import session_by_id
from .admission import claim_place, pool_for_move, slot_context
from .changes import cancel_one, move_booking
from .commands import StopSession
from .model import ACTIVE_SQL, CancelReason
from .repo import still
from .waitlist import close_line


def stop_session(tx: Tx, cmd: StopSession, deps: Deps) -> Unit[dict[str, Any]]:
    """停诊: every active booking moved to the target session, or cancelled, one event each."""
    session = yield from session_by_id(cmd.session_id, lock=True)
    tenancy.check(cmd.actor, session.hospital_id, "session", cmd.session_id)
    if session.status != "open":
        raise SessionUnavailable(session_id=session.id, status=str(session.status))
    if cmd.mode not in ("move", "cancel"):
        raise InvalidInput("mode", "move or cancel")
    found = yield rows(
        f"SELECT b.* FROM bookings b JOIN slots sl ON sl.id = b.slot_id "
        f"WHERE b.session_id = ? AND b.status IN {ACTIVE_SQL} ORDER BY sl.start_time, b.place_no",
        session.id,
    )
    bookings = []
    for r in found:  # each locked and re-checked: a patient may be cancelling right now
        booking = yield from still(r["id"], ACTIVE_SQL)
        if booking is not None:
            bookings.append(booking)
    moved = cancelled = 0
    if cmd.mode == "move":
        if cmd.target_session_id is None:
            raise InvalidInput("target_session_id", "needed to move bookings")
        target = yield from session_by_id(cmd.target_session_id, lock=True)
        if target.hospital_id != session.hospital_id or target.id == session.id:
            raise NotFound("session", cmd.target_session_id)
        if target.status != "open":
            raise SessionUnavailable(session_id=target.id, status=str(target.status))
        free = yield val(
            "SELECT coalesce(sum(capacity - booked), 0) FROM slots WHERE session_id = ? "
            "AND booked < capacity",
            target.id,
        )
        if free < len(bookings):
            raise SubstituteFull(needed=len(bookings), available=free)
        rules = yield from cached_rules(deps.cache, session.hospital_id)
        for booking in bookings:
            slot_id = yield from _nearest_free_slot(target.id, booking.slot_id, booking.patient_id)
            ctx = yield from slot_context(slot_id, cmd.actor)
            place, booked = yield from claim_place(tx, slot_id, ctx["capacity"])
            pool = yield from pool_for_move(tx, ctx, rules, booking.pool)
            yield from move_booking(
                tx, booking, ctx, place, booked, cmd.actor, "session_stopped", pool=pool
            )
            moved += 1
    else:
        for booking in bookings:
            yield from cancel_one(tx, booking, cmd.actor, CancelReason.SESSION_STOPPED)
            cancelled += 1
    yield execute(
        "UPDATE sessions SET status = 'stopped', stop_reason = ?, updated_at = ? WHERE id = ?",
        cmd.reason,
        tx.epoch,
        session.id,
    )
    yield from close_line(tx, session.id, "stopped", cmd.actor)  # 候补: told by text
    stopped = SessionStopped(
        hospital_id=session.hospital_id,
        session_id=session.id,
        mode=cmd.mode,
        target_session_id=cmd.target_session_id,
        moved=moved,
        cancelled=cancelled,
        reason=cmd.reason,
    )
    tx.emit(stopped)
    summary = stopped.payload()
    tx.audit(
        cmd.actor,
        AuditAction.SESSION_STOPPED,
        "session",
        session.id,
        hospital_id=session.hospital_id,
        before={"status": "open"},
        after=summary,
    )
    return summary


def _nearest_free_slot(session_id: int, from_slot_id: int, patient_id: int) -> Unit[int]:
    """The target session's slot with a free place whose start is closest to the old one,
    among those the patient holds no place in already."""
    old = yield val("SELECT start_time FROM slots WHERE id = ?", from_slot_id)
    free = yield rows(
        "SELECT id, start_time FROM slots WHERE session_id = ? AND booked < capacity "
        "AND id NOT IN (SELECT slot_id FROM bookings WHERE patient_id = ? "
        f"AND session_id = ? AND status IN {ACTIVE_SQL}) ORDER BY start_time",
        session_id,
        patient_id,
        session_id,
    )
    if not free:
        raise SubstituteFull(needed=1, available=0)

    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    best = min(free, key=lambda r: (abs(minutes(r["start_time"]) - minutes(old)), r["start_time"]))
    return best["id"]
