"""Answering a kiosk's requests (docs/kiosk-protocol.md, "Requests and replies"): within the
protocol's 5 s, and a repeated request id as the first time.

The kiosk waits 5 s for the reply to a request; without one it sends the **same** request
(same ``request_id``) once more, and after another 5 s shows "系统繁忙". So:

- **One answer per request id.** Every reply sent is kept (per engine, for
  ``REPLIES_KEPT_SECONDS``) under ``(kiosk, request_id)``, and a copy of that request is
  answered with it, without running the request again; a copy that arrives while the
  first is still being answered waits for that answer. "Busy" is kept too: a kiosk that
  was told "busy" has stopped waiting, so a copy must not do later what the kiosk will
  never hear of.
- **Busy only when it is true.** The handler runs inside the core's time budget
  (:func:`booking_core.store.budget.within`): when the budget runs out before the core
  started a change, nothing was done and the kiosk is told ``store_unavailable`` ("系统繁忙，
  请稍后再试"), which is true; a change past its point of no return is allowed to finish and
  its true answer goes out, late (the kiosk takes it while its second try waits). A
  request that waited past the budget before it could start is answered busy unrun.
- **A failure we cannot explain** (the handler raised something else) is answered
  ``internal_error`` ("系统出错，请到人工窗口办理"): we do not know what was done, so the
  patient is sent to a person rather than told to try again.

The kept replies are this engine's only: with several engines a kiosk's repeat may reach
another engine (shared subscriptions hand each message to one of them), which runs it
again. Answering a repeat across engines needs the request ids in the store.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from booking_core.kernel.errors import SystemFault
from booking_core.store.budget import within
from hardware import protocol
from hardware.protocol import Request

logger = logging.getLogger("hardware.hall.requests")

ANSWER_WITHIN_SECONDS = 4.0
"""The kiosk waits 5 s from its publish. Two broker hops on a hospital LAN take
milliseconds; the second left over keeps a busy answer inside the kiosk's wait when the
engine is slow to read (a burst of messages, a GC pause)."""
REPLIES_KEPT_SECONDS = 60.0
"""A kiosk repeats a request once, 5 s after the first; a copy held up in the broker (the
kiosk reconnecting) comes later still. A minute covers both."""
MOST_KEPT = 10_000
"""At the 07:30 rush 200 kiosks ask a few requests a minute each: far fewer. A flood
beyond this forgets the oldest replies first."""

BUSY = "store_unavailable"
BUSY_MESSAGE = "系统繁忙，请稍后再试"
INTERNAL_ERROR = "internal_error"
INTERNAL_ERROR_MESSAGE = "系统出错，请到人工窗口办理"

OnRequest = Callable[[str, Request], Awaitable[Mapping[str, Any]]]


@dataclass
class _Kept:
    answer: asyncio.Future[bytes]
    until: float = float("inf")  # kept until then once answered


def refusal(code: str, message: str, **params: Any) -> dict[str, Any]:
    """A reply body saying no: the error's ``code`` and ``params``, the screen's ``message``."""
    return {"ok": False, "code": code, "params": params, "message": message}


class Answers:
    """Runs each request's handler once and keeps its reply; see the module docstring."""

    def __init__(
        self,
        on_request: OnRequest,
        *,
        within_seconds: float = ANSWER_WITHIN_SECONDS,
        keep_seconds: float = REPLIES_KEPT_SECONDS,
        most_kept: int = MOST_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_request = on_request
        self._within = within_seconds
        self._keep = keep_seconds
        self._most = most_kept
        self._clock = clock
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()

    async def answer(self, kiosk_id: str, request: Request, received_at: float) -> bytes:
        """The reply to ``request`` (received at ``received_at``, by ``clock``), as sent."""
        self._forget_old()
        key = (kiosk_id, request.request_id)
        kept = self._kept.get(key)
        if kept is not None:
            logger.info("request %s of kiosk %s came again: answered as before", key[1], kiosk_id)
        else:
            task = asyncio.create_task(self._run(kiosk_id, request, received_at))
            kept = self._kept[key] = _Kept(task)
            task.add_done_callback(lambda _: self._answered(key))
        return await asyncio.shield(kept.answer)  # a waiter cancelled: the answer is still kept

    async def close(self, grace: float | None = None) -> None:
        """Stopping: let the requests being answered finish (for up to ``grace`` seconds,
        the budget by default: a change the core has begun is not cut short), then cancel."""
        running = [kept.answer for kept in self._kept.values() if not kept.answer.done()]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self._within if grace is None else grace)
        for answer in late:
            answer.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _answered(self, key: tuple[str, str]) -> None:
        kept = self._kept.get(key)
        if kept is not None:
            kept.until = self._clock() + self._keep
            self._kept.move_to_end(key)  # the order is the order of forgetting

    def _forget_old(self) -> None:
        now = self._clock()
        while self._kept:
            key, kept = next(iter(self._kept.items()))
            if kept.until > now and len(self._kept) <= self._most:
                break
            if not kept.answer.done():  # still being answered: never forgotten
                break
            del self._kept[key]

    async def _run(self, kiosk_id: str, request: Request, received_at: float) -> bytes:
        rid, kind = request.request_id, request.kind
        remaining = self._within - (self._clock() - received_at)
        if remaining <= 0:
            logger.warning(
                "%s request %s of kiosk %s waited %.1f s before it could start: answered busy",
                kind,
                rid,
                kiosk_id,
                self._clock() - received_at,
            )
            return self._reply(rid, refusal(BUSY, BUSY_MESSAGE))
        budget = None
        try:
            async with within(remaining) as budget:
                body = await self._on_request(kiosk_id, request)
        except TimeoutError:
            if budget is None or not budget.expired():
                logger.exception("%s request %s of kiosk %s failed", kind, rid, kiosk_id)
                return self._reply(rid, refusal(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE))
            logger.warning(
                "%s request %s of kiosk %s not started within %.1f s: answered busy",
                kind,
                rid,
                kiosk_id,
                self._within,
            )
            return self._reply(rid, refusal(BUSY, BUSY_MESSAGE))
        except SystemFault as err:  # ours, and nothing was changed (StoreUnavailable …)
            logger.warning("%s request %s of kiosk %s: %s; answered busy", kind, rid, kiosk_id, err)
            return self._reply(rid, refusal(BUSY, BUSY_MESSAGE))
        except Exception:
            logger.exception("%s request %s of kiosk %s failed", kind, rid, kiosk_id)
            return self._reply(rid, refusal(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE))
        took = self._clock() - received_at
        if took > self._within:
            logger.warning(
                "%s request %s of kiosk %s answered after %.1f s (a change the core had "
                "begun finished first; the kiosk waits 5 s, then asks once more)",
                kind,
                rid,
                kiosk_id,
                took,
            )
        return self._reply(rid, body)

    def _reply(self, request_id: str, body: Mapping[str, Any]) -> bytes:
        try:
            return protocol.dump(protocol.reply(request_id, body))
        except (TypeError, ValueError) as err:  # not JSON, or no ok: a bug of the handler's
            logger.error("a reply to request %s that cannot be sent (%s)", request_id, err)
            return protocol.dump(
                protocol.reply(request_id, refusal(INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE))
            )
