"""Booking query (预约查询): by channel, department, doctor, booking number, patient, date
range and status; paged; a print view and an Excel export of exactly the filtered rows."""

from __future__ import annotations

import io
from urllib.parse import urlencode

from aiohttp import web
from openpyxl import Workbook

from booking_core import office_queries as oq
from booking_core.domain import Channel
from booking_core.errors import InvalidInput

from ...i18n import language
from ...i18n_office import office_text
from ...pages import Page
from ..common import actor, services
from ..records import booking_row
from .util import day_param, hospital_of, int_param, page

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTERS = ("hospital", "channel", "department", "doctor", "booking_no", "patient", "day_from",
           "day_to", "status")  # fmt: skip
EXPORT_COLUMNS = (
    ("booking_no", "booking_no"),
    ("day", "day"),
    ("start", "time"),
    ("department", "department"),
    ("doctor", "doctor"),
    ("patient_name", "patient"),
    ("card_no", "card_no"),
    ("channel", "channel"),
    ("status", "status"),
    ("fee", "fee_yuan"),
)


def _query(request: web.Request) -> oq.BookingQuery:
    q = request.query
    channel = q.get("channel") or None
    if channel and channel not in Channel._value2member_map_:
        raise InvalidInput("channel", " | ".join(Channel))
    status = q.get("status") or None
    if status and status not in oq.BOOKING_STATUSES:
        raise InvalidInput("status", " | ".join(oq.BOOKING_STATUSES))
    return oq.BookingQuery(
        hospital_code=hospital_of(request),
        channel=channel,
        department_code=q.get("department") or None,
        doctor_work_no=q.get("doctor") or None,
        booking_no=(q.get("booking_no") or "").strip() or None,
        patient=(q.get("patient") or "").strip() or None,
        day_from=day_param(q.get("day_from"), "day_from"),
        day_to=day_param(q.get("day_to"), "day_to"),
        status=status,
        page=int_param(q.get("page"), "page", 1),
        per_page=int_param(q.get("per_page"), "per_page", 50),
    )


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query.get(k, "") for k in FILTERS}


async def booking_query(request: web.Request) -> Page:
    query = _query(request)
    found = await services(request).read(oq.query_bookings, query, actor(request))
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
            "statuses": list(oq.BOOKING_STATUSES),
        },
    )


async def booking_print(request: web.Request) -> Page:
    found = await services(request).read(oq.export_bookings, _query(request), actor(request))
    return page(
        request, {"filters": _filters(request), "bookings": [booking_row(v) for v in found]}
    )


def workbook(bookings: list[dict], lang: str) -> bytes:
    """The rows as an .xlsx sheet: a header row, then one row per booking."""
    book = Workbook()
    sheet = book.active
    sheet.title = office_text(lang, "booking_query")[:31]
    sheet.append([office_text(lang, label) for _, label in EXPORT_COLUMNS])
    for row in bookings:
        values = []
        for key, _ in EXPORT_COLUMNS:
            value = row[key]
            if key == "fee":
                value = value / 100
            elif key in ("day",):
                value = value.isoformat()
            else:
                value = str(value)
            values.append(value)
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def booking_export(request: web.Request) -> Page:
    found = await services(request).read(oq.export_bookings, _query(request), actor(request))
    rows = [booking_row(v) for v in found]
    data = workbook(rows, language(request))

    def as_excel(response: web.StreamResponse) -> None:
        if isinstance(response, web.Response) and response.content_type == "text/html":
            response.body = data
            response.content_type = XLSX
            response.charset = None
            response.headers["Content-Disposition"] = 'attachment; filename="bookings.xlsx"'

    return page(request, {"bookings": rows, "count": len(rows)}, after=[as_excel])
