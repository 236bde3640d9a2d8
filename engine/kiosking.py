"""The kiosks in the hospital hall (自助机) wired into the engine: the settings read into the
hall's background work (:mod:`hardware.hall.background`: the link to the kiosks' broker and
what kiosks ask of it, the ``kiosk`` outbox consumer, the re-send sweep, the broker's files).

One cleanup context (:func:`kiosking_ctx`) of the engine's app, after the store's: it
starts once the store is open and stops before the store closes. Without
``kiosk_broker_url`` it does nothing (the engine has no kiosks).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from booking_core import kiosks
from hardware.hall.address import BrokerAddress
from hardware.hall.background import Hall, Running, running
from hardware.hall.mosquitto import BrokerFiles, EngineAccount

from .config import Settings, require_secret
from .keys import SERVICES, SETTINGS

log = logging.getLogger(__name__)


@dataclass
class HallState:
    """The hall at work while the engine runs with kiosks (None before and after)."""

    at_work: Running | None = None


HALL = web.AppKey("hall", HallState)
"""The hall's state, for /healthz (set when the app is built: a running app's state is
not to be changed)."""

CONSUMER = kiosks.OUTBOX_CONSUMER


def outbox_consumers(settings: Settings, consumers: tuple[str, ...]) -> tuple[str, ...]:
    """``consumers``, plus the kiosks' when the engine has a broker."""
    if settings.kiosk_broker_url and CONSUMER not in consumers:
        return (*consumers, CONSUMER)
    return consumers


def hall(settings: Settings) -> Hall | None:
    """The hall's work as the settings describe it; None without a broker. ConfigError for
    a broker without the engine's password."""
    if not settings.kiosk_broker_url:
        return None
    address = BrokerAddress.from_url(
        settings.kiosk_broker_url, settings.kiosk_broker_ca_path or None
    )
    account = EngineAccount(
        settings.kiosk_broker_user, require_secret(settings, "kiosk_broker_password")
    )
    files = None
    if settings.kiosk_broker_passwd_path:
        files = BrokerFiles(
            Path(settings.kiosk_broker_passwd_path),
            Path(settings.kiosk_broker_acl_path),
            Path(settings.kiosk_broker_pid_path) if settings.kiosk_broker_pid_path else None,
        )
    return Hall(
        address=address,
        account=account,
        client_id=settings.kiosk_broker_client_id,
        files=files,
        timezone=settings.timezone,
    )


def mount(app: web.Application, settings: Settings) -> None:
    """The hall's background work, when the engine has kiosks (checked as the app is built)."""
    if hall(settings) is not None:
        app[HALL] = HallState()
        app.cleanup_ctx.append(kiosking_ctx)


async def kiosking_ctx(app: web.Application) -> AsyncIterator[None]:
    work = hall(app[SETTINGS])
    if work is None:
        yield
        return
    state = app[HALL]
    async with running(app[SERVICES], work) as at_work:
        state.at_work = at_work
        try:
            yield
        finally:
            state.at_work = None


def health(app: web.Application) -> dict[str, Any]:
    """What ``/healthz`` adds about the kiosks: whether the broker is connected."""
    state = app.get(HALL)
    at_work = None if state is None else state.at_work
    if at_work is None:
        return {}
    link = at_work.link
    body: dict[str, Any] = {"connected": link.connected.is_set(), "broker": str(link.address)}
    if not body["connected"]:
        body["warning"] = f"the kiosks' broker at {link.address} is not connected"
    return {"kiosk_broker": body}
