"""The ``/console/`` sub-application: its one route table, its guards and its factory.

The engine mounts it with ``root.add_subapp("/console/", make_app(services, ...))``.
Middlewares, outermost first: errors worded in the console's language, security headers,
the session (cookie → signed-in operator), then CSRF on every unsafe method. Each route
names what it needs: ``PUBLIC``, ``STEP`` (signed in, log-in possibly unfinished),
``SIGNED_IN`` (log-in finished) or a :class:`~agent_console.permissions.Permission`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from booking_core.bus import BookingServices
from booking_core.kernel.errors import BookingError, CallOver, Forbidden, GuahaoError, NotFound
from booking_core.operators import SessionStage

from . import desk_routes, office_routes, sessions
from .auth import Passwords, qr_svg
from .csrf import request_is_forged
from .i18n import language, translate
from .keys import (
    NEW_PRE_CSRF,
    PASSWORDS,
    PROXY_NOTICE,
    SERVICES,
    SESSION,
    SETTINGS,
    ConsoleSettings,
    ProxyNotice,
)
from .live import LIVE, Live, end_streams, live_context
from .pages import Page, present, wants_json
from .permissions import Permission, permissions_of
from .refusals import refusal
from .routing import PUBLIC, SIGNED_IN, STEP, Route
from .views import account, login, operators, records
from .views.desk import agent_states
from .views.office.schedule_import import PREVIEWS, PreviewShelf
from .views.office.workbook import EXPORTS, ExportGate
from .views.times import when

log = logging.getLogger(__name__)

HERE = Path(__file__).parent


class _CompiledPages(jinja2.BytecodeCache):
    """The pages' compiled code, shared by every console app of the process (a test run
    builds thousands, each with its own environment; an engine builds one): jinja2 checks
    each entry against its template's source, so an edited page is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_PAGES = _CompiledPages()
P = Permission
ID = desk_routes.ID  # a row id: at most 18 digits, so it fits a 64-bit integer
NO = desk_routes.NO

ROUTES: list[Route] = [
    Route("GET", "/", account.home, SIGNED_IN, "home.html", "home"),
    Route("GET", "/login", login.login_form, PUBLIC, "login.html", "login"),
    Route("POST", "/login", login.login, PUBLIC, "login.html"),
    Route("GET", "/login/totp", login.totp_form, STEP, "totp.html"),
    Route("POST", "/login/totp", login.totp, STEP, "totp.html"),
    Route("GET", "/password", account.password_form, STEP, "password.html"),
    Route("POST", "/password", account.change_password, STEP, "password.html"),
    Route("POST", "/logout", login.logout, STEP),
    Route("GET", "/operators", operators.list_operators, P.OPERATORS_VIEW, "operators.html"),
    Route("POST", "/operators", operators.add_operator, P.OPERATORS_MANAGE),
    Route("GET", f"/operators/{ID}", operators.operator_detail, P.OPERATORS_VIEW,
          "operator.html"),
    Route("POST", f"/operators/{ID}", operators.edit_operator, P.OPERATORS_MANAGE),
    Route("POST", f"/operators/{ID}/roles", operators.assign_roles, P.OPERATORS_MANAGE),
    Route("POST", f"/operators/{ID}/disable", operators.disable_operator,
          P.OPERATORS_MANAGE),
    Route("POST", f"/operators/{ID}/enable", operators.enable_operator, P.OPERATORS_MANAGE),
    Route("POST", f"/operators/{ID}/password", operators.reset_password,
          P.OPERATORS_MANAGE),
    Route("GET", f"/patients/{ID}", records.patient, P.PATIENTS_VIEW, "patient.html"),
    Route("GET", f"/bookings/{NO}", records.booking, P.BOOKINGS_VIEW, "booking.html"),
    *desk_routes.ROUTES,  # the agent's desk: calls, patients, booking for the caller
    *office_routes.ROUTES,  # the back office: queries, 停诊, schedules, rules, reports
]  # fmt: skip
"""Every console route. Each GET page also answers at ``<path>.json`` (its JSON twin)."""

MAX_CONCURRENT_EXPORTS = 3  # each holds its rows and then its sheet in memory until sent
"""Excel exports built at once; one more is answered 429 "try again" (#10 item 8)."""

ERROR_STATUS: dict[type[GuahaoError], int] = {NotFound: 404, Forbidden: 403, CallOver: 409}


def _unauthenticated(request: web.Request, key: str, status: int) -> web.StreamResponse:
    if wants_json(request):
        message = translate(language(request), key)
        return web.json_response({"error": key, "message": message}, status=status)
    return web.Response(status=303, headers={"Location": sessions.console_path(request) + "login"})


