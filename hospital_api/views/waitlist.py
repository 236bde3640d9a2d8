"""The waitlist (候补) and extra places (加号) of a clinic session."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import bookings
from booking_core.bookings import WaitlistEntry
from booking_core.kernel.actor import Channel

from ..schemas import ExtraPlacesIn, WaitlistIn
from ..wire import json_response, parse_body
from . import caller, directory, services
from .schedule import session_of


def entry_out(entry: WaitlistEntry, tz: ZoneInfo) -> dict:
    return {
        "entry_id": entry.id,
        "session_id": entry.session_id,
        "patient_id": entry.patient_id,
        "day": entry.day.isoformat(),
        "channel": str(entry.channel),
        "status": str(entry.status),
        "joined_at": entry.joined_at.astimezone(tz).isoformat(),
        "position": entry.position,
        "offer_booking_no": entry.offer_booking_no,
        "offer_expires_at": (
            entry.offer_expires_at.astimezone(tz).isoformat() if entry.offer_expires_at else None
        ),
    }


async def _zone(request: web.Request) -> ZoneInfo:
    return await directory(request).zone(request.match_info["code"])


async def join(request: web.Request) -> web.Response:
    data = await parse_body(request, WaitlistIn)
    detail = await session_of(request)
    entry = await services(request).handle(
        bookings.JoinWaitlist(
            actor=caller(request).actor,
            session_id=detail.session.id,
            patient_id=data.patient_id,
            channel=Channel.API,
        )
    )
    return json_response(entry_out(entry, await _zone(request)), 201)


async def leave(request: web.Request) -> web.Response:
    data = await parse_body(request, WaitlistIn)
    detail = await session_of(request)
    entry = await services(request).handle(
        bookings.LeaveWaitlist(
            actor=caller(request).actor, session_id=detail.session.id, patient_id=data.patient_id
        )
    )
    return json_response(entry_out(entry, await _zone(request)))


async def get_line(request: web.Request) -> web.Response:
    detail = await session_of(request)
    line = await services(request).read(
        bookings.waitlist_line, detail.session.id, caller(request).actor
    )
    tz = await _zone(request)
    return json_response(
        {"session_id": detail.session.id, "entries": [entry_out(e, tz) for e in line]}
    )


async def extra_places(request: web.Request) -> web.Response:
    data = await parse_body(request, ExtraPlacesIn)
    detail = await session_of(request)
    added = await services(request).handle(
        bookings.AddExtraPlaces(
            actor=caller(request).actor,
            session_id=detail.session.id,
            places=data.places,
            patient_id=data.patient_id,
            slot_id=data.slot_id,
        )
    )
    return json_response(
        {
            "session_id": added.session_id,
            "slot_id": added.slot_id,
            "places": added.places,
            "added_total": added.added_total,
            "booking_no": added.booking.booking.booking_no if added.booking else None,
            "offered": added.offered,
        },
        201,
    )
