"""Schedules (排班): departments, doctors (work number, title, specialty, fee), a week of
sessions in a grid, one session added, a week created from a template week."""

from __future__ import annotations

from datetime import date, time, timedelta

from aiohttp import web

from booking_core import catalogue, schedule
from booking_core.kernel.errors import InvalidInput
from booking_core.schedule import Period

from ...pages import Page
from ...permissions import Permission, permissions_of
from ..common import actor, form, services, session
from ..times import today
from .rows import session_row
from .util import day_param, hospital_of, int_param, office_url, page


def _required_hospital(request: web.Request, fields: dict[str, str]) -> str:
    code = hospital_of(request, fields)
    if not code:
        raise InvalidInput("hospital", "name the hospital")
    return code


MAX_FEN = 100_000_00  # ¥100,000: more than any registration fee, far within 64 bits


def _fen(text: str | None, name: str) -> int:
    """Yuan as typed (``5`` or ``5.50``) → integer fen."""
    if not text:
        return 0
    try:
        yuan, _, jiao = text.strip().partition(".")
        fen = int(yuan) * 100 + int((jiao + "00")[:2] or 0)
    except ValueError as err:
        raise InvalidInput(name, "an amount in yuan, like 5 or 5.50") from err
    if not 0 <= fen <= MAX_FEN:
        raise InvalidInput(name, f"an amount from 0 to {MAX_FEN // 100} yuan")
    return fen


def _time(text: str | None, name: str) -> time:
    try:
        return time.fromisoformat((text or "").strip())
    except ValueError as err:
        raise InvalidInput(name, "a time like 08:00") from err


async def schedules(request: web.Request) -> Page:
    departments, doctors = await services(request).read(
        catalogue.catalogue, actor(request), hospital_of(request)
    )
    return page(
        request,
        {
            "hospital": hospital_of(request) or "",
            "departments": departments,
            "doctors": [
                {
                    "hospital": hospital,
                    "department_code": dep,
                    "work_no": d.work_no,
                    "name": d.name,
                    "title": d.title,
                    "specialty": d.specialty,
                    "fee": d.fee,
                    "active": d.active,
                }
                for hospital, dep, d in doctors
            ],
        },
    )


async def save_department(request: web.Request) -> Page:
    fields = await form(request)
    await services(request).handle(
        catalogue.UpsertDepartment(
            hospital_code=_required_hospital(request, fields),
            code=fields.get("code", "").strip(),
            name=fields.get("name", "").strip(),
            active=fields.get("active", "1") in ("1", "on", "true"),
            actor=actor(request),
        )
    )
    return page(request, {"message": "saved"}, redirect=office_url(request, "schedules"))


async def save_doctor(request: web.Request) -> Page:
    fields = await form(request)
    await services(request).handle(
        catalogue.UpsertDoctor(
            hospital_code=_required_hospital(request, fields),
            work_no=fields.get("work_no", "").strip(),
            department_code=fields.get("department_code", "").strip(),
            name=fields.get("name", "").strip(),
            title=fields.get("title", "").strip(),
            specialty=fields.get("specialty", "").strip(),
            fee=_fen(fields.get("fee"), "fee"),
            active=fields.get("active", "1") in ("1", "on", "true"),
            actor=actor(request),
        )
    )
    return page(request, {"message": "saved"}, redirect=office_url(request, "schedules"))


PERIOD_ORDER = {p: i for i, p in enumerate(Period)}  # morning, afternoon, evening


def _in_day_order(row: dict) -> tuple:
    """A day's sessions as the day runs (上午, 下午, 晚上), not as their names sort."""
    return (row["day"], PERIOD_ORDER.get(row["period"], len(PERIOD_ORDER)), row["start"])


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def week(request: web.Request) -> Page:
    """The week's sessions as a grid: a row per doctor, a column per day."""
    this_day = await today(request, hospital_of(request))
    start = _monday(day_param(request.query.get("week"), "week") or this_day)
    days = [start + timedelta(days=i) for i in range(7)]
    found = await services(request).read(
        schedule.list_sessions,
        actor(request),
        hospital_code=hospital_of(request),
        day_from=days[0],
        day_to=days[-1],
    )
    sessions = sorted((session_row(s) for s in found), key=_in_day_order)
    grid: dict[str, dict[str, list[dict]]] = {}
    for s in sessions:
        label = f"{s['doctor']} ({s['doctor_work_no']})"
        if hospital_of(request) is None:  # the platform's view: doctors of every hospital
            label = f"{s['hospital']} · {label}"
        grid.setdefault(label, {d.isoformat(): [] for d in days})[s["day"].isoformat()].append(s)
    granted = permissions_of(session(request).operator.roles)
    return page(
        request,
        {
            "hospital": hospital_of(request) or "",
            "week": start,
            "previous_week": start - timedelta(days=7),
            "next_week": start + timedelta(days=7),
            "days": days,
            "sessions": sessions,
            "grid": grid,
            "periods": list(Period),
            "may_manage": Permission.SCHEDULES_MANAGE in granted,
        },
    )


async def add_session(request: web.Request) -> Page:
    fields = await form(request)
    day = day_param(fields.get("day"), "day")
    if day is None:
        raise InvalidInput("day", "needed")
    period = fields.get("period", "")
    if period not in Period._value2member_map_:
        raise InvalidInput("period", " | ".join(Period))
    made = await services(request).handle(
        schedule.CreateSession(
            hospital_code=_required_hospital(request, fields),
            doctor_work_no=fields.get("doctor_work_no", "").strip(),
            day=day,
            period=Period(period),
            start=_time(fields.get("start"), "start"),
            end=_time(fields.get("end"), "end"),
            slot_minutes=int_param(fields.get("slot_minutes"), "slot_minutes", 30),
            places_per_slot=int_param(fields.get("places_per_slot"), "places_per_slot", 1),
            room=fields.get("room", "").strip(),
            actor=actor(request),
        )
    )
    return page(
        request,
        {"session_id": made.id, "message": "saved"},
        status=201,
        redirect=office_url(request, f"sessions?week={_monday(day).isoformat()}"),
    )


async def copy_week(request: web.Request) -> Page:
    """Every session of the template week again, the same weekday, ``to`` weeks later."""
    fields = await form(request)
    source = day_param(fields.get("from_week"), "from_week")
    target = day_param(fields.get("to_week"), "to_week")
    if source is None or target is None:
        raise InvalidInput("week", "a template week and a target week")
    source, target = _monday(source), _monday(target)
    if source == target:
        raise InvalidInput("to_week", "another week than the template")
    hospital = _required_hospital(request, fields)
    found = await services(request).read(
        schedule.list_sessions,
        actor(request),
        hospital_code=hospital,
        day_from=source,
        day_to=source + timedelta(days=6),
    )
    shift = target - source
    made = await services(request).handle(
        schedule.CreateSessions(
            sessions=tuple(
                schedule.CreateSession(
                    hospital_code=s.hospital_code,
                    doctor_work_no=s.doctor_work_no,
                    day=s.day + shift,
                    period=Period(s.period),
                    start=s.start,
                    end=s.end,
                    slot_minutes=s.slot_minutes,
                    places_per_slot=s.places_per_slot,
                    room=s.room,
                )
                for s in found
            ),
            actor=actor(request),
        )
    )
    return page(
        request,
        {"created": len(made), "session_ids": [m.id for m in made], "message": "saved"},
        status=201,
        redirect=office_url(request, f"sessions?week={target.isoformat()}"),
    )
