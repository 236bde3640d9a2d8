"""Bookings (预约) as Appointment: read, search by the patient's card number and date,
and cancel (退号) by updating the status to ``cancelled`` (PUT, or PATCH with a JSON
Patch); any other change is refused, since a booking changes only through the core's
own acts ($book, cancel)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core import bookings, patients
from booking_core.bookings import BookingView
from booking_core.kernel.errors import NotFound

from . import resources as r
from .body import JSON_PATCH, JSON_TYPES, read_json, resource
from .context import actor, hospital_by_code, services, zone
from .outcome import FhirProblem, invalid
from .resources import fhir_response
from .search import booking_no, check_known, dates, searchset, single, token

HOSPITAL_CANCELS = ("prov", "maint")  # appointment-cancellation-reason codes: the hospital's


def _booking_no(request: web.Request) -> str:
    raw = request.match_info["id"]
    if booking_no(raw) is None:
        raise NotFound("Appointment", raw)
    return raw


async def _resource(request: web.Request, view: BookingView) -> dict[str, Any]:
    h = await hospital_by_code(request, view.hospital_code)
    return r.appointment(view, h.timezone)


async def read_appointment(request: web.Request) -> web.Response:
    view = await services(request).read(bookings.get_booking, _booking_no(request), actor(request))
    return fhir_response(await _resource(request, view))


async def search_appointment(request: web.Request) -> web.Response:
    """``patient:identifier`` (the card number, [system|]value) is required; ``date``
    bounds the appointment's start (repeatable, with prefixes)."""
    q = request.query
    check_known(q, {"patient:identifier", "date"})
    raw = single(q, "patient:identifier")
    if raw is None:
        raise invalid(
            "missing_parameter",
            "Search appointments by patient:identifier=urn:guahao:fhir:<hospital>:card-no|<card>.",
            "patient:identifier",
        )
    system, card_no = token(raw)
    code = None
    if system:
        parts = system.split(":")
        if not system.endswith(":card-no") or len(parts) < 5:
            raise invalid("invalid_token", "patient:identifier is a card number.", "patient")
        code = parts[-2]
    bounds = dates(q, "date", await zone(request))
    try:
        patient_id = await services(request).read(
            patients.patient_by_card, actor(request), code, card_no
        )
    except NotFound:
        return fhir_response(searchset(request, []))
    found = await services(request).read(
        bookings.list_bookings, actor(request), patient_id=patient_id
    )
    kept = [v for v in found if bounds.holds(v.starts_at)]
    return fhir_response(searchset(request, [await _resource(request, v) for v in kept]))


def _cancel_only(status: Any) -> None:
    if status != "cancelled":
        raise FhirProblem(
            422,
            "business-rule",
            "unsupported_change",
            "Only cancelling changes an Appointment here (status → cancelled); book with "
            "Appointment/$book.",
            expression="Appointment.status",
        )


async def _cancel(request: web.Request, booking_no: str, by_hospital: bool) -> web.Response:
    view = await services(request).handle(
        bookings.CancelBooking(actor=actor(request), booking_no=booking_no, by_hospital=by_hospital)
    )
    return fhir_response(await _resource(request, view))


async def update_appointment(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    body = resource(await read_json(request, JSON_TYPES), "Appointment")
    if body.get("id") != booking_no:
        raise invalid("id_mismatch", "The body's id must be the id in the URL.", "Appointment.id")
    _cancel_only(body.get("status"))
    codes = [c.get("code", "") for c in (body.get("cancelationReason") or {}).get("coding", [])]
    by_hospital = any(c.startswith(HOSPITAL_CANCELS) for c in codes)
    return await _cancel(request, booking_no, by_hospital)


async def patch_appointment(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    ops = await read_json(request, frozenset({JSON_PATCH}))
    if not isinstance(ops, list) or not ops or not all(isinstance(op, dict) for op in ops):
        raise invalid("invalid_patch", "Send a JSON Patch: a list of operations.")
    for op in ops:
        if op.get("op") != "replace" or op.get("path") != "/status":
            raise FhirProblem(
                422,
                "business-rule",
                "unsupported_change",
                'Only [{"op": "replace", "path": "/status", "value": "cancelled"}].',
            )
        _cancel_only(op.get("value"))
    return await _cancel(request, booking_no, False)
