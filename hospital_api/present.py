"""Domain objects as the JSON the API answers with: codes instead of ids, hospital-local
times, money in fen, personal data masked (phone ``138****5678``, ID only its last 4)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from booking_core.blacklist import BlacklistEntry
from booking_core.bookings import BookingView
from booking_core.catalogue import Department, Doctor, Hospital
from booking_core.patients import Patient
from booking_core.rules import BookingWindow, Rule
from booking_core.schedule import SessionDetail, SlotView


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def local_iso(instant: datetime | None, tz: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(tz).isoformat()


def at(day: date, clock_time: time, tz: ZoneInfo) -> str:
    return datetime.combine(day, clock_time, tzinfo=tz).isoformat()


def hospital_out(h: Hospital) -> dict[str, Any]:
    return {"code": h.code, "name": h.name, "timezone": h.timezone}


def department_out(hospital_code: str, d: Department) -> dict[str, Any]:
    return {
        "hospital": hospital_code,
        "code": d.code,
        "name": d.name,
        "aliases": list(d.aliases),
        "active": d.active,
    }


def doctor_out(hospital_code: str, department_code: str, d: Doctor) -> dict[str, Any]:
    return {
        "hospital": hospital_code,
        "work_no": d.work_no,
        "department": department_code,
        "name": d.name,
        "title": d.title,
        "specialty": d.specialty,
        "fee": d.fee,
        "active": d.active,
    }


def session_out(detail: SessionDetail) -> dict[str, Any]:
    s = detail.session
    tz = ZoneInfo(detail.hospital.timezone)
    return {
        "id": s.id,
        "hospital": detail.hospital.code,
        "department": detail.department_code,
        "doctor": detail.doctor_work_no,
        "date": s.day.isoformat(),
        "period": str(s.period),
        "start": hhmm(s.start),
        "end": hhmm(s.end),
        "starts_at": local_iso(s.starts_at, tz),
        "ends_at": local_iso(s.ends_at, tz),
        "room": s.room,
        "fee": s.fee,
        "status": str(s.status),
        "slots": [
            {
                "id": sl.id,
                "start": hhmm(sl.start),
                "end": hhmm(sl.end),
                "starts_at": local_iso(sl.starts_at, tz),
                "capacity": sl.capacity,
                "booked": sl.booked,
                "free": sl.free,
            }
            for sl in detail.slots
        ],
    }


def slot_out(v: SlotView, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "slot_id": v.slot_id,
        "session_id": v.session_id,
        "hospital": v.hospital_code,
        "department": v.department_code,
        "department_name": v.department_name,
        "doctor": v.doctor_work_no,
        "doctor_name": v.doctor_name,
        "doctor_title": v.doctor_title,
        "date": v.day.isoformat(),
        "period": str(v.period),
        "start": hhmm(v.start),
        "end": hhmm(v.end),
        "starts_at": at(v.day, v.start, tz),
        "room": v.room,
        "fee": v.fee,
        "capacity": v.capacity,
        "booked": v.booked,
        "free": v.free,
        "window": v.window,
        "bookable": v.bookable,
        "opens_at": local_iso(v.opens_at, tz),
        "closes_at": local_iso(v.closes_at, tz),
    }


def booking_window_out(w: BookingWindow, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "today": w.today.isoformat(),
        "days": w.days,
        "last_open_day": w.last_open_day.isoformat(),
        "next_day": w.next_day.isoformat(),
        "next_opens_at": local_iso(w.next_opens_at, tz),
    }


def patient_out(hospital_code: str, p: Patient) -> dict[str, Any]:
    """Never the clear phone or ID number: the stored mask and the last 4 only."""
    return {
        "id": p.id,
        "hospital": hospital_code,
        "name": p.name,
        "card_no": p.card_no,
        "id_last4": p.id_last4,
        "phone": p.phone_masked,
        "balance": p.balance,
        "sms_opt_out": p.sms_opt_out,
    }


def booking_out(v: BookingView, tz: ZoneInfo) -> dict[str, Any]:
    b = v.booking
    return {
        "booking_no": b.booking_no,
        "status": b.status.value,
        "hospital": v.hospital_code,
        "department": v.department_code,
        "department_name": v.department_name,
        "doctor": v.doctor_work_no,
        "doctor_name": v.doctor_name,
        "doctor_title": v.doctor_title,
        "session_id": b.session_id,
        "slot_id": b.slot_id,
        "patient_id": b.patient_id,
        "patient_name": v.patient_name,
        "patient_card_no": v.patient_card_no,
        "date": b.day.isoformat(),
        "period": v.period.value,
        "start": hhmm(v.start),
        "end": hhmm(v.end),
        "starts_at": local_iso(v.starts_at, tz),
        "room": v.room,
        "place_no": b.place_no,
        "queue_no": b.queue_no,
        "channel": b.channel.value,
        "fee": b.fee,
        "paid": b.paid,
        "created_at": local_iso(b.created_at, tz),
        "hold_expires_at": local_iso(b.hold_expires_at, tz),
        "cancel_reason": b.cancel_reason,
    }


def ban_out(e: BlacklistEntry, hospital_code: str | None, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": e.id,
        "patient_id": e.patient_id,
        "hospital": hospital_code,
        "reason": e.reason,
        "source": e.source,
        "starts_at": local_iso(e.starts_at, tz),
        "ends_at": local_iso(e.ends_at, tz),
        "lifted_at": local_iso(e.lifted_at, tz),
    }


def rule_out(r: Rule, hospital_code: str | None) -> dict[str, Any]:
    return {
        "key": str(r.key),
        "value": r.value,
        "enabled": r.enabled,
        "priority": r.priority,
        "hospital": hospital_code,
        "period_type": None if r.period_type is None else str(r.period_type),
        "period_value": r.period_value,
    }
