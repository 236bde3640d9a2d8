"""A patient's record and a booking, by URL (患者档案、预约详情).

Only what the screens of a later step need to prove the isolation: another hospital's
patient or booking is "not found" (404), never "forbidden". Personal data is masked.
"""

from __future__ import annotations

from aiohttp import web

from booking_core import patients
from booking_core.bookings import BookingView, get_booking, list_bookings
from booking_core.kernel.errors import NotFound
from booking_core.kernel.identity import mask_name
from booking_core.patients import Patient

from ..pages import Page
from .common import actor, services


def booking_row(view: BookingView) -> dict:
    """A booking as every console page and export shows it (the patient's name masked)."""
    b = view.booking
    return {
        "booking_no": b.booking_no,
        "status": b.status,
        "channel": b.channel,
        "day": b.day,
        "start": view.start.strftime("%H:%M"),
        "hospital": view.hospital_code,
        "department": view.department_name,
        "department_code": view.department_code,
        "doctor": view.doctor_name,
        "doctor_work_no": view.doctor_work_no,
        "doctor_title": view.doctor_title,
        "room": view.room,
        "fee": b.fee,
        "patient_id": b.patient_id,
        "patient_name": mask_name(view.patient_name),
        "card_no": view.patient_card_no,
    }


def patient_context(p: Patient) -> dict:
    return {
        "id": p.id,
        "name": p.name,
        "card_no": p.card_no,
        "id_number": f"**************{p.id_last4}" if p.id_last4 else "",
        "phone": p.phone_masked,
        "balance": p.balance,
    }


async def patient(request: web.Request) -> Page:
    text = request.match_info["id"]
    if not text.isdigit():
        raise NotFound("patient", text)
    who = actor(request)
    found: Patient = await services(request).read(patients.get_patient, int(text), who)
    bookings = await services(request).read(list_bookings, who, patient_id=found.id)
    return Page({"patient": patient_context(found), "bookings": [booking_row(b) for b in bookings]})


async def booking(request: web.Request) -> Page:
    number = request.match_info["no"]
    view = await services(request).read(get_booking, number, actor(request))
    return Page({"booking": booking_row(view)})
