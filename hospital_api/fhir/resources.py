"""The domain as FHIR resources (R4B models, see the package docstring): one mapper per
resource, and :func:`validated`, the one way a resource leaves this door.

Ids are the store's ids (a booking's is its number, 预约号); codes people know (hospital
code, department code, work number 工号, card number, booking number) are identifiers in
this engine's systems (``urn:guahao:fhir:…``). Times are hospital-local with their offset
(``2026-07-11T08:00:00+08:00``), money integer fen.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aiohttp import web
from fhir.resources.R4B import get_fhir_model_class

from booking_core.bookings import BookingStatus, BookingView
from booking_core.catalogue import Department, Doctor, Hospital
from booking_core.schedule import FeedSession, FeedSlot

FHIR_JSON = "application/fhir+json"
NS = "urn:guahao:fhir"
ERROR_SYSTEM = f"{NS}:error"  # the core's error codes (slot_full, blacklisted …)
HOSPITAL_SYSTEM = f"{NS}:hospital"  # hospital codes
EXT_BAN_ENDS = f"{NS}:ban-ends"  # OperationOutcome.issue: when a ban ends
EXT_HOLD_EXPIRES = f"{NS}:hold-expires"  # Appointment: when an unpaid hold ends
EXT_FEE = f"{NS}:fee-fen"  # Slot, Appointment: the fee in fen (挂号费, 分)


def system(hospital_code: str, what: str) -> str:
    """A hospital's identifier system: ``department``, ``work-no``, ``card-no``, ``booking-no``."""
    return f"{NS}:{hospital_code}:{what}"


def validated(resource: dict[str, Any]) -> bytes:
    """The resource checked by its R4B model (a ValidationError is our bug, and a 500),
    as compact JSON. What is sent is the checked dict itself, written by orjson: the
    model's own ``model_dump_json`` took twice as long as the check (16 ms for a page of 50
    slots, against 6), for the same JSON."""
    cleaned = _without_none(resource)
    get_fhir_model_class(resource["resourceType"]).model_validate(cleaned)
    return orjson.dumps(cleaned)


