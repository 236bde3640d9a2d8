"""A hospital's schedule in bulk (排班导入): departments, doctors and a week of sessions in
one request, all or nothing, every bad row reported by its list and index."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from booking_core import schedule
from booking_core.kernel.errors import ImportRejected
from booking_core.schedule import DepartmentLine, DoctorLine, RowProblem, SessionLine

from ..problems import DOMAIN_PROBLEMS, body, response
from ..schemas import SessionIn
from ..schemas_bulk import (
    DepartmentRowIn,
    DoctorRowIn,
    ScheduleOutline,
)
from ..wire import json_response, parse_json, path_str, read_body
from . import caller, services
from .schedule import DEPARTMENT, HOSPITAL, WORK_NO

KEYS = {"departments": ("code", DEPARTMENT), "doctors": ("work_no", WORK_NO)}
"""What names a department or doctor row, to know it even when the rest is unreadable."""


def _key(where: str, raw: Any) -> str:
    name, pattern = KEYS.get(where, ("", None))
    value = raw.get(name) if isinstance(raw, dict) else None
    if pattern is None or not isinstance(value, str) or not pattern.fullmatch(value):
        return ""
    return value


def _row(model: type[BaseModel], where: str, index: int, raw: Any, bad: list[RowProblem]):
    """``raw`` read as strictly as a body (its JSON again: strict dates are ISO text), or
    None with its problems added to ``bad``."""
    try:
        return model.model_validate_json(json.dumps(raw, ensure_ascii=False))
    except ValidationError as err:
        key = _key(where, raw)
        for e in err.errors():
            field = ".".join(str(part) for part in e["loc"]) or "(row)"
            bad.append(RowProblem(where, index, field, e["msg"], key, code=e["type"]))
        return None


def _department(index: int, row: DepartmentRowIn) -> DepartmentLine:
    return DepartmentLine(index, row.code, row.name, tuple(row.aliases), row.active)


def _doctor(index: int, row: DoctorRowIn) -> DoctorLine:
    return DoctorLine(
        index, row.work_no, row.department, row.name, row.title, row.specialty, row.fee, row.active
    )


def _session(index: int, row: SessionIn) -> SessionLine:
    return SessionLine(
        index,
        row.doctor,
        row.date,
        row.period,
        row.start,
        row.end,
        row.slot_minutes,
        row.places_per_slot,
        row.room,
        row.fee,
    )


def rejected(err: ImportRejected) -> web.Response:
    """422 ``import_rejected`` with every bad row in ``errors``, each worded as every
    ``errors`` entry of the API (``field``, ``message``, ``type``: the schema's error type
    or the core's code, such as ``repeats_row`` or ``already_scheduled``) and placed by its
    ``list`` and ``index``."""
    status, title, detail = DOMAIN_PROBLEMS[err.code]
    rows = [
        {
            "list": r["list"],
            "index": r["index"],
            "field": r["field"],
            "message": r["reason"],
            "type": r["code"],
        }
        for r in err.rows
    ]
    return response(status, body(status, err.code, title, detail, {"errors": rows}))


async def post_schedule(request: web.Request) -> web.Response:
    code = path_str(request, "code", HOSPITAL, "1-32 letters, digits, - or _")
    outline = parse_json(ScheduleOutline, await read_body(request))  # the route's own limit
    bad: list[RowProblem] = []
    departments = [
        _department(i, row)
        for i, raw in enumerate(outline.departments)
        if (row := _row(DepartmentRowIn, "departments", i, raw, bad)) is not None
    ]
    doctors = [
        _doctor(i, row)
        for i, raw in enumerate(outline.doctors)
        if (row := _row(DoctorRowIn, "doctors", i, raw, bad)) is not None
    ]
    sessions = [
        _session(i, row)
        for i, raw in enumerate(outline.sessions)
        if (row := _row(SessionIn, "sessions", i, raw, bad)) is not None
    ]
    command = schedule.ImportSchedule(
        actor=caller(request).actor,
        hospital_code=code,
        departments=tuple(departments),
        doctors=tuple(doctors),
        sessions=tuple(sessions),
        refused=tuple(bad),
    )
    try:
        done = await services(request).handle(command)
    except ImportRejected as err:
        return rejected(err)
    created = done.departments.created + done.doctors.created + done.sessions.created
    return json_response(
        {
            "hospital": code,
            "departments": _counts(done.departments),
            "doctors": _counts(done.doctors),
            "sessions": _counts(done.sessions),
            "slots": done.slots,
            "session_ids": list(done.session_ids),
        },
        201 if created else 200,
    )


def _counts(counts: schedule.ImportCounts) -> dict[str, int]:
    return {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}
