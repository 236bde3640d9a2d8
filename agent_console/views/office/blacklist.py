"""Blacklist (黑名单): view, add (by card number), lift, and a CSV import.

The CSV has one patient a line: ``card_no,until,reason`` (a header line is skipped). A file
is imported all or none, in one unit of work: one bad line and nothing is added, every bad
line is reported with its number. A line whose ban is already on the list is skipped and
reported, so a file can be imported again safely (after a cut-off import, say)."""

from __future__ import annotations

import csv
import io

from aiohttp import web

from booking_core import patients
from booking_core.blacklist import AddToBlacklist, BanLine, ImportBlacklist, LiftBan, blacklist_rows
from booking_core.kernel.errors import InvalidInput
from booking_core.kernel.identity import mask_name

from ...pages import Page
from ..common import actor, form, posted_form, services
from ..times import localized, zone_of
from .util import day_param, hospital_of, office_url, page

MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_LINES = 5_000


def _entry(e: dict) -> dict:
    return {**e, "patient_name": mask_name(e["patient_name"])}


async def blacklist(request: web.Request) -> Page:
    show_all = request.query.get("all") == "1"
    found = await services(request).read(blacklist_rows, actor(request), active_only=not show_all)
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
        patients.patient_by_card, who, hospital_of(request, fields), card_no
    )
    entry = await services(request).handle(
        AddToBlacklist(
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
    entry = await services(request).handle(LiftBan(entry_id=entry_id, actor=actor(request)))
    lifted_at = localized(entry.lifted_at, await zone_of(request))
    return page(
        request,
        {"entry_id": entry.id, "lifted_at": lifted_at, "message": "saved"},
        redirect=office_url(request, "blacklist"),
    )


async def _csv_text(request: web.Request) -> str:
    posted = await posted_form(request)
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
    lines: list[BanLine] = []
    short: list[dict] = []
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) > MAX_IMPORT_LINES + 1:
        raise InvalidInput("file", f"at most {MAX_IMPORT_LINES} lines")
    for number, line in enumerate(rows, start=1):
        cells = [cell.strip() for cell in line]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in ("card_no", "卡号", "就诊卡号"):
            continue
        if len(cells) < 3:
            short.append({"line": number, "error": "invalid_input", "params": {"field": "line"}})
            continue
        lines.append(BanLine(number, cells[0], cells[1], cells[2]))
    result = await services(request).handle(
        ImportBlacklist(
            hospital_code=hospital_of(request),
            lines=tuple(lines),
            check_only=bool(short),
            actor=actor(request),
        )
    )
    errors = short + [{"line": r.line, "error": r.code, "params": r.params} for r in result.refused]
    errors.sort(key=lambda e: e["line"])
    return page(
        request,
        {
            "added": len(result.added),
            "entry_ids": list(result.added),
            "skipped": list(result.skipped),
            "errors": errors,
            "applied": not errors,
        },
        status=400 if errors else 200,
        template="office/blacklist_import.html",
    )
