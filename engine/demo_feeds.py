"""The demo's hospital system (HIS) receiving webhooks: a subscription of the demo
hospital to every booking event, delivered to a small receiver beside the engine that
checks each request's Standard Webhooks signature and prints what arrived, so a booking
made at any door shows its webhook on the demo's terminal (and in ``webhooks.ndjson``).

The receiver is on 127.0.0.1, which the SSRF guard refuses unless
``feeds_allow_private_addresses`` is on: the demo turns it on (a real engine would not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from booking_core import feeds
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor

from .demo_kiosk import free_port

PATH = "/webhook"
TOPICS = (
    "booking.created",
    "booking.confirmed",
    "booking.paid",
    "booking.cancelled",
    "booking.moved",
    "booking.checked_in",
    "booking.no_show",
)


@dataclass(frozen=True)
class DemoFeed:
    port: int
    secret: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


async def prepare(services: BookingServices, folder: Path, actor: Actor) -> DemoFeed:
    """The demo hospital's webhook subscription to the receiver's address."""
    port = free_port()
    made = await services.handle(
        feeds.CreateSubscription(
            actor=actor,
            hospital_code="H001",
            kind=feeds.FeedKind.WEBHOOK,
            name="演示 HIS (demo receiver)",
            url=f"http://127.0.0.1:{port}{PATH}",
            topics=TOPICS,
        )
    )
    assert made.secret is not None
    return DemoFeed(port, made.secret, folder / "webhooks.ndjson")


def receiver_ctx(feed: DemoFeed) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the receiver while the engine runs."""

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            message = Webhook(feed.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as err:
            print(f"[demo HIS] refused a webhook: {err}", flush=True)
            return web.Response(status=401)
        with feed.log.open("ab") as log:
            log.write(body + b"\n")
        data = message.get("data", {})
        print(
            f"[demo HIS] webhook {message['id']} {message['type']} {message['key']} "
            f"({data.get('status', '')}, {data.get('day', '')} {data.get('start', '')}): "
            "signature verified",
            flush=True,
        )
        return web.Response(status=204)

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        receiver = web.Application()
        receiver.router.add_post(PATH, hook)
        runner = web.AppRunner(receiver, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", feed.port).start()
        try:
            yield
        finally:
            await runner.cleanup()

    return ctx


def describe(feed: DemoFeed) -> str:
    return (
        f"  Webhooks: every booking change is POSTed, signed, to a demo HIS on {feed.url};\n"
        f"    it checks the signature and prints each one here ([demo HIS] …), bodies in "
        f"{feed.log}.\n    The delivery log: /console/office/feeds (hospital admin)."
    )


__all__ = ["DemoFeed", "describe", "prepare", "receiver_ctx"]
