"""The HL7 feed through the engine's own machinery (#13): an HL7 subscription in the core,
the outbox fanned out to it, the dispatcher's lane sending each delivery with the HL7
sender to a real local MLLP listener that answers AE, AR (207: the HIS's own trouble),
drops the connection and stays silent. Every booking's messages arrive once each in the
order of its life (S12, S13, S15; S12, S26; S12, S14), under their control ids; an AR
saying the message itself is wrong (200) is dead-lettered, and redelivered it is taken
with the same control id."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from booking_core import feeds
from booking_core.feeds import DeliveryStatus, FeedKind
from booking_core.kernel.actor import Actor, Channel
from hospital_api.dispatch import FeedDispatcher
from hospital_api.hl7.sender import Hl7Sender
from tests.hospital_api.hl7.test_hl7_sender import TIMEOUT, f, life
from tests.support.world import World

ADMIN = Actor("operator", "admin01", None, Channel.AGENT)


@pytest.fixture
def services(sqlite_feed_services):
    return sqlite_feed_services


async def feed(services, his):
    await World(services).hospital()
    made = await services.handle(
        feeds.CreateSubscription(
            actor=ADMIN, hospital_code="H001", kind=FeedKind.HL7, name="HIS v2",
            url=his.url, options={"no_show": "S26"},
        )
    )  # fmt: skip
    sender = Hl7Sender(services, timeout_seconds=TIMEOUT, allow_private=True)
    return made.subscription, FeedDispatcher(services, {FeedKind.HL7: sender})


async def run(services, clock, dispatcher, sub, rounds: int = 30) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _ in range(rounds):
        await dispatcher.fan_out()
        await dispatcher.deliver(sub)
        counts = await services.read(feeds.delivery_counts, ADMIN, sub.id)
        if counts["pending"] == 0:
            break
        clock.set(clock.now() + timedelta(minutes=5))
    return counts


def triggers_by_booking(his) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    seen: set[str] = set()
    for got in his.received:
        if got.answer not in ("AA", "other", "slow") or got.control_id in seen:
            continue
        seen.add(got.control_id)
        m = got.message
        out.setdefault(f(m, "SCH", 1), []).append(f(m, "MSH", 9, 2))
    return out


async def test_a_bookings_life_reaches_the_his_once_in_order_through_its_failures(
    services, clock, his
):
    sub, dispatcher = await feed(services, his)
    try:
        his.answer("AE", ("AR", "207"), "drop", "silent", "AE")
        rows, _zhang = await life(World(services), services, clock)
        counts = await run(services, clock, dispatcher, sub)
    finally:
        await dispatcher.senders[FeedKind.HL7].close()
    booking_rows = [r for r in rows if r.topic != "booking.completed"]
    assert (counts["pending"], counts["dead"]) == (0, 0)
    assert counts["done"] > len(rows)  # the catalogue's and patients' events too: no message
    accepted = Counter(his.accepted())
    assert set(accepted.values()) == {1}  # each control id taken once: nothing doubled
    assert len(accepted) == len(booking_rows)  # nothing lost (completed sends no message)
    by_booking = triggers_by_booking(his)
    zhang, li, wang = (r.key for r in rows if r.topic == "booking.created")
    assert by_booking == {
        zhang: ["S12", "S13", "S15"],
        li: ["S12", "S26"],
        wang: ["S12", "S14"],
    }
    assert len(his.received) == len(booking_rows) + 5  # the five failures were resent


async def test_a_message_the_his_rejects_is_dead_until_redelivered_with_its_control_id(
    services, clock, his
):
    sub, dispatcher = await feed(services, his)
    try:
        his.answer(("AR", "200"))
        await life(World(services), services, clock)
        counts = await run(services, clock, dispatcher, sub)
        assert counts["dead"] == 1
        [dead] = await services.read(feeds.deliveries, ADMIN, sub.id, status=DeliveryStatus.DEAD)
        [attempt] = await services.read(feeds.attempts, ADMIN, dead.id)
        assert "200" in attempt.error
        rejected = his.received[0].control_id
        await services.handle(feeds.Redeliver(actor=ADMIN, subscription_id=sub.id))
        counts = await run(services, clock, dispatcher, sub)
    finally:
        await dispatcher.senders[FeedKind.HL7].close()
    assert counts["dead"] == 0
    assert his.accepted().count(rejected) == 1
    assert [r.control_id for r in his.received].count(rejected) == 2
