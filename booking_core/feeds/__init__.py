"""Feeds to hospital systems (HIS 对接): webhook and HL7 subscriptions, and the deliveries
of the outbox's events to them.

Doors import this package, never its modules: ``from booking_core import feeds``."""

from .commands import (
    ClaimDeliveries,
    CreateSubscription,
    FanOutEvents,
    PurgeFeedLog,
    RecordAttempts,
    Redeliver,
    RotateSecret,
    UpdateSubscription,
)
from .model import (
    FIRST_RETRY_SECONDS,
    GIVE_UP_AFTER_SECONDS,
    HL7_OPTIONS,
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
from .queries import (
    active_subscriptions,
    attempts,
    deliveries,
    delivery,
    delivery_counts,
    signing_secrets,
    subscription,
    subscriptions,
)
from .sending import retry_delay

__all__ = [
    "FIRST_RETRY_SECONDS",
    "GIVE_UP_AFTER_SECONDS",
    "HL7_OPTIONS",
    "LOG_DAYS",
    "OUTBOX_CONSUMER",
    "TIMEOUT_SECONDS",
    "AttemptResult",
    "ClaimDeliveries",
    "CreateSubscription",
    "CreatedSubscription",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryStatus",
    "FanOutEvents",
    "FeedKind",
    "Outcome",
    "PurgeFeedLog",
    "RecordAttempts",
    "Redeliver",
    "RotateSecret",
    "Subscription",
    "SubscriptionSecrets",
    "UpdateSubscription",
    "active_subscriptions",
    "attempts",
    "deliveries",
    "delivery",
    "delivery_counts",
    "retry_delay",
    "signing_secrets",
    "subscription",
    "subscriptions",
]
