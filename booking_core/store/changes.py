"""Change notifications (变更通知): what live screens wait on instead of polling.

When a unit of work commits, the store tells :class:`Changes` what it changed, as
``(topic, hospital_id)`` pairs: the topic is the word before the first dot of each event
the unit emitted and each audit action it recorded (``call.transferred`` and
``call.take`` → ``"call"``, ``booking.created`` → ``"booking"``, ``agent.state`` →
``"agent"``), kept when it is one of :data:`LIVE_TOPICS`. Nothing is signalled for a unit
that raised or was rolled back.

* SQLite: the writer signals in-process right after the batch's ``COMMIT``.
* PostgreSQL: the unit's transaction sends ``pg_notify('guahao_changes', 'call:3')``
  with its audit and outbox rows (PostgreSQL delivers it on ``COMMIT``, never on a
  rollback), and each engine process keeps one LISTEN connection that signals its own
  :class:`Changes` on every notification, its own and other processes' alike. A lost LISTEN
  connection is reconnected, and the reconnection is signalled as "everything changed":
  what was committed while nobody listened is read again.

A watcher asks for topics of one hospital (``None``: a platform-wide watcher, every
hospital) and waits for the version of those topics to move::

    seen = changes.version({"call"}, hospital_id)
    ...read and show...
    seen = await changes.wait({"call"}, hospital_id, after=seen)

Versions only grow; several changes between two looks are one wake-up (a reader reads
once for all of them). A change recorded with no hospital wakes every watcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterable

from ..kernel.unit import Tx

CHANNEL = "guahao_changes"
"""The PostgreSQL notification channel every engine process LISTENs on."""

LIVE_TOPICS = frozenset({"call", "booking", "agent"})
"""The topics some live screen shows (the desk's call queue, the wallboard): only these are
signalled (on PostgreSQL every NOTIFY takes a lock at commit, so we send none that no
screen needs). A new live screen adds its topic here."""

Change = tuple[str, int | None]


def topic_of(action: str) -> str:
    """``"call.take"`` → ``"call"``."""
    return action.split(".", 1)[0]


def changes_of(tx: Tx) -> set[Change]:
    """What a unit that committed changed, as far as live screens care."""
    found: set[Change] = set()
    for event in tx.events:
        topic = topic_of(event.topic)
        if topic in LIVE_TOPICS:
            found.add((topic, event.hospital_id))
    for audit in tx.audits:
        topic = topic_of(audit.action)
        if topic in LIVE_TOPICS:
            found.add((topic, audit.hospital_id))
    return found


def encode(change: Change) -> str:
    """The NOTIFY payload of a change: ``"call:3"`` (``"call:"`` for no hospital)."""
    topic, hospital_id = change
    return f"{topic}:{'' if hospital_id is None else hospital_id}"


def decode(payload: str) -> Change | None:
    """A NOTIFY payload back into a change; None for one we cannot read."""
    topic, sep, hospital = payload.partition(":")
    if not sep or not topic:
        return None
    if not hospital:
        return topic, None
    try:
        return topic, int(hospital)
    except ValueError:
        return None


class Changes:
    """Version counters per topic and hospital, and the waiters on them (one event loop)."""

    def __init__(self, on_wait: Callable[[], None] | None = None) -> None:
        self._counts: dict[Change, int] = {}
        self._per_topic: dict[str, int] = {}  # every hospital's changes, for platform watchers
        self._everything = 0  # a reconnection: whatever happened meanwhile is unknown
        self._wakeup: asyncio.Event | None = None
        self._on_wait = on_wait  # the PostgreSQL store starts listening (if it does not yet)
        self.signals = 0  # how many changes were signalled (tests, metrics)

    def signal(self, changes: Iterable[Change]) -> None:
        """Changes committed: bump their versions and wake the waiters."""
        any_change = False
        for change in changes:
            self._counts[change] = self._counts.get(change, 0) + 1
            self._per_topic[change[0]] = self._per_topic.get(change[0], 0) + 1
            self.signals += 1
            any_change = True
        if any_change:
            self._wake()

    def signal_everything(self) -> None:
        """Something may have changed anywhere (the LISTEN connection was lost)."""
        self._everything += 1
        self._wake()

    def version(self, topics: Collection[str], hospital_id: int | None) -> int:
        """A number that grows whenever ``topics`` of ``hospital_id`` change."""
        total = self._everything
        for topic in topics:
            if hospital_id is None:
                total += self._per_topic.get(topic, 0)
            else:
                total += self._counts.get((topic, hospital_id), 0)
                total += self._counts.get((topic, None), 0)
        return total

    async def wait(self, topics: Collection[str], hospital_id: int | None, *, after: int) -> int:
        """Wait until the version of ``topics`` differs from ``after``; the new version."""
        self._started()
        while (now := self.version(topics, hospital_id)) == after:
            if self._wakeup is None:
                self._wakeup = asyncio.Event()
            await self._wakeup.wait()
        return now

    async def watch(self, topics: Collection[str], hospital_id: int | None) -> AsyncIterator[int]:
        """``async for version in changes.watch({"call"}, 3)``: once now, then once per
        wake-up (several changes in between are one)."""
        self._started()
        seen = self.version(topics, hospital_id)
        yield seen
        while True:
            seen = await self.wait(topics, hospital_id, after=seen)
            yield seen

    def _started(self) -> None:
        if self._on_wait is not None:
            self._on_wait()

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None:
            wakeup.set()

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<Changes {self._counts!r} everything={self._everything}>"


def notify_args(tx: Tx) -> list[str]:
    """The NOTIFY payloads of a unit (sorted: the same unit, the same statement)."""
    return sorted(encode(c) for c in changes_of(tx))


__all__ = [
    "CHANNEL",
    "LIVE_TOPICS",
    "Change",
    "Changes",
    "changes_of",
    "decode",
    "encode",
    "notify_args",
    "topic_of",
]
