"""The hospital's calendar (节假日表): a year of the national calendar's holidays and 调休
working days as the ``closed_days`` rule reads them, and the hospital's own entries (a day
closed, or opened whatever the national calendar says), added and removed here."""

from __future__ import annotations

from aiohttp import web

from booking_core import rules
from booking_core.kernel.errors import InvalidInput

from ...pages import Page
from ..common import actor, form, services
from .util import day_param, hospital_of, int_param, office_url, page


def _hospital(request: web.Request, fields: dict[str, str] | None = None) -> str:
    code = hospital_of(request, fields)
    if not code:  # a platform admin names the hospital
        raise InvalidInput("hospital", "the hospital whose calendar this is")
    return code


async def calendar(request: web.Request) -> Page:
    code = _hospital(request)
    today = (await services(request).read(rules.booking_window_of, code, actor(request))).today
    year = int_param(request.query.get("year"), "year", today.year)
    found = await services(request).read(rules.calendar_of, code, year, actor(request))
    first, last = rules.national_years()
    return page(
        request,
        {
            "hospital": code,
            "year": found.year,
            "mode": found.mode,
            "covered": found.covered,
            "package_years": [first, last],
            "national": [
                {"day": n.day.isoformat(), "kind": str(n.kind), "name": n.name}
                for n in found.national
            ],
            "entries": [
                {"day": e.day.isoformat(), "open": e.is_open, "note": e.note} for e in found.entries
            ],
        },
    )


async def set_day(request: web.Request) -> Page:
    fields = await form(request)
    code = _hospital(request, fields)
    day = day_param(fields.get("day"), "day")
    if day is None:
        raise InvalidInput("day", "a date like 2026-10-01")
    is_open = fields.get("open", "0") in ("1", "on", "true")
    entry = await services(request).handle(
        rules.SetCalendarDay(
            hospital_code=code,
            day=day,
            is_open=is_open,
            note=fields.get("note", ""),
            actor=actor(request),
        )
    )
    return page(
        request,
        {"day": entry.day.isoformat(), "open": entry.is_open, "message": "saved"},
        status=201,
        redirect=office_url(request, f"calendar?year={day.year}"),
    )


async def remove_day(request: web.Request) -> Page:
    fields = await form(request)
    code = _hospital(request, fields)
    day = day_param(fields.get("day"), "day")
    if day is None:
        raise InvalidInput("day", "a date like 2026-10-01")
    removed = await services(request).handle(
        rules.RemoveCalendarDay(hospital_code=code, day=day, actor=actor(request))
    )
    return page(
        request,
        {"day": day.isoformat(), "removed": removed, "message": "saved"},
        redirect=office_url(request, f"calendar?year={day.year}"),
    )
