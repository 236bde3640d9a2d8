"""Booking for the caller (代患者预约): free places by department, doctor, date and time;
book, change (改约) and cancel with the core's rules. Every action is the agent's
(channel ``agent``, the operator as actor); a refusal is a flash in the console's words."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup

from booking_core import bookings, patients, schedule
from booking_core.bookings import (
    RESENDABLE,
    BookingView,
    BookSlot,
    CancelBooking,
    RescheduleBooking,
    ResendConfirmation,
)
from booking_core.catalogue import Hospital
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import BookingError, InvalidInput, NotFound, Queued
from booking_core.schedule import Period, SlotSearch, WeekGrid, WeekQuery

from ...i18n import language, translate
from ...i18n_desk import CANCEL_REASONS
from ...pages import Page
from ...sessions import console_path
from ..common import actor, form, services
from ..records import booking_row
from .booking_aids import cancellable, page_key_text, parse_page_key
from .common import filters, flash, parse_day, parse_time, query_string, slot_row
from .patients import _patient_id, record_context
from .waitlist import full_sessions

SLOT_ROWS = 60  # a few days of one department: enough to choose from on one screen
REFUSED = 409
ACCEPTED = 202
PERIODS = tuple(str(p) for p in Period)


def _period(request: web.Request) -> str:
    """The half day a week-grid cell filters the list to (``?period=``), or ""."""
    text = request.query.get("period", "").strip()
    if text and text not in PERIODS:
        raise InvalidInput("period", " or ".join(PERIODS))
    return text


def _search(hospital: Hospital, chosen: dict[str, str], period: str) -> SlotSearch:
    return SlotSearch(
        hospital_code=hospital.code,
        department_code=chosen["department"] or None,
        doctor_work_no=chosen["doctor"] or None,
        day=parse_day(chosen["day"]),
        at=parse_time(chosen["time"]),
        period=period or None,
        bookable_only=True,  # what the caller can be booked into now (released, not past cut-off)
        limit=SLOT_ROWS,
    )


def _kept(request: web.Request, values: dict[str, str]) -> dict[str, str]:
    """``values`` and the call being served (``?call=``): every link keeps the screen pop."""
    call = request.query.get("call", "")
    return {**values, "call": call} if call else values


async def _free_slots(
    request: web.Request, hospital: Hospital, chosen: dict[str, str], skip: int | None = None
) -> dict[str, Any]:
    """One page of the free places (at most ``SLOT_ROWS``), never cut silently: how many
    there are, which of them this page shows, how many follow and the next page's link."""
    who = actor(request)
    read = services(request).read
    period = _period(request)
    after = parse_page_key(request.query.get("after", ""))
    search = replace(_search(hospital, chosen, period), other_than=skip)
    found = await read(schedule.search_slots, replace(search, after=after), who)
    total = await read(schedule.count_slots, search, who)
    from_here = (
        total
        if after is None
        else await read(schedule.count_slots, replace(search, after=after), who)
    )
    more = max(from_here - len(found), 0)
    first = total - from_here + 1
    next_query = ""
    if more and found:
        key = page_key_text(schedule.slot_key(found[-1]))
        next_query = query_string(_kept(request, {**chosen, "period": period, "after": key}))
    return {
        "slots": [slot_row(s) for s in found],
        "period": period,
        "paging": {
            "total": total,
            "first": first if found else 0,
            "last": first + len(found) - 1 if found else 0,
            "more": more,
            "next": next_query,
            "first_page": query_string(_kept(request, {**chosen, "period": period}))
            if after is not None
            else "",
        },
    }


CELL_TEXT = {
    "full": "cell_full",
    "none": "cell_none",
    "closed": "cell_closed",
    "stopped": "cell_stopped",
}


