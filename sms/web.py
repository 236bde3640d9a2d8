"""The ``/twilio/sms/`` sub-application: Twilio's messaging webhooks in, TwiML out.

* ``POST /twilio/sms`` — a text came in (the number's "A message comes in" URL): stored
  once per MessageSid, answered with a TwiML ``<Message>``; Twilio's retry of the same
  MessageSid gets the same reply and acts on nothing.
* ``POST fallback`` — the number's fallback URL: no database, "system busy, please send
  it again later" in Chinese.
* ``POST status`` — delivery reports for texts the engine sent (``StatusCallback``): a
  message's status only ever moves forward.

Signatures are checked by the middleware the engine hands in (the same check as the
voice door's), before any handler runs: a forged request gets 403 and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from booking_core import message_commands as m
from booking_core.errors import GuahaoError

from .gateway import Incoming
from .inbox import Inbox

log = logging.getLogger(__name__)

ANSWER_WITHIN_SECONDS = 5.0  # Twilio waits 15 s; a stalled store gets "busy" well before
TWIML = "text/xml"
GATEWAY = "twilio"
BUSY_TEXT = "系统繁忙，您的短信未能处理，请稍后重新发送。"

INBOX = web.AppKey("inbox", Inbox)
SETTINGS = web.AppKey("sms_web", dict)


def make_app(
    inbox: Inbox,
    *,
    signature_check,
    answer_within_seconds: float = ANSWER_WITHIN_SECONDS,
) -> web.Application:
    """``signature_check`` is an aiohttp middleware that refuses unsigned requests (the
    engine passes the voice door's, built for the same auth token and public URL)."""
    app = web.Application(middlewares=[signature_check])
    app[INBOX] = inbox
    app[SETTINGS] = {"answer_within": answer_within_seconds}
    app.router.add_post("", incoming)
    app.router.add_post("/", incoming)
    app.router.add_post("/fallback", fallback)
    app.router.add_post("/status", status)
    return app


def _twiml(reply: str | None) -> web.Response:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return web.Response(text=str(response), content_type=TWIML)


async def incoming(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()  # read (and kept) by the signature check already
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise web.HTTPBadRequest(text="MessageSid is missing")
    message = Incoming(
        gateway=GATEWAY,
        provider_id=sid,
        phone=form.get("From", ""),
        body=form.get("Body", ""),
    )
    try:
        async with asyncio.timeout(settings["answer_within"]):
            reply = await request.app[INBOX].take(message, send_reply=False)
    except TimeoutError:
        log.error("SMS webhook over %.1f s: answered busy", settings["answer_within"])
        return _twiml(BUSY_TEXT)
    except GuahaoError as err:  # our fault (the store): the patient is asked to resend
        log.error("SMS not handled: %s", err)
        return _twiml(BUSY_TEXT)
    return _twiml(reply)


async def fallback(request: web.Request) -> web.Response:
    """Needs no database: Twilio calls it when the primary URL fails."""
    return _twiml(BUSY_TEXT)


async def status(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    form = await request.post()  # read (and kept) by the signature check already
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    state = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid or not state:
        raise web.HTTPBadRequest(text="MessageSid and MessageStatus are required")
    code = form.get("ErrorCode") or None
    try:
        async with asyncio.timeout(settings["answer_within"]):
            await request.app[INBOX].services.handle(
                m.UpdateDelivery(
                    gateway=GATEWAY,
                    provider_id=sid,
                    status=state,
                    error=f"twilio {code}" if code else None,
                )
            )
    except (TimeoutError, GuahaoError) as err:
        log.error("delivery report not stored: %s", err)
        raise web.HTTPServiceUnavailable() from err  # Twilio retries callbacks on 5xx
    return web.Response(status=204)
