"""A hospital's departments, doctors and clinic sessions, a page at a time (科室、医生、排班)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import catalogue, schedule
from booking_core.schedule import SessionRow

from .. import paging
from ..present import at, department_out, doctor_out, hhmm
from ..problems import Problem
from ..schemas_his import DepartmentQuery, DoctorQuery, SessionQuery
from ..wire import parse_query, path_str
from . import caller, directory, services
from .schedule import HOSPITAL

DEFAULT_SESSION_DAYS = 30  # a booking window is at most a few weeks: a month shows all of it


def _code(request: web.Request) -> str:
    return path_str(request, "code", HOSPITAL, "1-32 letters, digits, - or _")


async def get_departments(request: web.Request) -> web.Response:
    code = _code(request)
    q = parse_query(request, DepartmentQuery)
    after = paging.decode(request, q, q.cursor, (str,))
    found = await services(request).read(
        catalogue.departments,
        code,
        caller(request).actor,
        active_only=False,
        after=None if after is None else after[0],
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, lambda d: (d.code,))
    return paging.answer(request, [department_out(code, d) for d in page], next_cursor)


async def get_doctors(request: web.Request) -> web.Response:
    code = _code(request)
    q = parse_query(request, DoctorQuery)
    after = paging.decode(request, q, q.cursor, (str,))
    found = await services(request).read(
        catalogue.doctor_cards,
        code,
        caller(request).actor,
        department_code=q.department,
        after=None if after is None else after[0],
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, lambda c: (c.doctor.work_no,))
    items = [doctor_out(code, c.department_code, c.doctor) for c in page]
    return paging.answer(request, items, next_cursor)


def session_summary(row: SessionRow, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "hospital": row.hospital_code,
        "department": row.department_code,
        "department_name": row.department_name,
        "doctor": row.doctor_work_no,
        "doctor_name": row.doctor_name,
        "date": row.day.isoformat(),
        "period": str(row.period),
        "start": hhmm(row.start),
        "end": hhmm(row.end),
        "starts_at": at(row.day, row.start, tz),
        "room": row.room,
        "status": row.status,
        "slot_minutes": row.slot_minutes,
        "places_per_slot": row.places_per_slot,
        "capacity": row.capacity,
        "booked": row.booked,
        "free": max(row.capacity - row.booked, 0),
    }


async def get_sessions(request: web.Request) -> web.Response:
    code = _code(request)
    q = parse_query(request, SessionQuery)
    hospital = await directory(request).by_code(code)
    tz = await directory(request).zone(code)
    day_from = q.from_ or services(request).store.clock.now().astimezone(tz).date()
    day_to = q.to or day_from + timedelta(days=DEFAULT_SESSION_DAYS)
    if day_to < day_from:
        raise Problem(
            "invalid_request",
            "`to` is before `from`.",
            errors=[{"field": "to", "message": "on or after `from`", "type": "range"}],
        )
    after = paging.decode(request, q, q.cursor, (str, str, str, int))
    found = await services(request).read(
        schedule.list_sessions,
        caller(request).actor,
        hospital_code=hospital.code,
        day_from=day_from,
        day_to=day_to,
        doctor_work_no=q.doctor,
        after=after,
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, schedule.session_key)
    return paging.answer(request, [session_summary(r, tz) for r in page], next_cursor)
