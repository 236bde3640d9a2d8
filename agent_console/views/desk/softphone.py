"""The agent's softphone access token (坐席软电话令牌).

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
from datetime import UTC, datetime, timedelta

from aiohttp import web
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from booking_core.kernel.unit import to_epoch
from edge.voice_client import client_identity

from ...i18n import language, translate
from ...pages import Page
from ..common import services, session, settings
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
