"""Booking for the caller (代患者预约): free places by department, doctor, date and time;
book, change (改约) and cancel with the core's rules. Every action is the agent's
(channel ``agent``, the operator as actor); a refusal is a flash in the console's words."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core import bookings, patients, schedule
from booking_core.bookings import BookingView, BookSlot, CancelBooking, RescheduleBooking
from booking_core.catalogue import Hospital
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import BookingError, InvalidInput, NotFound
from booking_core.schedule import SlotSearch

from ...pages import Page
from ...sessions import console_path
from ..common import actor, form, services
from ..records import booking_row
from .common import filters, flash, parse_day, parse_time, query_string, slot_row
from .patients import _patient_id, record_context

SLOT_ROWS = 60  # a few days of one department: enough to choose from on one screen
REFUSED = 409


async def _free_slots(request: web.Request, hospital: Hospital, chosen: dict[str, str]) -> list:
    search = SlotSearch(
        hospital_code=hospital.code,
        department_code=chosen["department"] or None,
        doctor_work_no=chosen["doctor"] or None,
        day=parse_day(chosen["day"]),
        at=parse_time(chosen["time"]),
        bookable_only=True,  # what the caller can be booked into now (released, not past cut-off)
        limit=SLOT_ROWS,
    )
    found = await services(request).read(schedule.search_slots, search, actor(request))
    return [slot_row(s) for s in found]


async def _slots_context(request: web.Request, patient_id: int) -> dict[str, Any]:
    context = await record_context(request, patient_id)
    hospital = await services(request).read(patients.patient_hospital, patient_id, actor(request))
    chosen = filters(request)
    context["filters"] = chosen
    context["query"] = query_string(chosen)
    context["slots"] = await _free_slots(request, hospital, chosen)
    return context


async def slots(request: web.Request) -> Page:
    """Free places for this patient, filtered; each with a "book" button."""
    return Page(await _slots_context(request, _patient_id(request)))


def _slot_id(fields: dict[str, str]) -> int:
    text = fields.get("slot_id", "")
    if not text.isdigit() or len(text) > 18:  # 18 digits always fit a 64-bit id
        raise InvalidInput("slot_id", "a number")
    return int(text)


async def book(request: web.Request) -> Page:
    patient_id = _patient_id(request)
    fields = await form(request)
    who = actor(request)
    hospital = await services(request).read(patients.patient_hospital, patient_id, who)
    command = BookSlot(
        slot_id=_slot_id(fields), patient_id=patient_id, channel=Channel.AGENT, actor=who
    )
    try:
        view: BookingView = await services(request).handle(command)
    except NotFound:
        raise
    except BookingError as err:
        context = await _slots_context(request, patient_id)
        return Page(
            {**context, **flash(request, err, hospital.timezone)},
            status=REFUSED,
            template="desk/slots.html",
        )
    number = view.booking.booking_no
    target = f"{console_path(request)}desk/bookings/{number}?done=booked"
    return Page({"booking": booking_row(view), "done": "booked"}, status=201, redirect=target)


async def _booking(request: web.Request) -> tuple[BookingView, Hospital]:
    who = actor(request)
    view: BookingView = await services(request).read(
        bookings.get_booking, request.match_info["no"], who
    )
    hospital = await services(request).read(patients.patient_hospital, view.booking.patient_id, who)
    return view, hospital


def _booking_context(view: BookingView) -> dict[str, Any]:
    row = booking_row(view)
    row["active"] = view.booking.status.active
    row["department_code"] = view.department_code
    row["doctor_work_no"] = view.doctor_work_no
    row["end"] = view.end.strftime("%H:%M")
    return {"booking": row}


async def booking(request: web.Request) -> Page:
    """A booking with its change and cancel actions (and what was just done, ``?done=``)."""
    view, _ = await _booking(request)
    done = request.query.get("done", "")
    return Page({**_booking_context(view), "done": done if done else None})


async def _reschedule_context(request: web.Request, view: BookingView, hospital: Hospital):
    chosen = filters(request)
    if not any(chosen.values()):  # by default: the same doctor
        chosen = {**chosen, "department": view.department_code, "doctor": view.doctor_work_no}
    free = [
        s
        for s in await _free_slots(request, hospital, chosen)
        if s["slot_id"] != view.booking.slot_id
    ]
    patient = await record_context(request, view.booking.patient_id)
    return {
        **_booking_context(view),
        "departments": patient["departments"],
        "doctors": patient["doctors"],
        "filters": chosen,
        "query": query_string(chosen),
        "slots": free,
    }


async def reschedule_slots(request: web.Request) -> Page:
    """Free places to move a booking to (改约): by default the same doctor's."""
    view, hospital = await _booking(request)
    return Page(await _reschedule_context(request, view, hospital))


async def reschedule(request: web.Request) -> Page:
    view, hospital = await _booking(request)
    fields = await form(request)
    number = view.booking.booking_no
    command = RescheduleBooking(booking_no=number, slot_id=_slot_id(fields), actor=actor(request))
    try:
        moved: BookingView = await services(request).handle(command)
    except NotFound:
        raise
    except BookingError as err:
        context = await _reschedule_context(request, view, hospital)
        return Page(
            {**context, **flash(request, err, hospital.timezone)},
            status=REFUSED,
            template="desk/reschedule.html",
        )
    target = f"{console_path(request)}desk/bookings/{number}?done=rescheduled"
    return Page({**_booking_context(moved), "done": "rescheduled"}, redirect=target)


async def cancel(request: web.Request) -> Page:
    view, hospital = await _booking(request)
    number = view.booking.booking_no
    try:
        cancelled: BookingView = await services(request).handle(
            CancelBooking(booking_no=number, actor=actor(request))
        )
    except NotFound:
        raise
    except BookingError as err:
        return Page(
            {**_booking_context(view), "done": None, **flash(request, err, hospital.timezone)},
            status=REFUSED,
            template="desk/booking.html",
        )
    target = f"{console_path(request)}desk/bookings/{number}?done=cancelled"
    return Page({**_booking_context(cancelled), "done": "cancelled"}, redirect=target)
