"""Deliveries (投递): the outbox's events fanned out to the subscriptions, claimed by their
senders in order per aggregate, each attempt logged, retried with back-off and jitter,
dead-lettered after 3 days (or at once when the receiver rejects the message), and sent
again when someone asks."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from ..events.audit import AuditAction
from ..events.outbox import claim, mark_done
from ..kernel.deps import Deps
from ..kernel.errors import NotFound
from ..kernel.unit import Tx, Unit, dumps, execute, rows
from .commands import (
    ClaimDeliveries,
    FanOutEvents,
    PurgeFeedLog,
    RecordAttempts,
    Redeliver,
)
from .model import (
    FIRST_RETRY_SECONDS,
    GIVE_UP_AFTER_SECONDS,
    JITTER,
    MAX_RETRY_SECONDS,
    OUTBOX_CONSUMER,
    AttemptResult,
    Delivery,
    DeliveryStatus,
    Outcome,
)
from .repo import DELIVERY_SQL, delivery_by_id, delivery_from, seen_subscription

SECONDS_PER_DAY = 86_400
MAX_ERROR = 500


def retry_delay(
    attempts: int,
    draw: Callable[[], float] = random.random,
    first: int = FIRST_RETRY_SECONDS,
) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: ``first`` (5 s)
    doubling to an hour, ± 20 % at random (so receivers coming back are not hit by every
    retry at once)."""
    base = min(MAX_RETRY_SECONDS, first * 2 ** max(0, min(attempts - 1, 20)))
    return max(1, round(base * (1 - JITTER + 2 * JITTER * draw())))


def _past_window(tx: Tx, delivery: Delivery) -> bool:
    return tx.epoch - int(delivery.first_due_at.timestamp()) >= GIVE_UP_AFTER_SECONDS


def fan_out_events(tx: Tx, cmd: FanOutEvents, deps: Deps) -> Unit[int]:
    events = yield from claim(tx, OUTBOX_CONSUMER, cmd.limit)
    if not events:
        return 0
    hospitals = sorted({e.hospital_id for e in events if e.hospital_id is not None})
    wanting: dict[int, list[tuple[int, frozenset[str]]]] = {}
    if hospitals:
        marks = ", ".join("?" * len(hospitals))
        found = yield rows(
            f"SELECT id, hospital_id, topics FROM feed_subscriptions "
            f"WHERE active = 1 AND hospital_id IN ({marks}) ORDER BY id",
            *hospitals,
        )
        for row in found:
            topics = frozenset(json.loads(row["topics"]))
            wanting.setdefault(row["hospital_id"], []).append((row["id"], topics))
    for event in events:  # in the outbox's order: deliveries' ids keep it
        for subscription_id, topics in wanting.get(event.hospital_id or 0, ()):
            if topics and event.topic not in topics:
                continue
            yield execute(
                "INSERT INTO feed_deliveries (subscription_id, event_id, topic, aggregate, "
                "payload, hospital_id, event_at, due_at, first_due_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                subscription_id,
                event.id,
                event.topic,
                event.key,
                dumps(event.payload),
                event.hospital_id,
                int(event.created_at.timestamp()),
                tx.epoch,
                tx.epoch,
            )
    yield from mark_done(tx, OUTBOX_CONSUMER, [e.id for e in events])
    return len(events)


def claim_deliveries(tx: Tx, cmd: ClaimDeliveries, deps: Deps) -> Unit[list[Delivery]]:
    # only the oldest pending delivery of each aggregate: a scalar subquery (a lookup in the
    # index feed_deliveries_order per candidate), which PostgreSQL cannot turn into the
    # anti-join its planner chose for NOT EXISTS on a table not yet analysed (0.4 s a claim)
    found = yield rows(
        DELIVERY_SQL + " d WHERE d.subscription_id = ? AND d.status = 'pending' "
        "AND d.due_at <= ? AND d.lease_until <= ? AND d.id = (SELECT min(p.id) FROM "
        "feed_deliveries p WHERE p.subscription_id = d.subscription_id "
        "AND p.aggregate = d.aggregate AND p.status = 'pending') "
        "ORDER BY d.id LIMIT ?",
        cmd.subscription_id,
        tx.epoch,
        tx.epoch,
        cmd.limit,
        lock="skip",  # two engines never send one delivery at once
    )
    if not found:
        return []
    ids = [r["id"] for r in found]
    marks = ", ".join("?" * len(ids))
    yield execute(
        f"UPDATE feed_deliveries SET lease_until = ?, attempts = attempts + 1 "
        f"WHERE id IN ({marks})",
        tx.epoch + cmd.lease_seconds,
        *ids,
    )
    return [delivery_from(r, attempts=r["attempts"] + 1) for r in found]


