"""engine.kiosking: the kiosks' settings read into the hall's background work, checked as the
engine starts; and the engine in process against a private mosquitto whose password file
and ACL the engine writes: a kiosk registered gets in, its requests are answered, its
status recorded, /healthz says whether the broker is connected."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest
from aiohttp.test_utils import TestClient, TestServer
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from booking_core import catalogue, kiosks
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.pii import Cipher
from engine import kiosking
from engine.app import build_app
from engine.config import ConfigError, load_settings
from engine.keys import SERVICES, STORE
from hardware.hall.mosquitto import BrokerFiles, EngineAccount, password_hash
from tests.support.services import (
    ServiceError,
    free_port,
    service_missing,
    start_private_mosquitto,
)

KEY = Cipher.generate_key()
ENGINE_PASSWORD = "engine-secret-1"
KIOSK_PASSWORD = "kiosk-secret-1"


def settings_for(**extra):
    return dataclasses.replace(load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={}), **extra)


def test_kiosk_named_as_a_consumer_without_a_broker_is_refused_at_start():
    env = {"GUAHAO_PII_KEY": KEY, "GUAHAO_OUTBOX_CONSUMERS": "kiosk"}
    with pytest.raises(ConfigError, match="kiosk_broker_url is not set"):
        load_settings(env=env, overrides={})


def test_a_broker_turns_the_kiosk_consumer_on():
    assert kiosking.outbox_consumers(settings_for(), ("sms",)) == ("sms",)
    with_broker = settings_for(kiosk_broker_url="mqtt://127.0.0.1:1883")
    assert kiosking.outbox_consumers(with_broker, ("sms",)) == ("sms", "kiosk")
    assert kiosking.outbox_consumers(with_broker, ("kiosk",)) == ("kiosk",)
    assert kiosking.hall(settings_for()) is None


def test_the_settings_become_the_hall_s_work(tmp_path: Path):
    settings = settings_for(
        kiosk_broker_url="mqtt://127.0.0.1:1883",
        kiosk_broker_password="pw",
        kiosk_broker_client_id="engine-1",
        kiosk_broker_passwd_path=str(tmp_path / "passwd"),
        kiosk_broker_acl_path=str(tmp_path / "acl"),
    )
    work = kiosking.hall(settings)
    assert work is not None
    assert (str(work.address), work.account.user, work.client_id) == (
        "mqtt://127.0.0.1:1883",
        "engine",
        "engine-1",
    )
    assert work.files == BrokerFiles(tmp_path / "passwd", tmp_path / "acl", None)
    assert "pw" not in repr(work)


async def test_a_broker_without_the_engine_s_password_stops_the_start(tmp_path: Path):
    settings = settings_for(db=str(tmp_path / "g.db"), kiosk_broker_url="mqtt://127.0.0.1:1883")
    with pytest.raises(ConfigError, match="kiosk_broker_password is not set"):
        build_app(settings)


async def test_no_broker_no_kiosk_work_and_no_kiosk_consumer(tmp_path: Path):
    app = build_app(settings_for(db=str(tmp_path / "g.db")))
    async with TestClient(TestServer(app)) as client:
        body = await (await client.get("/healthz")).json()
        assert "kiosk_broker" not in body
        assert kiosks.OUTBOX_CONSUMER not in app[STORE].outbox_consumers


def _client(port: int, user: str, password: str) -> aiomqtt.Client:
    connect = Properties(PacketTypes.CONNECT)
    connect.SessionExpiryInterval = 600
    return aiomqtt.Client(
        "127.0.0.1",
        port,
        username=user,
        password=password,
        identifier=f"{user}-{uuid.uuid4().hex[:6]}",
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=False,
        properties=connect,
    )


async def _until(check, seconds: float = 10.0, what: str = ""):
    deadline = time.monotonic() + seconds
    while True:
        if result := await check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {seconds} s: {what}")
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_the_engine_writes_the_broker_files_and_answers_a_registered_kiosk(tmp_path: Path):
    files = BrokerFiles(tmp_path / "passwd", tmp_path / "acl")
    files.write(EngineAccount("engine", ENGINE_PASSWORD), [])  # what hospital IT starts with
    try:
        broker = start_private_mosquitto(
            tmp_path, password_file=files.password_path, acl_file=files.acl_path
        )
    except ServiceError as err:
        service_missing("mosquitto", str(err))
    settings = settings_for(
        db=str(tmp_path / "g.db"),
        kiosk_broker_url=f"mqtt://127.0.0.1:{broker.port}",
        kiosk_broker_password=ENGINE_PASSWORD,
        kiosk_broker_passwd_path=str(files.password_path),
        kiosk_broker_acl_path=str(files.acl_path),
        kiosk_broker_pid_path=str(broker.pid_file),
    )
    try:
        app = build_app(settings)
        async with TestClient(TestServer(app)) as client:

            async def connected():
                body = await (await client.get("/healthz")).json()
                return body["kiosk_broker"]["connected"] and body

            body = await _until(connected, what="the engine connected to the broker")
            assert body["status"] == "ok"
            services = app[SERVICES]
            await services.handle(catalogue.UpsertHospital(code="H001", name="安贞医院"))
            kiosk = await services.handle(
                kiosks.RegisterKiosk(
                    hospital_code="H001", name="1号机", password_hash=password_hash(KIOSK_PASSWORD)
                )
            )
            kiosk_id = kiosk.kiosk_id
            await _until(
                lambda: asyncio.sleep(0, kiosk_id in files.password_path.read_text()),
                what="the kiosk in the broker's password file",
            )
            await asyncio.sleep(0.3)  # the broker's SIGHUP reload
            root = f"guahao/v1/kiosk/{kiosk_id}"
            async with _client(broker.port, kiosk_id, KIOSK_PASSWORD) as kiosk_client:
                await kiosk_client.subscribe(f"{root}/replies", qos=1)
                status = {"v": 1, "online": True, "devices": {"printer": {"state": "ok"}}}
                await kiosk_client.publish(f"{root}/status", json.dumps(status), qos=1)
                request = {"v": 1, "request_id": "r-1", "kind": "check_in", "booking_no": "1"}
                await kiosk_client.publish(f"{root}/requests", json.dumps(request), qos=1)
                await kiosk_client.publish(f"{root}/requests", b"\xffnot json", qos=1)
                odd = {"v": 1, "request_id": "r-2", "kind": "dance"}
                await kiosk_client.publish(f"{root}/requests", json.dumps(odd), qos=1)
                replies = {}
                async with asyncio.timeout(10):
                    async for message in kiosk_client.messages:
                        reply = json.loads(message.payload)
                        replies[reply["request_id"]] = reply
                        if len(replies) == 2:
                            break
            assert (replies["r-1"]["ok"], replies["r-1"]["code"]) == (False, "not_found")
            assert replies["r-1"]["message"] == "未找到该预约，请核对预约号"
            assert replies["r-2"]["code"] == "unknown_kind"

            async def online():
                found = await services.read(kiosks.kiosk, kiosk_id, SYSTEM)
                return found.online

            await _until(online, what="the kiosk's status recorded")
            # another kiosk's user cannot publish as this kiosk: the ACL the engine wrote
            assert "pattern write guahao/v1/kiosk/%u/requests" in files.acl_path.read_text()
    finally:
        broker.stop()


async def test_no_broker_there_healthz_stays_ok_with_a_warning_and_the_engine_stops(
    tmp_path: Path,
):
    port = free_port()  # nothing listens: the link keeps trying
    settings = settings_for(
        db=str(tmp_path / "g.db"),
        kiosk_broker_url=f"mqtt://127.0.0.1:{port}",
        kiosk_broker_password=ENGINE_PASSWORD,
    )
    app = build_app(settings)
    assert kiosks.OUTBOX_CONSUMER in app[STORE].outbox_consumers
    async with asyncio.timeout(10), TestClient(TestServer(app)) as client:
        response = await client.get("/healthz")
        body = await response.json()
        assert (response.status, body["status"]) == (200, "ok")
        assert body["kiosk_broker"] == {
            "connected": False,
            "broker": f"mqtt://127.0.0.1:{port}",
            "warning": f"the kiosks' broker at mqtt://127.0.0.1:{port} is not connected",
        }
        assert body["warnings"] == [body["kiosk_broker"]["warning"]]


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"GUAHAO_OUTBOX_CONSUMERS": "kiosk"}, "kiosk_broker_url is not set"),
        ({"GUAHAO_KIOSK_BROKER_URL": "mqtt://127.0.0.1:1883"}, "kiosk_broker_password is not set"),
    ],
)
def test_guahao_serve_refuses_a_half_configured_hall_with_a_clear_message(
    tmp_path: Path, env: dict[str, str], says: str
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUAHAO_")}
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "serve", "--db", str(tmp_path / "g.db")],
        env=clean | {"GUAHAO_PII_KEY": KEY, "GUAHAO_PORT": "0"} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "guahao: configuration:" in done.stderr
    assert says in done.stderr
