"""Clinic sessions (排班) and their slots (号源), one at a time or in bulk (all or nothing)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ..catalogue.repo import doctor_by_work_no, hospital_for, zone
from ..events.audit import AuditAction
from ..events.model import SessionCreated
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput
from ..kernel.registry import handler_table, on
from ..kernel.unit import Tx, Unit, execute, to_epoch, val
from .commands import CreateSession, CreateSessions
from .model import ClinicSession
from .repo import session_by_id

MAX_SESSIONS_AT_ONCE = 500


def create_sessions(tx: Tx, cmd: CreateSessions, deps: Deps) -> Unit[list[ClinicSession]]:
    if len(cmd.sessions) > MAX_SESSIONS_AT_ONCE:
        raise InvalidInput("sessions", f"at most {MAX_SESSIONS_AT_ONCE} at once")
    made = []
    for one_session in cmd.sessions:
        made.append((yield from create_session(tx, replace(one_session, actor=cmd.actor), deps)))
    return made


MAX_SLOTS_PER_SESSION = 96  # 24 h of 15-minute slots: more is a typo

MAX_PLACES_PER_SLOT = 500


def create_session(tx: Tx, cmd: CreateSession, deps: Deps) -> Unit[ClinicSession]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
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
        "end_time, starts_at, ends_at, room, fee, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
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
                tx.epoch,
            )
        )
    yield execute(
        "INSERT INTO slots (session_id, start_time, end_time, starts_at, capacity, updated_at) "
        "VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(slot_rows)),
        *(v for r in slot_rows for v in r),
    )
    tx.emit(
        SessionCreated(
            hospital_id=hospital.id,
            session_id=session_id,
            doctor=doctor.work_no,
            day=cmd.day,
            period=str(cmd.period),
            slots=n_slots,
            places_per_slot=cmd.places_per_slot,
        )
    )
    tx.audit(
        cmd.actor,
        AuditAction.SESSION_CREATED,
        "session",
        session_id,
        hospital_id=hospital.id,
        after={"doctor": doctor.work_no, "day": cmd.day.isoformat(), "period": str(cmd.period)},
    )
    return (yield from session_by_id(session_id))


HANDLERS = handler_table(
    on(CreateSession, create_session),
    on(CreateSessions, create_sessions),
)
