"""What the back-office views share: the office's words in templates, the hospital a
request is about, dates and numbers from the query string."""

from __future__ import annotations

from datetime import date
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from booking_core.kernel.errors import InvalidInput, NotFound

from ...i18n_office import office_text
from ...pages import Page
from ...sessions import console_path
from ..common import session

OFFICE_WORDS = "o"


@jinja2.pass_context
def _words(ctx: Any, key: str, /, **params: object) -> str:
    return office_text(ctx.get("lang", "zh"), key, **params)


def page(request: web.Request, context: dict[str, Any], **kwargs: Any) -> Page:
    """A back-office page: its templates word things with ``o('key')`` (i18n_office)."""
    env = aiohttp_jinja2.get_env(request.app)
    env.globals.setdefault(OFFICE_WORDS, _words)
    return Page(context, **kwargs)


def office_url(request: web.Request, rest: str) -> str:
    return f"{console_path(request)}office/{rest}"


def own_hospital(request: web.Request) -> str | None:
    return session(request).operator.hospital_code


def hospital_of(request: web.Request, fields: dict[str, str] | None = None) -> str | None:
    """The hospital a request is about: the operator's own, or (platform) the one named."""
    named = ((fields or {}).get("hospital") or request.query.get("hospital") or "").strip()
    own = own_hospital(request)
    if own is not None:
        if named and named != own:
            raise NotFound("hospital", named)  # another hospital's: as if there were none
        return own
    return named or None


FIRST_DAY = date(2000, 1, 1)  # the API's range too: a day outside it is a typing error
LAST_DAY = date(2999, 12, 31)  # … and far enough from date.max that a week on it exists
MAX_INT = 2**31 - 1  # any count, priority, page or amount the office types fits in this


def day_param(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError as err:
        raise InvalidInput(name, "a date like 2026-07-10") from err
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(name, f"a date from {FIRST_DAY} to {LAST_DAY}")
    return day


def int_param(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as err:
        raise InvalidInput(name, "a whole number") from err
    if not -MAX_INT <= number <= MAX_INT:
        raise InvalidInput(name, f"a whole number up to {MAX_INT}")
    return number