async def _week(
    request: web.Request, hospital: Hospital, chosen: dict[str, str], action: str
) -> dict[str, Any] | None:
    """The doctor's (or department's) week: 7 days from the hospital's today × 上午/下午/晚上,
    each cell the places left; a cell with places links to its times."""
    if not (chosen["department"] or chosen["doctor"]):
        return None
    grid: WeekGrid = await services(request).read(
        schedule.week_grid,
        WeekQuery(
            hospital_code=hospital.code,
            department_code=chosen["department"] or None,
            doctor_work_no=chosen["doctor"] or None,
        ),
        actor(request),
    )
    lang = language(request)
    picked = (chosen["day"], _period(request))
    days = [
        {
            "day": d.isoformat(),
            "label": f"{d.month}/{d.day}",
            "weekday": translate(lang, f"weekday_{d.weekday()}"),
            "today": d == grid.today,
        }
        for d in grid.days
    ]
    rows = []
    for p in Period:
        period_text = translate(lang, f"period_{p}")
        cells = []
        for d in grid.days:
            c = grid.cell(d, p)
            shown = str(c.left) if c.state == "open" else translate(lang, CELL_TEXT[c.state])
            where = {"department": chosen["department"], "doctor": chosen["doctor"]}
            link = query_string(_kept(request, {**where, "day": d.isoformat(), "period": str(p)}))
            cells.append(
                {
                    "day": d.isoformat(),
                    "period": str(p),
                    "state": c.state,
                    "left": c.left,
                    "text": shown,
                    "label": translate(
                        lang,
                        f"cell_{c.state}_label",
                        day=d.isoformat(),
                        period=period_text,
                        left=c.left,
                    ),
                    "href": action + link if c.state == "open" else "",
                    "picked": (d.isoformat(), str(p)) == picked,
                }
            )
        rows.append({"period": str(p), "period_text": period_text, "cells": cells})
    return {"today": grid.today.isoformat(), "days": days, "rows": rows}


def _cell_note(request: web.Request, chosen: dict[str, str], period: str) -> str:
    """What the list is narrowed to when a cell was picked ("" when it is not)."""
    if not (period and chosen["day"]):
        return ""
    lang = language(request)
    return translate(
        lang, "showing_cell", day=chosen["day"], period=translate(lang, f"period_{period}")
    )


async def _slots_context(request: web.Request, patient_id: int) -> dict[str, Any]:
    context = await record_context(request, patient_id)
    hospital = await services(request).read(patients.patient_hospital, patient_id, actor(request))
    chosen = filters(request)
    action = f"{console_path(request)}desk/patients/{patient_id}/slots"
    context["filters"] = chosen
    context["query"] = query_string(chosen)
    page = await _free_slots(request, hospital, chosen)
    context.update(page)
    context["week"] = await _week(request, hospital, chosen, action)
    context["full_sessions"] = await full_sessions(request, hospital, chosen)  # 候补
    context["cell_note"] = _cell_note(request, chosen, page["period"])
    context["all_times"] = query_string(_kept(request, dict(chosen, day="", time="")))
    return context


async def slots(request: web.Request) -> Page:
    """Free places for this patient, filtered (a week-grid cell: one day's half day), a
    page at a time; each with a "book" button. Above them, the chosen doctor's week."""
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
            # queued for the release draw (公平放号): taken, the patient is texted the result
            status=ACCEPTED if isinstance(err, Queued) else REFUSED,
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
    row["queue_no"] = view.booking.queue_no
    return {"booking": row}


DONE = ("booked", "rescheduled", "cancelled", "resent")  # what a booking page says was done


def _actions(view: BookingView, now: datetime) -> dict[str, Any]:
    """What the booking page offers besides change: cancel (with a reason), resend."""
    return {
        "cancellable": cancellable(view, now),
        "cancel_reasons": list(CANCEL_REASONS),
        "resendable": view.booking.status in RESENDABLE,
    }


async def booking(request: web.Request) -> Page:
    """A booking with its change, cancel, resend and slip actions (and what was just done,
    ``?done=``)."""
    view, _ = await _booking(request)
    done = request.query.get("done", "")
    now = services(request).clock.now()
    return Page(
        {**_booking_context(view), **_actions(view, now), "done": done if done in DONE else None}
    )


