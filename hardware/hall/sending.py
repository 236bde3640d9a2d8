"""Jobs on their way to the kiosks (docs/kiosk-protocol.md, "Jobs"): the ``kiosk`` outbox
consumer, the re-send sweep, and the broker's files kept in step with the kiosk registry.

:meth:`JobSender.run_once` is one round of the outbox consumer (``kiosks.OUTBOX_CONSUMER``):

- ``kiosk.job_queued``: the job, as it stands now, published on its kiosk's ``jobs``
  (:meth:`~.link.HallLink.publish_job` returns on the broker's PUBACK) and only then marked
  sent (``MarkJobSent``). A job already acked, or failed because its kiosk was disabled, is
  not published. The broker not connected (:class:`~.link.NotConnected`): the event and
  every one after it in the round stay undelivered, tried again in
  ``NOT_CONNECTED_RETRY_SECONDS`` (jobs keep their order). No session of that kiosk on the
  broker (:class:`~.link.NoSubscriber`: it never connected, or was away longer than its
  session): the job stays unsent and is published when the kiosk's status says it is back.
- ``kiosk.registered`` / ``kiosk.disabled`` / ``kiosk.password_reset``: the broker's password
  file and ACL written again from the registry (:class:`BrokerSync`; when the engine writes
  them at all), once per round.
- ``booking.cancelled`` with money refunded: ``RefundAtKiosk``, which makes a ``refund`` job
  when a kiosk's terminal took that money (the core decides; it answers None otherwise).
- anything else: nothing to do, delivered.

:meth:`JobSender.resend_due` is the re-send sweep: every job published ``RESEND_AFTER_SECONDS``
ago without an ack (of an online kiosk) is published again under its id; the kiosk's
journal makes a second delivery harmless. :meth:`JobSender.resend_kiosk` publishes every
unacknowledged job of a kiosk that has just come online, :meth:`JobSender.resend_open` every
one of the online kiosks when the engine (re)connects to the broker.

Each kiosk has a lock, held while a round publishes its jobs or a re-send publishes its
unacknowledged ones: the two never interleave, so a kiosk's jobs leave in the order they
were made, and the kiosks go side by side.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from booking_core import events, kiosks
from booking_core.bus import BookingServices
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.errors import BookingError, GuahaoError, NotFound
from hardware import protocol

from .link import LinkError, NoSubscriber, NotConnected, PublishRefused
from .mosquitto import BrokerFiles, BrokerFilesError, EngineAccount

logger = logging.getLogger("hardware.hall.sending")

BATCH = 200
LEASE_SECONDS = 60
"""A round's events are the engine's this long: publishes take milliseconds each (a PUBACK
waits at most 5 s), so a round ends well within it."""
NOT_CONNECTED_RETRY_SECONDS = 2
"""The broker is away: the link tries again from 1 s, doubling; jobs follow within seconds of
its return."""
REFUSED_RETRY_SECONDS = 60
"""The broker refused a publish (its ACL): a person must fix it; try again each minute."""
SYNC_RETRY_SECONDS = 10
"""The broker's files could not be written or the broker reloaded: try again soon."""

ACCOUNT_TOPICS = {
    events.KioskRegistered.topic,
    events.KioskDisabled.topic,
    events.KioskPasswordReset.topic,
}


class Publisher(Protocol):
    async def publish_job(self, kiosk_id: str, job: Any) -> None: ...


class BrokerSync:
    """mosquitto's password file and ACL written from the registry (every enabled kiosk's
    user and hash, and the engine's own account), and the broker reloaded when they changed."""

    def __init__(
        self, services: BookingServices, files: BrokerFiles, account: EngineAccount
    ) -> None:
        self.services = services
        self.files = files
        self.account = account

    async def sync(self) -> bool:
        """Whether the files changed. BrokerFilesError says what went wrong."""
        accounts = await self.services.read(kiosks.broker_accounts, SYSTEM)
        pairs = [(a.kiosk_id, a.password_hash) for a in accounts]
        changed: bool = await asyncio.to_thread(self.files.sync, self.account, pairs)
        if changed:
            logger.info(
                "the broker's password file and ACL now list %d kiosk(s)%s",
                len(pairs),
                "; the broker was told to reload them" if self.files.pid_path else "",
            )
        return changed


