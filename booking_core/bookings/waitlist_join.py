"""Joining and leaving the waitlist (加入候补、退出候补): the doors' two commands. The
line itself — offers, lapses, closing — is :mod:`.waitlist`'s."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from ..blacklist.repo import active_ban
from ..events.audit import AuditAction
from ..events.model import WaitlistJoined, WaitlistLeft
from ..kernel.deps import Deps
from ..kernel.errors import (
    AlreadyBooked,
    AlreadyWaiting,
    Blacklisted,
    BookingClosed,
    NotFound,
    WaitlistNotNeeded,
)
from ..kernel.errors import WaitlistClosed as WaitlistClosedError
from ..kernel.unit import Tx, UniqueViolation, Unit, from_epoch, one, val
from ..patients.repo import patient_by_id
from ..rules.checks import check_booking_window, check_limit
from ..rules.model import RuleKey, RuleSet
from ..rules.repo import cached_rules
from .changes import cancel_one
from .commands import JoinWaitlist, LeaveWaitlist
from .model import ACTIVE_SQL, LIVE_WAITLIST_SQL, CancelReason, WaitlistEntry, WaitlistStatus
from .repo import still, waiting_counts
from .waitlist import (
    audit_entry,
    end_entry,
    entry_from,
    event_fields,
    free_places,
    position_of,
    session_row,
)


def join_waitlist(tx: Tx, cmd: JoinWaitlist, deps: Deps) -> Unit[WaitlistEntry]:
    session = yield from session_row(cmd.session_id, cmd.actor)
    patient = yield from patient_by_id(cmd.patient_id, lock=True)  # their limits, in turn
    if patient["hospital_id"] != session["hospital_id"]:
        raise NotFound("patient", cmd.patient_id)
    rules = yield from cached_rules(deps.cache, session["hospital_id"])
    tz = ZoneInfo(session["timezone"])
    if not rules.on(RuleKey.WAITLIST):
        raise WaitlistClosedError(session_id=session["id"], reason="off")
    if session["status"] != "open":
        raise WaitlistClosedError(session_id=session["id"], reason=session["status"])
    try:
        check_booking_window(
            tx.now, date.fromisoformat(session["day"]), from_epoch(session["starts_at"]), rules, tz
        )
    except BookingClosed as err:
        raise WaitlistClosedError(
            session_id=session["id"], reason="closed", closed_at=err.closed_at
        ) from err
    if rules.on(RuleKey.BLACKLIST_CHECK):
        ban = yield from active_ban(patient["id"], session["hospital_id"], tx.epoch)
        if ban is not None:
            raise Blacklisted(
                until=ban.ends_at.astimezone(tz), reason=ban.reason, source=str(ban.source)
            )
    live = yield one(
        f"SELECT id FROM waitlist WHERE session_id = ? AND patient_id = ? "
        f"AND status IN {LIVE_WAITLIST_SQL}",
        session["id"],
        patient["id"],
    )
    if live is not None:
        position = yield from position_of(live["id"], session["id"])
        raise AlreadyWaiting(session_id=session["id"], position=position)
    booked = yield val(
        f"SELECT booking_no FROM bookings WHERE session_id = ? AND patient_id = ? "
        f"AND status IN {ACTIVE_SQL}",
        session["id"],
        patient["id"],
    )
    if booked is not None:
        raise AlreadyBooked(booking_no=booked)
    free = yield from free_places(session["id"])
    if free > 0:
        raise WaitlistNotNeeded(session_id=session["id"], free=free)
    yield from check_patient_limits(
        patient["id"], session["department_id"], session["day"], rules, exclude_session=0
    )
    try:
        entry_id = yield val(
            "INSERT INTO waitlist (hospital_id, session_id, department_id, day, patient_id, "
            "channel, actor, status, joined_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?) RETURNING id",
            session["hospital_id"],
            session["id"],
            session["department_id"],
            session["day"],
            patient["id"],
            str(cmd.channel),
            cmd.actor.label,
            tx.epoch,
            tx.epoch,
        )
    except UniqueViolation as err:  # PostgreSQL: the same patient's other request won
        raise AlreadyWaiting(session_id=session["id"], position=0) from err
    row = yield one("SELECT * FROM waitlist WHERE id = ?", entry_id)
    position = yield from position_of(entry_id, session["id"])
    tx.emit(
        WaitlistJoined(
            **event_fields(row, session["doctor_work_no"]),
            position=position,
            channel=cmd.channel,
        )
    )
    audit_entry(
        tx, cmd.actor, AuditAction.WAITLIST_JOINED, {**row, "status": None}, position=position
    )
    return entry_from(row, position)


def check_patient_limits(
    patient_id: int, department_id: int, day: str, rules: RuleSet, *, exclude_session: int
) -> Unit[None]:
    """The patient's active bookings and waiting entries together within the limits (同科室
    同日, active per patient): what one more booking or entry must stay within."""
    mine = yield one(
        "SELECT coalesce(sum(CASE WHEN department_id = ? AND day = ? THEN 1 ELSE 0 END), 0) "
        f"AS same_day, count(*) AS active FROM bookings WHERE patient_id = ? "
        f"AND status IN {ACTIVE_SQL}",
        department_id,
        day,
        patient_id,
    )
    same_day, live = yield from waiting_counts(patient_id, department_id, day, exclude_session)
    check_limit(RuleKey.PER_DEPARTMENT_PER_DAY, mine["same_day"] + same_day, rules)
    check_limit(RuleKey.MAX_ACTIVE_PER_PATIENT, mine["active"] + live, rules)


def leave_waitlist(tx: Tx, cmd: LeaveWaitlist, deps: Deps) -> Unit[WaitlistEntry]:
    """One command leaves the line; an offer held for the patient is declined (its held
    booking cancelled, the place passed to the next)."""
    session = yield from session_row(cmd.session_id, cmd.actor)
    row = yield one(
        f"SELECT * FROM waitlist WHERE session_id = ? AND patient_id = ? "
        f"AND status IN {LIVE_WAITLIST_SQL}",
        session["id"],
        cmd.patient_id,
        lock=True,
    )
    if row is None:
        raise NotFound("waitlist", f"{cmd.session_id}:{cmd.patient_id}")
    if row["status"] == WaitlistStatus.OFFERED and row["offer_booking_id"] is not None:
        held = yield from still(row["offer_booking_id"], "('held')")
        if held is not None:
            yield from cancel_one(tx, held, cmd.actor, CancelReason.PATIENT)
            row = yield one("SELECT * FROM waitlist WHERE id = ?", row["id"])
            return entry_from(row, 0)
    yield from end_entry(tx, row, WaitlistStatus.LEFT, "patient")
    tx.emit(WaitlistLeft(**event_fields(row, session["doctor_work_no"]), reason="patient"))
    audit_entry(tx, cmd.actor, AuditAction.WAITLIST_LEFT, row, status="left", reason="patient")
    ended = yield one("SELECT * FROM waitlist WHERE id = ?", row["id"])
    return entry_from(ended, 0)