def guard(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The route's view behind its access check."""

    async def handler(request: web.Request) -> web.StreamResponse:
        current = request[SESSION]
        if route.access != PUBLIC:
            if current is None:
                return _unauthenticated(request, "sign_in_required", 401)
            if route.access != STEP and current.stage != SessionStage.READY:
                return _unauthenticated(request, "login_incomplete", 401)
            granted = permissions_of(current.operator.roles)
            if isinstance(route.access, Permission) and route.access not in granted:
                raise Forbidden(action=str(route.access))
        page = await route.view(request)
        if isinstance(page, web.StreamResponse):  # a view that streams (SSE) answers itself
            return page
        return present(request, page, route.template)

    handler.__name__ = route.view.__name__
    return handler


def _error_page(
    request: web.Request,
    key: str,
    status: int,
    params: dict[str, str] | None = None,
    message: str | None = None,
) -> web.StreamResponse:
    params = params or {}
    lang = language(request)
    if message is None:
        message = translate(lang, key, **params)
    if wants_json(request):
        body = {"error": key, "message": message, "params": params}
        return present(request, Page(body, status=status), "error.html")
    return present(request, Page({"error": key, "message": message}, status=status), "error.html")


@web.middleware
async def error_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Domain errors in the console's words: 404 for what the operator may not see."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a form or an upload past client_max_size
        limit = {"limit": str(request.client_max_size // 1000)}
        return _error_page(request, "body_too_large", 413, limit)
    except GuahaoError as err:
        status = ERROR_STATUS.get(type(err), 400 if isinstance(err, BookingError) else 503)
        message, params = refusal(err, language(request))
        return _error_page(request, err.code, status, params, message)


@web.middleware
async def session_middleware(request: web.Request, handler) -> web.StreamResponse:
    request[SESSION] = await sessions.load(request)
    response = await handler(request)
    new_pre_csrf = request.get(NEW_PRE_CSRF)
    if new_pre_csrf is not None:
        sessions.set_cookie(
            request, response, sessions.PRE_CSRF_COOKIE, new_pre_csrf, samesite="Strict"
        )
    return response


@web.middleware
async def csrf_middleware(request: web.Request, handler) -> web.StreamResponse:
    if await request_is_forged(request):
        log.warning("refused %s %s: CSRF token missing or wrong", request.method, request.path)
        return _error_page(request, "csrf_failed", 403)
    return await handler(request)


SECURITY_HEADERS = {
    "Cache-Control": "no-store",  # pages carry personal data
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        # the softphone's Voice SDK: signalling over wss, its sounds and reports over https
        "connect-src 'self' wss://*.twilio.com https://*.twilio.com; "
        "media-src 'self' blob: https://*.twilio.com"
    ),
}


def _secure(response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


@web.middleware
async def headers_middleware(request: web.Request, handler) -> web.StreamResponse:
    """The security headers on every answer: pages, errors, and the router's own 404 and
    405 (raised as :class:`~aiohttp.web.HTTPException`). A fault nobody foresaw is logged
    and answered with a worded 500 page that carries them too."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    except Exception:
        log.exception("console: unexpected error on %s %s", request.method, request.path)
        try:
            response = _error_page(request, "internal_error", 500)
        except Exception:  # the error page itself failed: plain words, still the headers
            response = web.Response(status=500, text=translate("en", "internal_error"))
    _secure(response)
    return response


def make_app(services: BookingServices, settings: ConsoleSettings | None = None) -> web.Application:
    settings = settings or ConsoleSettings()
    app = web.Application(
        middlewares=[
            headers_middleware,
            error_middleware,
            session_middleware,
            csrf_middleware,
            agent_states.header_state_middleware,  # the desk header's agent state (#14)
        ]
    )
    app[SERVICES] = services
    app[SETTINGS] = settings
    app[PASSWORDS] = settings.passwords or Passwords()
    app[EXPORTS] = ExportGate(MAX_CONCURRENT_EXPORTS)
    app[PREVIEWS] = PreviewShelf()
    app[PROXY_NOTICE] = ProxyNotice()
    app[LIVE] = Live(services.store.changes)  # the live screens' shared readers
    app.cleanup_ctx.append(live_context)
    app.on_shutdown.append(end_streams)
    sessions.proxy_networks(settings.trusted_proxies)  # a malformed address fails here
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        bytecode_cache=COMPILED_PAGES,
    )
    env.filters["qr_svg"] = qr_svg
    env.filters["when"] = when
    for route in ROUTES:
        handler = guard(route)
        app.router.add_route(route.method, route.path, handler, name=route.name)
        if route.method == "GET" and route.path != "/":
            app.router.add_route("GET", route.path + ".json", handler)
    app.router.add_route("GET", "/index.json", guard(ROUTES[0]))
    app.router.add_static("/static/", HERE / "static", name="static")
    return app
