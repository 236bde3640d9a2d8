"""The agent's connection to the broker: TLS with the hospital's own CA, and the status it
leaves behind when stopped on purpose."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest

from tests.hardware.kiosk_world import (
    ENGINE,
    KIOSK_A,
    ROOT,
    AgentProcess,
    KioskWorld,
    eventually,
    make_tls,
    mqtt_client,
    start_broker,
    write_config,
)

pytestmark = pytest.mark.slow


async def test_the_agent_speaks_tls_to_a_broker_its_ca_file_vouches_for_and_no_other(tmp_path):
    tls = make_tls(tmp_path, "hospital-ca")
    stranger = make_tls(tmp_path, "another-ca")
    broker = start_broker(tmp_path, tls=tls)
    agent = AgentProcess(
        write_config(tmp_path, broker, ca_file=stranger.ca_file), tmp_path / "a.log"
    )
    statuses: list[dict] = []
    try:
        agent.start()  # first with the wrong CA: the broker is not the one it should trust
        await eventually(lambda: "certificate verify failed" in agent.log(), what="refused")
        await asyncio.to_thread(agent.stop)
        write_config(tmp_path, broker, ca_file=tls.ca_file)
        tls_params = aiomqtt.TLSParameters(ca_certs=str(tls.ca_file))
        async with mqtt_client(broker, ENGINE, tls_params=tls_params) as engine:
            await engine.subscribe(f"{ROOT}/{KIOSK_A}/status", qos=1)

            async def collect() -> None:
                async for message in engine.messages:
                    assert isinstance(message.payload, bytes)
                    statuses.append(json.loads(message.payload))

            reading = asyncio.create_task(collect())
            agent.start()
            await eventually(lambda: any(s.get("online") for s in statuses), what="online")
            reading.cancel()
        assert "connected to the broker" in agent.log()
    finally:
        await asyncio.to_thread(agent.stop)
        broker.stop()


STOPPED = {"v": 1, "online": False, "reason": "stopped"}
LOST = {"v": 1, "online": False, "reason": "lost"}


async def test_a_kiosk_stopped_on_purpose_says_so_and_one_that_dies_is_lost(kiosk: KioskWorld):
    status = kiosk.engine.status()
    assert status is not None
    assert status["online"] is True
    assert status["agent"].startswith("guahao-kiosk")
    assert set(status["devices"]) == {"printer", "card_reader", "terminal"}
    assert await retained(kiosk) == status  # what a console that starts now reads
    assert await asyncio.to_thread(kiosk.agent.stop) == 0  # SIGTERM: a clean stop
    await eventually(lambda: kiosk.engine.status() == STOPPED)
    assert await retained(kiosk) == STOPPED
    kiosk.agent.start()
    await kiosk.ready()
    await asyncio.to_thread(kiosk.agent.kill9)
    await eventually(lambda: kiosk.engine.status() == LOST)
    assert await retained(kiosk) == LOST


async def retained(kiosk: KioskWorld) -> dict:
    """The status a new subscriber is handed by the broker (retained), if any."""
    async with mqtt_client(kiosk.broker, ENGINE) as console:
        await console.subscribe(f"{ROOT}/{KIOSK_A}/status", qos=1)
        async with asyncio.timeout(3):
            async for message in console.messages:
                assert message.retain
                assert isinstance(message.payload, bytes)
                return json.loads(message.payload)
    raise AssertionError("no retained status")
