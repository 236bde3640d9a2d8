"""The hospital feeds wired into the engine: the outbox consumer ``feeds`` and the
dispatcher that delivers to every active subscription (:mod:`hospital_api.dispatch`), with
a sender per kind (webhooks; HL7 v2 over MLLP).

One cleanup context (:func:`feeding_ctx`) of the engine's app, after the store's. With
``feeds = false`` the engine neither records deliveries for it nor sends any.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from booking_core import feeds
from hospital_api.dispatch import FeedDispatcher, Sender, lease_seconds
from hospital_api.webhooks import WebhookSender

from .config import Settings
from .keys import SERVICES, SETTINGS
from .workers import stop

CONSUMER = feeds.OUTBOX_CONSUMER


def outbox_consumers(settings: Settings, consumers: tuple[str, ...]) -> tuple[str, ...]:
    """``consumers``, plus the feeds' when they are on."""
    if settings.feeds and CONSUMER not in consumers:
        return (*consumers, CONSUMER)
    return consumers


def mount(app: web.Application, settings: Settings) -> None:
    if settings.feeds:
        app.cleanup_ctx.append(feeding_ctx)


def senders(services, settings: Settings) -> dict[feeds.FeedKind, Sender]:
    allow = settings.feeds_allow_private_addresses
    timeout = settings.feeds_timeout_seconds
    return {feeds.FeedKind.WEBHOOK: WebhookSender(services, allow_private=allow, timeout=timeout)}


async def feeding_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = app[SETTINGS]
    dispatcher = FeedDispatcher(
        services,
        senders(services, settings),
        lease_seconds=lease_seconds(settings.feeds_timeout_seconds),
        first_retry_seconds=settings.feeds_first_retry_seconds,
    )
    task = asyncio.create_task(dispatcher.run(), name="feeds")
    try:
        yield
    finally:
        await stop(task)  # as every worker: a statement cut short is logged, not raised
