"""SMART Scheduling Links (https://github.com/smart-on-fhir/smart-scheduling-links): the
``$bulk-publish`` manifest (of every hospital at ``/$bulk-publish``, of one at
``/bulk/<code>/$bulk-publish``) and, for each hospital, NDJSON files of its Location, its
Schedules (clinic sessions) and its Slots from today on. Public, as the specification
has it: a regional portal polls the manifest every few minutes.

``_since`` (an ISO 8601 instant; UTC when it has no offset) keeps the Schedule and Slot
files to what changed at or after it — a place taken or given back, a session created or
stopped (停诊) — so a poller passing the last manifest's ``transactionTime`` misses
nothing (it may see a change twice). The Location file is always whole (one line).

Each Slot carries ``booking-phone`` (the IVR number, for the hospital the IVR books for)
and ``booking-deep-link`` (an ``sms:`` link to the SMS number with the booking code —
``GHDH<work no>,<MMDDhhmm>,`` — the patient adds their name, as the SMS grammar asks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from yarl import URL

from booking_core import catalogue, schedule
from booking_core.catalogue import Hospital
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import NotFound
from booking_core.schedule import FEED_PAGE_MAX, FeedQuery, FeedSlot

from . import resources as r
from .catalogue import phone_of
from .keys import DIRECTORY, SERVICES, SETTINGS
from .outcome import invalid
from .search import MAX_YEAR, MIN_YEAR, base_url, check_known, single

BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BOOKING_PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
NDJSON = "application/fhir+ndjson"
KINDS = ("Location", "Schedule", "Slot")


def publisher(hospital: Hospital) -> Actor:
    """Who reads for the public files: bound to the one hospital being published."""
    return Actor("public", "smart-scheduling-links", hospital.id, Channel.SYSTEM)


def since(request: web.Request) -> datetime | None:
    check_known(request.query, {"_since"})
    raw = single(request.query, "_since")
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise invalid("invalid_since", "_since is an ISO 8601 instant.", "_since") from err
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise invalid("invalid_since", f"_since: years {MIN_YEAR} to {MAX_YEAR} only.", "_since")
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def manifest(request: web.Request) -> web.Response:
    """Every hospital's files."""
    hospitals = await request.app[SERVICES].read(
        catalogue.visible_hospitals, Actor("system", "engine", None, Channel.SYSTEM)
    )
    return _manifest(request, hospitals, "/$bulk-publish")


async def hospital_manifest(request: web.Request) -> web.Response:
    """One hospital's files (a portal that shows one hospital polls only what it shows)."""
    h = await request.app[DIRECTORY].by_code(request.match_info["hospital"])
    return _manifest(request, [h], f"/bulk/{quote(h.code)}/$bulk-publish")


def _manifest(request: web.Request, hospitals: list[Hospital], path: str) -> web.Response:
    changed = since(request)
    now = request.app[SERVICES].clock.now()
    base = base_url(request)
    query = {"_since": request.query["_since"]} if changed else {}
    output = [
        {"type": kind, "url": str(URL(f"{base}/bulk/{quote(h.code)}/{kind}.ndjson") % query)}
        for h in hospitals
        for kind in KINDS
    ]
    body = {
        "transactionTime": now.astimezone(UTC).isoformat(timespec="seconds"),
        "request": str(URL(base + path) % query),
        "output": output,
        "error": [],
    }
    return web.json_response(body)


def slot_links(request: web.Request, s: FeedSlot) -> list[dict[str, Any]]:
    settings = request.app[SETTINGS]
    se = s.session
    out = []
    if settings.sms_phone and settings.sms_hospital == se.hospital_code:
        code = f"GHDH{se.doctor_work_no},{se.day:%m%d}{s.start:%H%M},"
        link = f"sms:{settings.sms_phone}?body={quote(code)}"
        out.append({"url": BOOKING_DEEP_LINK, "valueUrl": link})
    if settings.ivr_phone and settings.ivr_hospital == se.hospital_code:
        out.append({"url": BOOKING_PHONE, "valueString": settings.ivr_phone})
    return out


async def _lines(request: web.Request, h: Hospital, kind: str) -> AsyncIterator[bytes]:
    if kind == "Location":
        yield r.validated(r.location(h, phone_of(request, h)))
        return
    services = request.app[SERVICES]
    today = services.clock.now().astimezone(ZoneInfo(h.timezone)).date()
    changed = since(request)
    after = 0
    while True:
        q = FeedQuery(
            hospital_id=h.id, day_from=today, changed_since=changed, after_id=after,
            limit=FEED_PAGE_MAX,
        )  # fmt: skip
        if kind == "Schedule":
            sessions = await services.read(schedule.feed_sessions, q, publisher(h))
            for se in sessions:
                yield r.validated(r.schedule(se))
            found = [se.id for se in sessions]
        else:
            slots = await services.read(schedule.feed_slots, q, publisher(h))
            for s in slots:
                yield r.validated(r.slot(s, slot_links(request, s)))
            found = [s.id for s in slots]
        if len(found) < FEED_PAGE_MAX:
            return
        after = found[-1]


async def ndjson(request: web.Request) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise NotFound("bulk file", kind)
    since(request)  # refuse a bad _since before anything is sent
    h = await request.app[DIRECTORY].by_code(request.match_info["hospital"])
    lines = [line async for line in _lines(request, h, kind)]
    return web.Response(body=b"".join(line + b"\n" for line in lines), content_type=NDJSON)
