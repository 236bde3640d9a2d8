"""Reads of the feeds: subscriptions (the console's and the API's lists, the senders'
active ones and their secrets), deliveries by state, and a delivery's attempts (the log)."""

from __future__ import annotations

from ..catalogue.repo import hospital_for
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import InvalidInput
from ..kernel.pii import Cipher
from ..kernel.unit import MAX_ROWS, Tx, Unit, one, rows
from .model import Delivery, DeliveryAttempt, DeliveryStatus, Subscription, SubscriptionSecrets
from .repo import (
    DELIVERY_SQL,
    SUBSCRIPTION_SQL,
    attempt_from,
    delivery_by_id,
    delivery_from,
    secrets_from,
    seen_subscription,
    subscription_from,
)


def subscriptions(
    tx: Tx, actor: Actor, hospital_code: str | None = None
) -> Unit[list[Subscription]]:
    """The subscriptions ``actor`` may see (of ``hospital_code`` when given), oldest first."""
    hospital_id = None
    if hospital_code is not None:
        hospital_id = (yield from hospital_for(actor, hospital_code)).id
    where, args = tenancy.scope(actor, "s.hospital_id", hospital_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    found = yield rows(SUBSCRIPTION_SQL + clause + " ORDER BY s.id", *args)
    return [subscription_from(r) for r in found]


def subscription(tx: Tx, actor: Actor, subscription_id: int) -> Unit[Subscription]:
    return (yield from seen_subscription(actor, subscription_id))


def active_subscriptions(tx: Tx) -> Unit[list[Subscription]]:
    """Every active subscription: the engine runs a sender for each."""
    found = yield rows(SUBSCRIPTION_SQL + " WHERE s.active = 1 ORDER BY s.id")
    return [subscription_from(r) for r in found]


def signing_secrets(
    tx: Tx, subscription_id: int, cipher: Cipher
) -> Unit[SubscriptionSecrets | None]:
    """The secrets that sign the subscription's webhooks now (the sender's only)."""
    row = yield one(
        "SELECT secret, previous_secret, previous_secret_until FROM feed_subscriptions "
        "WHERE id = ?",
        subscription_id,
    )
    return None if row is None else secrets_from(row, cipher, tx.now)


def deliveries(
    tx: Tx,
    actor: Actor,
    subscription_id: int,
    *,
    status: DeliveryStatus | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Unit[list[Delivery]]:
    """The subscription's deliveries, newest first (``before_id``: older than that one)."""
    yield from seen_subscription(actor, subscription_id)
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput("limit", f"1 to {MAX_ROWS}")
    sql = DELIVERY_SQL + " WHERE subscription_id = ?"
    args: list[object] = [subscription_id]
    if status is not None:
        sql += " AND status = ?"
        args.append(str(DeliveryStatus(status)))
    if before_id is not None:
        sql += " AND id < ?"
        args.append(before_id)
    found = yield rows(sql + " ORDER BY id DESC LIMIT ?", *args, limit)
    return [delivery_from(r) for r in found]


def delivery_counts(tx: Tx, actor: Actor, subscription_id: int) -> Unit[dict[str, int]]:
    """How many deliveries of the subscription are pending, done and dead."""
    yield from seen_subscription(actor, subscription_id)
    found = yield rows(
        "SELECT status, count(*) AS n FROM feed_deliveries WHERE subscription_id = ? "
        "GROUP BY status",
        subscription_id,
    )
    counts = {str(s): 0 for s in DeliveryStatus}
    counts.update({r["status"]: r["n"] for r in found})
    return counts


def delivery(tx: Tx, actor: Actor, delivery_id: int) -> Unit[Delivery]:
    found = yield from delivery_by_id(delivery_id)
    yield from seen_subscription(actor, found.subscription_id)
    return found


def attempts(tx: Tx, actor: Actor, delivery_id: int) -> Unit[list[DeliveryAttempt]]:
    """A delivery's attempts, first first (the delivery log of one event)."""
    yield from delivery(tx, actor, delivery_id)
    found = yield rows(
        "SELECT * FROM feed_attempts WHERE delivery_id = ? ORDER BY attempt, id", delivery_id
    )
    return [attempt_from(r) for r in found]
