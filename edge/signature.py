"""``X-Twilio-Signature`` checked at the edge of the Twilio sub-apps: the voice door
(:mod:`ivr.web`) and the SMS door (:mod:`sms.web`) each put this middleware on their own
sub-app, so what "signed" means is written once.

Twilio signs the URL it called plus every form parameter (repeated keys included) with
the account's auth token (HMAC-SHA1). We rebuild that URL from the *configured* public
base URL and the raw path and query of the request, never from the Host header or the
scheme a TLS-terminating proxy handed on, then let the ``twilio`` package's
``RequestValidator`` decide. A request that fails gets 403 before any handler runs, so
it changes nothing. Signatures carry no timestamp: replays are stopped by the step
dedupe in :mod:`ivr.web` (and the MessageSid dedupe of the SMS door).

The signature covers the sorted names and values run together, not where one ends and
the next begins: a captured form can be cut anew and stay signed (``MessageSid`` = the
real SID + ``NumSegments1``, ``NumSegments`` dropped), a "new" message past the dedupe.
So a signed form's Twilio identifiers must also have Twilio's shape (two letters and 32
hex digits, one of each at most), and its ``AccountSid`` must be the configured account
(``twilio_account_sid``, when set; the engine puts it at :data:`TWILIO_ACCOUNT`):
anything else is refused with 400 before a handler runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM = web.RequestKey("twilio_form", MultiDictProxy)
TWILIO_ACCOUNT = web.AppKey("twilio_account", str)  # the configured AccountSid ("": any)

_MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-f]{32}")
SID_SHAPES = {
    "AccountSid": re.compile(r"AC[0-9a-f]{32}"),
    "CallSid": re.compile(r"CA[0-9a-f]{32}"),
    "MessageSid": _MESSAGE_SID,
    "SmsSid": _MESSAGE_SID,
    "SmsMessageSid": _MESSAGE_SID,
}

_EMPTY: MultiDictProxy = MultiDictProxy(MultiDict())
_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def signed_url(public_url: str, request: web.Request) -> str:
    """The URL Twilio signed: the public base URL plus the raw path and query."""
    return public_url.rstrip("/") + request.raw_path


class BytesValidator(RequestValidator):
    """Twilio's check over the bytes that were sent: a form value that is not UTF-8 (kept
    as surrogates by :func:`read_form`) is signed as those same bytes, so a forged one is
    still refused with 403 and never breaks the check."""

    def compute_signature(self, uri, params, algorithm=None):
        if not any(_SURROGATE.search(k + v) for k, v in params.items()):
            return super().compute_signature(uri, params, algorithm)
        digest = _HASHES.get((algorithm or "HMAC_SHA1").upper())
        if digest is None:
            raise ValueError(f"Unsupported webhook signature algorithm: {algorithm}")
        text = uri + "".join(
            name + value
            for name in sorted(set(params))
            for value in sorted(set(params.getall(name)))
        )
        mac = hmac.new(self.token, text.encode("utf-8", "surrogateescape"), digest)
        return base64.b64encode(mac.digest()).decode("ascii")


async def read_form(request: web.Request) -> tuple[MultiDictProxy, bool]:
    """The posted form, and whether it is all UTF-8 text in a url-encoded body (what Twilio
    posts). An undecodable byte (or an unknown charset) does not raise: the values keep
    such bytes as surrogates, so the signature can still be checked."""
    if request.method != "POST":
        return _EMPTY, True
    if request.content_type == "multipart/form-data":
        return _EMPTY, False  # Twilio never sends it; its parts may be bytes or files
    try:
        return await request.post(), True
    except (UnicodeDecodeError, LookupError):
        raw = (await request.read()).decode("utf-8", "surrogateescape")
        pairs = parse_qsl(raw, keep_blank_values=True, errors="surrogateescape")
        return MultiDictProxy(MultiDict(pairs)), False


def identifiers_problem(form: MultiDictProxy, account_sid: str) -> str | None:
    """Why a signed form's identifiers are not Twilio's (None when they are)."""
    for name, shape in SID_SHAPES.items():
        values = form.getall(name, [])
        if len(values) > 1:
            return f"{name} is repeated"
        if values and not shape.fullmatch(values[0]):
            return f"{name} is not a Twilio identifier"
    if account_sid and form.get("AccountSid", account_sid) != account_sid:
        return "AccountSid is not this engine's Twilio account"
    return None


@web.middleware
async def closed_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Without a token nothing can be verified, so nothing is accepted."""
    raise web.HTTPForbidden(text="Twilio webhooks are not configured")


def signature_middleware(auth_token: str, public_url: str):
    if not auth_token or not public_url.startswith(("https://", "http://")):
        log.warning("Twilio webhooks are refused until twilio_auth_token and public_url are set")
        return closed_door
    validator = BytesValidator(auth_token)

    @web.middleware
    async def check_signature(request: web.Request, handler: Handler) -> web.StreamResponse:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        form, readable = await read_form(request)
        url = signed_url(public_url, request)
        if not signature or not validator.validate(url, form, signature):
            log.warning("refused a Twilio request with a bad signature: %s", request.path)
            raise web.HTTPForbidden(text="invalid Twilio signature")
        if not readable:  # signed, but not what Twilio sends: nothing reaches the handler
            log.warning("refused a signed Twilio request whose form is not UTF-8: %s", request.path)
            raise web.HTTPBadRequest(text="the form must be UTF-8 and url-encoded")
        problem = identifiers_problem(form, request.config_dict.get(TWILIO_ACCOUNT, ""))
        if problem is not None:  # signed, but cut anew (see the module docstring)
            log.warning("refused a signed Twilio request: %s: %s", problem, request.path)
            raise web.HTTPBadRequest(text=problem)
        request[FORM] = form
        return await handler(request)

    return check_signature
