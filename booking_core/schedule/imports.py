"""A hospital's schedule imported in bulk (排班导入): departments, doctors and a week (or
more) of sessions, all or nothing, every bad row reported.

Every row is checked before anything is written, against the store as it is and the rest
of the import (a doctor may belong to a department of the same import, a session to one of
its doctors). Sessions are checked by :func:`.making.plan_session` and written by
:func:`.making.insert_session`, as a single session is; departments and doctors by the
catalogue's own upserts. One bad row and the unit raises
:class:`~booking_core.kernel.errors.ImportRejected`, so nothing of it is kept."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..catalogue.commands import UpsertDepartment, UpsertDoctor
from ..catalogue.handlers import upsert_department, upsert_doctor
from ..catalogue.model import Doctor, Hospital
from ..catalogue.repo import department_from, doctor_from, hospital_for, zone
from ..kernel.deps import Deps
from ..kernel.errors import ImportRejected, InvalidInput
from ..kernel.unit import Row, Tx, Unit, rows
from .commands import CreateSession, DepartmentLine, DoctorLine, ImportSchedule, SessionLine
from .making import SessionPlan, insert_session, plan_session
from .model import ImportCounts, RowProblem, ScheduleImport

MAX_DEPARTMENTS = 500
MAX_DOCTORS = 5_000
MAX_SESSIONS = 5_000  # a week of two sessions a day for 350 doctors
MAX_SLOTS = 100_000  # … of 14 slots each; one unit of work still takes seconds, not minutes
MAX_FEN = 100_000_000  # a million yuan: any fee above is a typing error
IN_CHUNK = 500  # ids per ``IN (…)`` list

DEPARTMENT_CODE = re.compile(r"[0-9]{3}")
WORK_NO = re.compile(r"[0-9]{5}")


@dataclass(frozen=True, slots=True)
class _Planned:
    line: SessionLine
    command: CreateSession
    plan: SessionPlan


class _Problems:
    def __init__(self, given: Iterable[RowProblem]) -> None:
        self.found = list(given)

    def add(self, where: str, index: int, field: str, code: str, **params: object) -> None:
        self.found.append(RowProblem.of(where, index, field, code, **params))

    def rejected(self) -> ImportRejected:
        order = {"departments": 0, "doctors": 1, "sessions": 2}
        found = sorted(self.found, key=lambda p: (order.get(p.list, 3), p.index, p.field))
        return ImportRejected(rows=tuple(p.plain() for p in found))


def _text(problems: _Problems, where: str, index: int, field: str, value: str) -> None:
    if not value.strip():
        problems.add(where, index, field, "needed")
    elif len(value) > 100:
        problems.add(where, index, field, "too_long", most=100)


def _check_departments(cmd: ImportSchedule, problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for line in cmd.departments:
        if not DEPARTMENT_CODE.fullmatch(line.code):
            problems.add("departments", line.index, "code", "digits", width=3, example="101")
        elif line.code in seen:
            problems.add("departments", line.index, "code", "repeats_row", row=seen[line.code])
        else:
            seen[line.code] = line.index
        _text(problems, "departments", line.index, "name", line.name)


def _check_doctors(cmd: ImportSchedule, departments: set[str], problems: _Problems) -> None:
    seen: dict[str, int] = {}
    for line in cmd.doctors:
        if not WORK_NO.fullmatch(line.work_no):
            problems.add("doctors", line.index, "work_no", "digits", width=5, example="00868")
        elif line.work_no in seen:
            problems.add("doctors", line.index, "work_no", "repeats_row", row=seen[line.work_no])
        else:
            seen[line.work_no] = line.index
        if line.department_code not in departments:
            problems.add(
                "doctors",
                line.index,
                "department",
                "unknown_department",
                department=line.department_code,
            )
        _text(problems, "doctors", line.index, "name", line.name)
        if not 0 <= line.fee <= MAX_FEN:
            problems.add("doctors", line.index, "fee", "fee_range", most=MAX_FEN)


def _command(cmd: ImportSchedule, line: SessionLine) -> CreateSession:
    return CreateSession(
        actor=cmd.actor,
        hospital_code=cmd.hospital_code,
        doctor_work_no=line.doctor_work_no,
        day=line.day,
        period=line.period,
        start=line.start,
        end=line.end,
        slot_minutes=line.slot_minutes,
        places_per_slot=line.places_per_slot,
        room=line.room,
        fee=line.fee,
    )


def _refused_keys(cmd: ImportSchedule, where: str) -> set[str]:
    """Codes or work numbers of rows the door refused (reported already)."""
    return {p.key for p in cmd.refused if p.list == where and p.key}


def _plan_sessions(
    cmd: ImportSchedule, hospital: Hospital, fees: dict[str, int], problems: _Problems
) -> list[_Planned]:
    """Each session checked as ``CreateSession`` checks one, and against the others."""
    tz = zone(hospital)
    planned: list[_Planned] = []
    seen: dict[tuple[str, str, str], int] = {}
    unreadable = _refused_keys(cmd, "doctors")
    for line in cmd.sessions:
        fee = fees.get(line.doctor_work_no)
        if fee is None and line.doctor_work_no in unreadable:
            fee = 0  # its doctor's row is reported; the session's own fields are still checked
        elif fee is None:
            problems.add(
                "sessions", line.index, "doctor", "unknown_doctor", work_no=line.doctor_work_no
            )
            continue
        key = (line.doctor_work_no, line.day.isoformat(), str(line.period))
        if key in seen:
            problems.add("sessions", line.index, "period", "repeats_row", row=seen[key])
            continue
        seen[key] = line.index
        command = _command(cmd, line)
        try:
            plan = plan_session(command, tz, fee)
        except InvalidInput as err:
            problems.add("sessions", line.index, err.field, "invalid_input", reason=err.reason)
            continue
        planned.append(_Planned(line, command, plan))
    return planned


def _existing_sessions(
    hospital: Hospital, planned: list[_Planned]
) -> Unit[dict[tuple[str, str, str], Row]]:
    """The hospital's sessions on the import's days, by (work number, day, period)."""
    if not planned:
        return {}
    days = sorted(p.line.day.isoformat() for p in planned)
    found = yield rows(
        "SELECT se.*, d.work_no FROM sessions se JOIN doctors d ON d.id = se.doctor_id "
        "WHERE se.hospital_id = ? AND se.day >= ? AND se.day <= ?",
        hospital.id,
        days[0],
        days[-1],
    )
    return {(r["work_no"], r["day"], r["period"]): r for r in found}


def _slots_of(session_ids: list[int]) -> Unit[dict[int, list[tuple[str, str, int]]]]:
    by_session: dict[int, list[tuple[str, str, int]]] = {i: [] for i in session_ids}
    for at in range(0, len(session_ids), IN_CHUNK):
        chunk = session_ids[at : at + IN_CHUNK]
        found = yield rows(
            "SELECT session_id, start_time, end_time, capacity FROM slots "
            f"WHERE session_id IN ({', '.join('?' * len(chunk))}) ORDER BY start_time, id",
            *chunk,
        )
        for r in found:
            by_session[r["session_id"]].append((r["start_time"], r["end_time"], r["capacity"]))
    return by_session


def _same(existing: Row, slots: list[tuple[str, str, int]], p: _Planned) -> bool:
    """The session already there is the one the row describes (an import sent again)."""
    cmd, plan = p.command, p.plan
    wanted = [
        (s.strftime("%H:%M"), (s + plan.step).strftime("%H:%M"), cmd.places_per_slot)
        for s in plan.slot_starts()
    ]
    return (
        existing["status"] == "open"
        and existing["start_time"] == cmd.start.strftime("%H:%M")
        and existing["end_time"] == cmd.end.strftime("%H:%M")
        and existing["room"] == cmd.room
        and existing["fee"] == plan.fee
        and slots == wanted
    )


def _new_sessions(
    hospital: Hospital, planned: list[_Planned], problems: _Problems
) -> Unit[list[_Planned]]:
    """The planned sessions not already there; a different one already there is a bad row."""
    existing = yield from _existing_sessions(hospital, planned)
    clashes = [
        (p, existing[key])
        for p in planned
        if (key := (p.line.doctor_work_no, p.line.day.isoformat(), str(p.line.period))) in existing
    ]
    slots = yield from _slots_of([row["id"] for _, row in clashes])
    kept_out = set()
    for p, row in clashes:
        kept_out.add(p.line.index)
        if not _same(row, slots[row["id"]], p):
            problems.add(
                "sessions", p.line.index, "period", "already_scheduled", session_id=row["id"]
            )
    return [p for p in planned if p.line.index not in kept_out]


def _catalogue(hospital: Hospital) -> Unit[tuple[dict[str, Row], dict[str, Row]]]:
    departments = yield rows("SELECT * FROM departments WHERE hospital_id = ?", hospital.id)
    doctors = yield rows("SELECT * FROM doctors WHERE hospital_id = ?", hospital.id)
    return {r["code"]: r for r in departments}, {r["work_no"]: r for r in doctors}


def _department_changed(row: Row | None, line: DepartmentLine) -> bool:
    if row is None:
        return True
    stored = department_from(row)
    aliases = tuple(a.strip() for a in line.aliases if a.strip())
    return (stored.name, stored.aliases, stored.active) != (line.name, aliases, line.active)


def _doctor_changed(row: Row | None, line: DoctorLine, department_ids: dict[str, int]) -> bool:
    if row is None:
        return True
    d = doctor_from(row)
    now = (d.department_id, d.name, d.title, d.specialty, d.fee, d.active)
    wanted = (
        department_ids.get(line.department_code),
        line.name,
        line.title,
        line.specialty,
        line.fee,
        line.active,
    )
    return now != wanted


def _limits(cmd: ImportSchedule) -> None:
    for name, given, most in (
        ("departments", cmd.departments, MAX_DEPARTMENTS),
        ("doctors", cmd.doctors, MAX_DOCTORS),
        ("sessions", cmd.sessions, MAX_SESSIONS),
    ):
        if len(given) > most:
            raise InvalidInput(name, f"at most {most} in one import")


def _counts(changed: list[bool], rows_before: list[bool]) -> ImportCounts:
    created = sum(1 for c, new in zip(changed, rows_before, strict=True) if c and new)
    updated = sum(1 for c, new in zip(changed, rows_before, strict=True) if c and not new)
    return ImportCounts(created, updated, len(changed) - created - updated)


def import_schedule(tx: Tx, cmd: ImportSchedule, deps: Deps) -> Unit[ScheduleImport]:
    _limits(cmd)
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    # one import of a hospital at a time (PostgreSQL; SQLite's writes are serial anyway):
    # two at once would both find a day free and the second fail on the unique index
    yield rows("SELECT id FROM hospitals WHERE id = ?", hospital.id, lock=True)
    problems = _Problems(cmd.refused)
    departments, doctors = yield from _catalogue(hospital)
    _check_departments(cmd, problems)
    known = set(departments) | {d.code for d in cmd.departments}
    _check_doctors(cmd, known | _refused_keys(cmd, "departments"), problems)
    fees = {code: row["fee"] for code, row in doctors.items()}
    fees |= {d.work_no: d.fee for d in cmd.doctors}
    planned = _plan_sessions(cmd, hospital, fees, problems)
    new = yield from _new_sessions(hospital, planned, problems)
    slot_count = sum(p.plan.slots for p in new)
    if slot_count > MAX_SLOTS:
        raise InvalidInput("sessions", f"at most {MAX_SLOTS} slots in one import")
    if problems.found:
        raise problems.rejected()
    dep_ids = {code: row["id"] for code, row in departments.items()}
    dep_changed = [_department_changed(departments.get(d.code), d) for d in cmd.departments]
    dep_new = [d.code not in departments for d in cmd.departments]
    if cmd.check_only:
        doc_changed = [
            d.department_code not in dep_ids or _doctor_changed(doctors.get(d.work_no), d, dep_ids)
            for d in cmd.doctors
        ]
        return _result(cmd, dep_changed, dep_new, doc_changed, doctors, planned, new, ())
    for line, changed in zip(cmd.departments, dep_changed, strict=True):
        if changed:
            made, _ = yield from upsert_department(tx, _upsert_department(cmd, line), deps)
            dep_ids[made.code] = made.id
    doc_changed = [_doctor_changed(doctors.get(d.work_no), d, dep_ids) for d in cmd.doctors]
    for doctor_line, changed in zip(cmd.doctors, doc_changed, strict=True):
        if changed:
            yield from upsert_doctor(tx, _upsert_doctor(cmd, doctor_line), deps)
    _, doctors_now = yield from _catalogue(hospital)
    made_ids = []
    for p in new:
        doctor: Doctor = doctor_from(doctors_now[p.line.doctor_work_no])
        made_ids.append((yield from insert_session(tx, p.command, hospital, doctor, p.plan)))
    return _result(cmd, dep_changed, dep_new, doc_changed, doctors, planned, new, made_ids)


def _result(
    cmd: ImportSchedule,
    dep_changed: list[bool],
    dep_new: list[bool],
    doc_changed: list[bool],
    doctors: dict[str, Any],
    planned: list[_Planned],
    new: list[_Planned],
    made_ids: Iterable[int],
) -> ScheduleImport:
    doc_new = [d.work_no not in doctors for d in cmd.doctors]
    return ScheduleImport(
        applied=not cmd.check_only,
        departments=_counts(dep_changed, dep_new),
        doctors=_counts(doc_changed, doc_new),
        sessions=ImportCounts(created=len(new), unchanged=len(planned) - len(new)),
        slots=sum(p.plan.slots for p in new),
        session_ids=tuple(made_ids),
    )


def _upsert_department(cmd: ImportSchedule, line: DepartmentLine) -> UpsertDepartment:
    return UpsertDepartment(
        actor=cmd.actor,
        hospital_code=cmd.hospital_code,
        code=line.code,
        name=line.name,
        aliases=line.aliases,
        active=line.active,
    )


def _upsert_doctor(cmd: ImportSchedule, line: DoctorLine) -> UpsertDoctor:
    return UpsertDoctor(
        actor=cmd.actor,
        hospital_code=cmd.hospital_code,
        work_no=line.work_no,
        department_code=line.department_code,
        name=line.name,
        title=line.title,
        specialty=line.specialty,
        fee=line.fee,
        active=line.active,
    )
