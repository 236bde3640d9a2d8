"""The API's own description."""

from __future__ import annotations

from aiohttp import web

from ..keys import OPENAPI, ROUTES


async def get_openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


async def get_index(request: web.Request) -> web.Response:
    """``/api/v1/``: where the description is, and every endpoint in one line each."""
    base = request.path if request.path.endswith("/") else request.path + "/"
    endpoints = [
        {"method": r.method, "path": base.rstrip("/") + r.path, "summary": r.summary}
        for r in request.app[ROUTES]
    ]
    return web.json_response(
        {
            "title": "guahao hospital API",
            "version": "v1",
            "links": {"openapi": base + "openapi.json"},
            "authentication": "Authorization: Bearer <token> (guahao token create)",
            "endpoints": endpoints,
        },
        headers={"Link": f'<{base}openapi.json>; rel="service-desc"'},
    )
