"""The outbox purge: delivered events go after the retention, undelivered ones never do
(on SQLite and PostgreSQL)."""

from __future__ import annotations

from booking_core.events import outbox
from booking_core.kernel.unit import rows
from tests.support.events import noted

CONSUMER = "test"  # the store fixture's one consumer
RETENTION_DAYS = 7


def emit(tx, name: str):
    """A unit of work that only records one event (a unit is a generator, even a query-less one)."""
    tx.emit(noted(name))
    yield from ()


async def new_event(services, name: str) -> int:
    await services.store.write(emit, name)
    found = await services.read(outbox.events, key=name)
    assert len(found) == 1
    return found[0].id


def delivery_rows(tx):
    found = yield rows(
        "SELECT event_id, done_at FROM outbox_deliveries WHERE consumer = ? ORDER BY event_id",
        CONSUMER,
    )
    return {r["event_id"]: r["done_at"] is not None for r in found}


async def state(services) -> tuple[set[int], dict[int, bool]]:
    """(the ids of the events left, {event id: delivered?} of the delivery rows left)."""
    events = {e.id for e in await services.read(outbox.events)}
    return events, await services.store.read(delivery_rows)


async def purge(services, days: int = RETENTION_DAYS) -> tuple[int, int]:
    return await services.store.write(outbox.purge_delivered, days)


async def test_purge_removes_only_events_delivered_before_the_retention(services, clock):
    delivered_early = await new_event(services, "delivered-early")
    never_delivered = await new_event(services, "never-delivered")
    delivered_late = await new_event(services, "delivered-late")
    failing = await new_event(services, "failing")
    assert await services.mark_done(CONSUMER, [delivered_early]) == 1
    await services.retry_later(CONSUMER, failing, 60, "HIS answered 503")

    clock.advance(days=3)
    assert await services.mark_done(CONSUMER, [delivered_late]) == 1
    clock.advance(days=5)  # early: delivered 8 days ago; late: 5 days ago
    fresh = await new_event(services, "fresh")
    assert await services.mark_done(CONSUMER, [fresh]) == 1

    assert await purge(services) == (1, 1)
    events, deliveries = await state(services)
    assert events == {never_delivered, delivered_late, failing, fresh}
    assert deliveries == {never_delivered: False, delivered_late: True, failing: False, fresh: True}

    clock.advance(days=3)  # late: 8 days ago now
    assert await purge(services) == (1, 1)
    events, deliveries = await state(services)
    assert events == {never_delivered, failing, fresh}
    assert deliveries == {never_delivered: False, failing: False, fresh: True}

    clock.advance(days=365)  # however old, an undelivered event stays, and is still claimed
    assert await purge(services) == (1, 1)
    events, deliveries = await state(services)
    assert events == {never_delivered, failing}
    assert deliveries == {never_delivered: False, failing: False}
    assert {e.id for e in await services.claim(CONSUMER)} == {never_delivered, failing}


async def test_purge_with_nothing_old_enough_deletes_nothing(services, clock):
    event = await new_event(services, "just-now")
    await services.mark_done(CONSUMER, [event])
    clock.advance(days=RETENTION_DAYS - 1)
    assert await purge(services) == (0, 0)
    assert await state(services) == ({event}, {event: True})


async def test_ids_keep_rising_after_the_newest_events_are_purged(services, clock):
    """The HIS change feed reads events after an id: a purged id is never handed out again."""
    first = await new_event(services, "first")
    second = await new_event(services, "second")
    await services.mark_done(CONSUMER, [first, second])
    clock.advance(days=RETENTION_DAYS + 1)
    assert await purge(services) == (2, 2)
    assert await state(services) == (set(), {})
    assert await new_event(services, "third") > second
