"""Kiosk isolation on the real broker with the ACL the engine writes (that of docs/kiosk.md):
a kiosk's credentials work for its own topics only."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from tests.hardware.kiosk_world import (
    ENGINE,
    KIOSK_A,
    KIOSK_B,
    ROOT,
    eventually,
    mqtt_client,
    start_broker,
)

pytestmark = pytest.mark.slow


async def _collect(client: aiomqtt.Client, into: list[tuple[str, bytes]]) -> None:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        into.append((str(message.topic), message.payload))


async def test_kiosk_a_cannot_read_b_s_jobs_nor_speak_for_b(tmp_path):
    broker = start_broker(tmp_path)
    seen: dict[str, list[tuple[str, bytes]]] = {ENGINE: [], KIOSK_A: [], KIOSK_B: []}
    try:
        async with (
            mqtt_client(broker, ENGINE) as engine,
            mqtt_client(broker, KIOSK_A) as a,
            mqtt_client(broker, KIOSK_B) as b,
        ):
            await engine.subscribe(f"$share/guahao/{ROOT}/+/acks", qos=1)
            await engine.subscribe(f"{ROOT}/+/status", qos=1)
            for topic in (
                f"{ROOT}/{KIOSK_B}/jobs",
                f"{ROOT}/+/jobs",
                "#",
                f"{ROOT}/{KIOSK_A}/jobs",
            ):
                await a.subscribe(topic, qos=1)  # granted, yet only its own arrive
            await b.subscribe(f"{ROOT}/{KIOSK_B}/jobs", qos=1)
            tasks = [
                asyncio.create_task(_collect(client, seen[name]))
                for name, client in ((ENGINE, engine), (KIOSK_A, a), (KIOSK_B, b))
            ]
            await engine.publish(f"{ROOT}/{KIOSK_B}/jobs", b"for B", qos=1)
            await a.publish(f"{ROOT}/{KIOSK_B}/acks", b"A faking B's ack", qos=1)
            await a.publish(f"{ROOT}/{KIOSK_B}/status", b"A faking B's status", qos=1)
            await a.publish(f"{ROOT}/{KIOSK_A}/jobs", b"A giving itself a job", qos=1)
            await engine.publish(f"{ROOT}/{KIOSK_A}/jobs", b"for A", qos=1)
            await a.publish(f"{ROOT}/{KIOSK_A}/acks", b"A's own ack", qos=1)
            # the controls: what A may do arrives, and arrives after what it may not
            await eventually(lambda: (f"{ROOT}/{KIOSK_A}/acks", b"A's own ack") in seen[ENGINE])
            await eventually(lambda: seen[KIOSK_A] and seen[KIOSK_B])
            await asyncio.sleep(0.3)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert seen[ENGINE] == [(f"{ROOT}/{KIOSK_A}/acks", b"A's own ack")]
        assert {payload for _, payload in seen[KIOSK_A]} == {b"for A"}
        assert seen[KIOSK_B] == [(f"{ROOT}/{KIOSK_B}/jobs", b"for B")]
    finally:
        broker.stop()


@pytest.mark.parametrize(
    ("user", "password"),
    [(KIOSK_A, "kiosk-b-secret"), (KIOSK_B, "kiosk-a-secret"), ("k0000000c", "kiosk-a-secret")],
)
async def test_a_kiosk_logs_in_with_its_own_password_only(tmp_path: Path, user, password):
    broker = start_broker(tmp_path)
    try:
        with pytest.raises(aiomqtt.MqttError, match=r"[Nn]ot authori"):
            async with mqtt_client(broker, user, password=password) as c:
                await c.publish(f"{ROOT}/{user}/status", b"?", qos=1)
        async with mqtt_client(broker, KIOSK_A):  # the control: A's own works
            pass
    finally:
        with contextlib.suppress(Exception):
            broker.stop()
