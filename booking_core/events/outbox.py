"""The outbox (发件箱): events written in the same transaction as the change they
describe, delivered at least once by workers after the commit.

Each configured consumer (an SMS notifier, a HIS webhook sender …) gets its own
delivery row per event, so one slow consumer never holds back another. The API a
delivery worker uses: :func:`claim` a batch (leased for a while, so a crashed
worker's batch comes back), then :func:`mark_done` or :func:`retry_later`. Delivered
events are deleted after a while by :func:`purge_delivered` (the engine's hourly purge).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..kernel.unit import Row, Tx, Unit, execute, from_epoch, rows
from .model import OutboxEvent

MAX_ERROR_LENGTH = 500

SECONDS_PER_DAY = 86_400


def claim(
    tx: Tx, consumer: str, limit: int = 100, lease_seconds: int = 60
) -> Unit[list[OutboxEvent]]:
    """Up to ``limit`` due events for ``consumer``, oldest first, leased to the caller."""
    found = yield rows(
        "SELECT d.event_id, d.attempts, e.topic, e.hospital_id, e.aggregate, e.payload, "
        "e.created_at FROM outbox_deliveries d JOIN outbox e ON e.id = d.event_id "
        "WHERE d.consumer = ? AND d.done_at IS NULL AND d.available_at <= ? AND d.lease_until <= ? "
        "ORDER BY d.event_id LIMIT ?",
        consumer,
        tx.epoch,
        tx.epoch,
        limit,
        lock="skip",  # two workers of one consumer never claim the same event
    )
    if not found:
        return []
    ids = [r["event_id"] for r in found]
    marks = ", ".join("?" * len(ids))
    yield execute(
        f"UPDATE outbox_deliveries SET lease_until = ?, attempts = attempts + 1 "
        f"WHERE consumer = ? AND event_id IN ({marks})",
        tx.epoch + lease_seconds,
        consumer,
        *ids,
    )
    return [_event_from(r, r["event_id"], attempts=r["attempts"] + 1) for r in found]


def mark_done(tx: Tx, consumer: str, event_ids: Sequence[int]) -> Unit[int]:
    if not event_ids:
        return 0
    marks = ", ".join("?" * len(event_ids))
    return (
        yield execute(
            f"UPDATE outbox_deliveries SET done_at = ?, last_error = NULL "
            f"WHERE consumer = ? AND event_id IN ({marks}) AND done_at IS NULL",
            tx.epoch,
            consumer,
            *event_ids,
        )
    )


def retry_later(tx: Tx, consumer: str, event_id: int, delay_seconds: int, error: str) -> Unit[int]:
    return (
        yield execute(
            "UPDATE outbox_deliveries SET available_at = ?, lease_until = 0, last_error = ? "
            "WHERE consumer = ? AND event_id = ? AND done_at IS NULL",
            tx.epoch + delay_seconds,
            error[:MAX_ERROR_LENGTH],
            consumer,
            event_id,
        )
    )


def purge_delivered(tx: Tx, older_than_days: int) -> Unit[tuple[int, int]]:
    """Delete what has been delivered for more than ``older_than_days``: the delivery rows
    marked done before then, and the events created before then that no delivery row is
    left for (every consumer's row done and purged, or no consumer was configured when it
    was written). An undelivered row is never deleted, nor is the event it is for.
    Returns (delivery rows deleted, events deleted)."""
    cutoff = tx.epoch - older_than_days * SECONDS_PER_DAY
    deliveries = yield execute(
        "DELETE FROM outbox_deliveries WHERE done_at IS NOT NULL AND done_at < ?", cutoff
    )
    purged = yield execute(PURGE_EVENTS[tx.dialect], cutoff)
    return deliveries, purged


# No index leads from an event to its deliveries, so each dialect gets the form it runs in
# one pass: SQLite builds the list of ids once (NOT IN), PostgreSQL an anti-join (NOT EXISTS;
# its NOT IN goes row by row once the ids outgrow work_mem).
PURGE_EVENTS = {
    "sqlite": "DELETE FROM outbox WHERE created_at < ? "
    "AND id NOT IN (SELECT event_id FROM outbox_deliveries)",
    "postgres": "DELETE FROM outbox WHERE created_at < ? "
    "AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_id = outbox.id)",
}


def events(
    tx: Tx, *, topic: str | None = None, key: str | None = None, after_id: int = 0
) -> Unit[list[OutboxEvent]]:
    """Recorded events in order (tests, reports and the HIS change feed)."""
    where: list[str] = ["id > ?"]
    args: list[Any] = [after_id]
    if topic:
        where.append("topic = ?")
        args.append(topic)
    if key:
        where.append("aggregate = ?")
        args.append(key)
    found = yield rows(
        f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT 10000", *args
    )
    return [_event_from(r, r["id"]) for r in found]


def _event_from(row: Row, event_id: int, attempts: int = 0) -> OutboxEvent:
    return OutboxEvent(
        id=event_id,
        topic=row["topic"],
        hospital_id=row["hospital_id"],
        key=row["aggregate"],
        payload=json.loads(row["payload"]),
        created_at=from_epoch(row["created_at"]),
        attempts=attempts,
    )
