"""Registering a caller who has no record (无卡病人) and changing a patient's phone.

``GET /desk/patients/new?call=<sid>`` is the form with the mobile number pre-filled from
that call's calling number (the core reads it in clear for an operator of the call's
hospital and audits the read), or from ``?phone=``. The POST registers (the core issues
the patient card number), then the browser goes to the new record, the call kept
(``?call=``). A mistake shows the form again with each field's error in words, never a
500; an ID number registered already says so and links to that record.

The kiosks' ID-card reader is a device of the hall's kiosk PCs (hardware/), which the
console cannot reach: the agent types the ID number the caller reads out.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from booking_core import calls
from booking_core.catalogue import hospital_timezone, hospital_with_id
from booking_core.kernel.errors import InvalidIdNumber, InvalidInput, PatientExists
from booking_core.kernel.identity import normalize_id_number, normalize_phone
from booking_core.patients import (
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    ChangePatientPhone,
    Patient,
    RegisterPatient,
    RevealCaller,
)

from ...i18n import language, translate
from ...pages import Page
from ...sessions import console_path
from ..common import actor, form, services
from .calls import call_row
from .patients import _patient_id, record_context

FIELDS = ("name", "id_number", "phone")
MAX_FIELD = {"name": MAX_NAME_LENGTH, "id_number": 18, "phone": 20}  # typed, before checks
_SID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
REFUSED = 400
DUPLICATE = 409


def _call_sid(request: web.Request) -> str:
    sid = request.query.get("call", "").strip()
    if sid and not _SID.fullmatch(sid):
        raise InvalidInput("call", "a call's CallSid")
    return sid


def _with_call(path: str, sid: str) -> str:
    return f"{path}?call={sid}" if sid else path


async def _call_context(request: web.Request, sid: str) -> dict[str, Any] | None:
    if not sid:
        return None
    who = actor(request)
    found = await services(request).read(calls.queued_call, sid, who)
    tz = await services(request).read(hospital_timezone, who.hospital_id)
    return call_row(found, tz)


def _page(
    request: web.Request,
    sid: str,
    call: dict[str, Any] | None,
    values: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    base = console_path(request)
    return {
        "form": values,
        "errors": {},
        "call": call,
        "call_sid": sid,
        "action": _with_call(f"{base}desk/patients/new", sid),
        "note": "",
        **extra,
    }


async def new_form(request: web.Request) -> Page:
    """The registration form, pre-filled from the call (``?call=``) or ``?phone=``."""
    sid = _call_sid(request)
    call = await _call_context(request, sid)
    lang = language(request)
    phone, note = request.query.get("phone", "").strip()[: MAX_FIELD["phone"]], ""
    if sid and not phone:
        caller = await services(request).handle(RevealCaller(call_sid=sid, actor=actor(request)))
        try:
            phone, note = normalize_phone(caller), translate(lang, "phone_prefilled_from_call")
        except InvalidInput:
            phone, note = "", translate(lang, "caller_not_mobile")
    values = {"name": request.query.get("name", "").strip()[:MAX_NAME_LENGTH], "id_number": ""}
    return Page(_page(request, sid, call, {**values, "phone": phone}, note=note))


def _check(lang: str, values: dict[str, str]) -> dict[str, str]:
    """Each field's error in words (none: the core may try)."""
    errors: dict[str, str] = {}
    for field in FIELDS:
        if not values[field]:
            errors[field] = translate(lang, "field_required")
        elif len(values[field]) > MAX_FIELD[field]:
            errors[field] = translate(lang, "field_too_long", limit=MAX_FIELD[field])
    if "id_number" not in errors:
        try:
            normalize_id_number(values["id_number"])
        except InvalidIdNumber as err:
            errors["id_number"] = translate(lang, f"id_number_{err.params['reason']}")
    if "phone" not in errors:
        try:
            normalize_phone(values["phone"])
        except InvalidInput:
            errors["phone"] = translate(lang, "phone_invalid")
    return errors


def _refused(context: dict[str, Any], lang: str, errors: dict[str, str], status: int) -> Page:
    return Page(
        {
            **context,
            "errors": errors,
            "error": "invalid_input",
            "message": translate(lang, "fix_the_errors"),
        },
        status=status,
    )


