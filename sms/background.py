"""The SMS door's background work (短信后台): the gateways, the modem's reader, one sender per
gateway, the notifier and the reminders.

All of it starts and stops together in :func:`running`, which the engine runs as a cleanup
context of its own app once the store is open (and so stops before the store closes): the
tasks start after the store is open and, on shutdown, are cancelled and the gateways'
connections closed. What to run (:class:`Background`) the engine reads from its settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from booking_core import messages
from edge.periodic import run_periodically

from .gateway import Gateway
from .modem.gateway import ModemGateway, Undecodable
from .notifier import Notifier
from .sender import Sender
from .twilio_gateway import TwilioGateway
from .web import INBOX, MODEMS

log = logging.getLogger(__name__)

SEND_POLL_SECONDS = 0.5  # a queued text waits at most this long for its sender
NOTIFY_POLL_SECONDS = 0.5  # an event waits at most this long to become a text
REMINDER_SWEEP_SECONDS = 60  # reminders go from the configured hour, to the minute


@dataclass(frozen=True, slots=True)
class ModemPort:
    """A GSM modem (短信猫) on a serial port, and how to drive it."""

    port: str
    baudrate: int
    send_interval_seconds: float
    part_timeout_seconds: float
    sim_warn_fraction: float  # warn on /healthz when the SIM is fuller than this


@dataclass(frozen=True, slots=True, kw_only=True)
class Background:
    """What the door's background work runs: a Twilio gateway, a modem, and the gateway
    notices and reminders are texted through (``notices``; "" for none)."""

    twilio: TwilioGateway | None
    modem: ModemPort | None
    notices: str
    reminder_hour: int  # hospital-local hour the day-before reminders go out from
    send_lease_seconds: int  # a text being sent is reserved this long for its sender

    @property
    def gateways(self) -> set[str]:
        """The names of the gateways it runs (``twilio``, ``modem``)."""
        names = {self.twilio.name} if self.twilio is not None else set()
        return names | ({ModemGateway.name} if self.modem is not None else set())


@contextlib.asynccontextmanager
async def running(door: web.Application, work: Background) -> AsyncIterator[None]:
    """Run ``work`` for the door ``door`` (the app :func:`sms.web.make_app` made): texts
    the modem reads go to the door's inbox, and the modem is on the door's ``/healthz``
    state until it stops."""
    if work.notices and work.notices not in work.gateways:
        raise ValueError(f"notices go through {work.notices!r}, which is not a gateway it runs")
    inbox = door[INBOX]
    services = inbox.services
    gateways: dict[str, Gateway] = {}
    tasks: list[asyncio.Task] = []
    twilio = work.twilio
    if twilio is not None:
        gateways[twilio.name] = twilio
    if work.modem is not None:

        async def from_modem(incoming) -> None:
            await inbox.take(incoming, send_reply=True)

        async def keep_undecodable(message: Undecodable) -> None:
            await services.handle(
                messages.KeepUndecodable(
                    gateway=message.gateway, pdu=message.pdu, error=message.error
                )
            )

        modem = ModemGateway(
            work.modem.port,
            on_incoming=from_modem,
            on_undecodable=keep_undecodable,
            baudrate=work.modem.baudrate,
            min_interval=work.modem.send_interval_seconds,
            part_timeout=work.modem.part_timeout_seconds,
            sim_warn_fraction=work.modem.sim_warn_fraction,
            now=services.clock.now,
        )
        gateways[modem.name] = modem
        door[MODEMS].append(modem)
        tasks.append(asyncio.create_task(modem.run(), name="modem"))
    for gateway in gateways.values():
        sender = Sender(services, gateway, lease_seconds=work.send_lease_seconds)
        tasks.append(_every(f"sms-sender-{gateway.name}", SEND_POLL_SECONDS, sender.run_once))
    if work.notices:
        notifier = Notifier(services, inbox.replies, work.notices)
        tasks.append(_every("sms-notifier", NOTIFY_POLL_SECONDS, notifier.run_once))
        hour = work.reminder_hour
        tasks.append(
            _every(
                "reminders",
                REMINDER_SWEEP_SECONDS,
                lambda: services.handle(messages.QueueReminders(hour=hour)),
            )
        )
    if gateways:
        log.info("texting: gateways %s, notices %s", sorted(gateways), work.notices or "off")
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    door[MODEMS].clear()
    if twilio is not None:
        await twilio.aclose()


def _every(name: str, interval: float, step) -> asyncio.Task:
    return asyncio.create_task(run_periodically(name, interval, step), name=name)
