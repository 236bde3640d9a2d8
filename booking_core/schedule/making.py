"""How a clinic session (排班) is checked and made with its slots (号源): the one way, used by
a single session (``CreateSession``), a week copied from a template week and a schedule
imported in bulk (:mod:`.imports`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from ..catalogue.model import Doctor, Hospital
from ..events.audit import AuditAction
from ..events.model import SessionCreated
from ..kernel.errors import InvalidInput
from ..kernel.unit import Tx, Unit, execute, to_epoch, val
from .commands import CreateSession

MAX_SLOTS_PER_SESSION = 96  # 24 h of 15-minute slots: more is a typo

MAX_PLACES_PER_SLOT = 500


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """A session checked and cut into slots, not written yet."""

    start: datetime  # aware, the hospital's zone
    end: datetime
    step: timedelta
    slots: int
    fee: int  # fen

    def slot_starts(self) -> list[datetime]:
        return [self.start + i * self.step for i in range(self.slots)]


def plan_session(cmd: CreateSession, tz: tzinfo, doctor_fee: int) -> SessionPlan:
    """``cmd`` checked (its times, slot length, places and fee) and cut into slots; the
    first thing wrong raises :class:`InvalidInput`. Reads nothing: a doctor not yet written
    (imported in the same unit) is planned with the fee it will have."""
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
    fee = doctor_fee if cmd.fee is None else cmd.fee
    if fee < 0:
        raise InvalidInput("fee", "must be >= 0 fen")
    return SessionPlan(start, end, step, n_slots, fee)


def clashing_session(doctor_id: int, cmd: CreateSession) -> Unit[int | None]:
    """The doctor's session already on that day and period, if any (one a period)."""
    return (
        yield val(
            "SELECT id FROM sessions WHERE doctor_id = ? AND day = ? AND period = ?",
            doctor_id,
            cmd.day.isoformat(),
            str(cmd.period),
        )
    )


def insert_session(
    tx: Tx, cmd: CreateSession, hospital: Hospital, doctor: Doctor, plan: SessionPlan
) -> Unit[int]:
    """Write the planned session and its slots, with its event and audit record; its id."""
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
        to_epoch(plan.start),
        to_epoch(plan.end),
        cmd.room,
        plan.fee,
        tx.epoch,
        tx.epoch,
    )
    slot_rows = [
        (
            session_id,
            s.strftime("%H:%M"),
            (s + plan.step).strftime("%H:%M"),
            to_epoch(s),
            cmd.places_per_slot,
            tx.epoch,
        )
        for s in plan.slot_starts()
    ]
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
            slots=plan.slots,
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
    return session_id
