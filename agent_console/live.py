"""Live screens' shared readers (实时刷新): one reader per screen and hospital, woken by the
store's change notifications (:mod:`booking_core.store.changes`), its latest answer fanned
out to every open connection of that screen.

A desk's call queue and the wallboard are open on many screens at once. Each SSE connection
subscribes to a :class:`Feed` named by the screen and the hospital; the feed's one task
reads the store when a topic it watches changed (several changes since its last read are
one read), and otherwise every ``refresh_seconds`` in case a notification was lost (a write
made by a command-line tool on SQLite, a LISTEN connection down for a moment) or time alone
changed the answer (a day turning at local midnight). Connections only wait for the feed's
next version: the database is read once per change, not once per page per second.

The feed starts with its first subscriber (reading at once) and stops with its last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from booking_core.store.changes import Changes

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0  # a lost notification (or the day turning) shows within this
RETRY_SECONDS = 5.0  # a read that failed (the store busy or down) is tried again after this


class FeedClosed(Exception):
    """The console is shutting down: a stream waiting on its feed ends (its browser
    reconnects to the next engine), so a shutdown is not held by open screens."""


Reader = Callable[[], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Feed:
    """One screen's answer for one hospital, kept fresh by one task."""

    name: str
    topics: frozenset[str]
    hospital_id: int | None
    read: Reader
    value: Any = None
    version: int = 0  # 0: nothing read yet
    reads: int = 0
    subscribers: int = 0
    task: asyncio.Task[None] | None = None
    closed: bool = False
    _published: asyncio.Event = field(default_factory=asyncio.Event)

    async def next(self, after: int) -> tuple[int, Any]:
        """The answer newer than version ``after``, waiting for it (under the caller's
        ``asyncio.timeout``)."""
        while self.version <= after:
            if self.closed:
                raise FeedClosed(self.name)
            await self._published.wait()
        return self.version, self.value

    def publish(self, value: Any) -> None:
        self.value = value
        self.version += 1
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        published, self._published = self._published, asyncio.Event()
        published.set()


class Live:
    """The console's feeds, by (screen, hospital)."""

    def __init__(
        self,
        changes: Changes,
        *,
        refresh_seconds: float = REFRESH_SECONDS,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.changes = changes
        self.refresh_seconds = refresh_seconds
        self.sleep = sleep  # tests move time by hand
        self.feeds: dict[tuple[str, int | None], Feed] = {}
        self.closing = False  # shutting down: new streams end at once

    @contextlib.asynccontextmanager
    async def subscribe(
        self, name: str, topics: Collection[str], hospital_id: int | None, read: Reader
    ) -> AsyncIterator[Feed]:
        """The feed of screen ``name`` for ``hospital_id``: ``read`` is how to read it, used
        by the feed's task if this subscriber is the first."""
        if self.closing:
            raise FeedClosed(name)
        key = (name, hospital_id)
        feed = self.feeds.get(key)
        if feed is None:
            feed = Feed(name, frozenset(topics), hospital_id, read)
            self.feeds[key] = feed
            feed.task = asyncio.create_task(self._run(feed), name=f"live-{name}-{hospital_id}")
        feed.subscribers += 1
        try:
            yield feed
        finally:
            feed.subscribers -= 1
            if feed.subscribers == 0 and self.feeds.get(key) is feed:
                del self.feeds[key]
                await _stop(feed)

    async def _run(self, feed: Feed) -> None:
        failing = False
        while True:
            seen = self.changes.version(feed.topics, feed.hospital_id)
            try:
                value = await feed.read()
            except Exception as err:  # the store busy or down: keep the last answer
                if not failing:
                    log.warning("live %s of hospital %s: %s", feed.name, feed.hospital_id, err)
                failing = True
                await self.sleep(RETRY_SECONDS)
                continue
            if failing:
                log.info("live %s of hospital %s reads again", feed.name, feed.hospital_id)
                failing = False
            feed.reads += 1
            feed.publish(value)
            await self._next_change(feed, seen)

    async def _next_change(self, feed: Feed, seen: int) -> None:
        """Until ``feed``'s topics move past ``seen``, or the safety refresh is due."""
        changed = asyncio.ensure_future(
            self.changes.wait(feed.topics, feed.hospital_id, after=seen)
        )
        due = asyncio.ensure_future(self.sleep(self.refresh_seconds))
        try:
            await asyncio.wait({changed, due}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            due.cancel()

    def shutdown(self) -> None:
        """End every stream waiting on a feed (the app is shutting down)."""
        self.closing = True
        for feed in self.feeds.values():
            feed.close()

    async def close(self) -> None:
        self.shutdown()
        feeds, self.feeds = list(self.feeds.values()), {}
        for feed in feeds:
            await _stop(feed)


async def _stop(feed: Feed) -> None:
    if feed.task is not None:
        feed.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed.task
        feed.task = None


LIVE = web.AppKey("live", Live)


def live(request: web.Request) -> Live:
    return request.app[LIVE]


async def live_context(app: web.Application) -> AsyncIterator[None]:
    """The console's cleanup context: every feed's task stops with the app."""
    yield
    await app[LIVE].close()


async def end_streams(app: web.Application) -> None:
    """``on_shutdown``: the open streams end before the server waits for its handlers."""
    app[LIVE].shutdown()
