"""What a FHIR handler needs from its request: the services, the verified caller, the
hospitals it may see and the time zone its dates are read in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import catalogue
from booking_core.bus import BookingServices
from booking_core.catalogue import Hospital
from booking_core.kernel import tenancy
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import NotFound

from ..auth import Caller
from .keys import CALLER, DIRECTORY, SERVICES, SETTINGS


def services(request: web.Request) -> BookingServices:
    return request.app[SERVICES]


def caller(request: web.Request) -> Caller:
    return request[CALLER]


def actor(request: web.Request) -> Actor:
    return request[CALLER].actor


async def hospital(request: web.Request, hospital_id: int) -> Hospital:
    """Hospital ``hospital_id`` if this caller may see it; NotFound otherwise."""
    found = await request.app[DIRECTORY].by_id(hospital_id)
    tenancy.check(actor(request), found.id, "hospital", hospital_id)
    return found


async def hospital_by_code(request: web.Request, code: str) -> Hospital:
    found = await request.app[DIRECTORY].by_code(code)
    tenancy.check(actor(request), found.id, "hospital", code)
    return found


async def hospitals(request: web.Request) -> list[Hospital]:
    """The caller's hospital, or every one for a platform token."""
    return await services(request).read(catalogue.visible_hospitals, actor(request))


async def zone(request: web.Request) -> ZoneInfo:
    """The zone a search's dates without an offset are read in: the caller's hospital's,
    else the engine's default."""
    hospital_id = actor(request).hospital_id
    if hospital_id is None:
        return ZoneInfo(request.app[SETTINGS].default_timezone)
    try:
        return ZoneInfo((await request.app[DIRECTORY].by_id(hospital_id)).timezone)
    except NotFound:
        return ZoneInfo(request.app[SETTINGS].default_timezone)
