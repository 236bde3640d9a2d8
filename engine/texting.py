"""Text messages (短信) wired into the engine: the settings read into the SMS door
(:func:`sms.web.make_app`, mounted at ``/twilio/sms/``) and its background work
(:mod:`sms.background`: the gateways, the modem's reader, one sender per gateway, the
notifier and the reminders).

The background work is one cleanup context (:func:`texting_ctx`) of the engine's app, after
the store's: its settings are checked as the engine starts, it starts once the store is open
and stops before the store closes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

import sms.web
from sms.background import Background, ModemPort, running
from sms.notifier import CONSUMER
from sms.twilio_gateway import TwilioGateway

from .config import ConfigError, Settings
from .keys import METRICS, SERVICES, SETTINGS

log = logging.getLogger(__name__)

SMS_DOOR = web.AppKey("sms_door", web.Application)
"""The ``/twilio/sms/`` sub-app, for its background work and ``/healthz``."""


def outbox_consumers(settings: Settings) -> tuple[str, ...]:
    """The configured consumers, plus the notifier's when notices are on."""
    if settings.sms_notices and CONSUMER not in settings.outbox_consumers:
        return (*settings.outbox_consumers, CONSUMER)
    return settings.outbox_consumers


def mount(app: web.Application, settings: Settings) -> None:
    """The ``/twilio/sms/`` webhooks and the background work of texting."""
    # a reply can be texted after the webhook answered only through Twilio's REST API
    can_text_later = bool(settings.twilio_account_sid)  # twilio_gateway() checks the rest
    if not can_text_later:
        log.info(
            "texting: no Twilio REST credentials (twilio_account_sid): the SMS webhook "
            "waits for each decision instead of texting slow results later"
        )
    door = sms.web.make_app(
        app[SERVICES],
        auth_token=settings.twilio_auth_token or "",
        public_url=settings.public_url,
        hospital_code=settings.sms_hospital,
        on_booking=app[METRICS].record_booking,
        can_text_later=can_text_later,
    )
    app[SMS_DOOR] = door
    app.add_subapp("/twilio/sms/", door)
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


def background(settings: Settings) -> Background:
    """The SMS door's background work as the settings describe it."""
    modem = None
    if settings.modem_port:
        modem = ModemPort(
            settings.modem_port,
            baudrate=settings.modem_baud,
            send_interval_seconds=settings.modem_send_interval_seconds,
            part_timeout_seconds=settings.modem_part_timeout_seconds,
            sim_warn_fraction=settings.modem_sim_warn_percent / 100,
        )
    work = Background(
        twilio=twilio_gateway(settings),
        modem=modem,
        notices=settings.sms_notices,
        reminder_hour=settings.reminder_hour,
        send_lease_seconds=settings.sms_send_lease_seconds,
    )
    if work.notices and work.notices not in work.gateways:
        raise ConfigError(
            f"sms_notices is {settings.sms_notices!r} but that gateway is not configured"
        )
    return work


async def texting_ctx(app: web.Application) -> AsyncIterator[None]:
    async with running(app[SMS_DOOR], background(app[SETTINGS])):
        yield


def health(app: web.Application) -> dict[str, object]:
    """What ``/healthz`` adds about texting: the modem's state and its SIM's fill level."""
    return sms.web.health(app[SMS_DOOR])
