"""The ``/twilio/sms/`` sub-application: Twilio's messaging webhooks in, TwiML out.

* ``POST /twilio/sms`` — a text came in (the number's "A message comes in" URL): stored
  once per MessageSid, answered with a TwiML ``<Message>``; Twilio's retry of the same
  MessageSid gets the same reply and acts on nothing.
* ``POST fallback`` — the number's fallback URL: no database, "system busy, please send
  it again later" in Chinese.
* ``POST status`` — delivery reports for texts the engine sent (``StatusCallback``): a
  message's status only ever moves forward.

A text whose exchange takes longer than ``answer_within_seconds`` (a store under load)
is answered ``PROCESSING_TEXT`` ("being processed, the result will be texted") and the
exchange goes on: its reply (the booking's number, or the refusal) is queued for the
sender and texted once (:class:`~sms.inbox.ReplyLater`). "System busy, send it again"
is only said when the core failed, which commits nothing; the texter is never told
"busy" about a booking that was made.

Signatures are checked by :mod:`edge.signature`'s middleware (the voice door's check too),
before any handler runs: a forged request gets 403 and changes nothing. The door's
background work (gateways, the modem's reader, senders, notices, reminders) is
:mod:`sms.background`.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse

from booking_core import messages
from booking_core.bus import BookingServices
from booking_core.kernel.errors import GuahaoError
from booking_core.store.budget import priority
from edge.metrics import BookingCounter
from edge.signature import signature_middleware

from .gateway import Incoming
from .inbox import Inbox, ReplyLater
from .replies import Replies

log = logging.getLogger(__name__)

ANSWER_WITHIN_SECONDS = 5.0  # Twilio waits 15 s; a stalled store gets "busy" well before
# With no way to text a result later (no Twilio REST credentials), the webhook waits for
# the decision up to this long instead, short of Twilio's own 15 s (after which Twilio
# would call the fallback URL and say "busy" about work that may commit).
WAIT_WITHOUT_SENDER_SECONDS = 13.0
TWIML = "text/xml"
GATEWAY = "twilio"
PHONE_NUMBER = re.compile(r"\+?[0-9]{3,15}")  # E.164 as Twilio gives it, or a short code
BUSY_TEXT = "系统繁忙，您的短信未能处理，请稍后重新发送。"
PROCESSING_TEXT = "您的短信正在处理，结果将稍后以短信告知，请勿重复发送。"

LATER = web.AppKey("sms_later", set)  # exchanges whose reply will be texted, still running

INBOX = web.AppKey("inbox", Inbox)
SETTINGS = web.AppKey("sms_web", dict)
MODEMS = web.AppKey("sms_modems", list)
"""The running modem gateway (one at most), filled in by :func:`sms.background.running`;
read by ``/healthz`` through :func:`health`."""


def make_app(
    services: BookingServices,
    *,
    auth_token: str,
    public_url: str,
    hospital_code: str,
    on_booking: BookingCounter | None = None,
    answer_within_seconds: float = ANSWER_WITHIN_SECONDS,
    can_text_later: bool = True,
    wait_without_sender_seconds: float = WAIT_WITHOUT_SENDER_SECONDS,
) -> web.Application:
    """The SMS sub-app. ``public_url`` is the base Twilio reaches the engine at (the
    signatures are checked against it); texts are answered for the hospital
    ``hospital_code``; ``on_booking(channel, result)`` hears every booking a text asks for
    ("sms", "created" or the refusal code). ``can_text_later``: a sender can text a reply
    after the webhook answered (Twilio's REST credentials are configured). Without one the
    webhook never says "the result will be texted": it waits for the decision
    (``wait_without_sender_seconds`` at most) and, past that, answers nothing rather than
    something untrue."""
    inbox = Inbox(services, Replies(), hospital_code, on_booking=on_booking)
    app = web.Application(middlewares=[signature_middleware(auth_token, public_url)])
    app[INBOX] = inbox
    app[MODEMS] = []
    app[SETTINGS] = {
        "answer_within": answer_within_seconds,
        "text_later": can_text_later,
        "wait_without_sender": wait_without_sender_seconds,
    }
    app[LATER] = set()
    app.on_shutdown.append(_finish_later)
    app.router.add_post("", incoming)
    app.router.add_post("/", incoming)
    app.router.add_post("/fallback", fallback)
    app.router.add_post("/status", status)
    return app


def health(app: web.Application) -> dict[str, object]:
    """What ``/healthz`` adds about the door: the modem's state and its SIM's fill level."""
    modems = app[MODEMS]
    return {"modem": modems[0].status()} if modems else {}


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
    if not PHONE_NUMBER.fullmatch(form.get("From", "")):  # a signed form cut anew, say
        raise web.HTTPBadRequest(text="From is not a phone number")
    message = Incoming(
        gateway=GATEWAY,
        provider_id=sid,
        phone=form.get("From", ""),
        body=form.get("Body", ""),
    )
    later = ReplyLater()
    with priority(settings["answer_within"]):  # its units queue by the webhook's deadline
        work = asyncio.ensure_future(
            request.app[INBOX].take(message, send_reply=False, later=later)
        )
    try:
        try:
            reply = await asyncio.wait_for(asyncio.shield(work), settings["answer_within"])
        except TimeoutError:
            if not settings["text_later"]:
                return await _wait_without_sender(request, work, sid)
            if later.defer():
                log.warning(
                    "SMS webhook over %.1f s: the reply to %s will be texted",
                    settings["answer_within"],
                    sid,
                )
                _keep(request.app[LATER], work)
                return _twiml(PROCESSING_TEXT)
            reply = await work  # its reply is being stored right now: a moment more
    except GuahaoError as err:  # our fault (the store): nothing was done, please resend
        log.error("SMS not handled: %s", err)
        return _twiml(BUSY_TEXT)
    return _twiml(reply)


async def _wait_without_sender(request: web.Request, work: asyncio.Future, sid: str):
    """No sender can text the result later: wait for it, and when even that runs out,
    answer nothing (the exchange goes on and its reply is stored; nothing untrue said)."""
    settings = request.app[SETTINGS]
    left = settings["wait_without_sender"] - settings["answer_within"]
    try:
        return _twiml(await asyncio.wait_for(asyncio.shield(work), max(left, 0.0)))
    except TimeoutError:
        log.error(
            "SMS %s undecided after %.1f s and no sender to text it later: no reply",
            sid,
            settings["wait_without_sender"],
        )
        _keep(request.app[LATER], work)
        return _twiml(None)


def _keep(running: set, work: asyncio.Future) -> None:
    running.add(work)

    def done(task: asyncio.Future) -> None:
        running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SMS reply to be texted was not stored: %s", task.exception())

    work.add_done_callback(done)


async def _finish_later(app: web.Application) -> None:
    """On shutdown, before the store closes: the texts promised are queued first."""
    if app[LATER]:
        await asyncio.gather(*app[LATER], return_exceptions=True)
    await app[INBOX].stored()


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
                messages.UpdateDelivery(
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
