"""What the live-screen tests share: the console's feeds (agent_console.live) of a test
client, a store whose reads are counted, and SSE streams read in the background."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientResponse, web

from agent_console.live import LIVE, Live
from booking_core.store.base import Store


def live_of(console: Any) -> Live:
    """The :class:`Live` of the console app behind a test browser."""
    root: web.Application = console.client.server.app
    for resource in root.router.resources():
        app = getattr(resource, "_app", None)
        if app is not None and LIVE in app:
            return app[LIVE]
    raise AssertionError("no console sub-app")


LIVE_UNITS = frozenset({"_queue_now", "_with_kwargs"})
"""The units the desks' reader (the queue) and the wallboards' reader (reports.wallboard,
called with keywords through the bus) run."""


@dataclass
class ReadCounter:
    """Counts the reads a store runs (``read`` and ``read_small``): the test's meter of
    "the database is read once per change"."""

    reads: int = 0
    units: list[str] = field(default_factory=list)

    def install(self, store: Store, monkeypatch: Any) -> None:
        real_read, real_small = store.read, store.read_small

        async def read(fn: Any, *args: Any) -> Any:
            self.reads += 1
            self.units.append(getattr(fn, "__name__", repr(fn)))
            return await real_read(fn, *args)

        async def read_small(fn: Any, *args: Any) -> Any:
            self.reads += 1
            self.units.append(getattr(fn, "__name__", repr(fn)))
            return await real_small(fn, *args)

        monkeypatch.setattr(store, "read", read)
        monkeypatch.setattr(store, "read_small", read_small)

    def live_reads(self) -> int:
        """The reads of the live screens' shared readers."""
        return sum(1 for unit in self.units if unit in LIVE_UNITS)

    def reset(self) -> None:
        self.reads = 0
        self.units.clear()


@dataclass
class Stream:
    """One open SSE connection, its events collected by a background task."""

    response: ClientResponse
    events: list[tuple[str, str]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def start(self) -> Stream:
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        name, data = "", []
        while True:
            raw = await self.response.content.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line == "" and name:
                self.events.append((name, "\n".join(data)))
                name, data = "", []

    @property
    def last(self) -> str:
        """The data of the newest event of the stream's own kind (the desk's stream sends
        ``agent`` events too: the header's state)."""
        own = [data for name, data in self.events if name in ("calls", "wallboard")]
        return own[-1] if own else ""

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.response.close()


async def open_stream(console: Any, path: str) -> Stream:
    response = await console.client.get(path)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return Stream(response).start()


TILE = re.compile(r'data-tile="(\w+)"[^>]*>([^<]*)<')


def tiles(html: str) -> dict[str, str]:
    """The wallboard tiles' shown values by name (``waiting`` → ``"3"``)."""
    return {name: value.strip() for name, value in TILE.findall(html)}


def wait_seconds(html: str) -> int:
    found = re.search(r'data-wait-seconds="(\d+)"', html)
    assert found, html
    return int(found.group(1))


async def busy_morning(services: Any, clock: Any, code: str) -> None:
    """Hospital ``code``'s callers of a morning for the wallboard: two taken (one within
    20 s), one hung up before anyone took it, three waiting (the first for 2½ minutes)."""
    from datetime import timedelta

    from booking_core import calls
    from tests.agent_console.desk.desk_world import transfer
    from tests.agent_console.helpers import available_agent

    steps = (
        ("take", "CW-1", 8),
        ("take", "CW-2", 35),
        ("end", "CW-3", 50),
        ("wait", "CW-4", 60),
        ("wait", "CW-5", 40),
        ("wait", "CW-6", 50),
    )
    for what, sid, seconds in steps:
        await transfer(services, code, sid, caller="13700000000")
        clock.advance(timedelta(seconds=seconds))
        if what == "take":  # each by an agent of their own, available (置闲) then busy
            agent = await available_agent(services, f"agent_demo_{sid.lower()}", code)
            await services.handle(calls.TakeCall(call_sid=sid, actor=agent))
        elif what == "end":
            await services.handle(calls.EndCall(call_sid=sid, status="completed"))
