"""The engine's hourly purge deletes delivered outbox events after outbox_retention_days."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from booking_core.events import outbox
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.support.events import noted

KEY = Cipher.generate_key()
WAIT_SECONDS = 10


def emit(tx, name: str):
    """A unit of work that only records one event."""
    tx.emit(noted(name))
    yield from ()


def events_for(tx, key: str):
    return (yield from outbox.events(tx, key=key))


async def add_event(store, name: str, *, delivered: bool) -> int:
    await store.write(emit, name)
    (event,) = await store.read(events_for, name)
    if delivered:
        assert await store.write(outbox.mark_done, "sms", [event.id]) == 1
    return event.id


async def test_the_purge_worker_uses_outbox_retention_days(aiohttp_client, tmp_path, clock):
    db = str(tmp_path / "g.db")
    earlier = make_store(db, clock, outbox_consumers=["sms"])  # an engine that sent notices
    await earlier.open()
    try:
        old = await add_event(earlier, "old", delivered=True)
        waiting = await add_event(earlier, "waiting", delivered=False)
        clock.advance(days=2)
        recent = await add_event(earlier, "recent", delivered=True)
    finally:
        await earlier.close()
    clock.advance(days=2)  # old: delivered 4 days ago; recent: 2 days ago

    base = load_settings(env={"GUAHAO_PII_KEY": KEY, "GUAHAO_OUTBOX_RETENTION_DAYS": "3"})
    app = build_app(dataclasses.replace(base, db=db), clock=clock)
    client = await aiohttp_client(app)  # the purge runs once at start, then hourly
    services = app[SERVICES]
    left: set[int] = set()
    for _ in range(WAIT_SECONDS * 20):
        left = {e.id for e in await services.read(outbox.events)}
        if old not in left:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail(f"the purge worker never deleted the old delivered event: {left}")
    assert left == {waiting, recent}
    assert [e.id for e in await services.claim("sms")] == [waiting]
    await client.close()
