"""Hospitals, departments, doctors, clinic sessions (排班) and slots (号源)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import (
    ClinicSession,
    Department,
    Doctor,
    Hospital,
    Period,
    SessionStatus,
    Slot,
    SlotView,
)
from ..errors import NotFound
from ..store.base import Query, from_epoch, one, rows

Gen = Generator[Query, Any, Any]


def hospital_from(row) -> Hospital:
    return Hospital(row["id"], row["code"], row["name"], row["timezone"])


def department_from(row) -> Department:
    aliases = tuple(a for a in row["aliases"].split(",") if a)
    return Department(
        row["id"], row["hospital_id"], row["code"], row["name"], aliases, bool(row["active"])
    )


def doctor_from(row) -> Doctor:
    return Doctor(
        row["id"],
        row["hospital_id"],
        row["department_id"],
        row["work_no"],
        row["name"],
        row["title"],
        row["specialty"],
        row["fee"],
        bool(row["active"]),
    )


def session_from(row) -> ClinicSession:
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


def slot_from(row) -> Slot:
    return Slot(
        row["id"],
        row["session_id"],
        time.fromisoformat(row["start_time"]),
        time.fromisoformat(row["end_time"]),
        from_epoch(row["starts_at"]),
        row["capacity"],
        row["booked"],
    )


def hospital_by_code(code: str) -> Generator[Query, Any, Hospital]:
    row = yield one("SELECT * FROM hospitals WHERE code = ?", code)
    if row is None:
        raise NotFound("hospital", code)
    return hospital_from(row)


def hospital_by_id(hospital_id: int) -> Generator[Query, Any, Hospital]:
    row = yield one("SELECT * FROM hospitals WHERE id = ?", hospital_id)
    if row is None:
        raise NotFound("hospital", hospital_id)
    return hospital_from(row)


def department_by_code(hospital_id: int, code: str) -> Generator[Query, Any, Department]:
    row = yield one(
        "SELECT * FROM departments WHERE hospital_id = ? AND code = ?", hospital_id, code
    )
    if row is None:
        raise NotFound("department", code)
    return department_from(row)


def doctor_by_work_no(hospital_id: int, work_no: str) -> Generator[Query, Any, Doctor]:
    row = yield one(
        "SELECT * FROM doctors WHERE hospital_id = ? AND work_no = ?", hospital_id, work_no
    )
    if row is None:
        raise NotFound("doctor", work_no)
    return doctor_from(row)


def session_by_id(session_id: int, *, lock: bool = False) -> Generator[Query, Any, ClinicSession]:
    row = yield one("SELECT * FROM sessions WHERE id = ?", session_id, lock=lock)
    if row is None:
        raise NotFound("session", session_id)
    return session_from(row)


def slot_by_id(slot_id: int) -> Generator[Query, Any, Slot]:
    row = yield one("SELECT * FROM slots WHERE id = ?", slot_id)
    if row is None:
        raise NotFound("slot", slot_id)
    return slot_from(row)


def slots_of_session(session_id: int) -> Generator[Query, Any, list[Slot]]:
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


def slot_view_from(row) -> SlotView:
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


def zone(hospital: Hospital) -> ZoneInfo:
    return ZoneInfo(hospital.timezone)
