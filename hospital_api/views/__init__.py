"""Request handlers, one module per part of the domain; shared helpers here."""

from __future__ import annotations

from aiohttp import web

from booking_core.bus import BookingServices
from booking_core.kernel import tenancy

from ..auth import Caller
from ..directory import Directory
from ..keys import CALLER, DIRECTORY, SERVICES
from ..problems import Problem


def services(request: web.Request) -> BookingServices:
    return request.app[SERVICES]


def caller(request: web.Request) -> Caller:
    return request[CALLER]


def directory(request: web.Request) -> Directory:
    return request.app[DIRECTORY]


def hospital_code(request: web.Request, given: str | None, *, required: bool = True) -> str | None:
    """The hospital a request is about: the one named, else the token's own."""
    code = given or caller(request).hospital_code
    if code is None and required:
        raise Problem(
            "invalid_request",
            "Name the hospital: this token is not bound to one.",
            errors=[{"field": "hospital", "message": "Field required", "type": "missing"}],
        )
    return code


async def visible_hospital_id(request: web.Request, code: str) -> int:
    """The id of hospital ``code`` if this caller may see it; NotFound otherwise."""
    hospital = await directory(request).by_code(code)
    tenancy.check(caller(request).actor, hospital.id, "hospital", code)
    return hospital.id
