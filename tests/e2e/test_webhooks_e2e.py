"""Webhooks from a real engine process (#13): ``guahao serve`` delivers to a receiver that
verifies every request with the ``standardwebhooks`` package, fails 20 % of the messages
and answers 5 % too late (each on its first attempt, chosen by the message's number, so
the run's length is not luck's); the engine is killed with SIGKILL while a delivery is in flight and
started again. Afterwards every event was received, in order per booking, and a message
received twice was the same message with the same id. (The minute-long outage is
tests/hospital_api/test_webhooks_storm.py, on the engine's clock.)"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import aiohttp
import pytest

from booking_core import feeds, operators
from booking_core.bus import bootstrap
from booking_core.events import outbox
from booking_core.feeds import FeedKind
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.clock import SystemClock
from booking_core.kernel.pii import Cipher
from booking_core.store import make_store
from hospital_api.auth import hash_token, new_token
from tests.support.engine_process import EngineProcess
from tests.support.webhook_receiver import WebhookReceiver, in_order_per_key
from tests.support.world import TZ, World, slot_ids

pytestmark = pytest.mark.slow

ADMIN = Actor("operator", "admin01", None, Channel.AGENT)
TOPICS = ("booking.created", "booking.cancelled")
BOOKINGS = 30
CANCELS = 10
TIMEOUT = 1  # GUAHAO_FEEDS_TIMEOUT_SECONDS: a claim's lease is 7 s


async def prepare(db: str, key: str, url: str) -> tuple[str, str, list[int], list[int]]:
    """The hospital, a session tomorrow, the patients, an API token and the subscription."""
    store = make_store(db, SystemClock(), outbox_consumers=[feeds.OUTBOX_CONSUMER])
    await store.open()
    services = bootstrap(store, Cipher.from_base64(key))
    try:
        world = World(services)
        await world.hospital()
        await world.department()
        await world.doctor(fee=0)
        tomorrow = datetime.now(TZ).date() + timedelta(days=1)
        session = await world.session(tomorrow, places=10)
        patients = await world.patients(BOOKINGS)
        token = new_token()
        await services.handle(
            operators.CreateToken(
                name="e2e", role="admin", hospital_code=None, token_hash=hash_token(token)
            )
        )
        made = await services.handle(
            feeds.CreateSubscription(
                actor=ADMIN, hospital_code="H001", kind=FeedKind.WEBHOOK, name="HIS",
                url=url, topics=TOPICS,
            )
        )  # fmt: skip
        return token, made.secret, patients, await slot_ids(services, session.id)
    finally:
        await store.close()


async def expected_ids(db: str, key: str) -> list[str]:
    store = make_store(db, SystemClock())
    await store.open()
    try:
        found = await bootstrap(store, Cipher.from_base64(key)).read(outbox.events)
        return [f"msg_{e.id}" for e in found if e.topic in TOPICS]
    finally:
        await store.close()


async def book_and_cancel(url: str, token: str, patients: list[int], slots: list[int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        numbers = []
        for i, patient in enumerate(patients):
            body = {"slot_id": slots[i % len(slots)], "patient_id": patient}
            async with http.post(f"{url}/api/v1/bookings", json=body) as answer:
                assert answer.status == 201, await answer.text()
                numbers.append((await answer.json())["booking_no"])
        for number in numbers[:CANCELS]:
            async with http.post(f"{url}/api/v1/bookings/{number}/cancel", json={}) as answer:
                assert answer.status == 200, await answer.text()


async def wait_for(receiver: WebhookReceiver, ids: set[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ids <= {t.id for t in receiver.taken}:
            return
        await asyncio.sleep(0.2)


async def test_kill_dash_nine_mid_delivery_loses_and_disorders_nothing(tmp_path):
    db = str(tmp_path / "guahao.db")
    key = Cipher.generate_key()
    receiver = WebhookReceiver(
        fail_share=0.2, slow_share=0.05, slow_seconds=TIMEOUT + 0.5, by_id=True
    )
    token, secret, patients, slots = await prepare(db, key, receiver.url)
    receiver.secret = secret
    await receiver.start()
    env = {
        "GUAHAO_FEEDS_ALLOW_PRIVATE_ADDRESSES": "true",
        "GUAHAO_FEEDS_TIMEOUT_SECONDS": str(TIMEOUT),
        "GUAHAO_FEEDS_FIRST_RETRY_SECONDS": "1",  # 1, 2, 4, 8 … s: the test waits less
    }
    engine = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine.log", env=env)
    try:
        await asyncio.to_thread(engine.start)
        await book_and_cancel(engine.url, token, patients, slots)
        # the next request the receiver gets is held until the engine that sent it is dead
        receiver.hold = release = asyncio.Event()
        await asyncio.wait_for(receiver.held.wait(), 30)
        await asyncio.to_thread(engine.kill9)
        release.set()
        taken_before = len(receiver.first_seen())
        engine = EngineProcess(db=db, pii_key=key, log_path=tmp_path / "engine2.log", env=env)
        await asyncio.to_thread(engine.start)
        ids = set(await expected_ids(db, key))
        assert len(ids) == BOOKINGS + CANCELS
        await wait_for(receiver, ids, 60)
    finally:
        await asyncio.to_thread(engine.stop)
        await receiver.close()

    got = receiver.first_seen()
    assert {t.id for t in got} == ids, engine.log_tail()  # none lost
    assert taken_before < len(ids)  # the kill came mid-way, not after the end
    assert in_order_per_key(got)
    receiver.check_duplicates_are_the_same_message()
    assert receiver.forged == 0
    assert receiver.requests > len(ids)  # failures and the killed delivery were sent again
