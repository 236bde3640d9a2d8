"""Blacklist (黑名单): view, add (by card number), lift, and a CSV import.

The CSV has one patient a line: ``card_no,until,reason`` (a header line is skipped). Each
line is added on its own: a bad line is reported with its number and does not stop the
others."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from booking_core import commands as c
from booking_core import office_queries as oq
from booking_core.errors import BookingError, InvalidInput
from booking_core.identity import mask_name

from ...pages import Page
from ..common import actor, form, services
from ..times import localized, zone_of
from .util import day_param, hospital_of, office_url, page

MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_LINES = 5_000


def _entry(e: dict) -> dict:
    return {**e, "patient_name": mask_name(e["patient_name"])}


async def blacklist(request: web.Request) -> Page:
    show_all = request.query.get("all") == "1"
    found = await services(request).read(
        oq.blacklist_rows, actor(request), active_only=not show_all
    )
    tz = await zone_of(request)
    entries = localized([_entry(e) for e in found], tz)
    return page(request, {"entries": entries, "all": show_all})


async def _add(request: web.Request, fields: dict[str, str]) -> int:
    until = day_param(fields.get("until"), "until")
    if until is None:
        raise InvalidInput("until", "the last banned day")
    card_no = fields.get("card_no", "").strip()
    if not card_no:
        raise InvalidInput("card_no", "needed")
    who = actor(request)
    patient_id = await services(request).read(
        oq.patient_by_card, who, hospital_of(request, fields), card_no
    )
    entry = await services(request).handle(
        c.AddToBlacklist(
            patient_id=patient_id,
            until=until,
            reason=fields.get("reason", ""),
            platform_wide=fields.get("platform_wide") in ("1", "on", "true"),
            actor=who,
        )
    )
    return entry.id


async def add(request: web.Request) -> Page:
    entry_id = await _add(request, await form(request))
    return page(
        request, {"entry_id": entry_id, "message": "saved"}, status=201,
        redirect=office_url(request, "blacklist"),
    )  # fmt: skip


async def lift(request: web.Request) -> Page:
    entry_id = int(request.match_info["id"])
    entry = await services(request).handle(c.LiftBan(entry_id=entry_id, actor=actor(request)))
    lifted_at = localized(entry.lifted_at, await zone_of(request))
    return page(
        request,
        {"entry_id": entry.id, "lifted_at": lifted_at, "message": "saved"},
        redirect=office_url(request, "blacklist"),
    )


async def _csv_text(request: web.Request) -> str:
    posted = await request.post()
    upload = posted.get("file")
    if isinstance(upload, web.FileField):
        raw = upload.file.read(MAX_IMPORT_BYTES + 1)
    elif isinstance(posted.get("csv"), str):
        raw = str(posted.get("csv")).encode()
    else:
        raise InvalidInput("file", "a CSV file: card_no,until,reason")
    if len(raw) > MAX_IMPORT_BYTES:
        raise InvalidInput("file", f"at most {MAX_IMPORT_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")  # Excel on a Chinese Windows


async def import_csv(request: web.Request) -> Page:
    text = await _csv_text(request)
    added: list[int] = []
    errors: list[dict] = []
    lines = list(csv.reader(io.StringIO(text)))[: MAX_IMPORT_LINES + 1]
    for number, line in enumerate(lines, start=1):
        cells = [cell.strip() for cell in line]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("card_no", "卡号", "就诊卡号"):
            continue
        if len(cells) < 3:
            errors.append({"line": number, "error": "invalid_input", "params": {"field": "line"}})
            continue
        fields = {"card_no": cells[0], "until": cells[1], "reason": cells[2]}
        try:
            added.append(await _add(request, fields))
        except BookingError as err:
            params = {k: str(v) for k, v in err.params.items()}
            errors.append({"line": number, "error": err.code, "params": params})
    return page(
        request,
        {"added": len(added), "entry_ids": added, "errors": errors},
        template="office/blacklist_import.html",
    )
