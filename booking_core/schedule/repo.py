"""Clinic session (排班) and slot (号源) rows."""

from __future__ import annotations

from datetime import date, time

from ..kernel.errors import NotFound
from ..kernel.unit import Row, Unit, from_epoch, one, rows
from .model import ClinicSession, Period, SessionStatus, Slot, SlotView


def session_from(row: Row) -> ClinicSession:
    return ClinicSession(
        id=row["id"],
        hospital_id=row["hospital_id"],
        department_id=row["department_id"],
        doctor_id=row["doctor_id"],
        day=date.fromisoformat(row["day"]),
        period=Period(row["period"]),
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        room=row["room"],
        fee=row["fee"],
        status=SessionStatus(row["status"]),
        starts_at=from_epoch(row["starts_at"]),
        ends_at=from_epoch(row["ends_at"]),
    )


def slot_from(row: Row) -> Slot:
    return Slot(
        row["id"],
        row["session_id"],
        time.fromisoformat(row["start_time"]),
        time.fromisoformat(row["end_time"]),
        from_epoch(row["starts_at"]),
        row["capacity"],
        row["booked"],
    )


def session_by_id(session_id: int, *, lock: bool = False) -> Unit[ClinicSession]:
    row = yield one("SELECT * FROM sessions WHERE id = ?", session_id, lock=lock)
    if row is None:
        raise NotFound("session", session_id)
    return session_from(row)


def slots_of_session(session_id: int) -> Unit[list[Slot]]:
    found = yield rows(
        "SELECT * FROM slots WHERE session_id = ? ORDER BY start_time, id", session_id
    )
    return [slot_from(r) for r in found]


SLOT_VIEW_SQL = """
SELECT sl.id AS slot_id, sl.session_id, h.code AS hospital_code, dep.code AS department_code,
       dep.name AS department_name, doc.work_no, doc.name AS doctor_name, doc.title,
       se.day, se.period, sl.start_time, sl.end_time, se.room, se.fee, sl.capacity, sl.booked,
       se.starts_at AS session_starts_at
FROM slots sl
JOIN sessions se ON se.id = sl.session_id
JOIN doctors doc ON doc.id = se.doctor_id
JOIN departments dep ON dep.id = se.department_id
JOIN hospitals h ON h.id = se.hospital_id
"""


def slot_view_from(row: Row) -> SlotView:
    return SlotView(
        slot_id=row["slot_id"],
        session_id=row["session_id"],
        hospital_code=row["hospital_code"],
        department_code=row["department_code"],
        department_name=row["department_name"],
        doctor_work_no=row["work_no"],
        doctor_name=row["doctor_name"],
        doctor_title=row["title"],
        day=date.fromisoformat(row["day"]),
        period=Period(row["period"]),
        start=time.fromisoformat(row["start_time"]),
        end=time.fromisoformat(row["end_time"]),
        room=row["room"],
        fee=row["fee"],
        capacity=row["capacity"],
        booked=row["booked"],
    )
