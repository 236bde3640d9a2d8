"""The HL7 listener wired into the engine (HL7 接收): the HIS's window check-ins, payments
and cancellations as SIU S14 and S15 over MLLP (:mod:`hospital_api.hl7.inbound`).

One cleanup context (:func:`hl7_listening_ctx`) of the engine's app, after the store's,
mounted only when ``hl7_listen_port`` is set: it listens when the engine starts and stops
listening (letting a message being acted on finish) before the store closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from hospital_api.hl7.inbound import Hl7Inbound

from .config import Settings
from .keys import SERVICES, SETTINGS


def mount(app: web.Application, settings: Settings) -> None:
    """The listener, when the settings ask for it."""
    if settings.hl7_listen_port:
        app.cleanup_ctx.append(hl7_listening_ctx)


async def hl7_listening_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    inbound = Hl7Inbound(app[SERVICES], settings.hl7_listen_hospital, settings.hl7_listen_peers)
    await inbound.start(settings.hl7_listen_host, settings.hl7_listen_port)
    try:
        yield
    finally:
        await inbound.close()
