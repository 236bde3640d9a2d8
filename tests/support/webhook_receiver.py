"""A hospital's webhook receiver for the tests: a real aiohttp server on 127.0.0.1 that
verifies every request with the ``standardwebhooks`` package (a request that does not
verify is answered 401 and counted), misbehaves as told (fails a share of requests with
500, answers a share too late, goes down and comes back on the same port), and keeps what
it took."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from .services import free_port


@dataclass
class Taken:
    id: str
    type: str
    key: str
    body: bytes


@dataclass
class WebhookReceiver:
    secret: str = ""
    fail_share: float = 0.0  # answered 500
    slow_share: float = 0.0  # answered after ``slow_seconds`` (past the sender's timeout)
    slow_seconds: float = 2.0
    seed: int = 13
    port: int = field(default_factory=free_port)
    taken: list[Taken] = field(default_factory=list)  # answered 2xx (or late), in order
    requests: int = 0
    forged: int = 0
    by_id: bool = False  # the shares decided by the message's number, on its first attempt
    hold: asyncio.Event | None = None  # set: the next request waits until it is cleared
    held: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._tried: set[str] = set()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()

    async def down(self) -> None:
        """Stop listening and drop every open connection: refused until :meth:`start`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    close = down

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests += 1
        try:
            message = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.forged += 1
            return web.Response(status=401)
        if self.hold is not None:
            hold, self.hold = self.hold, None
            self.held.set()
            await hold.wait()
        draw = self._draw(message["id"])
        if draw < self.fail_share:
            return web.Response(status=500)
        self.taken.append(Taken(message["id"], message["type"], message["key"], body))
        if draw < self.fail_share + self.slow_share:
            await asyncio.sleep(self.slow_seconds)
        return web.Response(status=204)

    def _draw(self, message_id: str) -> float:
        """Where this request falls among the shares: at random; or (``by_id``) by the
        message's number, on its first attempt only (then always taken), so that exactly
        those shares of the messages fail once and a run's length does not depend on luck."""
        if not self.by_id:
            return self._random.random()
        if any(t.id == message_id for t in self.taken) or message_id in self._tried:
            return 1.0
        self._tried.add(message_id)
        return (int(message_id.removeprefix("msg_")) * 0.618034) % 1.0

    def first_seen(self) -> list[Taken]:
        """Each message once, at its first taking."""
        seen: dict[str, Taken] = {}
        for t in self.taken:
            seen.setdefault(t.id, t)
        return list(seen.values())

    def check_duplicates_are_the_same_message(self) -> int:
        """How many duplicates were taken; each has its first's body exactly."""
        first: dict[str, bytes] = {}
        duplicates = 0
        for t in self.taken:
            if t.id in first:
                assert first[t.id] == t.body, f"{t.id} came twice with two bodies"
                duplicates += 1
            first.setdefault(t.id, t.body)
        return duplicates


def in_order_per_key(taken: list[Taken]) -> bool:
    """Whether each key's messages were first taken in the order of their event ids."""
    last: dict[str, int] = {}
    for t in taken:
        number = int(t.id.removeprefix("msg_"))
        if number < last.get(t.key, 0):
            return False
        last[t.key] = number
    return True


def topics_of(taken: list[Taken]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in taken:
        out.setdefault(t.key, []).append(t.type)
    return out


__all__ = ["Taken", "WebhookReceiver", "in_order_per_key", "topics_of"]