def record_attempts(tx: Tx, cmd: RecordAttempts, deps: Deps) -> Unit[list[Delivery]]:
    done = []
    for delivery_id, result in sorted(cmd.results, key=lambda pair: pair[0]):  # lock order
        done.append((yield from _record(tx, delivery_id, result, cmd.first_retry_seconds)))
    return done


def _record(
    tx: Tx, delivery_id: int, result: AttemptResult, first_retry_seconds: int
) -> Unit[Delivery]:
    delivery = yield from delivery_by_id(delivery_id, lock=True)
    error = result.error[:MAX_ERROR]
    yield execute(
        "INSERT INTO feed_attempts (delivery_id, subscription_id, attempt, at, outcome, "
        "duration_ms, status_code, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        delivery.id,
        delivery.subscription_id,
        delivery.attempts,
        tx.epoch,
        str(result.outcome),
        max(0, min(result.duration_ms, 2**31 - 1)),
        result.status_code,
        error,
    )
    if delivery.status is not DeliveryStatus.PENDING:
        return delivery  # done by an earlier attempt (a lease ran out mid-send): logged only
    if result.outcome is Outcome.DELIVERED:
        status, due = DeliveryStatus.DONE, tx.epoch
    elif result.outcome is Outcome.REJECTED or _past_window(tx, delivery):
        status, due = DeliveryStatus.DEAD, tx.epoch
    else:
        delay = retry_delay(delivery.attempts, first=max(1, first_retry_seconds))
        status, due = DeliveryStatus.PENDING, tx.epoch + delay
    yield execute(
        "UPDATE feed_deliveries SET status = ?, due_at = ?, lease_until = 0, last_status = ?, "
        "last_error = ?, done_at = ? WHERE id = ?",
        str(status),
        due,
        result.status_code,
        "" if status is DeliveryStatus.DONE else error,
        None if status is DeliveryStatus.PENDING else tx.epoch,
        delivery.id,
    )
    return (yield from delivery_by_id(delivery.id))


def redeliver(tx: Tx, cmd: Redeliver, deps: Deps) -> Unit[int]:
    subscription = yield from seen_subscription(cmd.actor, cmd.subscription_id)
    sql = (
        "UPDATE feed_deliveries SET status = 'pending', due_at = ?, first_due_at = ?, "
        "lease_until = 0, done_at = NULL WHERE subscription_id = ?"
    )
    if cmd.delivery_id is None:
        count = yield execute(sql + " AND status = 'dead'", tx.epoch, tx.epoch, subscription.id)
    else:
        count = yield execute(
            sql + " AND id = ?", tx.epoch, tx.epoch, subscription.id, cmd.delivery_id
        )
        if not count:
            raise NotFound("delivery", cmd.delivery_id)
    if count:
        tx.audit(
            cmd.actor,
            AuditAction.FEED_REDELIVER,
            "subscription",
            subscription.id,
            hospital_id=subscription.hospital_id,
            after={"delivery": cmd.delivery_id or "all dead", "count": count},
        )
    return count


def purge_feed_log(tx: Tx, cmd: PurgeFeedLog, deps: Deps) -> Unit[tuple[int, int]]:
    cutoff = tx.epoch - cmd.days * SECONDS_PER_DAY
    attempts = yield execute("DELETE FROM feed_attempts WHERE at < ?", cutoff)
    deliveries = yield execute(
        "DELETE FROM feed_deliveries WHERE status <> 'pending' AND done_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM feed_attempts a WHERE a.delivery_id = feed_deliveries.id)",
        cutoff,
    )
    return attempts, deliveries