def _without_none(value: Any) -> Any:
    """FHIR has no null: a field without a value is left out."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def fhir_response(
    resource: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=validated(resource), content_type=FHIR_JSON, headers=headers
    )


def local(day: date, at: time, timezone: str) -> str:
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).isoformat(timespec="seconds")


def instant(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")


def ref(kind: str, key: int | str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"{kind}/{key}"}
    if display:
        out["display"] = display
    return out


def department_concept(hospital_code: str, code: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": system(hospital_code, "department"), "code": code,
                        "display": name}], "text": name}  # fmt: skip


# --- the catalogue (医院、科室、医生) ---------------------------------------------------


def organization(h: Hospital) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": str(h.id),
        "identifier": [{"system": HOSPITAL_SYSTEM, "value": h.code}],
        "active": True,
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                              "code": "prov", "display": "Healthcare Provider"}]}],
        "name": h.name,
    }  # fmt: skip


def location(h: Hospital, phone: str = "") -> dict[str, Any]:
    """The hospital as the place patients go (one Location per hospital)."""
    out: dict[str, Any] = {
        "resourceType": "Location",
        "id": str(h.id),
        "identifier": [{"system": HOSPITAL_SYSTEM, "value": h.code}],
        "status": "active",
        "name": h.name,
        "mode": "instance",
        "managingOrganization": ref("Organization", h.id, h.name),
    }
    if phone:
        out["telecom"] = [{"system": "phone", "value": phone}]
    return out


def healthcare_service(h: Hospital, d: Department) -> dict[str, Any]:
    """A department (科室) as the service patients book."""
    out: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": str(d.id),
        "identifier": [{"system": system(h.code, "department"), "value": d.code}],
        "active": d.active,
        "providedBy": ref("Organization", h.id, h.name),
        "location": [ref("Location", h.id, h.name)],
        "type": [department_concept(h.code, d.code, d.name)],
        "name": d.name,
    }
    if d.aliases:
        out["comment"] = "Also: " + ", ".join(d.aliases)
    return out


def _work_no(h: Hospital, doctor: Doctor) -> list[dict[str, Any]]:
    return [{"system": system(h.code, "work-no"), "value": doctor.work_no}]


def practitioner(h: Hospital, doctor: Doctor) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": str(doctor.id),
        "identifier": _work_no(h, doctor),
        "active": doctor.active,
        "name": [{"text": doctor.name}],
    }


def practitioner_role(h: Hospital, doctor: Doctor) -> dict[str, Any]:
    """The doctor in their department: title (职称), specialty (专长), the fee in fen."""
    out: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": str(doctor.id),
        "identifier": _work_no(h, doctor),
        "active": doctor.active,
        "practitioner": ref("Practitioner", doctor.id, doctor.name),
        "organization": ref("Organization", h.id, h.name),
        "location": [ref("Location", h.id, h.name)],
        "healthcareService": [ref("HealthcareService", doctor.department_id)],
        "extension": [{"url": EXT_FEE, "valueInteger": doctor.fee}],
    }
    if doctor.title:
        out["code"] = [{"text": doctor.title}]
    if doctor.specialty:
        out["specialty"] = [{"text": doctor.specialty}]
    return out


# --- sessions and slots (排班、号源) ----------------------------------------------------


def schedule(s: FeedSession) -> dict[str, Any]:
    """A clinic session (出诊): the doctor, the department and the hospital on one day."""
    return {
        "resourceType": "Schedule",
        "id": str(s.id),
        "active": s.open,
        "serviceType": [department_concept(s.hospital_code, s.department_code,
                                           s.department_name)],
        "actor": [
            ref("Practitioner", s.doctor_id, s.doctor_name),
            ref("HealthcareService", s.department_id, s.department_name),
            ref("Location", s.hospital_id),
        ],
        "planningHorizon": {"start": local(s.day, s.start, s.timezone),
                            "end": local(s.day, s.end, s.timezone)},
        "comment": f"{s.period}, room {s.room}" if s.room else str(s.period),
    }  # fmt: skip


def slot_status(s: FeedSlot) -> str:
    if not s.session.open:
        return "busy-unavailable"  # 停诊
    return "free" if s.free > 0 else "busy"


def slot(s: FeedSlot, extension: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    se = s.session
    return {
        "resourceType": "Slot",
        "id": str(s.id),
        "schedule": ref("Schedule", se.id),
        "serviceType": [department_concept(se.hospital_code, se.department_code,
                                           se.department_name)],
        "status": slot_status(s),
        "start": local(se.day, s.start, se.timezone),
        "end": local(se.day, s.end, se.timezone),
        "comment": f"{s.free} of {s.capacity} places free",
        "extension": [{"url": EXT_FEE, "valueInteger": se.fee}, *(extension or [])],
    }  # fmt: skip


# --- appointments (预约) ----------------------------------------------------------------

APPOINTMENT_STATUS: dict[BookingStatus, str] = {
    BookingStatus.HELD: "pending",
    BookingStatus.CONFIRMED: "booked",
    BookingStatus.CHECKED_IN: "checked-in",
    BookingStatus.COMPLETED: "fulfilled",
    BookingStatus.CANCELLED: "cancelled",
    BookingStatus.NO_SHOW: "noshow",
}


def patient_actor(hospital_code: str, card_no: str, name: str) -> dict[str, Any]:
    """The patient by card number (就诊卡号): this door serves no Patient resource."""
    return {
        "type": "Patient",
        "identifier": {"system": system(hospital_code, "card-no"), "value": card_no},
        "display": name,
    }


def appointment(v: BookingView, timezone: str) -> dict[str, Any]:
    b = v.booking
    status = APPOINTMENT_STATUS[b.status]
    out: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": b.booking_no,
        "identifier": [{"system": system(v.hospital_code, "booking-no"), "value": b.booking_no}],
        "status": status,
        "serviceType": [department_concept(v.hospital_code, v.department_code, v.department_name)],
        "start": local(b.day, v.start, timezone),
        "end": local(b.day, v.end, timezone),
        "created": instant(b.created_at, timezone),
        "slot": [ref("Slot", b.slot_id)],
        "participant": [
            {"actor": patient_actor(v.hospital_code, v.patient_card_no, v.patient_name),
             "status": "accepted"},
            {"actor": ref("Practitioner", b.doctor_id, v.doctor_name), "status": "accepted"},
            {"actor": ref("Location", b.hospital_id), "status": "accepted"},
        ],
        "extension": [{"url": EXT_FEE, "valueInteger": b.fee}],
    }  # fmt: skip
    if b.status is BookingStatus.HELD and b.hold_expires_at is not None:
        hold = {"url": EXT_HOLD_EXPIRES, "valueDateTime": instant(b.hold_expires_at, timezone)}
        out["extension"].append(hold)
    if b.cancel_reason:
        out["cancelationReason"] = {"text": b.cancel_reason}
    return out


def proposed(s: FeedSlot) -> dict[str, Any]:
    """A place $find offers: a proposed Appointment in that slot, with no patient yet."""
    se = s.session
    return {
        "resourceType": "Appointment",
        "status": "proposed",
        "serviceType": [department_concept(se.hospital_code, se.department_code,
                                           se.department_name)],
        "start": local(se.day, s.start, se.timezone),
        "end": local(se.day, s.end, se.timezone),
        "slot": [ref("Slot", s.id)],
        "participant": [
            {"actor": ref("Practitioner", se.doctor_id, se.doctor_name), "required": "required",
             "status": "needs-action"},
            {"actor": ref("Location", se.hospital_id), "required": "required",
             "status": "needs-action"},
        ],
        "extension": [{"url": EXT_FEE, "valueInteger": se.fee}],
    }  # fmt: skip
