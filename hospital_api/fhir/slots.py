"""Clinic sessions as Schedule and their places as Slot (排班、号源): read, and searched
in pages by id through the core's feed queries."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiMapping

from booking_core import schedule
from booking_core.kernel.errors import NotFound
from booking_core.schedule import FeedQuery

from . import resources as r
from .catalogue import path_id
from .context import actor, services, zone
from .outcome import invalid
from .resources import fhir_response
from .search import PAGING, check_known, count, cursor, dates, page, reference, searchset, single
from .search import token as split_token

SLOT_STATUSES = {
    "free": {"free": True},
    "busy": {"free": False, "open": True},
    "busy-unavailable": {"open": False},
}


def department_code(q: MultiMapping[str]) -> str | None:
    """``service-type``: a department code, with or without this engine's system."""
    raw = single(q, "service-type")
    if raw is None:
        return None
    system, code = split_token(raw)
    if system is not None and not system.endswith(":department"):
        raise invalid(
            "invalid_token",
            "service-type is a department code (urn:…:department|101).",
            "service-type",
        )
    return code


async def read_schedule(request: web.Request) -> web.Response:
    key = path_id(request, "Schedule")
    found = await services(request).read(
        schedule.feed_sessions, FeedQuery(ids=(key,), limit=1), actor(request)
    )
    if not found:
        raise NotFound("Schedule", key)
    return fhir_response(r.schedule(found[0]))


async def search_schedule(request: web.Request) -> web.Response:
    q = request.query
    check_known(q, PAGING | {"actor", "service-type", "date", "active"})
    limit = count(q)
    doctor = single(q, "actor")
    active = single(q, "active")
    if active not in (None, "true", "false"):
        raise invalid("invalid_token", "active is true or false.", "active")
    tz = await zone(request)
    day_from, day_to = dates(q, "date", tz).days(tz)
    query = FeedQuery(
        doctor_id=reference(doctor, "Practitioner", "actor") if doctor else None,
        department_code=department_code(q),
        day_from=day_from,
        day_to=day_to,
        open=None if active is None else active == "true",
        after_id=cursor(q),
        limit=limit + 1,
    )
    found = await services(request).read(schedule.feed_sessions, query, actor(request))
    kept, more = page(found, limit, lambda s: s.id)
    return fhir_response(searchset(request, [r.schedule(s) for s in kept], more))


async def read_slot(request: web.Request) -> web.Response:
    key = path_id(request, "Slot")
    found = await services(request).read(
        schedule.feed_slots, FeedQuery(ids=(key,), limit=1), actor(request)
    )
    if not found:
        raise NotFound("Slot", key)
    return fhir_response(r.slot(found[0]))


async def search_slot(request: web.Request) -> web.Response:
    q = request.query
    check_known(q, PAGING | {"schedule", "service-type", "start", "status"})
    limit = count(q)
    session = single(q, "schedule")
    status = single(q, "status")
    if status is not None and status not in SLOT_STATUSES:
        raise invalid("invalid_token", "status is free, busy or busy-unavailable.", "status")
    bounds = dates(q, "start", await zone(request))
    query = FeedQuery(
        session_id=reference(session, "Schedule", "schedule") if session else None,
        department_code=department_code(q),
        starts_from=bounds.lower,
        starts_to=bounds.upper,
        after_id=cursor(q),
        limit=limit + 1,
        **SLOT_STATUSES.get(status or "", {}),
    )
    found = await services(request).read(schedule.feed_slots, query, actor(request))
    kept, more = page(found, limit, lambda s: s.id)
    return fhir_response(searchset(request, [r.slot(s) for s in kept], more))
