"""What the kiosks send the engine, read and handed to the engine's handlers
(docs/kiosk-protocol.md): requests, job acks and status, each by its kiosk.

:meth:`Inbox.take` never blocks the connection's reading and never raises:

- **Order per kiosk.** Acks and statuses go through a lane per (topic kind, kiosk), one
  message at a time in arrival order (a kiosk's "offline" is never overtaken by the
  "online" before it); lanes of different kiosks run side by side. Requests are answered
  concurrently (:mod:`.answers`: one answer per request id, within the 5 s) and the reply
  published on the kiosk's ``replies``.
- **What cannot be read** (not JSON, not an object, an unknown ``v``, a broken envelope) is
  logged once per kiosk at warning level (then at debug level) and dropped; an ack that
  cannot be read but names its job goes to ``on_ack`` as that job failed ``bad_payload``
  (``Ack.bad``), so the engine records it.
- **A handler that raises** is logged with its traceback and the next message goes on.
  What it was handling is lost here and recovered by the protocol: a job without a
  recorded ack is published again, a status comes again within a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from hardware import protocol
from hardware.protocol import Ack, Request, Status, Unreadable

from .answers import Answers

logger = logging.getLogger("hardware.hall.inbox")

Reply = Callable[[str, bytes], Awaitable[None]]

CLOSE_GRACE_SECONDS = 5.0
"""A request being answered is done within its 4 s budget (unless a change the core began
takes longer), an ack or a status is recorded in milliseconds."""


class KioskHandlers(Protocol):
    """What the engine does with what kiosks say; the core's kiosk flows implement it."""

    async def on_request(self, kiosk_id: str, request: Request) -> Mapping[str, Any]:
        """The reply's body to a patient's request: ``{"ok": True, …}``, or a refusal
        ``{"ok": False, "code", "params", "message"}`` (see :func:`.answers.refusal`)."""
        ...

    async def on_ack(self, kiosk_id: str, ack: Ack) -> None:
        """Record a job's outcome (a repeated ack keeps the first)."""
        ...

    async def on_status(self, kiosk_id: str, status: Status) -> None:
        """Record the kiosk's status: online with each device, or offline and why."""
        ...


class Inbox:
    def __init__(
        self,
        handlers: KioskHandlers,
        reply: Reply,
        *,
        answers: Answers | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handlers = handlers
        self._reply = reply
        self._answers = answers or Answers(handlers.on_request, clock=clock)
        self._clock = clock
        self._lanes: dict[tuple[str, str], deque[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._complained: set[str] = set()
        self._closed = False

    def take(self, topic: str, payload: bytes) -> None:
        """A message the broker delivered on ``topic``."""
        if self._closed:  # stopping: lost here, and recovered as for a handler that raised
            logger.debug("a message on %s while stopping: not taken", topic)
            return
        where = protocol.parse_topic(topic)
        if where is None or where[1] not in (protocol.REQUESTS, protocol.ACKS, protocol.STATUS):
            logger.warning("a message on %r, which is none of the kiosks' topics: dropped", topic)
            return
        kiosk_id, leaf = where
        if leaf == protocol.REQUESTS:
            self._start(self._request(kiosk_id, payload, self._clock()))
            return
        lane = self._lanes.get((leaf, kiosk_id))
        if lane is not None:
            lane.append(payload)
            return
        self._lanes[(leaf, kiosk_id)] = deque([payload])
        self._start(self._drain(leaf, kiosk_id))

    async def close(self, grace: float = CLOSE_GRACE_SECONDS) -> None:
        """Stop: let what is being handled finish (requests answered and their replies
        sent, acks recorded) for up to ``grace`` seconds, then cancel what is left."""
        self._closed = True
        late: set[asyncio.Task[None]] = set()
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=grace)
        await self._answers.close(grace=0)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _start(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, leaf: str, kiosk_id: str) -> None:
        lane = self._lanes[(leaf, kiosk_id)]
        try:
            while lane:
                payload = lane.popleft()
                try:
                    if leaf == protocol.ACKS:
                        await self._ack(kiosk_id, payload)
                    else:
                        await self._status(kiosk_id, payload)
                except Exception:
                    logger.exception("the %s handler failed on kiosk %s's message", leaf, kiosk_id)
        finally:
            del self._lanes[(leaf, kiosk_id)]  # no await since the last look: nothing missed

    async def _ack(self, kiosk_id: str, payload: bytes) -> None:
        ack = protocol.read_ack(payload)
        if isinstance(ack, Unreadable):
            self._complain(kiosk_id, "job ack", ack)
            return
        if ack.bad:
            self._complain(kiosk_id, "job ack", ack.message, f"job {ack.job_id} failed bad_payload")
        await self._handlers.on_ack(kiosk_id, ack)

    async def _status(self, kiosk_id: str, payload: bytes) -> None:
        status = protocol.read_status(payload)
        if isinstance(status, Unreadable):
            self._complain(kiosk_id, "status", status)
            return
        await self._handlers.on_status(kiosk_id, status)

    async def _request(self, kiosk_id: str, payload: bytes, received_at: float) -> None:
        request = protocol.read_request(payload)
        if isinstance(request, Unreadable):
            self._complain(kiosk_id, "request", request)
            return
        reply = await self._answers.answer(kiosk_id, request, received_at)
        try:
            await self._reply(kiosk_id, reply)
        except Exception as err:  # not connected, or the kiosk's session is gone
            logger.info(
                "the reply to %s request %s of kiosk %s was not sent (%s): the kiosk asks again",
                request.kind,
                request.request_id,
                kiosk_id,
                err,
            )

    def _complain(
        self, kiosk_id: str, what: str, problem: Unreadable | str, then: str = "dropped"
    ) -> None:
        """Log once per kiosk at warning level; after that at debug level."""
        if isinstance(problem, Unreadable):
            problem = f"{problem.problem} ({problem.detail})"
        level = logging.DEBUG if kiosk_id in self._complained else logging.WARNING
        self._complained.add(kiosk_id)
        logger.log(
            level,
            "kiosk %s sent a %s that cannot be read: %s; %s (what it sends that cannot be "
            "read is logged at debug level from now on)",
            kiosk_id,
            what,
            problem,
            then,
        )
