"""Cursor pages of every list the API answers (``limit`` and an opaque ``cursor``).

A page that is not the last says how to get the rest: ``next_cursor`` in the body and a
``Link: <…>; rel="next"`` header with the same query and that cursor. A cursor holds the
sort key of the page's last row (the core's keyset: :mod:`booking_core.kernel.paging`) and
a fingerprint of the list and its filters, sealed with an HMAC under the engine's PII key
(its blind-index key: every engine of one store shares it). A cursor that was not made
here, was changed, or is sent with other filters or to another list is a 400
``invalid_cursor``: it never silently restarts or skips."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel

from booking_core.kernel.paging import PageKey

from .keys import SERVICES
from .problems import Problem
from .wire import json_response

T = TypeVar("T")

PAGE_FIELDS = frozenset({"limit", "cursor"})
_MAC_CONTEXT = "api_cursor"


def _unpadded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _fingerprint(request: web.Request, filters: BaseModel) -> str:
    """The list (its route and path) and its filters, as a cursor must match them."""
    route = request.match_info.route.resource
    name = route.canonical if route is not None else request.path
    given = filters.model_dump(mode="json", exclude=set(PAGE_FIELDS))
    text = json.dumps([name, dict(request.match_info), given], sort_keys=True, default=str)
    return request.app[SERVICES].cipher.blind_index(text, context="api_cursor_list")[:16]


def _seal(request: web.Request, body: str) -> str:
    return request.app[SERVICES].cipher.blind_index(body, context=_MAC_CONTEXT)


def encode(request: web.Request, filters: BaseModel, key: PageKey) -> str:
    body = _unpadded(json.dumps({"f": _fingerprint(request, filters), "k": list(key)}).encode())
    return f"{body}.{_seal(request, body)}"


def _invalid(detail: str) -> Problem:
    return Problem(
        "invalid_cursor",
        detail,
        errors=[{"field": "cursor", "message": detail, "type": "invalid_cursor"}],
    )


def decode(
    request: web.Request, filters: BaseModel, cursor: str | None, shape: Sequence[type]
) -> PageKey | None:
    """The key a cursor continues after (None: the first page); 400 for any other cursor.
    ``shape``: the type of each value of the list's key (``str`` or ``int``)."""
    if cursor is None:
        return None
    body, dot, mac = cursor.partition(".")
    if not dot or not hmac.compare_digest(mac.encode(), _seal(request, body).encode()):
        raise _invalid("This cursor was not given by this API (or was changed).")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        fingerprint, key = data["f"], data["k"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise _invalid("This cursor was not given by this API (or was changed).") from None
    if fingerprint != _fingerprint(request, filters):
        raise _invalid("This cursor belongs to another list or other filters: repeat the query.")
    if not isinstance(key, list) or len(key) != len(shape):
        raise _invalid("This cursor was not given by this API (or was changed).")
    for value, kind in zip(key, shape, strict=True):
        if type(value) is not kind:
            raise _invalid("This cursor was not given by this API (or was changed).")
    return tuple(key)


def cut(
    request: web.Request,
    filters: BaseModel,
    found: list[T],
    limit: int,
    key: Callable[[T], PageKey],
) -> tuple[list[T], str | None]:
    """The page out of ``found`` (read with ``limit + 1``) and the cursor of the rest."""
    if len(found) <= limit:
        return found, None
    page = found[:limit]
    return page, encode(request, filters, key(page[-1]))


def answer(
    request: web.Request, items: list[Any], next_cursor: str | None, **extra: Any
) -> web.Response:
    """``{"items", "next_cursor", …extra}``, with the ``Link: rel="next"`` of the rest."""
    headers = None
    if next_cursor is not None and request.method == "GET":
        url = request.rel_url.update_query(cursor=next_cursor)
        headers = {"Link": f'<{url}>; rel="next"'}
    return json_response({"items": items, "next_cursor": next_cursor, **extra}, headers=headers)
