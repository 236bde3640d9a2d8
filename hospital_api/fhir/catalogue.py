"""The catalogue (医院、科室、医生) read and searched: Organization and Location (a
hospital), HealthcareService (a department), Practitioner and PractitionerRole (a doctor,
their work number 工号 as identifier)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core import catalogue
from booking_core.catalogue import Hospital
from booking_core.kernel.errors import NotFound

from . import resources as r
from .context import actor, hospital, hospitals, services
from .keys import SETTINGS
from .resources import fhir_response
from .search import check_known, reference, resource_id, searchset, single, token


def path_id(request: web.Request, kind: str) -> int:
    raw = request.match_info["id"]
    found = resource_id(raw)
    if found is None:
        raise NotFound(kind, raw)
    return found


def _matches(value: str | None, system: str, code: str) -> bool:
    """Does a token search value match this identifier?"""
    if value is None:
        return True
    want_system, want = token(value)
    return want == code and want_system in (None, system)


def phone_of(request: web.Request, h: Hospital) -> str:
    """The number patients call to book at ``h`` (the IVR's), if the engine has one."""
    settings = request.app[SETTINGS]
    return settings.ivr_phone if settings.ivr_phone and settings.ivr_hospital == h.code else ""


async def _searched_hospitals(request: web.Request) -> list[Hospital]:
    q = request.query
    check_known(q, {"identifier"})
    wanted = single(q, "identifier")
    return [h for h in await hospitals(request) if _matches(wanted, r.HOSPITAL_SYSTEM, h.code)]


async def read_organization(request: web.Request) -> web.Response:
    return fhir_response(r.organization(await hospital(request, path_id(request, "Organization"))))


async def search_organization(request: web.Request) -> web.Response:
    found = [r.organization(h) for h in await _searched_hospitals(request)]
    return fhir_response(searchset(request, found))


async def read_location(request: web.Request) -> web.Response:
    h = await hospital(request, path_id(request, "Location"))
    return fhir_response(r.location(h, phone_of(request, h)))


async def search_location(request: web.Request) -> web.Response:
    found = [r.location(h, phone_of(request, h)) for h in await _searched_hospitals(request)]
    return fhir_response(searchset(request, found))


async def read_healthcare_service(request: web.Request) -> web.Response:
    key = path_id(request, "HealthcareService")
    department = await services(request).read(catalogue.department_with_id, key, actor(request))
    h = await hospital(request, department.hospital_id)
    return fhir_response(r.healthcare_service(h, department))


async def _scope(request: web.Request) -> list[Hospital]:
    """The hospitals a search covers: ``organization`` if given, else all the caller's."""
    raw = single(request.query, "organization")
    if raw is None:
        return await hospitals(request)
    try:
        return [await hospital(request, reference(raw, "Organization", "organization"))]
    except NotFound:
        return []


async def search_healthcare_service(request: web.Request) -> web.Response:
    q = request.query
    check_known(q, {"identifier", "organization"})
    wanted = single(q, "identifier")
    found: list[dict[str, Any]] = []
    for h in await _scope(request):
        for d in await services(request).read(catalogue.hospital_departments, h.id):
            if _matches(wanted, r.system(h.code, "department"), d.code):
                found.append(r.healthcare_service(h, d))
    return fhir_response(searchset(request, found))


async def _doctor(request: web.Request, kind: str) -> tuple[Hospital, catalogue.Doctor]:
    doctor = await services(request).read(
        catalogue.doctor_with_id, path_id(request, kind), actor(request)
    )
    return await hospital(request, doctor.hospital_id), doctor


async def read_practitioner(request: web.Request) -> web.Response:
    return fhir_response(r.practitioner(*await _doctor(request, "Practitioner")))


async def read_practitioner_role(request: web.Request) -> web.Response:
    return fhir_response(r.practitioner_role(*await _doctor(request, "PractitionerRole")))


async def _doctors(request: web.Request, allowed: set[str]) -> list[tuple[Hospital, Any]]:
    q = request.query
    check_known(q, allowed | {"identifier", "organization"})
    wanted = single(q, "identifier")
    practitioner = single(q, "practitioner")
    service = single(q, "service")
    doctor_id = reference(practitioner, "Practitioner", "practitioner") if practitioner else None
    service_id = reference(service, "HealthcareService", "service") if service else None
    found = []
    for h in await _scope(request):
        for doc in await services(request).read(catalogue.hospital_doctors, h.id):
            if not _matches(wanted, r.system(h.code, "work-no"), doc.work_no):
                continue
            if doctor_id is not None and doc.id != doctor_id:
                continue
            if service_id is not None and doc.department_id != service_id:
                continue
            found.append((h, doc))
    return found


async def search_practitioner(request: web.Request) -> web.Response:
    found = [r.practitioner(h, d) for h, d in await _doctors(request, set())]
    return fhir_response(searchset(request, found))


async def search_practitioner_role(request: web.Request) -> web.Response:
    found = [
        r.practitioner_role(h, d) for h, d in await _doctors(request, {"practitioner", "service"})
    ]
    return fhir_response(searchset(request, found))
