"""Patients (实名制患者): registration, look-up and prepaid top-ups."""

from __future__ import annotations

from aiohttp import web

from booking_core import patients, payments

from .. import paging
from ..present import patient_out
from ..problems import Problem
from ..schemas import PatientIn, TopUpIn
from ..schemas_his import PatientPageQuery, PatientSearchPageIn
from ..wire import json_response, parse_body, parse_query, path_int
from . import caller, directory, hospital_code, services


async def post_patient(request: web.Request) -> web.Response:
    data = await parse_body(request, PatientIn)
    code = hospital_code(request, data.hospital)
    assert code is not None
    patient = await services(request).handle(
        patients.RegisterPatient(
            actor=caller(request).actor,
            hospital_code=code,
            name=data.name,
            id_number=data.id_number,
            phone=data.phone,
            card_no=data.card_no,
        )
    )
    return json_response(patient_out(code, patient), 201)


async def get_patients(request: web.Request) -> web.Response:
    """By card number in the query string; a phone or ID number there is refused (it would
    sit in every proxy's and server's access log): POST /patients/search takes them."""
    q = parse_query(request, PatientPageQuery)
    in_url = [name for name in ("phone", "id_number") if getattr(q, name)]
    if in_url:
        raise Problem(
            "invalid_request",
            "Phone and ID numbers are not taken in a URL: send them in the JSON body of "
            "POST /api/v1/patients/search.",
            errors=[
                {"field": name, "message": "use POST /api/v1/patients/search", "type": "in_url"}
                for name in in_url
            ],
        )
    search = PatientSearchPageIn(
        hospital=q.hospital, card_no=q.card_no, limit=q.limit, cursor=q.cursor
    )
    return await _find(request, search)


async def search_patients(request: web.Request) -> web.Response:
    """POST /patients/search: by phone, card number or ID number, given in the body."""
    return await _find(request, await parse_body(request, PatientSearchPageIn))


async def _find(request: web.Request, q: PatientSearchPageIn) -> web.Response:
    if not (q.phone or q.card_no or q.id_number):
        raise Problem(
            "invalid_request",
            "Look patients up by phone, card_no or id_number.",
            errors=[
                {"field": "phone", "message": "one of phone, card_no, id_number", "type": "missing"}
            ],
        )
    svc = services(request)
    after = paging.decode(request, q, q.cursor, (int,))
    found = await svc.read(
        patients.find_patients_page,
        caller(request).actor,
        svc.cipher,
        hospital_code=q.hospital,
        phone=q.phone,
        card_no=q.card_no,
        id_number=q.id_number,
        after=None if after is None else after[0],
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, lambda p: (p.id,))
    dirs = directory(request)
    items = [patient_out(await dirs.code_of(p.hospital_id) or "", p) for p in page]
    return paging.answer(request, items, next_cursor)


async def get_patient(request: web.Request) -> web.Response:
    patient_id = path_int(request, "id")
    patient = await services(request).read(patients.get_patient, patient_id, caller(request).actor)
    code = await directory(request).code_of(patient.hospital_id)
    return json_response(patient_out(code or "", patient))


async def top_up(request: web.Request) -> web.Response:
    patient_id = path_int(request, "id")
    data = await parse_body(request, TopUpIn)
    patient = await services(request).handle(
        payments.TopUp(
            actor=caller(request).actor,
            patient_id=patient_id,
            amount=data.amount,
            method=data.method,
            reference=data.reference,
        )
    )
    code = await directory(request).code_of(patient.hospital_id)
    return json_response(patient_out(code or "", patient))
