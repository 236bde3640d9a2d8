"""API tokens listed and revoked (the admin role): never the token, nor its hash.

A revoked token is refused at once by this process (its cached verification is dropped);
another engine process trusts its cache for up to ``token_cache_seconds`` more."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import operators
from booking_core.operators import ApiToken

from .. import paging
from ..keys import TOKENS
from ..present import local_iso
from ..problems import Problem
from ..schemas_his import TokenQuery
from ..wire import json_response, parse_query, path_int
from . import caller, directory, services
from .admin import PLATFORM_ZONE


async def _zone(request: web.Request, token: ApiToken) -> ZoneInfo:
    if token.hospital_code is not None:
        return await directory(request).zone(token.hospital_code)
    return PLATFORM_ZONE


async def token_out(request: web.Request, token: ApiToken) -> dict[str, Any]:
    tz = await _zone(request, token)
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "hospital": token.hospital_code,
        "created_at": local_iso(token.created_at, tz),
        "revoked_at": local_iso(token.revoked_at, tz),
    }


async def get_tokens(request: web.Request) -> web.Response:
    q = parse_query(request, TokenQuery)
    after = paging.decode(request, q, q.cursor, (int,))
    found = await services(request).read(
        operators.list_tokens,
        caller(request).actor,
        hospital_code=q.hospital,
        include_revoked=q.all,
        after=None if after is None else after[0],
        limit=q.limit + 1,
    )
    page, next_cursor = paging.cut(request, q, found, q.limit, lambda t: (t.id,))
    return paging.answer(request, [await token_out(request, t) for t in page], next_cursor)


async def revoke_token(request: web.Request) -> web.Response:
    token_id = path_int(request, "id")
    who = caller(request)
    if token_id == who.token_id:
        raise Problem(
            "invalid_request",
            "A token cannot revoke itself: revoke it with another admin token or "
            "`guahao token revoke`.",
            errors=[{"field": "id", "message": "the calling token", "type": "self"}],
        )
    token = await services(request).handle(
        operators.RevokeToken(actor=who.actor, token_id=token_id)
    )
    request.app[TOKENS].forget(token.id)
    return json_response(await token_out(request, token))
