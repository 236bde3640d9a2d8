"""Feeds to a hospital's own systems (HIS 对接): subscriptions, and the deliveries of the
outbox's events to them.

A **subscription** is one receiving end of one hospital: a webhook URL (Standard Webhooks
signatures) or an HL7 v2 MLLP endpoint (``mllp://host:port``), with the event topics it
wants. The engine's outbox consumer ``feeds`` fans each event out into one **delivery** per
matching subscription, in the event's transaction order; each subscription's deliveries
are then sent by its own worker (a queue per subscription, so a slow HIS never holds back
another), at least once, in order per aggregate (a booking's events reach one subscriber
in the order they happened), retried with exponential back-off and jitter for up to
:data:`GIVE_UP_AFTER_SECONDS`, then dead-lettered until someone redelivers them.

Every attempt is logged (:class:`DeliveryAttempt`) and kept :data:`LOG_DAYS` days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..events.envelope import message_id
from ..events.model import OutboxEvent

OUTBOX_CONSUMER = "feeds"
"""The outbox consumer that fans events out to the subscriptions."""

GIVE_UP_AFTER_SECONDS = 3 * 86_400
"""A delivery still failing this long after it was first due is dead-lettered (3 days)."""

LOG_DAYS = 30
"""How long attempts (and deliveries done or dead) are kept."""

FIRST_RETRY_SECONDS = 5
MAX_RETRY_SECONDS = 3_600
JITTER = 0.2
"""Back-off: 5 s, 10 s, 20 s … doubling to at most an hour, each ± 20 % at random."""

TIMEOUT_SECONDS = 10.0
"""How long a receiver has to answer one attempt."""


HL7_OPTIONS: dict[str, tuple[str, ...] | None] = {
    "no_show": ("S26", "S17"),  # which trigger says 爽约: S26 (no-show) or S17 (deleted)
    "id_number": ("masked", "full"),  # PID's ID number: masked (the default) or full
    "phone": ("masked", "full"),  # PID's phone: masked (the default) or full
    "processing_id": ("P", "T", "D"),  # MSH-11: production, training, debugging
    "receiving_application": None,  # MSH-5, free text
    "receiving_facility": None,  # MSH-6, free text
}
"""An HL7 subscription's options and their allowed values (None: short free text); the
first value is the default."""


class FeedKind(StrEnum):
    """How a subscription's deliveries travel."""

    WEBHOOK = "webhook"  # HTTPS POST, Standard Webhooks signed
    HL7 = "hl7"  # HL7 v2 SIU messages over MLLP


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due now or later
    DONE = "done"  # the receiver took it
    DEAD = "dead"  # given up on (dead letter): waits for a redelivery


class Outcome(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"  # 2xx; HL7 AA
    RETRY = "retry"  # failed in a way a later attempt may not (5xx, timeout, AE, refused)
    REJECTED = "rejected"  # the receiver will never take it (HL7 AR for this message):
    # dead-lettered at once, for a person to look at and redeliver


@dataclass(frozen=True, slots=True)
class Subscription:
    """A receiving end of a hospital's system. ``topics`` empty: every topic. ``options``:
    per kind (HL7: ``no_show`` "S26" or "S17", ``id_number`` "masked" or "full")."""

    id: int
    hospital_id: int
    hospital_code: str
    kind: FeedKind
    name: str
    url: str
    topics: tuple[str, ...]
    active: bool
    options: dict[str, Any] = field(hash=False)
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None = None
    previous_secret_until: datetime | None = None
    """While a rotated secret's overlap lasts, deliveries carry both signatures."""


@dataclass(frozen=True, slots=True)
class SubscriptionSecrets:
    """A webhook subscription's signing secrets in clear (``whsec_…``): the current one and,
    during a rotation's overlap, the previous one. Only the sender reads them."""

    current: str
    previous: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedSubscription:
    """A new subscription and its secret, shown once (None for an HL7 endpoint)."""

    subscription: Subscription
    secret: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one subscription. ``message_id`` is the same on every
    attempt and every redelivery (the webhook's ``webhook-id``, the HL7 control id's
    source), so a receiver dedupes by it."""

    id: int
    subscription_id: int
    event: OutboxEvent
    status: DeliveryStatus
    attempts: int  # including the one about to be made, when claimed
    due_at: datetime
    first_due_at: datetime
    last_status: int | None = None
    last_error: str = ""
    done_at: datetime | None = None

    @property
    def message_id(self) -> str:
        return message_id(self.event.id)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What a sender reports of one attempt. ``status_code``: the HTTP status, or for HL7
    nothing; ``detail``: the receiver's words (an HL7 ACK's code and text), kept short."""

    outcome: Outcome
    duration_ms: int
    status_code: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """A line of the delivery log."""

    delivery_id: int
    subscription_id: int
    attempt: int
    at: datetime
    outcome: Outcome
    duration_ms: int
    status_code: int | None
    error: str
