"""Hospitals, departments, doctors, sessions (排班) and doctor stops (停诊)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..commands import (
    CreateSession,
    StopSession,
    UpsertDepartment,
    UpsertDoctor,
    UpsertHospital,
)
from ..domain import ACTIVE_SQL, Actor, CancelReason
from ..errors import Forbidden, InvalidInput, NotFound, SessionUnavailable, SubstituteFull
from ..repo.bookings import still
from ..repo.schedule import (
    department_by_code,
    doctor_by_work_no,
    hospital_by_code,
    session_by_id,
    zone,
)
from ..store.base import Query, Tx, execute, one, rows, to_epoch, val
from . import Deps
from .booking import claim_place, slot_context
from .changes import cancel_one, move_booking

Gen = Generator[Query, Any, Any]

MAX_SLOTS_PER_SESSION = 96  # 24 h of 15-minute slots: more is a typo
MAX_PLACES_PER_SLOT = 500


def _require(actor: Actor, hospital_id: int, entity: str, key: Any) -> None:
    if not actor.may_access(hospital_id):
        raise NotFound(entity, key)


def _hospital(actor: Actor, code: str) -> Gen:
    hospital = yield from hospital_by_code(code)
    _require(actor, hospital.id, "hospital", code)
    return hospital


def upsert_hospital(tx: Tx, cmd: UpsertHospital, deps: Deps) -> Gen:
    try:
        ZoneInfo(cmd.timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise InvalidInput("timezone", "not an IANA time zone") from err
    row = yield one("SELECT * FROM hospitals WHERE code = ?", cmd.code)
    if row is None:
        if cmd.actor.hospital_id is not None:  # a hospital's token cannot create another
            raise Forbidden(action="create_hospital")
        new_id = yield val(
            "INSERT INTO hospitals (code, name, timezone, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING id",
            cmd.code,
            cmd.name,
            cmd.timezone,
            tx.epoch,
            tx.epoch,
        )
        before = None
    else:
        _require(cmd.actor, row["id"], "hospital", cmd.code)
        new_id = row["id"]
        yield execute(
            "UPDATE hospitals SET name = ?, timezone = ?, updated_at = ? WHERE id = ?",
            cmd.name,
            cmd.timezone,
            tx.epoch,
            new_id,
        )
        before = {"name": row["name"], "timezone": row["timezone"]}
    after = {"code": cmd.code, "name": cmd.name, "timezone": cmd.timezone}
    tx.audit(
        cmd.actor,
        "hospital.upsert",
        "hospital",
        cmd.code,
        hospital_id=new_id,
        before=before,
        after=after,
    )
    return (yield from hospital_by_code(cmd.code)), before is None


def upsert_department(tx: Tx, cmd: UpsertDepartment, deps: Deps) -> Gen:
    hospital = yield from _hospital(cmd.actor, cmd.hospital_code)
    aliases = ",".join(a.strip() for a in cmd.aliases if a.strip())
    row = yield one(
        "SELECT * FROM departments WHERE hospital_id = ? AND code = ?", hospital.id, cmd.code
    )
    if row is None:
        yield execute(
            "INSERT INTO departments (hospital_id, code, name, aliases, active, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            hospital.id,
            cmd.code,
            cmd.name,
            aliases,
            int(cmd.active),
            tx.epoch,
        )
    else:
        yield execute(
            "UPDATE departments SET name = ?, aliases = ?, active = ?, updated_at = ? WHERE id = ?",
            cmd.name,
            aliases,
            int(cmd.active),
            tx.epoch,
            row["id"],
        )
    before = None if row is None else {"name": row["name"], "active": bool(row["active"])}
    tx.audit(
        cmd.actor,
        "department.upsert",
        "department",
        f"{cmd.hospital_code}/{cmd.code}",
        hospital_id=hospital.id,
        before=before,
        after={"name": cmd.name, "aliases": aliases, "active": cmd.active},
    )
    return (yield from department_by_code(hospital.id, cmd.code)), row is None


def upsert_doctor(tx: Tx, cmd: UpsertDoctor, deps: Deps) -> Gen:
    hospital = yield from _hospital(cmd.actor, cmd.hospital_code)
    department = yield from department_by_code(hospital.id, cmd.department_code)
    if cmd.fee < 0:
        raise InvalidInput("fee", "must be >= 0 fen")
    row = yield one(
        "SELECT * FROM doctors WHERE hospital_id = ? AND work_no = ?", hospital.id, cmd.work_no
    )
    values = (department.id, cmd.name, cmd.title, cmd.specialty, cmd.fee, int(cmd.active), tx.epoch)
    if row is None:
        yield execute(
            "INSERT INTO doctors (department_id, name, title, specialty, fee, active, updated_at, "
            "hospital_id, work_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            *values,
            hospital.id,
            cmd.work_no,
        )
    else:
        yield execute(
            "UPDATE doctors SET department_id = ?, name = ?, title = ?, specialty = ?, fee = ?, "
            "active = ?, updated_at = ? WHERE id = ?",
            *values,
            row["id"],
        )
    before = None if row is None else {"name": row["name"], "fee": row["fee"]}
    tx.audit(
        cmd.actor,
        "doctor.upsert",
        "doctor",
        f"{cmd.hospital_code}/{cmd.work_no}",
        hospital_id=hospital.id,
        before=before,
        after={"name": cmd.name, "department": cmd.department_code, "fee": cmd.fee},
    )
    return (yield from doctor_by_work_no(hospital.id, cmd.work_no)), row is None


def create_session(tx: Tx, cmd: CreateSession, deps: Deps) -> Gen:
    hospital = yield from _hospital(cmd.actor, cmd.hospital_code)
    doctor = yield from doctor_by_work_no(hospital.id, cmd.doctor_work_no)
    tz = zone(hospital)
    start = datetime.combine(cmd.day, cmd.start, tzinfo=tz)
    end = datetime.combine(cmd.day, cmd.end, tzinfo=tz)
    if end <= start:
        raise InvalidInput("end", "must be after start")
    if not 5 <= cmd.slot_minutes <= 240:
        raise InvalidInput("slot_minutes", "between 5 and 240")
    if not 1 <= cmd.places_per_slot <= MAX_PLACES_PER_SLOT:
        raise InvalidInput("places_per_slot", f"between 1 and {MAX_PLACES_PER_SLOT}")
    step = timedelta(minutes=cmd.slot_minutes)
    n_slots = int((end - start) / step)
    if n_slots < 1:
        raise InvalidInput("slot_minutes", "longer than the session")
    if n_slots > MAX_SLOTS_PER_SESSION:
        raise InvalidInput("slot_minutes", "too many slots for one session")
    fee = doctor.fee if cmd.fee is None else cmd.fee
    if fee < 0:
        raise InvalidInput("fee", "must be >= 0 fen")
    clash = yield val(
        "SELECT id FROM sessions WHERE doctor_id = ? AND day = ? AND period = ?",
        doctor.id,
        cmd.day.isoformat(),
        str(cmd.period),
    )
    if clash is not None:
        raise InvalidInput("period", f"the doctor already has session {clash} then")
    session_id = yield val(
        "INSERT INTO sessions (hospital_id, department_id, doctor_id, day, period, start_time, "
        "end_time, starts_at, ends_at, room, fee, status, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?) RETURNING id",
        hospital.id,
        doctor.department_id,
        doctor.id,
        cmd.day.isoformat(),
        str(cmd.period),
        cmd.start.strftime("%H:%M"),
        cmd.end.strftime("%H:%M"),
        to_epoch(start),
        to_epoch(end),
        cmd.room,
        fee,
        tx.epoch,
    )
    slot_rows = []
    for i in range(n_slots):
        s = start + i * step
        slot_rows.append(
            (
                session_id,
                s.strftime("%H:%M"),
                (s + step).strftime("%H:%M"),
                to_epoch(s),
                cmd.places_per_slot,
            )
        )
    yield execute(
        "INSERT INTO slots (session_id, start_time, end_time, starts_at, capacity) VALUES "
        + ", ".join(["(?, ?, ?, ?, ?)"] * len(slot_rows)),
        *(v for r in slot_rows for v in r),
    )
    tx.emit(
        "session.created",
        hospital_id=hospital.id,
        key=str(session_id),
        payload={
            "session_id": session_id,
            "doctor": doctor.work_no,
            "day": cmd.day.isoformat(),
            "period": str(cmd.period),
            "slots": n_slots,
            "places_per_slot": cmd.places_per_slot,
        },
    )
    tx.audit(
        cmd.actor,
        "session.create",
        "session",
        session_id,
        hospital_id=hospital.id,
        after={"doctor": doctor.work_no, "day": cmd.day.isoformat(), "period": str(cmd.period)},
    )
    return (yield from session_by_id(session_id))


def stop_session(tx: Tx, cmd: StopSession, deps: Deps) -> Gen:
    """停诊: every active booking moved to the target session, or cancelled, one event each."""
    session = yield from session_by_id(cmd.session_id, lock=True)
    _require(cmd.actor, session.hospital_id, "session", cmd.session_id)
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
        for booking in bookings:
            slot_id = yield from _nearest_free_slot(target.id, booking.slot_id, booking.patient_id)
            ctx = yield from slot_context(slot_id, cmd.actor)
            place, booked = yield from claim_place(tx, slot_id, ctx["capacity"])
            yield from move_booking(tx, booking, ctx, place, booked, cmd.actor, "session_stopped")
            moved += 1
    else:
        for booking in bookings:
            yield from cancel_one(tx, booking, cmd.actor, CancelReason.SESSION_STOPPED)
            cancelled += 1
    yield execute(
        "UPDATE sessions SET status = 'stopped', stop_reason = ? WHERE id = ?",
        cmd.reason,
        session.id,
    )
    summary = {
        "session_id": session.id,
        "mode": cmd.mode,
        "target_session_id": cmd.target_session_id,
        "moved": moved,
        "cancelled": cancelled,
        "reason": cmd.reason,
    }
    tx.emit(
        "session.stopped", hospital_id=session.hospital_id, key=str(session.id), payload=summary
    )
    tx.audit(
        cmd.actor,
        "session.stop",
        "session",
        session.id,
        hospital_id=session.hospital_id,
        before={"status": "open"},
        after=summary,
    )
    return summary


def _nearest_free_slot(session_id: int, from_slot_id: int, patient_id: int) -> Gen:
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
