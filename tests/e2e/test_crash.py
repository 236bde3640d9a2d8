"""Kill -9 under load: every booking answered 201 survives, no slot is over capacity.

A real ``guahao serve`` process on a real SQLite file (WAL, synchronous=FULL)
takes concurrent bookings over HTTP; the test SIGKILLs it mid-load, starts it
again on the same file and checks what the clients were promised.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta

import aiohttp
import pytest

from booking_core import operators
from booking_core.bus import bootstrap
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from hospital_api.auth import hash_token, new_token
from tests.support.engine_process import EngineProcess
from tests.support.world import TZ, World, slot_ids

pytestmark = pytest.mark.slow

PATIENTS = 600
CLIENTS = 48
KILL_AFTER_CREATED = 120


async def _prepare(db: str, key: str) -> tuple[str, list[int], list[int]]:
    store = make_store(db, SystemClock())
    await store.open()
    services = bootstrap(store, Cipher.from_base64(key))
    try:
        world = World(services)
        await world.hospital(name="协和")
        await world.department()
        await world.doctor(fee=0, name="张", title="", specialty="")
        today = datetime.now(TZ).date()
        sessions = [
            await world.session(today + timedelta(days=d), slot_minutes=15, places=4, room="")
            for d in range(1, 6)
        ]
        patients = await world.patients(PATIENTS)
        token = new_token()
        await services.handle(
            operators.CreateToken(
                name="crash", role="admin", hospital_code=None, token_hash=hash_token(token)
            )
        )
        slots = [slot for s in sessions for slot in await slot_ids(services, s.id)]
        return token, patients, slots
    finally:
        await store.close()


async def _load(
    url: str,
    token: str,
    patients: list[int],
    slots: list[int],
    created: list[str],
    stop: asyncio.Event,
):
    queue: asyncio.Queue[int] = asyncio.Queue()
    for p in patients:
        queue.put_nowait(p)
    headers = {"Authorization": f"Bearer {token}"}

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty() and not stop.is_set():
            patient = queue.get_nowait()
            body = {"slot_id": slots[patient % len(slots)], "patient_id": patient}
            try:
                async with session.post(
                    f"{url}/api/v1/bookings", json=body, headers=headers
                ) as resp:
                    data = await resp.json(content_type=None)
                    if resp.status == 201:
                        created.append(data["booking_no"])
            except (aiohttp.ClientError, TimeoutError):
                return  # the engine died under us: that is the point

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=CLIENTS)
    ) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))


async def test_kill_dash_nine_mid_load_loses_no_confirmed_booking(tmp_path):
    db = str(tmp_path / "guahao.db")
    key = Cipher.generate_key()
    token, patients, slots = await _prepare(db, key)
    engine = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine.log")
    engine.start()
    created: list[str] = []
    stop = asyncio.Event()
    load = asyncio.create_task(_load(engine.url, token, patients, slots, created, stop))
    try:
        while len(created) < KILL_AFTER_CREATED and not load.done():  # noqa: ASYNC110 - polls a list
            await asyncio.sleep(0.005)
        assert not load.done(), "the load finished before the kill: raise PATIENTS"
        await asyncio.to_thread(engine.kill9)
        killed_at = len(created)
        await asyncio.wait_for(load, 30)
    finally:
        stop.set()
        engine.stop()
    assert killed_at >= KILL_AFTER_CREATED
    assert len(created) < PATIENTS, "every request finished: the kill was not mid-load"

    engine = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine2.log")
    engine.start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as session:
            missing = []
            for booking_no in created:
                async with session.get(f"{engine.url}/api/v1/bookings/{booking_no}") as resp:
                    if resp.status != 200:
                        missing.append(booking_no)
                    else:
                        assert (await resp.json())["status"] == "confirmed"
        assert missing == [], f"{len(missing)} bookings answered 201 were lost: {missing[:5]}"
    finally:
        engine.stop()

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        over = conn.execute("SELECT count(*) FROM slots WHERE booked > capacity").fetchone()[0]
        mismatched = conn.execute(
            "SELECT count(*) FROM slots s WHERE s.booked <> (SELECT count(*) FROM bookings b "
            "WHERE b.slot_id = s.id AND b.status IN ('held', 'confirmed', 'checked_in'))"
        ).fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM bookings").fetchone()[0]
    assert over == 0
    assert mismatched == 0
    assert stored >= len(created)
