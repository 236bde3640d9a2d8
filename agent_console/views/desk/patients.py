"""Finding the caller and their record (患者查询、患者档案), and revealing an ID number or
phone (audited). Lists show ``张*``, ``138****5678`` and an ID number's last 4 only."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from booking_core import blacklist, calls, catalogue, patients
from booking_core.bookings import BookingStatus, list_bookings
from booking_core.catalogue import Hospital, departments
from booking_core.kernel.errors import BookingError, InvalidInput, NotFound
from booking_core.patients import Patient, RevealPatient

from ...i18n import language, translate
from ...pages import Page
from ...permissions import Permission, permissions_of
from ...refusals import local
from ...sessions import console_path, set_cookie
from ..common import actor, form, services, session
from ..records import booking_row
from .booking_aids import prefilled, record_extras
from .calls import call_row
from .common import filters, flash, masked_id, patient_row
from .waitlist_rows import waiting_of

SEARCH_COOKIE = "guahao_search"
SEARCH_SECONDS = 600  # a search result can be reloaded (or come back to) for ten minutes
MAX_SEARCH_LENGTH = 64  # longer than any name, card, phone or ID number; keeps the cookie small
IN_THE_CLEAR = ("phone", "id")  # search kinds whose text must not travel in a URL


def told_apart(request: web.Request, found: list[Patient]) -> list[dict[str, Any]]:
    """Masked rows with what tells patients apart: sex and birth year (from the ID number)
    and, where two masked names read the same (a family on one phone), the given name's
    last character (``张**(明)``)."""
    lang = language(request)
    labels = patients.tell_apart([(p.id, p.name, p.sex, p.birth_year) for p in found])
    return [
        {
            **patient_row(p),
            "label": labels[p.id],
            "sex": p.sex,
            "sex_text": translate(lang, f"sex_{p.sex}"),
            "birth_year": p.birth_year,
        }
        for p in found
    ]


def _kind(q: str, by: str) -> str:
    return patients.search_kind("".join(q.split())) if by == "auto" else by


def _search_context(session_hash: str) -> str:
    return f"desk_search:{session_hash}"  # a cookie from another session does not decrypt


async def _search_page(request: web.Request, q: str, by: str, one: str) -> Page:
    if len(q) > MAX_SEARCH_LENGTH:
        raise InvalidInput("q", f"at most {MAX_SEARCH_LENGTH} characters")
    who = actor(request)
    found: list[Patient] = []
    if q:
        found = await services(request).read(
            patients.search_patients, who, services(request).cipher, q, by
        )
    context = {"q": q, "by": by, "patients": told_apart(request, found)}
    if len(found) == 1 and one != "list":
        # one match: straight to the record (an agent on a headset saves a page)
        return Page(context, redirect=f"{console_path(request)}desk/patients/{found[0].id}")
    return Page(context)


async def search(request: web.Request) -> Page:
    """``GET ?s=`` a search posted a moment ago (the number kept in an encrypted cookie,
    never in the URL); ``?q=`` a card number, a name (or a part) or a phone's last 4. A
    phone or ID number in the URL is refused: the search form posts it."""
    if "s" in request.query:
        return await _posted_search(request, request.query["s"])
    q = request.query.get("q", "").strip()
    by = request.query.get("by", "auto")
    if q and _kind(q, by) in IN_THE_CLEAR:
        raise InvalidInput("q", "a phone or ID number is searched with the form (POST)")
    return await _search_page(request, q, by, request.query.get("one", ""))


async def search_post(request: web.Request) -> Page:
    """The search form (``/`` then Enter): one match opens the record; otherwise the
    browser is sent to ``?s=<search id>``, which shows the list, the number in the URL
    nowhere (proxies and browsers log URLs). The JSON twin answers the list itself."""
    fields = await form(request)
    q, by, one = fields.get("q", "").strip(), fields.get("by", "auto"), fields.get("one", "")
    found = await _search_page(request, q, by, one)
    if found.redirect or not q:
        return found
    search_id = secrets.token_urlsafe(12)
    expires = int(services(request).clock.now().timestamp()) + SEARCH_SECONDS
    sealed = services(request).cipher.encrypt(
        json.dumps({"id": search_id, "q": q, "by": by, "one": one, "until": expires}),
        context=_search_context(session(request).token_hash),
    )

    def remember(response: web.StreamResponse) -> None:
        set_cookie(request, response, SEARCH_COOKIE, sealed, max_age=SEARCH_SECONDS)

    found.redirect = f"{console_path(request)}desk/patients?s={search_id}"
    found.after.append(remember)
    return found


async def _posted_search(request: web.Request, search_id: str) -> Page:
    sealed = request.cookies.get(SEARCH_COOKIE, "")
    try:
        kept = json.loads(
            services(request).cipher.decrypt(
                sealed, context=_search_context(session(request).token_hash)
            )
        )
    except Exception:  # no cookie, another session's, tampered with: as if expired
        kept = None
    now = int(services(request).clock.now().timestamp())
    if not kept or kept.get("id") != search_id or kept.get("until", 0) < now:
        context = {"q": "", "by": "auto", "patients": [], "error": "search_expired"}
        return Page({**context, "message": translate(language(request), "search_expired")})
    return await _search_page(request, kept["q"], kept["by"], "list")


def _patient_id(request: web.Request) -> int:
    text = request.match_info["id"]
    if not text.isdigit():
        raise NotFound("patient", text)
    return int(text)


async def record_context(
    request: web.Request, patient_id: int, revealed: dict[str, str] | None = None
) -> dict[str, Any]:
    """The patient's record: bookings, no-shows, blacklist status and until when, balance,
    the booking filter, and the call being served (``?call=``) with its IVR context."""
    who = actor(request)
    read = services(request).read
    hospital: Hospital = await read(patients.patient_hospital, patient_id, who)
    patient: Patient = await read(patients.get_patient, patient_id, who)
    bookings = await read(list_bookings, who, patient_id=patient_id)
    bans = await read(blacklist.list_blacklist, who, patient_id=patient_id)
    until = max((b.ends_at for b in bans), default=None)
    strikes = await read(blacklist.credit_strikes, who, patient_id)
    open_appeals = await read(blacklist.list_appeals, who, patient_id=patient_id)
    call = None
    if request.query.get("call"):
        found = await read(calls.queued_call, request.query["call"], who)
        call = call_row(found, hospital.timezone, language(request))
    revealed = revealed or {}
    granted = permissions_of(session(request).operator.roles)
    return {
        "patient": {
            "id": patient.id,
            "name": patient.name,
            "card_no": patient.card_no,
            "sex": patient.sex,
            "sex_text": translate(language(request), f"sex_{patient.sex}"),
            "birth_year": patient.birth_year,
            "id_number": revealed.get("id_number") or masked_id(patient),
            "phone": revealed.get("phone") or patient.phone_masked,
            "revealed": bool(revealed),
            "balance": patient.balance,
            "hospital": hospital.code,
        },
        "bookings": [booking_row(b) for b in bookings],
        "no_shows": sum(1 for b in bookings if b.booking.status == BookingStatus.NO_SHOW),
        "blacklist": {
            "banned": until is not None,
            "until": local(until, hospital.timezone),
            "reasons": [b.reason for b in bans],
        },
        "credit": {  # the credit ladder (信用): strikes kept, an appeal (申诉) waiting
            "strikes": len(strikes),
            "appeal_open": bool(open_appeals),
        },
        "may_reveal": Permission.PATIENTS_REVEAL in granted,
        "call": call,
        "departments": await _departments(request, hospital),
        "doctors": await _doctors(request, hospital),
        "waiting": await waiting_of(request, patient_id, hospital.timezone),  # 候补
        "filters": prefilled(filters(request), call),
        **record_extras(request, bookings, services(request).clock.now()),
    }


async def _departments(request: web.Request, hospital: Hospital) -> list[dict[str, str]]:
    found = await services(request).read(departments, hospital.code, actor(request))
    return [{"code": d.code, "name": d.name} for d in found]


async def _doctors(request: web.Request, hospital: Hospital) -> list[dict[str, str]]:
    found = await services(request).read(catalogue.hospital_doctors, hospital.id)
    return [{"work_no": d.work_no, "name": d.name, "title": d.title} for d in found]


async def record(request: web.Request) -> Page:
    return Page(await record_context(request, _patient_id(request)))


async def reveal(request: web.Request) -> Page:
    """The clear ID number and phone, once, on this answer only (one audit row)."""
    patient_id = _patient_id(request)
    clear = await services(request).handle(
        RevealPatient(patient_id=patient_id, actor=actor(request))
    )
    return Page(await record_context(request, patient_id, clear), template="desk/patient.html")


async def appeal(request: web.Request) -> Page:
    """申诉 at the desk: the agent files the patient's appeal against their ban, with the
    reason they give; an administrator decides it in the back office (the patient is texted
    the decision). A refusal (no ban, one already waiting) is shown on the record."""
    patient_id = _patient_id(request)
    fields = await form(request)
    try:
        await services(request).handle(
            blacklist.FileAppeal(
                patient_id=patient_id, reason=fields.get("reason", ""), actor=actor(request)
            )
        )
    except BookingError as err:
        if isinstance(err, NotFound):
            raise
        context = await record_context(request, patient_id)
        hospital: Hospital = await services(request).read(
            patients.patient_hospital, patient_id, actor(request)
        )
        return Page(
            {**context, **flash(request, err, hospital.timezone)},
            status=409 if err.code != "invalid_input" else 400,
            template="desk/patient.html",
        )
    target = f"{console_path(request)}desk/patients/{patient_id}?done=appealed"
    return Page({"patient_id": patient_id, "done": "appealed"}, redirect=target)