async def register(request: web.Request) -> Page:
    """Register the caller; then to their record (the call kept)."""
    sid = _call_sid(request)
    fields = await form(request)
    lang = language(request)
    values = {f: " ".join(str(fields.get(f, "")).split()) for f in FIELDS}
    values["id_number"] = values["id_number"].replace(" ", "").upper()
    call = await _call_context(request, sid)
    context = _page(request, sid, call, {f: v[: MAX_FIELD[f] * 4] for f, v in values.items()})
    errors = _check(lang, values)
    if errors:
        return _refused(context, lang, errors, REFUSED)
    who = actor(request)
    command = RegisterPatient(
        actor=who,
        hospital_code=await _hospital_code(request),
        name=values["name"],
        id_number=values["id_number"],
        phone=values["phone"],
    )
    try:
        patient: Patient = await services(request).handle(command)
    except PatientExists as err:
        existing = err.params["patient_id"]
        base = console_path(request)
        duplicate = {
            "error": "patient_exists",
            "message": translate(lang, "duplicate_patient", card_no=err.params["card_no"]),
            "existing": {
                "patient_id": existing,
                "card_no": err.params["card_no"],
                "href": _with_call(f"{base}desk/patients/{existing}", sid),
            },
        }
        return Page({**context, **duplicate}, status=DUPLICATE)
    except (InvalidInput, InvalidIdNumber) as err:
        field = str(err.params.get("field", "id_number"))
        errors = {field if field in FIELDS else "name": translate(lang, err.code, **err.params)}
        if field == "name":
            errors["name"] = translate(lang, "name_invalid", limit=MAX_NAME_LENGTH)
        return _refused(context, lang, errors, REFUSED)
    target = _with_call(f"{console_path(request)}desk/patients/{patient.id}", sid)
    done = {"patient_id": patient.id, "card_no": patient.card_no}
    return Page({**context, "registered": done}, redirect=target)


async def _hospital_code(request: web.Request) -> str:
    """The operator's hospital (a platform operator registers nobody from the desk)."""
    who = actor(request)
    if who.hospital_id is None:
        raise InvalidInput("hospital", "a hospital's operator registers its patients")
    hospital = await services(request).read(hospital_with_id, who.hospital_id)
    return str(hospital.code)


# --- the phone --------------------------------------------------------------------------


async def _phone_context(request: web.Request, patient_id: int) -> dict[str, Any]:
    record = await record_context(request, patient_id)
    base = console_path(request)
    sid = _call_sid(request)
    return {
        **record,
        "form": {"phone": "", "reason": ""},
        "errors": {},
        "action": _with_call(f"{base}desk/patients/{patient_id}/phone", sid),
    }


async def phone_form(request: web.Request) -> Page:
    """The form to change a patient's phone (the new number and the reason)."""
    return Page(await _phone_context(request, _patient_id(request)))


async def change_phone(request: web.Request) -> Page:
    patient_id = _patient_id(request)
    fields = await form(request)
    lang = language(request)
    context = await _phone_context(request, patient_id)
    phone = " ".join(str(fields.get("phone", "")).split())
    reason = " ".join(str(fields.get("reason", "")).split())
    context["form"] = {"phone": phone[: MAX_FIELD["phone"] * 4], "reason": reason[:400]}
    errors: dict[str, str] = {}
    if not reason or len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = translate(lang, "reason_invalid", limit=MAX_REASON_LENGTH)
    try:
        normalize_phone(phone[:40])
    except InvalidInput:
        errors["phone"] = translate(lang, "phone_invalid")
    if errors:
        return _refused(context, lang, errors, REFUSED)
    command = ChangePatientPhone(
        actor=actor(request), patient_id=patient_id, phone=phone, reason=reason
    )
    try:
        changed: Patient = await services(request).handle(command)
    except InvalidInput as err:
        key = "same_phone" if err.params.get("field") == "phone" else "reason_invalid"
        field = "phone" if key == "same_phone" else "reason"
        return _refused(
            context, lang, {field: translate(lang, key, limit=MAX_REASON_LENGTH)}, REFUSED
        )
    sid = _call_sid(request)
    target = _with_call(f"{console_path(request)}desk/patients/{patient_id}", sid)
    message = translate(lang, "phone_changed", phone=changed.phone_masked)
    return Page({**context, "done": "phone_changed", "message": message}, redirect=target)
