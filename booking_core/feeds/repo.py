"""Subscription and delivery rows, and the signing secrets (drawn here, kept encrypted)."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from ..events.model import OutboxEvent
from ..kernel import tenancy
from ..kernel.actor import Actor
from ..kernel.errors import NotFound
from ..kernel.pii import Cipher
from ..kernel.unit import Row, Unit, from_epoch, one
from .model import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    FeedKind,
    Outcome,
    Subscription,
    SubscriptionSecrets,
)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
SECRET_CONTEXT = "webhook_secret"  # the cipher's associated data: a secret decrypts only as one

SUBSCRIPTION_SQL = (
    "SELECT s.*, h.code AS hospital_code FROM feed_subscriptions s "
    "JOIN hospitals h ON h.id = s.hospital_id"
)

DELIVERY_SQL = "SELECT * FROM feed_deliveries"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def seal(cipher: Cipher, secret: str) -> str:
    return cipher.encrypt(secret, context=SECRET_CONTEXT)


def unseal(cipher: Cipher, sealed: str) -> str:
    return cipher.decrypt(sealed, context=SECRET_CONTEXT)


def subscription_from(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        hospital_id=row["hospital_id"],
        hospital_code=row["hospital_code"],
        kind=FeedKind(row["kind"]),
        name=row["name"],
        url=row["url"],
        topics=tuple(json.loads(row["topics"])),
        active=bool(row["active"]),
        options=json.loads(row["options"]),
        created_at=from_epoch(row["created_at"]),
        updated_at=from_epoch(row["updated_at"]),
        secret_rotated_at=from_epoch(row["secret_rotated_at"]),
        previous_secret_until=from_epoch(row["previous_secret_until"]),
    )


def secrets_from(row: Row, cipher: Cipher, now: datetime) -> SubscriptionSecrets | None:
    if row["secret"] is None:
        return None
    previous = None
    until = from_epoch(row["previous_secret_until"])
    if row["previous_secret"] is not None and until is not None and now < until:
        previous = unseal(cipher, row["previous_secret"])
    return SubscriptionSecrets(current=unseal(cipher, row["secret"]), previous=previous)


def subscription_by_id(subscription_id: int, *, lock: bool = False) -> Unit[Subscription]:
    if lock:
        yield one("SELECT id FROM feed_subscriptions WHERE id = ?", subscription_id, lock=True)
    row = yield one(SUBSCRIPTION_SQL + " WHERE s.id = ?", subscription_id)
    if row is None:
        raise NotFound("subscription", subscription_id)
    return subscription_from(row)


def seen_subscription(
    actor: Actor, subscription_id: int, *, lock: bool = False
) -> Unit[Subscription]:
    """Subscription ``subscription_id`` if ``actor`` may see it (another hospital's: not found)."""
    subscription = yield from subscription_by_id(subscription_id, lock=lock)
    tenancy.check(actor, subscription.hospital_id, "subscription", subscription_id)
    return subscription


def delivery_from(row: Row, attempts: int | None = None) -> Delivery:
    return Delivery(
        id=row["id"],
        subscription_id=row["subscription_id"],
        event=OutboxEvent(
            id=row["event_id"],
            topic=row["topic"],
            hospital_id=row["hospital_id"],
            key=row["aggregate"],
            payload=json.loads(row["payload"]),
            created_at=from_epoch(row["event_at"]),
        ),
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"] if attempts is None else attempts,
        due_at=from_epoch(row["due_at"]),
        first_due_at=from_epoch(row["first_due_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        done_at=from_epoch(row["done_at"]),
    )


def attempt_from(row: Row) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=row["delivery_id"],
        subscription_id=row["subscription_id"],
        attempt=row["attempt"],
        at=from_epoch(row["at"]),
        outcome=Outcome(row["outcome"]),
        duration_ms=row["duration_ms"],
        status_code=row["status_code"],
        error=row["error"],
    )


def delivery_by_id(delivery_id: int, *, lock: bool = False) -> Unit[Delivery]:
    row = yield one(DELIVERY_SQL + " WHERE id = ?", delivery_id, lock=lock)
    if row is None:
        raise NotFound("delivery", delivery_id)
    return delivery_from(row)


def json_list(values: tuple[str, ...]) -> str:
    return json.dumps(sorted(set(values)))


def json_object(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, ensure_ascii=False)
