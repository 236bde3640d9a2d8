"""Rows as the back office shows them: personal data masked (names 张*, phones 138****5678)."""

from __future__ import annotations

from booking_core.domain import BookingView
from booking_core.identity import mask_name
from booking_core.office_queries import SessionRow


def booking_row(view: BookingView) -> dict:
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
        "fee": b.fee,
        "patient_id": b.patient_id,
        "patient_name": mask_name(view.patient_name),
        "card_no": view.patient_card_no,
    }


def session_row(s: SessionRow) -> dict:
    return {
        "id": s.id,
        "hospital": s.hospital_code,
        "department_code": s.department_code,
        "department": s.department_name,
        "doctor_work_no": s.doctor_work_no,
        "doctor": s.doctor_name,
        "day": s.day,
        "period": s.period,
        "start": s.start.strftime("%H:%M"),
        "end": s.end.strftime("%H:%M"),
        "room": s.room,
        "status": s.status,
        "slot_minutes": s.slot_minutes,
        "places_per_slot": s.places_per_slot,
        "capacity": s.capacity,
        "booked": s.booked,
    }
