"""Bookings (预约): book, read, list, pay, cancel (退号), check in (取号), reschedule (改约).

``POST /bookings`` is the hot path: the token comes from the cache, the hospital's
zone from the directory, and the only database work is the booking's own unit.
"""

from __future__ import annotations

import hashlib
import json
import re

from aiohttp import web

from booking_core import bookings
from booking_core.bookings import BookingView
from booking_core.kernel.errors import NotFound

from .. import paging
from ..keys import OUTCOME
from ..present import booking_out
from ..problems import Problem
from ..schemas import BOOKING_NO as BOOKING_NO_PATTERN
from ..schemas import BookingIn, CancelIn, CheckInIn, PayIn, RescheduleIn
from ..schemas_his import BookingPageQuery
from ..wire import json_response, parse_body, parse_query
from . import caller, directory, services

BOOKING_NO = re.compile(BOOKING_NO_PATTERN)
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")  # visible ASCII, like a UUID or a ULID


def request_hash(data: BookingIn) -> str:
    """SHA-256 of the canonical JSON of the request (sorted keys, no spaces); ``referral``
    only when set, so a request from before it existed hashes as it did."""
    body = data.model_dump(mode="json", exclude=None if data.referral else {"referral"})
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(
            "invalid_request",
            "Idempotency-Key must be 1 to 200 visible ASCII characters.",
            errors=[
                {"field": "Idempotency-Key", "message": "1-200 visible ASCII", "type": "header"}
            ],
        )
    return key


async def _answer(request: web.Request, view: BookingView, status: int = 200) -> web.Response:
    tz = await directory(request).zone(view.hospital_code)
    return json_response(booking_out(view, tz), status)


def _booking_no(request: web.Request) -> str:
    booking_no = request.match_info["no"]
    if not BOOKING_NO.fullmatch(booking_no):
        raise NotFound("booking", booking_no)
    return booking_no


async def post_booking(request: web.Request) -> web.Response:
    who = caller(request)
    data = await parse_body(request, BookingIn)
    key = idempotency_key(request)
    view: BookingView = await services(request).handle(
        bookings.BookSlot(
            actor=who.actor,
            slot_id=data.slot_id,
            patient_id=data.patient_id,
            channel=who.actor.channel,
            patient_name=data.patient_name,
            referral=data.referral,
            idempotency_key=key,
            idempotency_scope=who.idempotency_scope if key else "",
            request_hash=request_hash(data) if key else "",
        )
    )
    request[OUTCOME] = "replayed" if view.replayed else "created"
    tz = await directory(request).zone(view.hospital_code)
    location = f"{request.path.rstrip('/')}/{view.booking.booking_no}"
    return json_response(booking_out(view, tz), 201, headers={"Location": location})


async def get_booking(request: web.Request) -> web.Response:
    view = await services(request).read(
        bookings.get_booking, _booking_no(request), caller(request).actor
    )
    return await _answer(request, view)


async def list_bookings(request: web.Request) -> web.Response:
    q = parse_query(request, BookingPageQuery)
    after = paging.decode(request, q, q.cursor, (str, str, int))
    found = await services(request).read(
        bookings.list_bookings,
        caller(request).actor,
        patient_id=q.patient,
        day=q.date,
        session_id=q.session,
        hospital_code=q.hospital,
        after=after,
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, bookings.booking_key)
    dirs = directory(request)
    items = [booking_out(v, await dirs.zone(v.hospital_code)) for v in page]
    return paging.answer(request, items, next_cursor)


async def pay(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    data = await parse_body(request, PayIn)
    view = await services(request).handle(
        bookings.PayBooking(
            actor=caller(request).actor,
            booking_no=booking_no,
            method=data.method,
            reference=data.reference,
            amount=data.amount,
        )
    )
    return await _answer(request, view)


async def confirm(request: web.Request) -> web.Response:
    """A held booking confirmed (a place offered from the waitlist, 候补): nothing to pay."""
    booking_no = _booking_no(request)
    view = await services(request).handle(
        bookings.ConfirmBooking(actor=caller(request).actor, booking_no=booking_no)
    )
    return await _answer(request, view)


async def cancel(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    data = await parse_body(request, CancelIn)
    view = await services(request).handle(
        bookings.CancelBooking(
            actor=caller(request).actor, booking_no=booking_no, by_hospital=data.by_hospital
        )
    )
    return await _answer(request, view)


async def check_in(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    data = await parse_body(request, CheckInIn)
    view = await services(request).handle(
        bookings.CheckIn(
            actor=caller(request).actor, booking_no=booking_no, reference=data.reference
        )
    )
    return await _answer(request, view)


async def reschedule(request: web.Request) -> web.Response:
    booking_no = _booking_no(request)
    data = await parse_body(request, RescheduleIn)
    view = await services(request).handle(
        bookings.RescheduleBooking(
            actor=caller(request).actor, booking_no=booking_no, slot_id=data.slot_id
        )
    )
    return await _answer(request, view)
