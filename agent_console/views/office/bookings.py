"""Booking query (预约查询): by channel, department, doctor, booking number, patient, date
range and status; paged; a print view and an Excel export of exactly the filtered rows."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from aiohttp import web

from booking_core import bookings
from booking_core.kernel.actor import Channel
from booking_core.kernel.errors import InvalidInput

from ...i18n import language, translate
from ...pages import Page, wants_json
from ..common import actor, services
from ..records import booking_row
from . import workbook as xlsx
from .util import day_param, hospital_of, int_param, page

RETRY_AFTER = 10  # seconds: about how long an export of 10,000 rows takes
PRINT_PAGE = bookings.MAX_PAGE  # rows per printed page: rendered at once, not 10,000 on the loop
FILTERS = ("hospital", "channel", "department", "doctor", "booking_no", "patient", "day_from",
           "day_to", "status")  # fmt: skip


def _query(request: web.Request) -> bookings.BookingQuery:
    q = request.query
    channel = q.get("channel") or None
    if channel and channel not in Channel._value2member_map_:
        raise InvalidInput("channel", " | ".join(Channel))
    status = q.get("status") or None
    if status and status not in bookings.BookingStatus._value2member_map_:
        raise InvalidInput("status", " | ".join(bookings.BookingStatus))
    return bookings.BookingQuery(
        hospital_code=hospital_of(request),
        channel=channel,
        department_code=q.get("department") or None,
        doctor_work_no=q.get("doctor") or None,
        booking_no=(q.get("booking_no") or "").strip() or None,
        patient=(q.get("patient") or "").strip() or None,
        day_from=day_param(q.get("day_from"), "day_from"),
        day_to=day_param(q.get("day_to"), "day_to"),
        status=bookings.BookingStatus(status) if status else None,
        page=int_param(q.get("page"), "page", 1),
        per_page=int_param(q.get("per_page"), "per_page", 50),
    )


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query.get(k, "") for k in FILTERS}


async def booking_query(request: web.Request) -> Page:
    query = _query(request)
    found = await services(request).read(bookings.query_bookings, query, actor(request))
    filters = _filters(request)
    kept = urlencode({k: v for k, v in filters.items() if v})
    return page(
        request,
        {
            "filters": filters,
            "query_string": kept,
            "bookings": [booking_row(v) for v in found.rows],
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "per_page": found.per_page,
            "channels": list(Channel),
            "statuses": list(bookings.BookingStatus),
        },
    )


async def booking_print(request: web.Request) -> Page:
    """One page of the filtered rows (``PRINT_PAGE`` at most) to print, with links to the
    others: a page of 10,000 rows would hold up every other request while it rendered."""
    query = _query(request)
    per_page = min(int_param(request.query.get("per_page"), "per_page", PRINT_PAGE), PRINT_PAGE)
    query = replace(query, per_page=per_page)
    found = await services(request).read(bookings.query_bookings, query, actor(request))
    filters = _filters(request)
    return page(
        request,
        {
            "filters": filters,
            "query_string": urlencode({k: v for k, v in filters.items() if v}),
            "bookings": [booking_row(v) for v in found.rows],
            "total": found.total,
            "page": found.page,
            "pages": found.pages,
            "per_page": found.per_page,
        },
    )


async def booking_export(request: web.Request) -> Page | web.Response:
    """The filtered rows (at most ``MAX_EXPORT``) as an .xlsx file, built in a worker thread;
    past ``MAX_CONCURRENT_EXPORTS`` at once, 429 with ``Retry-After``. The JSON twin lists
    the rows instead."""
    gate = request.config_dict[xlsx.EXPORTS]
    if gate.full():
        return page(
            request,
            {
                "error": "exports_busy",
                "message": translate(language(request), "exports_busy", retry_after=RETRY_AFTER),
                "params": {"retry_after": str(RETRY_AFTER)},
            },
            status=429,
            template="error.html",
            after=[_retry_after],
        )
    query = _query(request)

    def read():
        return services(request).read(bookings.export_bookings, query, actor(request))

    async with gate.admitted:
        if wants_json(request):  # 10,000 rows as JSON: off the loop as well
            text = await xlsx.build_listing(gate, read)
            return web.Response(text=text, content_type="application/json")
        data = await xlsx.build(gate, read, language(request))
    return web.Response(
        body=data,
        content_type=xlsx.XLSX,
        headers={"Content-Disposition": 'attachment; filename="bookings.xlsx"'},
    )


def _retry_after(response: web.StreamResponse) -> None:
    response.headers["Retry-After"] = str(RETRY_AFTER)
