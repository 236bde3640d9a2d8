"""Hospitals, departments, doctors, clinic sessions (排班), stops (停诊) and slot search."""

from __future__ import annotations

import re

from aiohttp import web

from booking_core import bookings, catalogue, rules, schedule
from booking_core.kernel.errors import NotFound
from booking_core.schedule import SlotSearch

from .. import paging
from ..keys import SETTINGS
from ..present import (
    booking_window_out,
    department_out,
    doctor_out,
    hospital_out,
    session_out,
    slot_out,
)
from ..schemas import (
    DEPARTMENT_CODE,
    HOSPITAL_CODE,
    DepartmentIn,
    DoctorIn,
    HospitalIn,
    SessionIn,
    StopIn,
)
from ..schemas import WORK_NO as WORK_NO_PATTERN
from ..schemas_his import SlotPageQuery
from ..wire import json_response, parse_body, parse_query, path_int, path_str
from . import caller, directory, hospital_code, services

HOSPITAL = re.compile(HOSPITAL_CODE)
DEPARTMENT = re.compile(DEPARTMENT_CODE)
WORK_NO = re.compile(WORK_NO_PATTERN)


def _code(request: web.Request) -> str:
    return path_str(request, "code", HOSPITAL, "1-32 letters, digits, - or _")


def _created(created: bool) -> int:
    return 201 if created else 200


async def put_hospital(request: web.Request) -> web.Response:
    code = _code(request)
    data = await parse_body(request, HospitalIn)
    timezone = data.timezone
    if timezone is None:
        try:
            timezone = (await directory(request).by_code(code)).timezone
        except NotFound:
            timezone = request.app[SETTINGS].default_timezone
    cmd = catalogue.UpsertHospital(
        actor=caller(request).actor, code=code, name=data.name, timezone=timezone
    )
    hospital, created = await services(request).handle(cmd)
    return json_response(hospital_out(hospital), _created(created))


async def put_department(request: web.Request) -> web.Response:
    code = _code(request)
    dept = path_str(request, "dept", DEPARTMENT, "a 3-digit department code")
    data = await parse_body(request, DepartmentIn)
    cmd = catalogue.UpsertDepartment(
        actor=caller(request).actor,
        hospital_code=code,
        code=dept,
        name=data.name,
        aliases=tuple(data.aliases),
        active=data.active,
    )
    department, created = await services(request).handle(cmd)
    return json_response(department_out(code, department), _created(created))


async def put_doctor(request: web.Request) -> web.Response:
    code = _code(request)
    work_no = path_str(request, "work_no", WORK_NO, "a 5-digit work number")
    data = await parse_body(request, DoctorIn)
    cmd = catalogue.UpsertDoctor(
        actor=caller(request).actor,
        hospital_code=code,
        work_no=work_no,
        department_code=data.department,
        name=data.name,
        title=data.title,
        specialty=data.specialty,
        fee=data.fee,
        active=data.active,
    )
    doctor, created = await services(request).handle(cmd)
    return json_response(doctor_out(code, data.department, doctor), _created(created))


async def post_session(request: web.Request) -> web.Response:
    code = _code(request)
    data = await parse_body(request, SessionIn)
    actor = caller(request).actor
    session = await services(request).handle(
        schedule.CreateSession(
            actor=actor,
            hospital_code=code,
            doctor_work_no=data.doctor,
            day=data.date,
            period=data.period,
            start=data.start,
            end=data.end,
            slot_minutes=data.slot_minutes,
            places_per_slot=data.places_per_slot,
            room=data.room,
            fee=data.fee,
        )
    )
    detail = await services(request).read(schedule.session_detail, session.id, actor)
    return json_response(session_out(detail), 201)


async def session_of(request: web.Request) -> schedule.SessionDetail:
    """The session in the path, which must belong to the hospital in the path."""
    code = _code(request)
    session_id = path_int(request, "id")
    detail = await services(request).read(
        schedule.session_detail, session_id, caller(request).actor
    )
    if detail.hospital.code != code:
        raise NotFound("session", session_id)
    return detail


async def get_session(request: web.Request) -> web.Response:
    return json_response(session_out(await session_of(request)))


async def stop_session(request: web.Request) -> web.Response:
    data = await parse_body(request, StopIn)
    detail = await session_of(request)
    summary = await services(request).handle(
        bookings.StopSession(
            actor=caller(request).actor,
            session_id=detail.session.id,
            mode=data.mode,
            target_session_id=data.target_session_id,
            reason=data.reason,
        )
    )
    return json_response(summary)


async def get_slots(request: web.Request) -> web.Response:
    q = parse_query(request, SlotPageQuery)
    after = paging.decode(request, q, q.cursor, (str, str, str, int))
    code = hospital_code(request, q.hospital)
    assert code is not None
    search = SlotSearch(
        hospital_code=code,
        department_code=q.department,
        doctor_work_no=q.doctor,
        day=q.date,
        day_to=q.date_to,
        at=q.time,
        only_free=not q.all,
        bookable_only=not q.all,
        after=after,
        limit=q.limit + 1,
        referral=q.referral,
    )
    svc, actor = services(request), caller(request).actor
    found = await svc.read(schedule.search_slots, search, actor)
    page, next_cursor = paging.cut(request, q, found, q.limit, schedule.slot_key)
    window = await svc.read(rules.booking_window_of, code, actor)
    tz = await directory(request).zone(code)
    items = [slot_out(v, tz) for v in page]
    return paging.answer(request, items, next_cursor, window=booking_window_out(window, tz))
