"""A session's waitlist (候补) and its extra places (加号), on the back office's session
page: the line in arrival order (those holding an offer, with their deadline), and the
form a hospital admin adds places with, for a named patient (by card number) or for the
line. The core checks the per-session maximum and audits each addition."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core import bookings, patients, schedule
from booking_core.kernel.errors import NotFound

from ...pages import Page
from ..common import actor, form, services
from ..desk.waitlist_rows import entry_row
from .util import int_param, office_url, page


def _session_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _context(request: web.Request, session_id: int) -> dict[str, Any]:
    who = actor(request)
    detail = await services(request).read(schedule.session_detail, session_id, who)
    line = await services(request).read(bookings.waitlist_line, session_id, who)
    s = detail.session
    return {
        "session": {
            "id": s.id,
            "day": s.day.isoformat(),
            "period": str(s.period),
            "start": s.start.strftime("%H:%M"),
            "end": s.end.strftime("%H:%M"),
            "doctor_work_no": detail.doctor_work_no,
            "department_code": detail.department_code,
            "status": str(s.status),
            "capacity": sum(slot.capacity for slot in detail.slots),
            "booked": sum(slot.booked for slot in detail.slots),
        },
        "line": [entry_row(e, detail.hospital.timezone) for e in line],
    }


async def line(request: web.Request) -> Page:
    return page(request, await _context(request, _session_id(request)))


async def add_extra_places(request: web.Request) -> Page:
    session_id = _session_id(request)
    fields = await form(request)
    who = actor(request)
    places = int_param(fields.get("places"), "places", 1)
    card_no = fields.get("card_no", "").strip()
    patient_id = None
    if card_no:
        detail = await services(request).read(schedule.session_detail, session_id, who)
        found = await services(request).read(
            patients.find_patients,
            who,
            services(request).cipher,
            hospital_code=detail.hospital.code,
            card_no=card_no,
        )
        if not found:
            raise NotFound("patient", card_no)
        patient_id = found[0].id
    added = await services(request).handle(
        bookings.AddExtraPlaces(
            session_id=session_id, places=places, patient_id=patient_id, actor=who
        )
    )
    booking_no = added.booking.booking.booking_no if added.booking else None
    return page(
        request,
        {
            "added": {
                "places": added.places,
                "added_total": added.added_total,
                "offered": added.offered,
                "booking_no": booking_no,
            },
        },
        redirect=office_url(request, f"sessions/{session_id}/waitlist"),
    )
