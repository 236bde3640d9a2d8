"""The API's own description."""

from __future__ import annotations

from aiohttp import web

from ..keys import OPENAPI


async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")