async def _reschedule_context(request: web.Request, view: BookingView, hospital: Hospital):
    chosen = filters(request)
    if not any(chosen.values()):  # by default: the same doctor
        chosen = {**chosen, "department": view.department_code, "doctor": view.doctor_work_no}
    number = view.booking.booking_no
    action = f"{console_path(request)}desk/bookings/{number}/slots"
    page = await _free_slots(request, hospital, chosen, skip=view.booking.slot_id)
    patient = await record_context(request, view.booking.patient_id)
    return {
        **_booking_context(view),
        "departments": patient["departments"],
        "doctors": patient["doctors"],
        "filters": chosen,
        "query": query_string(chosen),
        **page,
        "week": await _week(request, hospital, chosen, action),
        "cell_note": _cell_note(request, chosen, page["period"]),
        "all_times": query_string(dict(chosen, day="", time="")),
    }


async def reschedule_slots(request: web.Request) -> Page:
    """Free places to move a booking to (改约): by default the same doctor's, with their week."""
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
    """Cancel with a reason from the list and an optional note (both audited). From the
    patient's record (``back=patient``) the agent lands on the record again; a refusal is
    said in words on the page the agent came from."""
    view, hospital = await _booking(request)
    fields = await form(request)
    number = view.booking.booking_no
    from_record = fields.get("back") == "patient"
    why = fields.get("why", "").strip()
    try:
        if why not in CANCEL_REASONS:
            raise InvalidInput("why", "a reason from the list")
        cancelled: BookingView = await services(request).handle(
            CancelBooking(
                booking_no=number, why=why, note=fields.get("note", ""), actor=actor(request)
            )
        )
    except NotFound:
        raise
    except BookingError as err:
        said = flash(request, err, hospital.timezone)
        if err.code == "invalid_input" and err.params.get("field") == "why":
            said["message"] = translate(language(request), "cancel_reason_required")
        said["message"] = translate(language(request), "cancel_not_possible", why=said["message"])
        if from_record:
            context = await record_context(request, view.booking.patient_id)
            return Page(
                {**context, **said, "refused_no": number},
                status=REFUSED,
                template="desk/patient.html",
            )
        now = services(request).clock.now()
        return Page(
            {**_booking_context(view), **_actions(view, now), "done": None, **said},
            status=REFUSED,
            template="desk/booking.html",
        )
    base = console_path(request)
    if from_record:
        target = f"{base}desk/patients/{view.booking.patient_id}?done=cancelled&no={number}"
    else:
        target = f"{base}desk/bookings/{number}?done=cancelled"
    return Page({**_booking_context(cancelled), "done": "cancelled"}, redirect=target)


async def resend(request: web.Request) -> Page:
    """Text the booking's confirmation again (at most a few times an hour; audited)."""
    view, hospital = await _booking(request)
    number = view.booking.booking_no
    try:
        await services(request).handle(ResendConfirmation(booking_no=number, actor=actor(request)))
    except NotFound:
        raise
    except BookingError as err:
        now = services(request).clock.now()
        return Page(
            {
                **_booking_context(view),
                **_actions(view, now),
                "done": None,
                **flash(request, err, hospital.timezone),
            },
            status=REFUSED,
            template="desk/booking.html",
        )
    target = f"{console_path(request)}desk/bookings/{number}?done=resent"
    return Page({**_booking_context(view), "done": "resent"}, redirect=target)


async def slip(request: web.Request) -> Page:
    """The booking slip (预约凭条) to print: the hospital, department, doctor, the visit's
    local day and time, the booking number, the patient's name masked, the queue number
    once checked in, and a QR code of the booking number (segno, already a dependency)."""
    view, hospital = await _booking(request)
    row = _booking_context(view)["booking"]
    number = view.booking.booking_no
    return Page(
        {
            "slip": {
                "hospital": hospital.name,
                "booking_no": number,
                "department": row["department"],
                "doctor": row["doctor"],
                "doctor_title": row["doctor_title"],
                "room": row["room"],
                "day": row["day"],
                "start": row["start"],
                "end": row["end"],
                "patient_name": row["patient_name"],
                "queue_no": view.booking.queue_no,
                "fee": row["fee"],
                "status": row["status"],
            },
            "qr_svg": Markup(segno.make(number, error="m").svg_inline(scale=3, svgclass="qr")),
            "print_now": request.query.get("print") == "1",
        }
    )
