"""``X-Twilio-Signature`` checked at the edge of the Twilio sub-apps (voice; the engine hands
the same check to the SMS door).

Twilio signs the URL it called plus every form parameter (repeated keys included) with
the account's auth token (HMAC-SHA1). We rebuild that URL from the *configured* public
base URL and the raw path and query of the request, never from the Host header or the
scheme a TLS-terminating proxy handed on, then let the ``twilio`` package's
``RequestValidator`` decide. A request that fails gets 403 before any handler runs, so
it changes nothing. Signatures carry no timestamp: replays are stopped by the step
dedupe in :mod:`ivr.web`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = web.RequestKey("twilio_form", MultiDictProxy)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_url(public_url: str, request: web.Request) -> str:
    """The URL Twilio signed: the public base URL plus the raw path and query."""
    return public_url.rstrip("/") + request.raw_path


@web.middleware
async def closed_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Without a token nothing can be verified, so nothing is accepted."""
    raise web.HTTPForbidden(text="Twilio webhooks are not configured")


def signature_middleware(auth_token: str, public_url: str):
    if not auth_token or not public_url.startswith(("https://", "http://")):
        log.warning("Twilio webhooks are refused until twilio_auth_token and public_url are set")
        return closed_door
    validator = RequestValidator(auth_token)

    @web.middleware
    async def check_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        form = await request.post() if request.method == "POST" else MultiDictProxy(MultiDict())
        url = signed_url(public_url, request)
        if not signature or not validator.validate(url, form, signature):
            log.warning("refused a Twilio request with a bad signature: %s", request.path)
            raise web.HTTPForbidden(text="invalid Twilio signature")
        request[FORM] = form
        return await handler(request)

    return check_signature
