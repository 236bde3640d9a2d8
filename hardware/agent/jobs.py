"""Jobs from the engine (作业): journaled on arrival, run one at a time in arrival order,
each ending in exactly one ack.

- :meth:`JobRunner.receive` takes a message from the ``jobs`` topic. What cannot be read is
  logged once per kind of problem and, when its job id can be read, answered ``failed`` /
  ``bad_payload``. A job whose id the journal knows is not run again: a finished one is
  answered with its stored ack, one in hand not at all (its ack follows) — unless its
  outcome was unknown (a refund or reversal whose answer never came), then it runs again
  with the same terminal request id and the terminal answers as the first time.
- :meth:`JobRunner.run` runs the journal's jobs in order; after a crash the job left
  running comes first, and resumes (a charge repeats its request id: the terminal answers
  its first answer, so no second charge).
- :meth:`JobRunner.send_acks` publishes every ack the broker has not taken yet, in order,
  whenever connected: a job finished while the broker was away is acked once it is back.

The kinds are the :data:`HANDLERS` table; money kinds live in :mod:`.money`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from hardware import protocol
from hardware.devices import DeviceError
from hardware.protocol import Job, Unreadable

from . import money, payloads
from .journal import Journal
from .kiosk_devices import KioskDevices
from .link import NotConnected
from .payloads import BadPayload
from .screen import DEVICE_WORDS, Screen, View
from .work import Outcome, Run

logger = logging.getLogger("hardware.agent.jobs")

RESULT_SECONDS = 8.0
"""How long a result ("请取走凭条") stays on screen before the idle screen comes back."""
ACK_RETRY_SECONDS = 1.0


async def print_ticket(run: Run) -> Outcome:
    ticket = payloads.parse_ticket(run.job.payload, run.now())
    printer = run.devices.printer_or_fail()
    run.screen.show(View("正在打印凭条，请稍候", (f"排队号：{ticket.queue_no}号",)))
    try:
        await printer.print_ticket(ticket)
    except DeviceError as err:
        run.screen.show(View(DEVICE_WORDS[err.code], (f"排队号：{ticket.queue_no}号",)), 30)
        raise
    lines = (f"排队号：{ticket.queue_no}号", f"{ticket.department} {ticket.room}")
    run.screen.show(View("请取走凭条", lines), RESULT_SECONDS)
    return Outcome(protocol.ack_done(run.job.job_id))


async def show_message(run: Run) -> Outcome:
    text, seconds = payloads.parse_message(run.job.payload)
    run.screen.show(View(text), seconds)
    return Outcome(protocol.ack_done(run.job.job_id))


Handler = Callable[[Run], Awaitable[Outcome]]
HANDLERS: dict[str, Handler] = {
    "print_ticket": print_ticket,
    "show_message": show_message,
    "charge": money.charge,
    "reversal": money.reversal,
    "refund": money.refund,
}
"""Every job kind the kiosk runs, and what runs it."""


def new_request_id() -> str:
    """A terminal request id (1-40 of the terminal's characters): random, so a kiosk whose
    journal was wiped can never send an id the terminal remembers from before."""
    return uuid.uuid4().hex


class JobRunner:
    def __init__(
        self,
        journal: Journal,
        devices: KioskDevices,
        screen: Screen,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        reversal_pending: Callable[[], None] = lambda: None,
    ) -> None:
        self._reversal_pending = reversal_pending
        self._journal = journal
        self._devices = devices
        self._screen = screen
        self._now = now
        self._wake = asyncio.Event()
        self._acks_ready = asyncio.Event()
        self._complained: set[str] = set()

    # --- arrival ------------------------------------------------------------------------

    async def receive(self, data: bytes) -> None:
        """A message on the jobs topic; returns once it is in the journal (or answered)."""
        job = protocol.read_job(data)
        if isinstance(job, Unreadable):
            self._complain(job.problem, f"a job that is {job.problem} ({job.detail})")
            if job.job_id is not None:
                ack = protocol.ack_failed(
                    job.job_id, protocol.BAD_PAYLOAD, f"{job.problem}: {job.detail}"
                )
                if await self._journal.add_finished(job.job_id, data, protocol.dump(ack)):
                    self._acks_ready.set()
                else:
                    await self._came_again(job.job_id)
            return
        if await self._journal.add(job.job_id, data):
            logger.info("job %s (%s) received", job.job_id, job.kind)
            self._wake.set()
        else:
            await self._came_again(job.job_id)

    async def _came_again(self, job_id: str) -> None:
        entry = await self._journal.get(job_id)
        if entry is None or entry.state != "finished":
            logger.info("job %s came again while in hand: its ack follows", job_id)
        elif entry.again:
            logger.info("job %s came again after an unknown outcome: asking again", job_id)
            await self._journal.run_again(job_id)
            self._wake.set()
        else:
            logger.info("job %s came again: answered with its stored outcome", job_id)
            await self._journal.ack_again(job_id)
            self._acks_ready.set()

    def _complain(self, problem: str, message: str) -> None:
        """Log once per kind of problem (a flood of garbage must not drown the log)."""
        level = logging.DEBUG if problem in self._complained else logging.WARNING
        self._complained.add(problem)
        logger.log(
            level,
            "%s: ignored%s",
            message,
            "" if level == logging.DEBUG else " (the next such are logged at debug level)",
        )

    # --- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run the journal's jobs one at a time, in arrival order, until cancelled."""
        while True:
            self._wake.clear()
            entry = await self._journal.next_to_run()
            if entry is None:
                await self._wake.wait()
                continue
            job = protocol.read_job(entry.body)
            assert isinstance(job, Job)  # it was read when it came
            outcome = await self._execute(job, resumed=entry.state == "running")
            await self._journal.finish(job.job_id, protocol.dump(outcome.ack), again=outcome.again)
            logger.info(
                "job %s (%s) %s%s",
                job.job_id,
                job.kind,
                outcome.ack["outcome"],
                f": {outcome.ack['reason']}" if "reason" in outcome.ack else "",
            )
            self._acks_ready.set()

    async def _execute(self, job: Job, *, resumed: bool) -> Outcome:
        handler = HANDLERS.get(job.kind)
        if handler is None:
            self._complain(f"kind {job.kind}", f"job {job.job_id} of unknown kind {job.kind!r}")
            message = f"this kiosk runs no {job.kind[:40]!r} jobs"
            return Outcome(protocol.ack_failed(job.job_id, protocol.UNKNOWN_KIND, message))
        money_kind = job.kind in money.KINDS
        if job.expired(self._now()) and not (resumed and money_kind):
            return Outcome(
                protocol.ack_failed(job.job_id, protocol.EXPIRED, "expired before it ran")
            )
        if resumed:
            logger.warning(
                "job %s (%s) was running when the agent stopped: resuming", job.job_id, job.kind
            )
        await self._journal.start(job.job_id, new_request_id() if money_kind else None)
        entry = await self._journal.get(job.job_id)
        assert entry is not None
        run = Run(
            job,
            entry,
            resumed,
            self._journal,
            self._devices,
            self._screen,
            self._now,
            new_request_id,
            self._reversal_pending,
        )
        try:
            return await handler(run)
        except BadPayload as err:
            self._complain(f"payload {job.kind}", f"job {job.job_id} ({job.kind}): {err}")
            return Outcome(protocol.ack_failed(job.job_id, protocol.BAD_PAYLOAD, str(err)))
        except DeviceError as err:
            return Outcome(protocol.ack_failed(job.job_id, err.code, err.reason))

    # --- acks ---------------------------------------------------------------------------

    async def send_acks(
        self, publish: Callable[[bytes], Awaitable[None]], connected: asyncio.Event
    ) -> None:
        """Publish every ack the broker has not taken, in order, whenever connected."""
        while True:
            await connected.wait()
            self._acks_ready.clear()
            try:
                for job_id, ack in await self._journal.unsent_acks():
                    await publish(ack)
                    await self._journal.ack_sent(job_id, ack)
            except NotConnected as err:
                logger.debug("acks wait for the broker: %s", err)
                await asyncio.sleep(ACK_RETRY_SECONDS)
                continue
            await self._acks_ready.wait()
