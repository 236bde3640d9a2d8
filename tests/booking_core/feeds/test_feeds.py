"""Feeds to hospital systems (#13), on both stores: a subscription is made with a secret
shown once and kept encrypted; every event of its hospital and topics is fanned out to it
once; one booking's events are claimed one at a time in order; a failed attempt comes back
after a back-off, a delivery failing for 3 days (or rejected) is dead until redelivered;
a rotated secret overlaps; the log is purged after 30 days."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

from booking_core import bookings, feeds
from booking_core.feeds import AttemptResult, DeliveryStatus, FeedKind, Outcome
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import InvalidInput, InvalidState, NotFound
from booking_core.kernel.unit import rows
from tests.support.world import World, first_slot


def services_of(world):
    return world.services


ADMIN = Actor("operator", "admin01", None, Channel.AGENT)
DAY = date(2026, 7, 11)


@pytest.fixture
def services(feed_services):
    return feed_services


@pytest.fixture
def world(services):
    return World(services)


def subscribe(code="H001", kind=FeedKind.WEBHOOK, url="https://his.example.cn/hooks", **kw):
    kw.setdefault("name", "HIS")
    return feeds.CreateSubscription(actor=ADMIN, hospital_code=code, kind=kind, url=url, **kw)


async def fan_out(services) -> int:
    total = 0
    while n := await services.handle(feeds.FanOutEvents()):
        total += n
    return total


async def claim(services, sub, **kw):
    return await services.handle(feeds.ClaimDeliveries(subscription_id=sub.id, **kw))


def result(outcome=Outcome.DELIVERED, status=200, error=""):
    return AttemptResult(outcome=outcome, duration_ms=12, status_code=status, error=error)


async def record(services, delivery, outcome=Outcome.DELIVERED, **kw):
    [recorded] = await services.handle(
        feeds.RecordAttempts(results=((delivery.id, result(outcome, **kw)),))
    )
    return recorded


async def two_bookings(world):
    session = await world.basic(DAY, places=4)
    a, b = await world.patients(2)
    slot = await first_slot(services_of(world), session.id)
    one = await world.book(slot, a)
    two = await world.book(slot, b)
    return one, two


# --- subscriptions ------------------------------------------------------------------------


async def test_a_webhook_subscription_gets_a_secret_shown_once_and_kept_encrypted(
    services, world, cipher
):
    await world.hospital()
    made = await services.handle(subscribe(topics=("booking.created", "booking.cancelled")))
    assert made.secret.startswith("whsec_")
    assert len(base64.b64decode(made.secret.removeprefix("whsec_"))) == 32
    sub = made.subscription
    assert (sub.kind, sub.url, sub.topics, sub.active, sub.hospital_code) == (
        FeedKind.WEBHOOK,
        "https://his.example.cn/hooks",
        ("booking.cancelled", "booking.created"),
        True,
        "H001",
    )

    def stored(tx):
        return (yield rows("SELECT secret FROM feed_subscriptions"))

    [row] = await services.store.read(stored)
    assert made.secret not in row["secret"]  # encrypted at rest
    secrets = await services.read(feeds.signing_secrets, sub.id, cipher)
    assert (secrets.current, secrets.previous) == (made.secret, None)
    assert await services.read(feeds.subscriptions, ADMIN) == [sub]


async def test_an_hl7_endpoint_has_no_secret_and_its_options_are_checked(services, world):
    await world.hospital()
    made = await services.handle(
        subscribe(kind=FeedKind.HL7, url="mllp://10.1.2.3:2575", options={"no_show": "S17"})
    )
    assert made.secret is None
    assert made.subscription.options == {"no_show": "S17"}
    with pytest.raises(InvalidInput, match="options"):
        await services.handle(
            subscribe(kind=FeedKind.HL7, url="mllp://h:1", options={"no_show": "S99"})
        )
    with pytest.raises(InvalidInput, match="options"):
        await services.handle(subscribe(options={"no_show": "S26"}))  # a webhook takes none
    with pytest.raises(InvalidState):
        await services.handle(feeds.RotateSecret(actor=ADMIN, subscription_id=made.subscription.id))


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        (FeedKind.WEBHOOK, "ftp://his.example.cn/x"),
        (FeedKind.WEBHOOK, "https://user:pw@his.example.cn/x"),
        (FeedKind.WEBHOOK, "https:///nohost"),
        (FeedKind.WEBHOOK, "https://his.example.cn:99999999999999999999/x"),
        (FeedKind.WEBHOOK, "https://his example/x"),
        (FeedKind.WEBHOOK, "https://h.cn/" + "x" * 2001),
        (FeedKind.HL7, "mllp://his.example.cn"),
        (FeedKind.HL7, "https://his.example.cn:2575"),
        (FeedKind.HL7, "mllp://his.example.cn:2575/path"),
    ],
)
async def test_a_malformed_address_is_refused(services, world, kind, url):
    await world.hospital()
    with pytest.raises(InvalidInput, match="url"):
        await services.handle(subscribe(kind=kind, url=url))


async def test_an_unknown_topic_is_refused(services, world):
    await world.hospital()
    with pytest.raises(InvalidInput, match=r"booking\.eaten"):
        await services.handle(subscribe(topics=("booking.created", "booking.eaten")))


async def test_another_hospitals_subscription_is_not_found(services, world):
    await world.hospital()
    await world.hospital("H002")
    made = await services.handle(subscribe())
    other = Actor("operator", "h2admin", 2, Channel.AGENT)
    with pytest.raises(NotFound):
        await services.read(feeds.subscription, other, made.subscription.id)
    with pytest.raises(NotFound):
        await services.handle(
            feeds.UpdateSubscription(
                actor=other, subscription_id=made.subscription.id, active=False
            )
        )
    assert await services.read(feeds.subscriptions, other) == []


async def test_a_rotated_secret_still_signs_until_its_overlap_ends(services, world, clock, cipher):
    await world.hospital()
    made = await services.handle(subscribe())
    rotated = await services.handle(
        feeds.RotateSecret(actor=ADMIN, subscription_id=made.subscription.id, overlap_hours=2)
    )
    assert rotated.secret != made.secret
    secrets = await services.read(feeds.signing_secrets, made.subscription.id, cipher)
    assert (secrets.current, secrets.previous) == (rotated.secret, made.secret)
    clock.set(clock.now() + timedelta(hours=2))
    secrets = await services.read(feeds.signing_secrets, made.subscription.id, cipher)
    assert (secrets.current, secrets.previous) == (rotated.secret, None)


# --- fan-out and order ----------------------------------------------------------------------


async def test_each_event_is_fanned_out_once_to_the_subscriptions_that_want_it(services, world):
    await world.hospital()
    await world.hospital("H002")
    world = world.at("H001")
    everything = (await services.handle(subscribe(name="all"))).subscription
    cancels = (
        await services.handle(subscribe(name="c", topics=("booking.cancelled",)))
    ).subscription
    off = (await services.handle(subscribe(name="off"))).subscription
    await services.handle(
        feeds.UpdateSubscription(actor=ADMIN, subscription_id=off.id, active=False)
    )
    elsewhere = (await services.handle(subscribe("H002", name="h2"))).subscription
    await fan_out(services)  # the catalogue's own events, before
    one, _two = await two_bookings(world)
    await services.handle(bookings.CancelBooking(booking_no=one.booking.booking_no))
    assert await fan_out(services) > 0
    assert await fan_out(services) == 0  # the outbox's rows are done: once only

    got = await claim(services, everything, limit=100)
    assert [d.event.topic for d in got if d.event.topic.startswith("booking.")] == [
        "booking.created",
        "booking.created",
    ]  # the cancellation of the first booking waits for its creation to be delivered
    assert [d.event.topic for d in await claim(services, cancels)] == ["booking.cancelled"]
    assert await claim(services, off) == []
    assert await claim(services, elsewhere) == []


async def test_one_bookings_events_leave_one_at_a_time_in_order(services, world):
    await world.hospital()
    sub = (
        await services.handle(subscribe(topics=("booking.created", "booking.cancelled")))
    ).subscription
    one, two = await two_bookings(world)
    await services.handle(bookings.CancelBooking(booking_no=one.booking.booking_no))
    await services.handle(bookings.CancelBooking(booking_no=two.booking.booking_no))
    await fan_out(services)
    first = await claim(services, sub)
    assert [(d.event.key, d.event.topic) for d in first] == [
        (one.booking.booking_no, "booking.created"),
        (two.booking.booking_no, "booking.created"),
    ]
    assert await claim(services, sub) == []  # leased; and the cancels wait for them
    await record(services, first[0])
    [after] = await claim(services, sub)
    assert (after.event.key, after.event.topic) == (one.booking.booking_no, "booking.cancelled")
    assert after.message_id == f"msg_{after.event.id}"


# --- retries, dead letters, redelivery --------------------------------------------------------


async def test_a_failed_attempt_comes_back_after_a_back_off_and_dies_after_3_days(
    services, world, clock
):
    await world.hospital()
    sub = (await services.handle(subscribe(topics=("booking.created",)))).subscription
    await two_bookings(world)
    await fan_out(services)
    [d, _] = await claim(services, sub)
    failed = await record(services, d, Outcome.RETRY, status=503, error="HTTP 503")
    assert failed.status is DeliveryStatus.PENDING
    assert 4 <= (failed.due_at - clock.now()).total_seconds() <= 6  # 5 s ± 20 %
    assert (failed.last_status, failed.last_error, failed.attempts) == (503, "HTTP 503", 1)
    assert [x.id for x in await claim(services, sub)] == []  # not due yet
    clock.set(failed.due_at)
    [again] = await claim(services, sub)
    assert (again.id, again.attempts, again.message_id) == (d.id, 2, d.message_id)
    failed = await record(services, again, Outcome.RETRY, status=None, error="timed out")
    assert 8 <= (failed.due_at - clock.now()).total_seconds() <= 12  # doubled
    clock.set(d.first_due_at + timedelta(seconds=feeds.GIVE_UP_AFTER_SECONDS))
    last, other = await claim(services, sub)  # the other booking's, never answered: leased again
    assert (last.id, other.id) == (d.id, _.id)
    dead = await record(services, last, Outcome.RETRY, status=500)
    assert dead.status is DeliveryStatus.DEAD
    log = await services.read(feeds.attempts, ADMIN, d.id)
    assert [(a.attempt, a.outcome, a.status_code) for a in log] == [
        (1, Outcome.RETRY, 503),
        (2, Outcome.RETRY, None),
        (3, Outcome.RETRY, 500),
    ]
    counts = await services.read(feeds.delivery_counts, ADMIN, sub.id)
    assert counts == {"pending": 1, "done": 0, "dead": 1}


async def test_a_rejected_message_is_dead_at_once_and_redelivered_with_its_id(
    services, world, clock
):
    await world.hospital()
    sub = (await services.handle(subscribe(topics=("booking.created",)))).subscription
    await two_bookings(world)
    await fan_out(services)
    d1, d2 = await claim(services, sub)
    rejected = await record(services, d1, Outcome.REJECTED, status=None, error="AR 200")
    assert rejected.status is DeliveryStatus.DEAD
    assert (await record(services, d2, Outcome.REJECTED)).status is DeliveryStatus.DEAD
    assert await claim(services, sub) == []
    one = feeds.Redeliver(actor=ADMIN, subscription_id=sub.id, delivery_id=d1.id)
    assert await services.handle(one) == 1
    [again] = await claim(services, sub)
    assert (again.id, again.message_id, again.attempts) == (d1.id, d1.message_id, 2)
    await record(services, again)
    assert await services.handle(feeds.Redeliver(actor=ADMIN, subscription_id=sub.id)) == 1  # d2
    [last] = await claim(services, sub)
    assert last.id == d2.id
    with pytest.raises(NotFound):
        await services.handle(
            feeds.Redeliver(actor=ADMIN, subscription_id=sub.id, delivery_id=10**9)
        )


async def test_an_attempt_on_a_delivery_already_done_is_logged_and_changes_nothing(services, world):
    await world.hospital()
    sub = (await services.handle(subscribe(topics=("booking.created",)))).subscription
    await two_bookings(world)
    await fan_out(services)
    [d, _] = await claim(services, sub)
    await record(services, d)
    late = await record(services, d, Outcome.RETRY, status=502)  # a second sender's lease ran out
    assert late.status is DeliveryStatus.DONE
    assert len(await services.read(feeds.attempts, ADMIN, d.id)) == 2


async def test_the_log_is_purged_after_30_days_but_never_what_is_pending(services, world, clock):
    await world.hospital()
    sub = (await services.handle(subscribe(topics=("booking.created",)))).subscription
    await two_bookings(world)
    await fan_out(services)
    d1, d2 = await claim(services, sub)
    await record(services, d1)
    await record(services, d2, Outcome.RETRY, status=500)
    clock.set(clock.now() + timedelta(days=31))
    assert await services.handle(feeds.PurgeFeedLog(days=feeds.LOG_DAYS)) == (2, 1)
    [left] = await services.read(feeds.deliveries, ADMIN, sub.id)
    assert (left.id, left.status) == (d2.id, DeliveryStatus.PENDING)


def test_the_back_off_doubles_to_an_hour_with_jitter():
    assert [feeds.retry_delay(n, lambda: 0.5) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert feeds.retry_delay(50, lambda: 0.5) == 3600
    assert feeds.retry_delay(1, lambda: 0.0) == 4
    assert feeds.retry_delay(1, lambda: 1.0) == 6


async def test_a_lanes_batch_of_attempts_is_recorded_in_one_unit(services, world, clock):
    await world.hospital()
    sub = (await services.handle(subscribe(topics=("booking.created",)))).subscription
    await two_bookings(world)
    await fan_out(services)
    d1, d2 = await claim(services, sub)
    recorded = await services.handle(
        feeds.RecordAttempts(
            results=((d2.id, result(Outcome.RETRY, status=502)), (d1.id, result())),
            first_retry_seconds=60,
        )
    )
    assert [(d.id, d.status) for d in recorded] == [
        (d1.id, DeliveryStatus.DONE),
        (d2.id, DeliveryStatus.PENDING),
    ]
    assert 48 <= (recorded[1].due_at - clock.now()).total_seconds() <= 72  # 60 s ± 20 %
    assert [a.status_code for a in await services.read(feeds.attempts, ADMIN, d2.id)] == [502]
