"""Feeds to hospital systems (HIS 对接): webhook and HL7 subscriptions, and the deliveries
of the outbox's events to them.

Doors import this package, never its modules: ``from booking_core import feeds``."""

from .model import (
    GIVE_UP_AFTER_SECONDS,
    LOG_DAYS,
    OUTBOX_CONSUMER,
    TIMEOUT_SECONDS,
    AttemptResult,
    CreatedSubscription,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    FeedKind,
    Outcome,
    Subscription,
    SubscriptionSecrets,
)

__all__ = [
    "GIVE_UP_AFTER_SECONDS",
    "LOG_DAYS",
    "OUTBOX_CONSUMER",
    "TIMEOUT_SECONDS",
    "AttemptResult",
    "CreatedSubscription",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "FeedKind",
    "Outcome",
    "Subscription",
    "SubscriptionSecrets",
]
