"""Rows as the back office shows them (bookings: :func:`..records.booking_row`)."""

from __future__ import annotations

from booking_core.schedule import SessionRow


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
