"""Small helpers the views share: form fields, the acting operator, stage URLs."""

from __future__ import annotations

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import InvalidInput
from booking_core.operators import ConsoleSession, SessionStage

from ..auth import Passwords
from ..keys import PASSWORDS, SERVICES, SESSION, SETTINGS, ConsoleSettings
from ..sessions import actor_of, console_path

STAGE_PATHS = {
    SessionStage.TOTP: "login/totp",
    SessionStage.TOTP_ENROL: "login/totp",
    SessionStage.CHANGE_PASSWORD: "password",
    SessionStage.READY: "",
}


def services(request: web.Request) -> BookingServices:
    return request.config_dict[SERVICES]


def settings(request: web.Request) -> ConsoleSettings:
    return request.config_dict[SETTINGS]


def passwords(request: web.Request) -> Passwords:
    return request.config_dict[PASSWORDS]


def session(request: web.Request) -> ConsoleSession:
    """The signed-in session (the route's guard made sure there is one)."""
    found = request[SESSION]
    assert found is not None
    return found


def actor(request: web.Request) -> Actor:
    return actor_of(session(request).operator)


def stage_url(request: web.Request, stage: str) -> str:
    return console_path(request) + STAGE_PATHS[stage]


async def form(request: web.Request) -> dict[str, str]:
    """The posted fields (form or JSON body) as text; repeated fields joined by commas."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as err:  # malformed JSON (or not UTF-8): the caller's fault
            raise InvalidInput("body", "a JSON object") from err
        if not isinstance(body, dict):
            return {}
        return {
            k: ",".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in body.items()
        }
    posted = await posted_form(request)
    out: dict[str, str] = {}
    for key in dict.fromkeys(posted.keys()):
        values = [v for v in posted.getall(key) if isinstance(v, str)]
        out[key] = ",".join(values)
    return out


async def posted_form(request: web.Request):
    """``request.post()``, with a body that does not parse (a multipart without its
    boundary, a cut-off part) refused as the caller's fault instead of a 500."""
    try:
        return await request.post()
    except (ValueError, HttpProcessingError) as err:  # UnicodeDecodeError, a bad part header
        raise InvalidInput("body", "a form") from err
