"""The waitlist (候补) at the desk: the full sessions of the doctor and day the agent
chose, join one for the caller, see where they stand on the record, leave with one click.
Every action is the agent's (channel ``agent``); a refusal is a flash in the console's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from booking_core import patients, schedule
from booking_core.bookings import JoinWaitlist, LeaveWaitlist
from booking_core.catalogue import Hospital
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import BookingError, InvalidInput, NotFound
from booking_core.schedule import SlotSearch

from ...pages import Page
from ...sessions import console_path
from ..common import actor, form, services
from .common import flash, parse_day
from .patients import _patient_id, record_context
from .waitlist_rows import entry_row

REFUSED = 409
MAX_SESSIONS = 20  # a department's doctors on one day: a screenful


async def full_sessions(
    request: web.Request, hospital: Hospital, chosen: dict[str, str]
) -> list[dict[str, Any]]:
    """The sessions of the chosen department or doctor on the chosen day with no place
    left: each one a caller may wait for (none until a day is chosen)."""
    day = parse_day(chosen.get("day", ""))
    if day is None or not (chosen.get("department") or chosen.get("doctor")):
        return []
    search = SlotSearch(
        hospital_code=hospital.code,
        department_code=chosen.get("department") or None,
        doctor_work_no=chosen.get("doctor") or None,
        day=day,
        only_free=False,
    )
    found = await services(request).read(schedule.search_slots, search, actor(request))
    sessions: dict[int, dict[str, Any]] = {}
    for slot in found:
        row = sessions.setdefault(
            slot.session_id,
            {
                "session_id": slot.session_id,
                "day": slot.day.isoformat(),
                "period": str(slot.period),
                "department": slot.department_name,
                "doctor": slot.doctor_name,
                "doctor_title": slot.doctor_title,
                "free": 0,
            },
        )
        row["free"] += slot.free
    return [s for s in sessions.values() if s["free"] == 0][:MAX_SESSIONS]


def _session_id(fields: dict[str, str]) -> int:
    text = fields.get("session_id", "")
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput("session_id", "a number")
    return int(text)


async def _refused(request: web.Request, patient_id: int, err: BookingError, tz: str) -> Page:
    context = await record_context(request, patient_id)
    return Page(
        {**context, **flash(request, err, tz)}, status=REFUSED, template="desk/patient.html"
    )


async def join(request: web.Request) -> Page:
    def command(session_id: int, patient_id: int, who: Actor) -> JoinWaitlist:
        return JoinWaitlist(
            session_id=session_id, patient_id=patient_id, channel=Channel.AGENT, actor=who
        )

    return await _act(request, command, "waiting", status=201)


async def leave(request: web.Request) -> Page:
    def command(session_id: int, patient_id: int, who: Actor) -> LeaveWaitlist:
        return LeaveWaitlist(session_id=session_id, patient_id=patient_id, actor=who)

    return await _act(request, command, "left_waitlist", status=200)


async def _act(
    request: web.Request,
    command: Callable[[int, int, Actor], JoinWaitlist | LeaveWaitlist],
    done: str,
    *,
    status: int,
) -> Page:
    """Join or leave for the record's patient the session the form names: back to the
    record with ``done`` said, or the record again with the refusal in the console's words."""
    patient_id = _patient_id(request)
    fields = await form(request)
    who = actor(request)
    hospital = await services(request).read(patients.patient_hospital, patient_id, who)
    asked = command(_session_id(fields), patient_id, who)
    try:
        entry = await services(request).handle(asked)
    except NotFound:
        raise
    except BookingError as err:
        return await _refused(request, patient_id, err, hospital.timezone)
    target = f"{console_path(request)}desk/patients/{patient_id}?done={done}"
    return Page(
        {"entry": entry_row(entry, hospital.timezone), "done": done},
        status=status,
        redirect=target,
    )
