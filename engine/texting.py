"""Text messages (短信) wired into the engine: the gateways the settings name, the SMS
webhooks, the modem's reader, one sender per gateway, the notifier and the reminders.

Everything that runs in the background is one cleanup context (:func:`texting_ctx`): it
starts the tasks after the store is open and, on shutdown, cancels them and closes the
gateways' connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

import ivr.signature
import sms.web
from booking_core import messages
from sms.gateway import Gateway
from sms.inbox import Inbox
from sms.modem.gateway import ModemGateway, Undecodable
from sms.notifier import CONSUMER, Notifier
from sms.replies import Replies
from sms.sender import Sender
from sms.twilio_gateway import TwilioGateway

from .config import ConfigError, Settings
from .keys import CLOCK, METRICS, SERVICES, SETTINGS
from .workers import run_periodically

log = logging.getLogger(__name__)

SEND_POLL_SECONDS = 0.5  # a queued text waits at most this long for its sender
NOTIFY_POLL_SECONDS = 0.5  # an event waits at most this long to become a text
REMINDER_SWEEP_SECONDS = 60  # reminders go from the configured hour, to the minute

INBOX = web.AppKey("inbox", Inbox)
MODEMS = web.AppKey("modems", list)
"""The running modem gateway (one at most), filled in by :func:`texting_ctx`; read by
``/healthz`` through :func:`health`."""


def outbox_consumers(settings: Settings) -> tuple[str, ...]:
    """The configured consumers, plus the notifier's when notices are on."""
    if settings.sms_notices and CONSUMER not in settings.outbox_consumers:
        return (*settings.outbox_consumers, CONSUMER)
    return settings.outbox_consumers


def mount(app: web.Application, settings: Settings) -> None:
    """The ``/twilio/sms/`` webhooks and the background work of texting."""
    inbox = Inbox(
        app[SERVICES], Replies(), settings.sms_hospital, on_booking=app[METRICS].record_booking
    )
    app[INBOX] = inbox
    app[MODEMS] = []
    check = ivr.signature.signature_middleware(
        settings.twilio_auth_token or "", settings.public_url
    )
    # a reply can be texted after the webhook answered only through Twilio's REST API
    can_text_later = bool(settings.twilio_account_sid)  # twilio_gateway() checks the rest
    if not can_text_later:
        log.info(
            "texting: no Twilio REST credentials (twilio_account_sid): the SMS webhook "
            "waits for each decision instead of texting slow results later"
        )
    app.add_subapp(
        "/twilio/sms/",
        sms.web.make_app(inbox, signature_check=check, can_text_later=can_text_later),
    )
    app.cleanup_ctx.append(texting_ctx)


def twilio_gateway(settings: Settings) -> TwilioGateway | None:
    if not settings.twilio_account_sid:
        return None
    if not settings.twilio_auth_token:
        raise ConfigError("twilio_account_sid is set but twilio_auth_token is not")
    if not (settings.twilio_sms_from or settings.twilio_messaging_service_sid):
        raise ConfigError(
            "twilio_account_sid is set: also set twilio_sms_from or twilio_messaging_service_sid"
        )
    status_callback = f"{settings.public_url}/twilio/sms/status" if settings.public_url else None
    return TwilioGateway(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        from_=settings.twilio_sms_from or None,
        messaging_service_sid=settings.twilio_messaging_service_sid or None,
        status_callback=status_callback,
        api_base=settings.twilio_api_base or None,
    )


async def texting_ctx(app: web.Application) -> AsyncIterator[None]:
    settings: Settings = app[SETTINGS]
    services = app[SERVICES]
    inbox = app[INBOX]
    gateways: dict[str, Gateway] = {}
    tasks: list[asyncio.Task] = []
    twilio = twilio_gateway(settings)
    if twilio is not None:
        gateways[twilio.name] = twilio
    if settings.modem_port:

        async def from_modem(incoming) -> None:
            await inbox.take(incoming, send_reply=True)

        async def keep_undecodable(message: Undecodable) -> None:
            await services.handle(
                messages.KeepUndecodable(
                    gateway=message.gateway, pdu=message.pdu, error=message.error
                )
            )

        modem = ModemGateway(
            settings.modem_port,
            on_incoming=from_modem,
            on_undecodable=keep_undecodable,
            baudrate=settings.modem_baud,
            min_interval=settings.modem_send_interval_seconds,
            part_timeout=settings.modem_part_timeout_seconds,
            sim_warn_fraction=settings.modem_sim_warn_percent / 100,
            now=app[CLOCK].now,
        )
        gateways[modem.name] = modem
        app[MODEMS].append(modem)
        tasks.append(asyncio.create_task(modem.run(), name="modem"))
    if settings.sms_notices and settings.sms_notices not in gateways:
        raise ConfigError(
            f"sms_notices is {settings.sms_notices!r} but that gateway is not configured"
        )
    for gateway in gateways.values():
        sender = Sender(services, gateway, lease_seconds=settings.sms_send_lease_seconds)
        tasks.append(_every(f"sms-sender-{gateway.name}", SEND_POLL_SECONDS, sender.run_once))
    if settings.sms_notices:
        notifier = Notifier(services, inbox.replies, settings.sms_notices)
        tasks.append(_every("sms-notifier", NOTIFY_POLL_SECONDS, notifier.run_once))
        hour = settings.reminder_hour
        tasks.append(
            _every(
                "reminders",
                REMINDER_SWEEP_SECONDS,
                lambda: services.handle(messages.QueueReminders(hour=hour)),
            )
        )
    if gateways:
        log.info(
            "texting: gateways %s, notices %s", sorted(gateways), settings.sms_notices or "off"
        )
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    app[MODEMS].clear()
    if twilio is not None:
        await twilio.aclose()


def health(app: web.Application) -> dict[str, object]:
    """What ``/healthz`` adds about texting: the modem's state and its SIM's fill level."""
    modems = app.get(MODEMS) or []
    return {"modem": modems[0].status()} if modems else {}


def _every(name: str, interval: float, step) -> asyncio.Task:
    return asyncio.create_task(run_periodically(name, interval, step), name=name)
