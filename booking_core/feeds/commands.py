"""Commands about feeds to hospital systems (HIS 对接): subscriptions, and the life of a
delivery (fanned out from the outbox, claimed by a sender, its attempt recorded,
redelivered on request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..kernel.unit import Command
from .model import (
    FIRST_RETRY_SECONDS,
    AttemptResult,
    CreatedSubscription,
    Delivery,
    FeedKind,
    Subscription,
)

# --- subscriptions ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CreateSubscription(Command[CreatedSubscription]):
    """A new receiving end of ``hospital_code``: a webhook URL (a signing secret is drawn
    and shown once) or an HL7 endpoint ``mllp://host:port``. ``topics`` empty: every topic.
    The door checks the address is one it may reach (not a private one, unless allowed)."""

    hospital_code: str
    kind: FeedKind
    name: str
    url: str
    topics: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class UpdateSubscription(Command[Subscription]):
    """Change what is given (None: unchanged). Deactivated, it gets no new deliveries; what
    was fanned out to it stays, and leaves when it is active again."""

    subscription_id: int
    name: str | None = None
    url: str | None = None
    topics: tuple[str, ...] | None = None
    options: dict[str, Any] | None = None
    active: bool | None = None


@dataclass(frozen=True, kw_only=True)
class RotateSecret(Command[CreatedSubscription]):
    """A new signing secret for a webhook subscription, shown once. The one it replaces
    still signs too (a second signature) for ``overlap_hours``, so the receiver can switch
    without losing a delivery."""

    subscription_id: int
    overlap_hours: int = 24


# --- deliveries ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FanOutEvents(Command[int]):
    """Up to ``limit`` outbox events of the consumer ``feeds``, each made a delivery for
    every active subscription of its hospital that wants its topic; in the same unit the
    events are marked done (each is fanned out exactly once). Returns how many events."""

    limit: int = 200


@dataclass(frozen=True, kw_only=True)
class ClaimDeliveries(Command[list[Delivery]]):
    """Up to ``limit`` deliveries of ``subscription_id`` due now, leased to the caller for
    ``lease_seconds``: oldest first, and for each aggregate only its oldest pending one (one
    booking's events leave in order, one at a time)."""

    subscription_id: int
    limit: int = 50
    lease_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class RecordAttempts(Command[list[Delivery]]):
    """What each attempt of a lane's batch came to, as (delivery id, result), in one unit:
    logged; delivered → done; retry → due again after the back-off (dead once it has failed
    for 3 days); rejected → dead. One commit for the batch, not one per delivery (an engine
    dying before it commits leaves the batch leased, and it is sent again, with the same
    ids, when the lease ends). Returned in delivery id order."""

    results: tuple[tuple[int, AttemptResult], ...]
    first_retry_seconds: int = FIRST_RETRY_SECONDS


@dataclass(frozen=True, kw_only=True)
class Redeliver(Command[int]):
    """Send again: one delivery (``delivery_id``) whatever its state, or every dead one of
    the subscription. Each is due now, with the same message id, and its 3 days start
    again. Returns how many."""

    subscription_id: int
    delivery_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class PurgeFeedLog(Command[tuple[int, int]]):
    """Forget attempts older than ``days``, and deliveries done (or dead) before then.
    Returns (attempts, deliveries) deleted."""

    days: int