def _envelope(job: kiosks.KioskJob) -> dict[str, Any]:
    return protocol.job(job.job_id, str(job.kind), job.payload, job.created_at, job.expires_at)


class JobSender:
    """See the module docstring."""

    def __init__(
        self,
        services: BookingServices,
        link: Publisher,
        *,
        broker_sync: BrokerSync | None = None,
        consumer: str = kiosks.OUTBOX_CONSUMER,
    ) -> None:
        self.services = services
        self.link = link
        self.broker_sync = broker_sync
        self.consumer = consumer
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(self, job: kiosks.KioskJob) -> bool:
        """Publish ``job`` and mark it sent: True; False when the kiosk has no session on
        the broker (the job waits for it). NotConnected / PublishRefused go to the caller."""
        try:
            await self.link.publish_job(job.kiosk_id, _envelope(job))
        except NoSubscriber:
            logger.info(
                "job %s (%s) not delivered: kiosk %s has no session on the broker; it is "
                "published when the kiosk comes online",
                job.job_id,
                job.kind,
                job.kiosk_id,
            )
            return False
        await self.services.handle(kiosks.MarkJobSent(job_id=job.job_id))
        logger.info(
            "job %s (%s) published to kiosk %s%s",
            job.job_id,
            job.kind,
            job.kiosk_id,
            f" (again: attempt {job.attempts + 1})" if job.attempts else "",
        )
        return True

    # --- the outbox consumer --------------------------------------------------------------

    async def drain(self) -> int:
        """Rounds one after another while they come back full (every event goes to every
        consumer: at the 07:30 rush most of a round is other events, check-ins and acks,
        and the jobs behind them must not wait a poll interval per round); how many events
        were claimed in all."""
        claimed = 0
        while (count := await self.run_once()) >= BATCH:
            claimed += count
        return claimed + count

    async def run_once(self) -> int:
        """One round of the outbox consumer: how many events it claimed. Each kiosk's jobs
        go in the order they were made, the kiosks side by side (a round at the 07:30 rush
        holds jobs for many kiosks, and each publish waits for the broker's PUBACK and each
        mark for the store)."""
        rows = await self.services.claim(self.consumer, BATCH, LEASE_SECONDS)
        if not rows:
            return 0
        lanes: dict[str, list[events.OutboxEvent]] = {}
        for row in rows:
            lanes.setdefault(_lane(row), []).append(row)
        outcomes = await asyncio.gather(*(self._run_lane(k, lane) for k, lane in lanes.items()))
        done = [row_id for lane_done, _accounts in outcomes for row_id in lane_done]
        accounts = [row_id for _done, lane_accounts in outcomes for row_id in lane_accounts]
        if accounts:
            if await self._sync_files():
                done += accounts
            else:
                await self._later(
                    [r for r in rows if r.id in accounts], SYNC_RETRY_SECONDS, "broker files"
                )
        await self.services.mark_done(self.consumer, done)
        return len(rows)

    async def _run_lane(
        self, kiosk_id: str, rows: list[events.OutboxEvent]
    ) -> tuple[list[int], list[int]]:
        """One kiosk's events of a round, in order (or the events that are no kiosk's):
        the ids delivered, and those that changed the broker's accounts."""
        async with self._locks[kiosk_id]:
            return await self._deliver_all(rows)

    async def _deliver_all(self, rows: list[events.OutboxEvent]) -> tuple[list[int], list[int]]:
        done: list[int] = []
        accounts: list[int] = []
        for index, row in enumerate(rows):
            try:
                await self._deliver(row)
            except NotConnected as err:
                await self._later(rows[index:], NOT_CONNECTED_RETRY_SECONDS, str(err))
                break
            except PublishRefused as err:
                logger.error("job event %s: %s; tried again in a minute", row.id, err)
                await self._later([row], REFUSED_RETRY_SECONDS, str(err))
                continue
            except GuahaoError as err:  # the store, mostly: this event again soon
                logger.warning("kiosk outbox event %s (%s): %s", row.id, row.topic, err)
                await self._later([row], NOT_CONNECTED_RETRY_SECONDS, str(err))
                continue
            except ValueError as err:  # a job no kiosk could read: a bug, never sent
                logger.error("kiosk outbox event %s (%s) not published: %s", row.id, row.topic, err)
            except Exception as err:
                logger.exception("kiosk outbox event %s (%s) failed", row.id, row.topic)
                await self._later([row], REFUSED_RETRY_SECONDS, repr(err))
                continue
            (accounts if row.topic in ACCOUNT_TOPICS else done).append(row.id)
        return done, accounts

    async def _later(self, rows: Iterable[events.OutboxEvent], seconds: int, error: str) -> None:
        for row in rows:
            await self.services.retry_later(self.consumer, row.id, seconds, error)

    async def _sync_files(self) -> bool:
        if self.broker_sync is None:
            return True
        try:
            await self.broker_sync.sync()
        except (BrokerFilesError, GuahaoError, OSError) as err:
            logger.error("the broker's files were not written: %s", err)
            return False
        return True

    async def _deliver(self, row: events.OutboxEvent) -> None:
        event = events.decode(row)
        if isinstance(event, events.KioskJobQueued):
            try:
                job = await self.services.read(kiosks.kiosk_job, event.job_id, SYSTEM)
            except NotFound:
                logger.warning(
                    "job %s of outbox event %s is gone: not published", event.job_id, row.id
                )
                return
            if not job.status.open:
                logger.info("job %s is %s already: not published", job.job_id, job.status)
                return
            await self.send(job)
        elif isinstance(event, events.BookingCancelled) and event.refunded > 0:
            try:
                refund = await self.services.handle(
                    kiosks.RefundAtKiosk(booking_no=event.booking_no)
                )
            except BookingError as err:  # its kiosk disabled, …: the desk refunds by hand
                logger.error(
                    "booking %s was cancelled and its card payment not refunded at a kiosk: %s",
                    event.booking_no,
                    err,
                )
                return
            if refund is not None:
                logger.info(
                    "booking %s cancelled: refund job %s of %d fen to kiosk %s",
                    event.booking_no,
                    refund.job_id,
                    refund.amount or 0,
                    refund.kiosk_id,
                )

    # --- re-sending -------------------------------------------------------------------------

    async def resend_due(self) -> int:
        """The re-send sweep: how many jobs were published again."""
        jobs = await self.services.read(kiosks.jobs_to_send, SYSTEM)
        return await self._send_all(jobs)

    async def resend_open(self) -> int:
        """Every unacknowledged job of every online kiosk, however recently it was sent
        (this engine has just connected to the broker)."""
        jobs = await self.services.read(kiosks.jobs_to_send, SYSTEM, older_than_seconds=0)
        if jobs:
            logger.info("connected: %d unacknowledged job(s) published again", len(jobs))
        return await self._send_all(jobs)

    async def resend_kiosk(self, kiosk_id: str) -> int:
        """Every unacknowledged job of ``kiosk_id`` (it has just come online)."""
        jobs = await self.services.read(
            kiosks.jobs_to_send, SYSTEM, kiosk_id=kiosk_id, older_than_seconds=0
        )
        if jobs:
            logger.info("kiosk %s is back: %d job(s) published again", kiosk_id, len(jobs))
        return await self._send_all(jobs)

    async def _send_all(self, jobs: list[kiosks.KioskJob]) -> int:
        lanes: dict[str, list[kiosks.KioskJob]] = {}
        for job in jobs:
            lanes.setdefault(job.kiosk_id, []).append(job)
        return sum(await asyncio.gather(*(self._send_lane(k, lane) for k, lane in lanes.items())))

    async def _send_lane(self, kiosk_id: str, jobs: list[kiosks.KioskJob]) -> int:
        sent = 0
        async with self._locks[kiosk_id]:
            for job in jobs:
                try:
                    sent += await self.send(job)
                except NotConnected as err:
                    logger.info("re-sending stopped: %s", err)
                    break
                except (LinkError, ValueError) as err:
                    logger.error("job %s was not published again: %s", job.job_id, err)
        return sent


def _lane(row: events.OutboxEvent) -> str:
    """The kiosk whose job an event is ("" for the events that are no kiosk's)."""
    if row.topic == events.KioskJobQueued.topic:
        kiosk_id = row.payload.get("kiosk_id") if isinstance(row.payload, dict) else None
        return kiosk_id if isinstance(kiosk_id, str) else ""
    return ""
