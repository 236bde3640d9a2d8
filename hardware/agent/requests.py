"""What a patient asks at the kiosk goes to the engine as a request, and waits for the reply.

:meth:`Requests.ask` publishes ``{"v": 1, "request_id": <UUID>, "kind": …}`` on the kiosk's
``requests`` topic and waits ``REPLY_TIMEOUT_SECONDS`` for the reply with that
``request_id`` on ``replies``; without one it sends the **same** request once more (the
engine answers a repeated id as the first time), then gives up: None, and the screen says
"系统繁忙". A reply nobody waits for (late, or a duplicate) is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from hardware import protocol
from hardware.protocol import Reply, Unreadable

from .link import NotConnected

logger = logging.getLogger("hardware.agent.requests")

REPLY_TIMEOUT_SECONDS = 5.0
"""The protocol's promise: the engine answers within 5 s. A patient at a kiosk gives up
on a screen that does nothing for much longer."""
ATTEMPTS = 2
"""The request, and the same request once more: a lost message is rare on a LAN, and a
patient should not wait more than ~10 s to hear that the system is busy."""

Publish = Callable[[bytes], Awaitable[None]]


class Requests:
    def __init__(self, publish: Publish, *, reply_timeout: float = REPLY_TIMEOUT_SECONDS):
        self._publish = publish
        self._reply_timeout = reply_timeout
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._complained: set[str] = set()

    async def ask(self, kind: str, **fields: Any) -> Reply | None:
        """The engine's reply, or None when none came (after the second try)."""
        request_id = str(uuid.uuid4())
        payload = protocol.dump(protocol.request(request_id, kind, **fields))
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with asyncio.timeout(self._reply_timeout):
                        await self._publish(payload)
                        return await asyncio.shield(future)
                except TimeoutError:
                    logger.info("no reply to %s request %s (try %d)", kind, request_id, attempt)
                except NotConnected as err:  # no broker to ask
                    logger.info("%s request %s not sent: %s", kind, request_id, err)
                    return None
            return None
        finally:
            self._waiting.pop(request_id, None)
            future.cancel()

    def reply(self, data: bytes) -> None:
        """A message on ``replies``."""
        reply = protocol.read_reply(data)
        if isinstance(reply, Unreadable):
            level = logging.DEBUG if reply.problem in self._complained else logging.WARNING
            self._complained.add(reply.problem)
            logger.log(level, "a reply that is %s (%s): ignored", reply.problem, reply.detail)
            return
        future = self._waiting.get(reply.request_id)
        if future is None or future.done():
            logger.debug("reply to request %s, which no one waits for", reply.request_id)
            return
        future.set_result(reply)
