"""The agent's softphone (坐席软电话): its access token, and hold, resume and transfer of
the call the agent took (below). The browser side is ``static/softphone.js``.

The browser's Twilio Voice SDK registers with Twilio using a short-lived access token
(a JWT) that this engine signs with a Twilio API key: Twilio's own ``AccessToken`` with a
``VoiceGrant`` that lets the browser take calls routed to its identity and place calls
through the configured TwiML App. Asked for by ``POST`` (never cached, never prefetched,
and under the console's CSRF check like every other form); only an operator allowed to
take calls gets one. The token is the agent's phone line for its lifetime: it is never
logged, and its lifetime is short (``voice_token_ttl_seconds``; the SDK asks for a new one
before it ends, so a desk left open keeps working while a copied token soon does not).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from booking_core.calls import HandOverCall, QueuedCall, queued_call
from booking_core.kernel.errors import InvalidState, NotFound
from booking_core.kernel.unit import to_epoch
from booking_core.operators import list_operators
from edge.twilio_rest import CallRedirectError, VoiceCalls
from edge.voice_client import client_identity

from ...i18n import language, translate
from ...pages import Page
from ...permissions import Permission, permissions_of
from ..common import actor, form, services, session, settings
from ..times import zone_of

log = logging.getLogger(__name__)

NOT_CONFIGURED = "softphone_not_configured"


async def voice_token(request: web.Request) -> web.StreamResponse | Page:
    """``{"token", "identity", "expires_at"}`` for the signed-in agent, or 503 naming the
    settings still missing (not the operator's fault, nor a fault of ours to retry)."""
    phone = settings(request).softphone
    missing = phone.missing()
    if missing:
        message = translate(language(request), NOT_CONFIGURED, settings=", ".join(missing))
        body = {"error": NOT_CONFIGURED, "message": message, "missing": list(missing)}
        return Page(body, status=503)
    operator = session(request).operator
    identity = client_identity(operator.id)
    now = to_epoch(services(request).clock.now())
    ttl = phone.token_ttl_seconds
    token = AccessToken(
        phone.account_sid,
        phone.api_key_sid,
        phone.api_key_secret,
        identity=identity,
        nbf=now,  # the engine's clock, so the token and expires_at say the same
        ttl=ttl,
        valid_until=now + ttl,
    )
    token.add_grant(VoiceGrant(outgoing_application_sid=phone.twiml_app_sid, incoming_allow=True))
    expires = datetime.fromtimestamp(now, UTC) + timedelta(seconds=ttl)
    local_expiry = expires.astimezone(await zone_of(request))
    log.info("softphone token for %s until %s", identity, expires.isoformat())
    body = {
        "token": token.to_jwt(),
        "identity": identity,
        "expires_at": local_expiry.isoformat(),
    }
    return web.json_response(body, headers={"Cache-Control": "no-store"})


# --- hold, resume, transfer (坐席保持、转接) -------------------------------------------------
#
# The caller's call leg is redirected with Twilio's REST API (edge.twilio_rest) to TwiML the
# engine serves (contract C2): ``/twilio/voice/requeue?call=<sid>&hold=1`` (hold music in the
# caller's own queue ``q-<sid>``), ``…&hold=0`` (waiting again, offered to another agent),
# or the IVR's entry (back to the menu). Leaving the bridge ends the agent's own leg; resume
# is the browser connecting again with ``{call: sid}``. Only the agent who took the call may
# do any of it. Every answer is JSON for the softphone script, with a sentence to show.

REQUEUE_PATH = "/twilio/voice/requeue"  # the callback part's TwiML (contract C2)
IVR_ENTRY_PATH = "/twilio/voice/menu"  # ivr.web's `menu`: the call goes on from the main menu
_USERNAME = re.compile(r"[A-Za-z0-9_.\-@]{1,64}")


def _say(request: web.Request, status: int, key: str, **params: object) -> web.Response:
    body = {
        "ok": status < 400,
        "result" if status < 400 else "error": key,
        "message": translate(language(request), key, **params),
    }
    return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


async def _own_call(request: web.Request, handed_to: str = "") -> QueuedCall | web.Response:
    """The call in the URL if the signed-in agent has it (or handed it to ``handed_to``
    and nobody took it since: the same transfer asked again), else the answer saying why
    not."""
    who = actor(request)
    try:
        call: QueuedCall = await services(request).read(queued_call, request.match_info["sid"], who)
    except NotFound:
        return _say(request, 404, "sp_call_over")
    ctx = call.context
    again = handed_to and ctx.get("handed_by") == who.name and ctx.get("handed_to") == handed_to
    if call.taken_by != who.name and not (again and not call.taken_by):
        return _say(request, 409, "sp_not_yours")
    return call


def _not_configured(request: web.Request) -> web.Response | None:
    missing = settings(request).softphone.missing_for_calls()
    if not missing:
        return None
    message = translate(language(request), NOT_CONFIGURED, settings=", ".join(missing))
    body = {"ok": False, "error": NOT_CONFIGURED, "message": message, "missing": list(missing)}
    return web.json_response(body, status=503)


def _requeue_url(request: web.Request, call: QueuedCall, *, hold: bool) -> str:
    phone = settings(request).softphone
    lang = "en" if call.context.get("lang") == "en" else "zh"
    query = urlencode({"call": call.call_sid, "hold": "1" if hold else "0", "lang": lang})
    return f"{phone.public_url.rstrip('/')}{REQUEUE_PATH}?{query}"


async def _redirect(request: web.Request, call_sid: str, url: str) -> web.Response | None:
    """Redirect the caller's leg to ``url``; None when done, else the answer to give."""
    phone = settings(request).softphone
    rest = VoiceCalls(
        phone.account_sid, phone.api_key_sid, phone.api_key_secret, api_base=phone.api_base
    )
    try:
        async with rest:
            await rest.redirect(call_sid, url)
    except CallRedirectError as err:
        key = "sp_call_over" if err.reason == "call_gone" else f"sp_rest_{err.reason}"
        return _say(request, 409 if err.reason == "call_gone" else 502, key)
    return None


async def hold(request: web.Request) -> web.StreamResponse:
    """The caller hears hold music in their own queue; the agent's leg ends (resume
    connects again)."""
    refused = _not_configured(request)
    if refused is not None:
        return refused
    call = await _own_call(request)
    if isinstance(call, web.Response):
        return call
    failed = await _redirect(request, call.call_sid, _requeue_url(request, call, hold=True))
    return failed or _say(request, 200, "sp_held_done")


async def resume(request: web.Request) -> web.StreamResponse:
    """Still the agent's call? Then the browser connects again with ``{call: sid}``."""
    call = await _own_call(request)
    if isinstance(call, web.Response):
        return call
    body = {"ok": True, "result": "resume", "connect": {"call": call.call_sid}}
    return web.json_response(body, headers={"Cache-Control": "no-store"})


async def transfer(request: web.Request) -> web.StreamResponse:
    """``to=agent:<user name>``: the call is handed over in the core (offered to that
    agent, no longer taken) and the caller waits in their queue again; ``to=ivr``: the
    caller hears the phone menu from its start, and the call leaves the agents' queue."""
    target = (await form(request)).get("to", "").strip()
    name: str | None = None
    if target.startswith("agent:") and _USERNAME.fullmatch(target.removeprefix("agent:")):
        name = target.removeprefix("agent:")
    elif target != "ivr":
        return _say(request, 400, "sp_bad_target")
    refused = _not_configured(request)
    if refused is not None:
        return refused
    call = await _own_call(request, handed_to=name or "")
    if isinstance(call, web.Response):
        return call
    if name is None:  # the menu: the caller first (a failed redirect leaves all as it was)
        ivr = settings(request).softphone.public_url.rstrip("/") + IVR_ENTRY_PATH
        failed = await _redirect(request, call.call_sid, ivr)
        if failed is not None:
            return failed
    try:
        await services(request).handle(
            HandOverCall(call_sid=call.call_sid, to=name, actor=actor(request))
        )
    except NotFound as err:
        if err.params.get("entity") == "operator":
            return _say(request, 404, "sp_no_agent", name=name)
        return _say(request, 404, "sp_call_over")
    except InvalidState as err:
        over = err.params.get("status") == "ended"
        return _say(request, 409, "sp_call_over" if over else "sp_not_yours")
    if name is None:
        return _say(request, 200, "sp_transferred_ivr")
    # another agent: the core first (it checks the agent), so a failed redirect can be
    # asked again (the same hand-over is a no-op) while the caller stays on this line
    failed = await _redirect(request, call.call_sid, _requeue_url(request, call, hold=False))
    return failed or _say(request, 200, "sp_transferred_agent", name=name)


# --- whom to transfer to (转接对象) ------------------------------------------------------


async def agents(request: web.Request) -> Page:
    """The other operators of the agent's hospital who take calls, by user name: whom the
    softphone's transfer can name (its list of suggestions). Agent states (available,
    busy …) are not known here; every enabled agent is listed."""
    who = actor(request)
    found = await services(request).read(list_operators, who)
    names = [
        {"username": o.username, "display_name": o.display_name}
        for o in found
        if not o.disabled
        and o.username != who.name
        and o.hospital_id == who.hospital_id
        and Permission.CALLS_TAKE in permissions_of(o.roles)
    ]
    return Page({"agents": names})
