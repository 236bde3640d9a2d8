"""Signed webhooks (#13), in one process with a real local receiver: each delivery is
signed as Standard Webhooks say (verified with the ``standardwebhooks`` package, and by
hand with the spec's algorithm), carries the same id on every attempt, and a receiver's
failure, silence, redirect or a refused address is a retry the core schedules; during a
secret rotation both signatures are sent; one booking's events arrive in order."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import date, timedelta

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook

from booking_core import bookings, feeds
from booking_core.feeds import DeliveryStatus, FeedKind, Outcome
from booking_core.kernel.actor import Actor, Channel
from hospital_api.dispatch import FeedDispatcher
from hospital_api.webhooks import WebhookSender
from tests.support.world import World, first_slot

ADMIN = Actor("operator", "admin01", None, Channel.AGENT)
DAY = date(2026, 7, 11)


@pytest.fixture
def services(sqlite_feed_services):
    return sqlite_feed_services


class Receiver:
    """A subscriber's endpoint: answers as ``script`` says (a status, "slow", "redirect"),
    200 once the script is used up; keeps every request it got."""

    def __init__(self) -> None:
        self.script: list[int | str] = []
        self.got: list[tuple[dict, bytes]] = []
        self.fail_once: set[tuple[str, str]] = set()  # (key, type) answered 500 the first time

    async def hook(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.got.append((dict(request.headers), body))
        message = json.loads(body)
        if (message["key"], message["type"]) in self.fail_once:
            self.fail_once.discard((message["key"], message["type"]))
            return web.Response(status=500)
        step = self.script.pop(0) if self.script else 200
        if step == "slow":
            await asyncio.sleep(2)
            return web.Response(status=200)
        if step == "redirect":
            raise web.HTTPFound("/elsewhere")
        return web.Response(status=int(step))


@pytest.fixture
async def receiver(aiohttp_server):
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.hook)
    server = await aiohttp_server(app)
    r.url = f"http://127.0.0.1:{server.port}/hook"
    return r


async def setup(services, receiver, topics=("booking.created", "booking.cancelled"), **kw):
    world = World(services)
    session = await world.basic(DAY, places=4)
    made = await services.handle(
        feeds.CreateSubscription(
            actor=ADMIN, hospital_code="H001", kind=FeedKind.WEBHOOK, name="HIS",
            url=receiver.url, topics=topics,
        )
    )  # fmt: skip
    sender = WebhookSender(services, allow_private=kw.pop("allow_private", True), **kw)
    dispatcher = FeedDispatcher(services, {FeedKind.WEBHOOK: sender})
    slot = await first_slot(services, session.id)
    return world, made, dispatcher, slot


async def run(dispatcher, subscription) -> None:
    await dispatcher.fan_out()
    while await dispatcher.deliver(subscription):
        pass


async def test_a_delivery_is_signed_as_standard_webhooks_say(services, receiver):
    world, made, dispatcher, slot = await setup(services, receiver)
    [patient] = await world.patients(1)
    booking = (await world.book(slot, patient)).booking
    await run(dispatcher, made.subscription)
    [(headers, body)] = receiver.got
    payload = Webhook(made.secret).verify(body, headers)  # the package's own check
    assert payload["type"] == "booking.created"
    assert payload["key"] == booking.booking_no
    assert payload["hospital"] == "H001"
    assert payload["data"]["booking_no"] == booking.booking_no
    assert payload["id"] == headers["webhook-id"]
    assert payload["id"].startswith("msg_")
    # and by hand, as the spec publishes the algorithm
    key = base64.b64decode(made.secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{mac}"
    assert headers["Content-Type"] == "application/json"
    assert "患者" not in headers.get("User-Agent", "")
    await dispatcher.senders[FeedKind.WEBHOOK].close()


async def test_a_forged_body_does_not_verify(services, receiver):
    world, made, dispatcher, slot = await setup(services, receiver)
    [patient] = await world.patients(1)
    await world.book(slot, patient)
    await run(dispatcher, made.subscription)
    [(headers, body)] = receiver.got
    forged = body.replace(b'"paid":0', b'"paid":1')
    assert forged != body
    with pytest.raises(Exception, match="signature"):
        Webhook(made.secret).verify(forged, headers)
    await dispatcher.senders[FeedKind.WEBHOOK].close()


async def test_failures_are_retried_with_the_same_id_until_delivered(services, receiver, clock):
    world, made, dispatcher, slot = await setup(services, receiver, timeout=0.5)
    [patient] = await world.patients(1)
    await world.book(slot, patient)
    receiver.script = [503, "slow", "redirect", 200]
    sub = made.subscription
    for _ in range(4):
        await run(dispatcher, sub)
        clock.set(clock.now() + timedelta(hours=1))
    ids = {h["webhook-id"] for h, _ in receiver.got}
    assert len(receiver.got) == 4
    assert len(ids) == 1  # one message, four attempts
    [delivery] = await services.read(feeds.deliveries, ADMIN, sub.id)
    assert delivery.status is DeliveryStatus.DONE
    log = await services.read(feeds.attempts, ADMIN, delivery.id)
    assert [(a.outcome, a.status_code) for a in log] == [
        (Outcome.RETRY, 503),
        (Outcome.RETRY, None),
        (Outcome.RETRY, 302),
        (Outcome.DELIVERED, 200),
    ]
    assert log[1].error == "no answer within 0.5 s"
    assert log[2].error == "HTTP 302"
    await dispatcher.senders[FeedKind.WEBHOOK].close()


async def test_a_loopback_subscriber_is_refused_at_send_unless_allowed(services, receiver):
    world, made, dispatcher, slot = await setup(services, receiver, allow_private=False)
    [patient] = await world.patients(1)
    await world.book(slot, patient)
    await run(dispatcher, made.subscription)
    assert receiver.got == []
    [delivery] = await services.read(feeds.deliveries, ADMIN, made.subscription.id)
    [attempt] = await services.read(feeds.attempts, ADMIN, delivery.id)
    assert attempt.outcome is Outcome.RETRY
    assert attempt.error == "address refused: a loopback address"
    await dispatcher.senders[FeedKind.WEBHOOK].close()


async def test_during_a_rotation_both_secrets_sign(services, receiver):
    world, made, dispatcher, slot = await setup(services, receiver)
    rotated = await services.handle(
        feeds.RotateSecret(actor=ADMIN, subscription_id=made.subscription.id)
    )
    [patient] = await world.patients(1)
    await world.book(slot, patient)
    await run(dispatcher, made.subscription)
    [(headers, body)] = receiver.got
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(made.secret).verify(body, headers)  # a receiver not switched yet
    Webhook(rotated.secret).verify(body, headers)  # a receiver switched already
    await dispatcher.senders[FeedKind.WEBHOOK].close()


async def test_one_bookings_events_arrive_in_the_order_they_happened(services, receiver, clock):
    world, made, dispatcher, slot = await setup(services, receiver)
    a, b = await world.patients(2)
    first = (await world.book(slot, a)).booking
    second = (await world.book(slot, b)).booking
    await services.handle(bookings.CancelBooking(booking_no=first.booking_no))
    receiver.fail_once = {(first.booking_no, "booking.created")}
    for _ in range(3):
        await run(dispatcher, made.subscription)
        clock.set(clock.now() + timedelta(minutes=5))
    seen = [(m["key"], m["type"]) for m in (json.loads(body) for _, body in receiver.got)]
    assert seen.count((first.booking_no, "booking.created")) == 2  # failed once, then taken
    assert seen.count((first.booking_no, "booking.cancelled")) == 1
    # the cancellation was not sent before its creation was delivered (the second time)
    last_created = len(seen) - 1 - seen[::-1].index((first.booking_no, "booking.created"))
    assert seen.index((first.booking_no, "booking.cancelled")) > last_created
    assert seen.count((second.booking_no, "booking.created")) == 1  # not held back by the first
    await dispatcher.senders[FeedKind.WEBHOOK].close()
