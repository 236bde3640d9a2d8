"""The schedule template (排班导入): download it, upload it filled, see what it will import,
then import it, all or nothing.

- ``GET /office/schedules/template.xlsx``: the empty template (its JSON twin: the sheets
  and their columns).
- ``GET /office/schedules/import``: the upload form.
- ``POST /office/schedules/import``: the file (multipart ``file``) read and checked by the
  core without writing anything (``check_only``): the preview — counts, the first rows of
  each sheet, and every bad row with its sheet, the row number Excel shows, and why. A
  preview with no bad row is kept here under a one-use token.
- ``POST /office/schedules/import/confirm``: that token; the core imports exactly the rows
  previewed, not a file sent again, so nothing unseen can be imported. A token is good for
  :data:`KEEP_MINUTES`, for the console session that previewed it, once.

Previews are kept in this process's memory (at most :data:`MAX_KEPT`): behind a load
balancer the console needs sticky sessions for the confirm to find its preview; without
them, the confirm says the preview is gone and nothing is imported.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from booking_core import schedule
from booking_core.kernel.errors import ImportRejected, InvalidInput
from booking_core.schedule import ImportSchedule

from ...i18n import language
from ...i18n_office import office_text
from ...i18n_schedule_import import MESSAGES as SCHEDULE_IMPORT_WORDS
from ...i18n_schedule_import import SESSION_REASONS_ZH
from ...pages import Page, wants_json
from ..common import actor, posted_form, services, session
from . import schedule_book as book
from .util import hospital_of, page

KEEP_MINUTES = 30
MAX_KEPT = 20  # previews waiting for a confirm, in the whole console; the oldest go first
TEMPLATE = "office/schedule_import.html"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Staged:
    """A previewed import waiting for its confirm."""

    session_token: str  # the console session that previewed it
    command: ImportSchedule  # what the preview checked, to run again with check_only off
    digest: str  # the file's SHA-256, shown on both pages
    expires_at: datetime


class PreviewShelf:
    """Previews by their one-use token (see the module's docstring)."""

    def __init__(self, most: int = MAX_KEPT) -> None:
        self.most = most
        self.kept: dict[str, Staged] = {}

    def put(self, staged: Staged, now: datetime) -> str:
        self._forget_old(now)
        while len(self.kept) >= self.most:
            del self.kept[next(iter(self.kept))]
        token = secrets.token_urlsafe(18)
        self.kept[token] = staged
        return token

    def take(self, token: str, session_token: str, now: datetime) -> Staged | None:
        self._forget_old(now)
        staged = self.kept.get(token)
        if staged is None or not secrets.compare_digest(staged.session_token, session_token):
            return None
        del self.kept[token]
        return staged

    def _forget_old(self, now: datetime) -> None:
        for token in [t for t, s in self.kept.items() if s.expires_at <= now]:
            del self.kept[token]


PREVIEWS = web.AppKey("schedule_previews", PreviewShelf)


def _hospital(request: web.Request, fields: dict[str, str]) -> str:
    code = hospital_of(request, fields)
    if not code:
        raise InvalidInput("hospital", "name the hospital")
    return code


def _columns(lang: str) -> list[dict[str, Any]]:
    return [
        {
            "list": where,
            "sheet": sheet,
            "columns": [{"key": c.key, "zh": c.zh, "en": c.en} for c in book.COLUMNS[where]],
        }
        for where, sheet in book.SHEETS.items()
    ]


async def download_template(request: web.Request) -> Page | web.Response:
    if wants_json(request):
        return page(request, {"sheets": _columns(language(request))})
    data = await asyncio.to_thread(book.template)
    return web.Response(
        body=data,
        content_type=XLSX,
        headers={"Content-Disposition": 'attachment; filename="schedule-template.xlsx"'},
    )


def _context(request: web.Request, **values: Any) -> dict[str, Any]:
    base = {
        "hospital": hospital_of(request) or "",
        "step": "upload",
        # the engine's max_body_bytes may be the smaller limit (64 KiB unless raised)
        "max_kb": min(book.MAX_FILE_BYTES, request.client_max_size) // 1000,
        "sheets": _columns(language(request)),
    }
    return base | values


async def import_form(request: web.Request) -> Page:
    return page(request, _context(request), template=TEMPLATE)


def _why(lang: str, row: dict[str, Any]) -> str:
    """A bad row's reason in the console's language, from its code."""
    if row["code"] == "invalid_input" and lang == "zh":
        reason = row["params"].get("reason", row["reason"])
        return SESSION_REASONS_ZH.get(reason, reason)
    key = "row_" + row["code"]
    if key not in SCHEDULE_IMPORT_WORDS.get(lang, {}):
        return str(row["reason"])
    return office_text(lang, key, **row["params"])


def _problem_rows(request: web.Request, rows: tuple[dict[str, Any], ...]) -> list[dict]:
    """The core's bad rows as a person finds them: the sheet, the row number Excel shows,
    the column's header, why in the console's language."""
    headers = {(where, c.key): c.header for where, cs in book.COLUMNS.items() for c in cs}
    lang = language(request)
    return [
        {
            "sheet": book.SHEETS.get(r["list"], r["list"]),
            "list": r["list"],
            "line": r["index"],
            "field": r["field"],
            "column": headers.get((r["list"], r["field"]), r["field"]),
            "code": r["code"],
            "reason": r["reason"],
            "message": _why(lang, r),
        }
        for r in rows
    ]


def _refused(request: web.Request, key: str, **params: object) -> Page:
    message = office_text(language(request), key, **params)
    context = _context(request, step="upload", error=key, error_message=message)
    return page(request, context, status=400, template=TEMPLATE)


def _counts(done: schedule.ScheduleImport) -> dict[str, Any]:
    def plain(c: schedule.ImportCounts) -> dict[str, int]:
        return {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}

    return {
        "departments": plain(done.departments),
        "doctors": plain(done.doctors),
        "sessions": plain(done.sessions),
        "slots": done.slots,
    }


async def upload(request: web.Request) -> Page:
    posted = await posted_form(request)
    fields = {k: v for k, v in posted.items() if isinstance(v, str)}
    code = _hospital(request, fields)
    sent = posted.get("file")
    if not isinstance(sent, web.FileField):
        return _refused(request, "template_no_file")
    data = sent.file.read(book.MAX_FILE_BYTES + 1)
    try:
        parsed = await asyncio.to_thread(book.parse, data)
    except book.FileRefused as refused:
        return _refused(request, refused.key, **refused.params)
    digest = hashlib.sha256(data).hexdigest()
    command = ImportSchedule(
        actor=actor(request),
        hospital_code=code,
        departments=tuple(parsed.departments),
        doctors=tuple(parsed.doctors),
        sessions=tuple(parsed.sessions),
        refused=tuple(parsed.problems),
        check_only=True,
    )
    shown = {"shown": parsed.shown, "digest": digest, "filename": sent.filename or ""}
    try:
        checked = await services(request).handle(command)
    except ImportRejected as err:
        context = _context(request, step="rejected", errors=_problem_rows(request, err.rows))
        return page(request, context | shown, status=422, template=TEMPLATE)
    now = services(request).clock.now()
    staged = Staged(
        session(request).token_hash,
        replace(command, check_only=False),
        digest,
        now + timedelta(minutes=KEEP_MINUTES),
    )
    token = request.config_dict[PREVIEWS].put(staged, now)
    context = _context(request, step="preview", token=token, counts=_counts(checked))
    return page(request, context | shown, template=TEMPLATE)


async def confirm(request: web.Request) -> Page:
    posted = await posted_form(request)
    token = posted.get("token")
    now = services(request).clock.now()
    staged = None
    if isinstance(token, str) and token:
        staged = request.config_dict[PREVIEWS].take(token, session(request).token_hash, now)
    if staged is None:
        return _refused(request, "template_preview_gone", minutes=KEEP_MINUTES)
    try:
        done = await services(request).handle(staged.command)
    except ImportRejected as err:  # the schedule changed since the preview
        context = _context(request, step="rejected", errors=_problem_rows(request, err.rows))
        return page(request, context | {"digest": staged.digest}, status=422, template=TEMPLATE)
    context = _context(
        request,
        step="imported",
        counts=_counts(done),
        session_ids=list(done.session_ids),
        digest=staged.digest,
        message="saved",
    )
    return page(request, context, template=TEMPLATE)
