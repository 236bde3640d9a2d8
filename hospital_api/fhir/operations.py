"""The IHE Scheduling operations through the booking core, under every rule any door
books under (real name 实名, blacklist, limits, the booking window).

- ``Appointment/$find`` (GET or POST Parameters): the places bookable now — ``start`` and
  ``end`` (days), ``practitioner``, ``service-type`` (a department code), ``organization``
  (for a platform token), ``_count`` — as proposed Appointments, in pages.
- ``Appointment/$hold``: ``appointment-resource`` naming one slot and the patient (card
  number as identifier, the registered name as display) → the core's unpaid hold
  (``held``, released by the hold sweep after the hospital's hold time) → ``pending``.
- ``Appointment/$book``: ``appointment-reference`` (or an ``appointment-resource`` with
  an id) of a held Appointment → confirmed; an ``appointment-resource`` without one books
  the slot at once → ``booked`` (``pending`` where the hospital requires prepayment).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDict, MultiMapping

from booking_core import bookings, patients, schedule
from booking_core.bookings import BookingView
from booking_core.kernel.errors import NotFound
from booking_core.schedule import FeedQuery

from . import resources as r
from .body import read_json, resource
from .context import actor, caller, hospital, hospital_by_code, services
from .outcome import invalid
from .resources import fhir_response
from .search import (
    PAGING,
    base_url,
    booking_no,
    check_known,
    count,
    cursor,
    dates,
    page,
    plain_text,
    reference,
    searchset,
    single,
)
from .slots import department_code

FIND_PARAMETERS = PAGING | {"start", "end", "practitioner", "service-type", "organization"}
MAX_CARD_NO = 32  # card numbers are 9 digits; a HIS's own may be longer, never this long


def _parameters_query(body: dict[str, Any]) -> MultiDict[str]:
    """A Parameters resource's simple values as a query."""
    out: MultiDict[str] = MultiDict()
    for p in body.get("parameter", []):
        for key, value in p.items():
            if key.startswith("value") and isinstance(value, str | int):
                out.add(p["name"], str(value))
            elif key == "valueReference":
                out.add(p["name"], str(value.get("reference", "")))
    return out


async def find(request: web.Request) -> web.Response:
    if request.method == "POST":
        q: MultiMapping[str] = _parameters_query(resource(await read_json(request), "Parameters"))
    else:
        q = request.query
    check_known(q, FIND_PARAMETERS)
    limit = count(q)
    org = single(q, "organization")
    hospital_id = (
        reference(org, "Organization", "organization") if org else actor(request).hospital_id
    )
    if hospital_id is None:
        raise invalid("missing_parameter", "Name the hospital: organization=Organization/<id>.")
    h = await hospital(request, hospital_id)
    tz = ZoneInfo(h.timezone)
    if single(q, "start") is None or single(q, "end") is None:
        raise invalid("missing_parameter", "$find needs start and end (YYYY-MM-DD).")
    day_from = dates(q, "start", tz).days(tz)[0]
    day_to = dates(q, "end", tz).days(tz)[1]
    doctor = single(q, "practitioner")
    query = FeedQuery(
        hospital_id=h.id,
        doctor_id=reference(doctor, "Practitioner", "practitioner") if doctor else None,
        department_code=department_code(q),
        day_from=day_from,
        day_to=day_to,
        free=True,
        bookable=True,
        after_id=cursor(q),
        limit=limit + 1,
    )
    found = await services(request).read(schedule.feed_slots, query, actor(request))
    kept, more = page(found, limit, lambda s: s.id)
    return fhir_response(searchset(request, [r.proposed(s) for s in kept], more))


def _operation_input(body: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(appointment-resource, appointment-reference) of a Parameters, or a bare Appointment."""
    found = resource(body, "Parameters", "Appointment")
    if found["resourceType"] == "Appointment":
        return found, None
    appointment: dict[str, Any] | None = None
    ref: str | None = None
    for p in found.get("parameter", []):
        if p.get("name") == "appointment-resource":
            appointment = resource(p.get("resource"), "Appointment")
        elif p.get("name") == "appointment-reference":
            ref = (p.get("valueReference") or {}).get("reference")
    return appointment, ref


def _slot_of(appointment: dict[str, Any]) -> int:
    slots = appointment.get("slot") or []
    if len(slots) != 1:
        raise invalid(
            "invalid_appointment", "Name exactly one slot: Slot/<id>.", "Appointment.slot"
        )
    return reference(slots[0].get("reference", ""), "Slot", "Appointment.slot")


def _patient_of(appointment: dict[str, Any]) -> tuple[str | None, str, str | None]:
    """(hospital code or None, card number, the name given) of the patient participant."""
    for p in appointment.get("participant", []):
        who = p.get("actor") or {}
        ident = who.get("identifier") or {}
        system = ident.get("system") or ""
        value = ident.get("value") or ""
        if value and (system == "" or system.endswith(":card-no")):
            if not plain_text(value) or len(value) > MAX_CARD_NO:
                raise invalid("invalid_appointment", "The card number is not one.", "Appointment")
            parts = system.split(":")
            code = parts[-2] if system and len(parts) >= 5 else None
            return code, ident["value"], who.get("display")
    raise invalid(
        "invalid_appointment",
        "Name the patient: a participant whose actor.identifier is the card number "
        "(system urn:guahao:fhir:<hospital>:card-no) and whose display is the real name.",
        "Appointment.participant",
    )


async def _answer(request: web.Request, view: BookingView, status: int) -> web.Response:
    h = await hospital_by_code(request, view.hospital_code)
    where = f"{base_url(request)}/Appointment/{view.booking.booking_no}"
    headers = {"Location": where} if status == 201 else None
    return fhir_response(r.appointment(view, h.timezone), status, headers)


async def _book(request: web.Request, appointment: dict[str, Any], *, hold: bool) -> web.Response:
    who = caller(request)
    slot_id = _slot_of(appointment)
    code, card_no, name = _patient_of(appointment)
    patient_id = await services(request).read(patients.patient_by_card, who.actor, code, card_no)
    view = await services(request).handle(
        bookings.BookSlot(
            actor=who.actor,
            slot_id=slot_id,
            patient_id=patient_id,
            channel=who.actor.channel,
            patient_name=name,
            hold=hold,
        )
    )
    return await _answer(request, view, 201)


async def hold(request: web.Request) -> web.Response:
    appointment, _ = _operation_input(await read_json(request))
    if appointment is None:
        raise invalid("missing_parameter", "$hold needs an appointment-resource.")
    return await _book(request, appointment, hold=True)


def _held_booking_no(appointment: dict[str, Any] | None, ref: str | None) -> str | None:
    if ref is not None:
        return ref.rpartition("Appointment/")[2] or None
    if appointment is not None and appointment.get("id"):
        return str(appointment["id"])
    return None


async def book(request: web.Request) -> web.Response:
    appointment, ref = _operation_input(await read_json(request))
    held = _held_booking_no(appointment, ref)
    if held is None:
        if appointment is None:
            raise invalid("missing_parameter", "$book needs an appointment-reference or -resource.")
        return await _book(request, appointment, hold=False)
    if booking_no(held) is None:
        raise NotFound("Appointment", held)
    view = await services(request).handle(
        bookings.ConfirmBooking(actor=actor(request), booking_no=held)
    )
    return await _answer(request, view, 200)
