"""The engine fills the pinyin keys and birth year of patients registered before schema
18 (which SQL alone cannot compute) when it starts: 张三 is then found by ``zs``."""

from __future__ import annotations

import asyncio
import dataclasses

from booking_core.bus import bootstrap
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.pii import Cipher
from booking_core.kernel.unit import execute
from booking_core.patients import search_patients
from booking_core.store import make_store
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.support.world import World, resident_id

KEY = Cipher.generate_key()
WAIT_SECONDS = 10


def _forget(tx):
    yield execute("UPDATE patients SET name_keys = NULL, birth_year = NULL")


async def test_the_engine_fills_the_keys_of_older_patients(aiohttp_client, tmp_path, clock):
    db = str(tmp_path / "g.db")
    earlier = make_store(db, clock)
    await earlier.open()
    try:
        services = bootstrap(earlier, Cipher.from_base64(KEY))
        world = World(services)
        await world.hospital()
        for i in range(3):
            await world.patient(f"张三{i}", f"1381234567{i}", id_number=resident_id(i))
        await earlier.write(_forget)  # as rows from before schema 18 are
        assert await services.read(search_patients, SYSTEM, services.cipher, "zs") == []
    finally:
        await earlier.close()

    base = load_settings(env={"GUAHAO_PII_KEY": KEY})
    app = build_app(dataclasses.replace(base, db=db), clock=clock)
    await aiohttp_client(app)
    running = app[SERVICES]
    found: list = []
    for _ in range(WAIT_SECONDS * 20):
        found = await running.read(search_patients, SYSTEM, running.cipher, "zs")
        if len(found) == 3:
            break
        await asyncio.sleep(0.05)
    assert sorted(p.name for p in found) == ["张三0", "张三1", "张三2"]
    assert {p.birth_year for p in found} == {1980}
