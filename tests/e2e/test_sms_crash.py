"""Kill -9 between sending a notice and recording it: after a restart, no duplicate and no loss.

A real ``guahao serve`` process drains the outbox and texts through a fake Twilio REST
server (in this test's process). The fake stores the first text and holds its answer;
the test SIGKILLs the engine while it waits, starts it again on the same SQLite file and
checks what Twilio ended up sending.
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta

import pytest

from booking_core.bus import bootstrap
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from tests.fakes.twilio_rest import ACCOUNT, SENDER, TOKEN, FakeTwilio
from tests.support.engine_process import EngineProcess
from tests.support.world import TZ, World, first_slot

pytestmark = pytest.mark.slow

PHONES = ["13900000001", "13900000002", "13900000003"]
LEASE_SECONDS = 2  # a restarted engine takes the interrupted text over this soon
WAIT_SECONDS = 30


async def _prepare(db: str, key: str) -> list[str]:
    """Three bookings made before the engine starts: three confirmations to send. The
    bookings are for the day after tomorrow: tomorrow's would also be reminded (texted the
    day before from the reminder hour), and the test would count those texts when it runs
    in the evening."""
    store = make_store(db, SystemClock(), outbox_consumers=["sms"])
    await store.open()
    services = bootstrap(store, Cipher.from_base64(key))
    try:
        world = World(services)
        session = await world.basic(
            datetime.now(TZ).date() + timedelta(days=2),
            places=5,
            doctor={"name": "张伟", "title": "", "specialty": "", "fee": 0},
            room="",
        )
        slot = await first_slot(services, session.id)
        numbers = []
        for i, phone in enumerate(PHONES):
            patient = await world.patient(f"患者{'甲乙丙'[i]}", phone)
            view = await world.book(slot, patient.id)
            numbers.append(view.booking.booking_no)
        assert session.id
        return numbers
    finally:
        await store.close()


def _log(db: str) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(db) as con:
        return con.execute(
            "SELECT status, provider_id, booking_no FROM messages WHERE direction = 'out' "
            "ORDER BY id"
        ).fetchall()


async def test_killed_between_send_and_record_no_duplicate_no_loss(tmp_path):
    db = str(tmp_path / "guahao.db")
    key = Cipher.generate_key()
    numbers = await _prepare(db, key)
    async with FakeTwilio() as fake:
        env = {
            "GUAHAO_PUBLIC_URL": "https://booking.example-hospital.test",
            "GUAHAO_TWILIO_AUTH_TOKEN": TOKEN,
            "GUAHAO_TWILIO_ACCOUNT_SID": ACCOUNT,
            "GUAHAO_TWILIO_SMS_FROM": SENDER,
            "GUAHAO_TWILIO_API_BASE": fake.base_url,
            "GUAHAO_SMS_NOTICES": "twilio",
            "GUAHAO_SMS_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        fake.hold_after_accept(WAIT_SECONDS)  # the first text is taken, its answer held
        engine = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine.log", env=env)
        await asyncio.to_thread(engine.start)
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await fake.accepted.wait()
            engine.kill9()
        finally:
            engine.stop()
        before = _log(db)
        assert {status for status, _, _ in before} == {"sending"}  # the batch it had claimed
        assert len(fake.messages) == 1  # of which one had reached Twilio

        again = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine2.log", env=env)
        await asyncio.to_thread(again.start)
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while [s for s, _, _ in _log(db)] != ["sent"] * 3:  # noqa: ASYNC110 - a file
                    await asyncio.sleep(0.2)
        finally:
            again.stop()
    after = _log(db)
    assert sorted(n for _, _, n in after) == sorted(numbers)  # every booking confirmed
    assert len(fake.messages) == 3  # ... once: the interrupted text was not sent again
    assert sorted(to for to in (m.to for m in fake.messages.values())) == [
        "+86" + p for p in PHONES
    ]
    assert {sid for _, sid, _ in after} == set(fake.messages)
