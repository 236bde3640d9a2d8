"""Times a person reads on the console (#9 item 11): instants in the hospital's zone.

The core hands out UTC instants. Before a view returns them it puts each in the zone of
whoever reads the screen: the operator's hospital's ``timezone``; for a platform operator,
the hospital the page is about (``?hospital=``) or else the engine's default ``timezone``
(:attr:`~agent_console.keys.ConsoleSettings.timezone`). The HTML shows them with the
``when`` filter (``2026-07-10 01:30``); the JSON twin keeps ISO 8601 with the offset
(``2026-07-10T01:30:00+08:00``), which names the same instant and reads as local time.

"Today" on a screen is the local date too: between 00:00 and 08:00 in Beijing the UTC date
is still yesterday's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import catalogue
from booking_core.catalogue import hospital_timezone
from booking_core.kernel.errors import NotFound

from ..keys import SESSION
from .common import services, settings


def default_zone(request: web.Request) -> ZoneInfo:
    """The engine's zone: platform-level screens and the log-in page."""
    return ZoneInfo(settings(request).timezone)


async def zone_of(request: web.Request, hospital_code: str | None = None) -> ZoneInfo:
    """The zone the signed-in operator reads times in (see the module docstring)."""
    found = request.get(SESSION)
    hospital_id = found.operator.hospital_id if found is not None else None
    default = settings(request).timezone
    if hospital_id is not None:
        return ZoneInfo(await services(request).read(hospital_timezone, hospital_id, default))
    if hospital_code:
        try:
            hospital = await services(request).read(catalogue.hospital, hospital_code)
        except NotFound:
            return ZoneInfo(default)
        return ZoneInfo(hospital.timezone)
    return ZoneInfo(default)


async def today(request: web.Request, hospital_code: str | None = None) -> date:
    """Today's date where the reader is."""
    tz = await zone_of(request, hospital_code)
    return services(request).clock.now().astimezone(tz).date()


def localized(value: Any, tz: ZoneInfo) -> Any:
    """``value`` with every aware datetime in it (in dicts, lists, tuples) put in ``tz``."""
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo is not None else value
    if isinstance(value, dict):
        return {k: localized(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(localized(v, tz) for v in value)
    return value


def when(value: Any) -> str:
    """A jinja2 filter: an instant as its reader's local date and minute (views localise
    it first), a date as itself, nothing as an empty string."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
