"""One cache for what is read on every call, text and booking and changed by few
commands: hospitals, their department and doctor lists (医院、科室、医生) and rule sets
(规则). The bus holds one (``BookingServices.cache``, the same object as ``Deps.cache``);
the doors use it through :meth:`~booking_core.bus.BookingServices.cached`, units of work
through :meth:`Cache.through`.

One staleness rule for all of it:

* an entry lives at most ``ttl_seconds``: a change made by another process (a second
  engine on a shared PostgreSQL) is seen within that time;
* a catalogue or rule command handled in this process empties the cache at once
  (:meth:`Cache.clear`, called by the bus when the command is done, also when its outcome
  is unknown), so this process sees its own change on the next read.

Only answers are kept, never errors. An answer whose load began before the cache was last
emptied is handed to its caller but not kept: it may predate the change."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Generator, Hashable
from typing import Any, TypeVar

from .unit import Query

T = TypeVar("T")

CACHE_TTL_SECONDS = 5.0
"""How late a change made by another engine is seen: rules and lists change a few times a
day, while every booking reads the rules and every caller walking the menu the lists."""

CACHE_MAX_ENTRIES = 4096
"""Entries of all hospitals together (a hospital has a few dozen); past it, start afresh."""


class Cache:
    """Answers kept by key for at most ``ttl_seconds``; :meth:`clear` forgets them all.

    ``clock`` is a monotonic clock in seconds (a test moves a fake one)."""

    def __init__(
        self,
        ttl_seconds: float = CACHE_TTL_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = CACHE_MAX_ENTRIES,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}  # key → (expires at, answer)
        self._generation = 0  # moved on by each clear()

    def clear(self) -> None:
        """Forget every answer, and any answer being loaded now."""
        self._generation += 1
        self._entries.clear()

    def _hit(self, key: Hashable) -> tuple[bool, Any]:
        found = self._entries.get(key)
        if found is None:
            return False, None
        if found[0] <= self.clock():
            self._entries.pop(key, None)  # (units on SQLite's writer thread use it too)
            return False, None
        return True, found[1]

    def _start(self) -> tuple[int, float]:
        """What a load begins with: the generation, and when its answer expires."""
        return self._generation, self.clock() + self.ttl_seconds

    def _keep(self, key: Hashable, started: tuple[int, float], value: Any) -> None:
        generation, expires_at = started
        if generation != self._generation:
            return  # emptied while loading: the answer may predate the change
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (expires_at, value)

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """The kept answer for ``key``, or ``await load()`` (kept unless it raised)."""
        hit, value = self._hit(key)
        if hit:
            return value
        started = self._start()
        value = await load()
        self._keep(key, started, value)
        return value

    def through(
        self, key: Hashable, load: Callable[[], Generator[Query, Any, T]]
    ) -> Generator[Query, Any, T]:
        """:meth:`get` inside a unit of work: ``yield from cache.through(key, load)``."""
        hit, value = self._hit(key)
        if hit:
            return value
        started = self._start()
        value = yield from load()
        self._keep(key, started, value)
        return value
