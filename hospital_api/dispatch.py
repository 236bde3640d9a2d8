"""The feed dispatcher (推送调度): the engine's background work that takes the outbox's
events to the hospitals' systems.

Two kinds of loop, each as long as the engine runs:

* the fan-out: the outbox consumer ``feeds`` makes each event a delivery for every
  subscription that wants it (:class:`booking_core.feeds.FanOutEvents`, one unit: exactly
  once), every :data:`POLL_SECONDS`;
* a lane per active subscription: claims its due deliveries (for each booking only its
  oldest pending one, so one booking's events arrive in order), sends them with the
  subscription's sender (webhook or HL7) side by side, and records the batch's attempts in
  one unit (the core decides the back-off, the dead letter). The lanes follow the
  subscriptions as they are made, changed, deactivated (re-read every
  :data:`REFRESH_SECONDS`).

A delivery claimed by an engine killed mid-send comes back when its lease runs out
(:data:`LEASE_SECONDS`) and is sent again with the same message id: at least once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Protocol

from booking_core import feeds
from booking_core.bus import BookingServices
from edge.periodic import run_periodically

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
REFRESH_SECONDS = 5.0
BATCH = 20  # deliveries of one subscription sent side by side


def lease_seconds(timeout: float) -> int:
    """How long a claimed delivery is the claimer's: an attempt's timeout twice (a sender may
    connect, then wait for the answer) and room to record it."""
    return round(2 * timeout) + 5


LEASE_SECONDS = lease_seconds(feeds.TIMEOUT_SECONDS)
PURGE_EVERY_SECONDS = 3600


class Sender(Protocol):
    async def send(
        self, subscription: feeds.Subscription, delivery: feeds.Delivery
    ) -> feeds.AttemptResult: ...

    async def close(self) -> None: ...


class FeedDispatcher:
    def __init__(
        self,
        services: BookingServices,
        senders: Mapping[feeds.FeedKind, Sender],
        *,
        poll_seconds: float = POLL_SECONDS,
        refresh_seconds: float = REFRESH_SECONDS,
        lease_seconds: int = LEASE_SECONDS,
        first_retry_seconds: int = feeds.FIRST_RETRY_SECONDS,
    ) -> None:
        self.services = services
        self.senders = dict(senders)
        self.poll_seconds = poll_seconds
        self.refresh_seconds = refresh_seconds
        self.lease_seconds = lease_seconds
        self.first_retry_seconds = first_retry_seconds
        self._subscriptions: dict[int, feeds.Subscription] = {}
        self._lanes: dict[int, asyncio.Task[None]] = {}
        self._purged_at = 0.0

    # --- one step of each loop (the tests drive these) --------------------------------------

    async def fan_out(self) -> int:
        """Fan every waiting outbox event out; how many events."""
        total = 0
        while n := await self.services.handle(feeds.FanOutEvents()):
            total += n
        return total

    async def deliver(self, subscription: feeds.Subscription) -> int:
        """Send one batch of the subscription's due deliveries; how many were attempted."""
        claimed = await self.services.handle(
            feeds.ClaimDeliveries(
                subscription_id=subscription.id, limit=BATCH, lease_seconds=self.lease_seconds
            )
        )
        if claimed:
            results = await asyncio.gather(*(self._attempt(subscription, d) for d in claimed))
            await self.services.handle(
                feeds.RecordAttempts(
                    results=tuple(zip((d.id for d in claimed), results, strict=True)),
                    first_retry_seconds=self.first_retry_seconds,
                )
            )
        return len(claimed)

    async def refresh(self) -> list[feeds.Subscription]:
        """Re-read the active subscriptions; start a lane for each new one, stop the lanes
        of the ones gone or deactivated."""
        active = await self.services.read(feeds.active_subscriptions)
        self._subscriptions = {s.id: s for s in active if s.kind in self.senders}
        for subscription_id in list(self._lanes):
            if subscription_id not in self._subscriptions:
                self._lanes.pop(subscription_id).cancel()
        for subscription_id in self._subscriptions:
            if subscription_id not in self._lanes:
                self._lanes[subscription_id] = asyncio.create_task(
                    self._lane(subscription_id), name=f"feed-lane-{subscription_id}"
                )
        return active

    # --- the loops ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Fan out and keep the lanes going until cancelled."""
        fan_out = asyncio.create_task(
            run_periodically("feeds: the fan-out", self.poll_seconds, self.fan_out),
            name="feed-fan-out",
        )
        try:
            await run_periodically("feeds: subscriptions", self.refresh_seconds, self._look_after)
        finally:
            fan_out.cancel()
            lanes = list(self._lanes.values())
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(fan_out, *lanes, return_exceptions=True)
            self._lanes.clear()
            for sender in self.senders.values():
                await sender.close()

    async def _look_after(self) -> None:
        """The lanes follow the subscriptions; the delivery log is purged hourly."""
        await self.refresh()
        if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            await self.services.handle(feeds.PurgeFeedLog(days=feeds.LOG_DAYS))
            self._purged_at = time.monotonic()

    async def _lane(self, subscription_id: int) -> None:
        async def step() -> int:
            subscription = self._subscriptions.get(subscription_id)
            # gone or deactivated: refresh() cancels this lane as it drops the subscription
            return 0 if subscription is None else await self.deliver(subscription)

        await run_periodically(
            f"feeds: subscription {subscription_id}",
            self.poll_seconds,
            step,
            busy=lambda sent: bool(sent),  # a full or part batch: look again at once
        )

    async def _attempt(
        self, subscription: feeds.Subscription, delivery: feeds.Delivery
    ) -> feeds.AttemptResult:
        try:
            return await self.senders[subscription.kind].send(subscription, delivery)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a sender's bug: logged, and the delivery tried again
            log.exception("sending delivery %s to subscription %s", delivery.id, subscription.id)
            return feeds.AttemptResult(
                outcome=feeds.Outcome.RETRY, duration_ms=0, error=f"internal: {type(err).__name__}"
            )
