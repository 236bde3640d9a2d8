"""CSRF tokens on every form (跨站请求伪造防护).

A signed-in session has its own random token, stored with it. An anonymous form (the
log-in) uses a double-submit token: a random cookie whose value the form repeats. Every
POST, PUT, PATCH and DELETE must carry the token in the ``csrf_token`` form field or the
``X-CSRF-Token`` header; otherwise it is refused with 403 before any view runs.
"""

from __future__ import annotations

import secrets

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from .keys import NEW_PRE_CSRF, SESSION
from .sessions import MAX_TOKEN_LENGTH, PRE_CSRF_COOKIE, new_token

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def expected_token(request: web.Request) -> str | None:
    session = request.get(SESSION)
    if session is not None:
        return session.csrf_token
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    return cookie if cookie and len(cookie) <= MAX_TOKEN_LENGTH else None


def token_for_form(request: web.Request) -> str:
    """The token a page's forms carry (a new anonymous one is set as a cookie)."""
    token = expected_token(request) or request.get(NEW_PRE_CSRF)
    if token is None:
        token = new_token()
        request[NEW_PRE_CSRF] = token
    return token


async def supplied_token(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            value = (await request.post()).get(CSRF_FIELD)
        except (ValueError, HttpProcessingError):  # a body that does not parse: no token
            return None
        return value if isinstance(value, str) else None
    return None


async def request_is_forged(request: web.Request) -> bool:
    """True when an unsafe request lacks the right token."""
    if request.method in SAFE_METHODS:
        return False
    expected = expected_token(request)
    supplied = await supplied_token(request)
    if not expected or not supplied:
        return True
    return not secrets.compare_digest(expected.encode(), supplied.encode())
