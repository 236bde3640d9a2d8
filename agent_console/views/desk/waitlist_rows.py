"""A patient's places in waitlists (候补) as the desk shows them (the record and the
waitlist's own views share them)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core import bookings
from booking_core.bookings import WaitlistEntry

from ...refusals import local
from ..common import actor, services


def entry_row(entry: WaitlistEntry, tz: str) -> dict[str, Any]:
    return {
        "entry_id": entry.id,
        "session_id": entry.session_id,
        "patient_id": entry.patient_id,
        "day": entry.day.isoformat(),
        "channel": str(entry.channel),
        "status": str(entry.status),
        "position": entry.position,
        "joined_at": local(entry.joined_at, tz),
        "offer_booking_no": entry.offer_booking_no,
        "offer_until": local(entry.offer_expires_at, tz) if entry.offer_expires_at else "",
    }


async def waiting_of(request: web.Request, patient_id: int, tz: str) -> list[dict[str, Any]]:
    """The patient's places in lines, for the record."""
    found = await services(request).read(bookings.waitlist_of_patient, patient_id, actor(request))
    return [entry_row(e, tz) for e in found]
