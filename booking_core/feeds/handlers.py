"""The feeds' command table: subscriptions in :mod:`.receivers`, deliveries in
:mod:`.sending`."""

from __future__ import annotations

from ..kernel.registry import handler_table, on
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
from .receivers import create_subscription, rotate_secret, update_subscription
from .sending import (
    claim_deliveries,
    fan_out_events,
    purge_feed_log,
    record_attempts,
    redeliver,
)

HANDLERS = handler_table(
    on(CreateSubscription, create_subscription),
    on(UpdateSubscription, update_subscription),
    on(RotateSecret, rotate_secret),
    on(FanOutEvents, fan_out_events),
    on(ClaimDeliveries, claim_deliveries),
    on(RecordAttempts, record_attempts),
    on(Redeliver, redeliver),
    on(PurgeFeedLog, purge_feed_log),
)
