"""The engine app: health, metrics, workers that stop cleanly, the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import date, time

import aiohttp
import pytest
from aiohttp import web

from booking_core import bookings, operators
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.pii import Cipher
from booking_core.schedule import Period
from engine import cli
from engine.app import build_app
from engine.config import ConfigError, load_settings
from engine.keys import SERVICES, STORE
from hospital_api.auth import hash_token, new_token
from tests.support.world import World, first_slot, slot_ids

KEY = Cipher.generate_key()


def settings_for(db: str, **extra):
    base = load_settings(env={"GUAHAO_PII_KEY": KEY}, overrides={"db": db})
    return dataclasses.replace(base, **extra)


@pytest.fixture
async def engine_client(aiohttp_client, tmp_path, clock):
    app = build_app(settings_for(str(tmp_path / "g.db")), clock=clock)
    client = await aiohttp_client(app)
    return client


async def test_healthz_reports_the_store(engine_client):
    resp = await engine_client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok"
    assert body["store"] == "sqlite"
    assert body["schema"] >= 1


async def test_healthz_is_503_when_the_store_is_gone(engine_client):
    await engine_client.app[STORE].close()
    resp = await engine_client.get("/healthz")
    assert resp.status == 503
    assert (await resp.json())["status"] == "unavailable"
    await engine_client.app[STORE].open()  # so the app's own cleanup can close it


async def test_metrics_count_bookings_by_channel_and_result(engine_client):
    services = engine_client.app[SERVICES]
    world = World(services)
    session = await world.basic(date(2026, 7, 15), places=1)
    first, second = await world.patient("张三"), await world.patient("李四")
    slot_id = await first_slot(services, session.id)
    token = new_token()
    await services.handle(
        operators.CreateToken(
            name="t", role="his", hospital_code="H001", token_hash=hash_token(token)
        )
    )
    headers = {"Authorization": f"Bearer {token}"}
    for patient in (first, second):
        await engine_client.post(
            "/api/v1/bookings", json={"slot_id": slot_id, "patient_id": patient.id}, headers=headers
        )
    text = await (await engine_client.get("/metrics")).text()
    assert 'guahao_bookings_total{channel="his",result="created"} 1.0' in text
    assert 'guahao_bookings_total{channel="his",result="slot_full"} 1.0' in text
    assert 'guahao_request_seconds_count{door="api",method="POST",status="2xx"} 1.0' in text
    assert 'guahao_request_seconds_count{door="api",method="POST",status="4xx"} 1.0' in text


async def test_workers_sweep_and_stop_cleanly(aiohttp_client, tmp_path, clock):
    settings = settings_for(str(tmp_path / "g.db"), hold_sweep_seconds=0, no_show_sweep_seconds=0)
    app = build_app(settings, clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    world = World(services)
    await world.hospital()
    await world.department()
    await world.doctor()
    session = await world.session(
        date(2026, 7, 10), period=Period.AFTERNOON, start=time(14, 0), end=time(17, 0)
    )
    patient = await world.patient()
    last_slot = (await slot_ids(services, session.id))[-1]
    booking = await world.book(last_slot, patient.id)
    clock.advance(hours=8)  # the afternoon session has ended: the no-show sweep must find it
    for _ in range(200):
        text = await (await client.get("/metrics")).text()
        if 'guahao_sweep_changes_total{sweep="no_show"} 1.0' in text:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the no-show worker never swept")
    view = await services.read(bookings.get_booking, booking.booking.booking_no, SYSTEM)
    assert view.booking.status == "no_show"
    tasks_before = {t.get_name() for t in asyncio.all_tasks()}
    assert {"hold-expiry", "no-show-sweep", "audit-purge"} <= tasks_before
    await client.close()  # runs every cleanup context
    names = {t.get_name() for t in asyncio.all_tasks() if not t.done()}
    assert not names & {"hold-expiry", "no-show-sweep", "audit-purge", "sqlite-writer"}


def test_build_app_refuses_to_start_without_the_pii_key(tmp_path):
    settings = load_settings(env={}, overrides={"db": str(tmp_path / "g.db")})
    with pytest.raises(ConfigError, match="pii_key"):
        build_app(settings)


def test_cli_token_create_prints_a_working_token_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GUAHAO_PII_KEY", KEY)
    db = str(tmp_path / "g.db")

    async def hospital():
        from booking_core.bus import bootstrap
        from booking_core.kernel.clock import SystemClock
        from booking_core.store import make_store

        store = make_store(db, SystemClock())
        await store.open()
        await World(bootstrap(store, Cipher.from_base64(KEY))).hospital(name="协和")
        await store.close()

    asyncio.run(hospital())
    code = cli.main(
        ["token", "create", "--db", db, "--name", "his-main", "--role", "his", "--hospital", "H001"]
    )
    out = capsys.readouterr()
    assert code == 0
    token = out.out.strip()
    assert token.startswith("gh_")
    assert "shown only this once" in out.err

    import sqlite3

    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT name, role, token_hash FROM api_tokens").fetchall()
    assert stored == [("his-main", "his", hash_token(token))]
    assert token.encode() not in (tmp_path / "g.db").read_bytes()  # only its hash is kept


def test_cli_reports_a_missing_secret_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GUAHAO_PII_KEY", raising=False)
    monkeypatch.delenv("GUAHAO_PII_KEY_FILE", raising=False)
    code = cli.main(
        ["token", "create", "--db", str(tmp_path / "g.db"), "--name", "x", "--role", "admin"]
    )
    assert code == 2
    assert "pii_key is not set" in capsys.readouterr().err


@pytest.fixture
async def served(tmp_path, clock):
    """The engine served as ``guahao serve`` serves it (a handler is not cancelled when its
    caller hangs up, unlike aiohttp's test server), and a client for it."""
    settings = settings_for(
        str(tmp_path / "g.db"), twilio_auth_token="t0ken", public_url="https://h.test"
    )
    app = build_app(settings, clock=clock)
    runner = web.AppRunner(app)  # handler_cancellation off, as in web.run_app
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
        yield app, port, session
    await runner.cleanup()


async def test_a_client_hanging_up_mid_body_is_counted_as_499_not_as_our_error(served, caplog):
    app, port, session = served
    token = new_token()
    await app[SERVICES].handle(
        operators.CreateToken(
            name="t", role="admin", hospital_code=None, token_hash=hash_token(token)
        )
    )
    requests = {
        "api": f"POST /api/v1/patients HTTP/1.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\n",
        "twilio": "POST /twilio/voice HTTP/1.1\r\nX-Twilio-Signature: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n",
    }
    for door, head in requests.items():
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"{head}Host: h\r\nContent-Length: 1000\r\n\r\n".encode() + b'{"name": "')
        await writer.drain()
        await asyncio.sleep(0.05)  # the handler is reading the body now
        writer.close()
        await writer.wait_closed()
        label = f'guahao_request_seconds_count{{door="{door}",method="POST",status="499"}} 1.0'
        for _ in range(200):
            async with session.get("/metrics") as resp:
                text = await resp.text()
            if label in text:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail(f"no 499 counted for {door}:\n{text}")
        assert 'status="5xx"' not in text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_console_reads_times_in_the_engines_zone(tmp_path):
    """Platform screens and the log-in page use the configured zone, not a built-in one."""
    from agent_console.keys import SETTINGS as CONSOLE_SETTINGS

    app = build_app(settings_for(str(tmp_path / "g.db"), timezone="Asia/Urumqi"))
    (console,) = [r._app for r in app.router.resources() if r.canonical == "/console"]
    assert console[CONSOLE_SETTINGS].timezone == "Asia/Urumqi"


async def test_a_worker_that_fails_while_stopping_does_not_fail_the_shutdown(caplog):
    """The store closes after the workers stop, even when one ends with an error."""
    from engine.workers import stop

    async def broken_by_cancel():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RuntimeError("another operation is in progress") from None

    task = asyncio.create_task(broken_by_cancel(), name="audit-purge")
    await asyncio.sleep(0)
    await stop(task)
    assert task.done()
    assert "audit-purge ended with an error while stopping" in caplog.text


async def test_fhir_is_mounted_and_publishes_the_configured_numbers(
    aiohttp_client, tmp_path, clock
):
    """/fhir/R4 answers with the engine's tokens, and the SMART files carry the phone line's
    and the SMS number's settings."""
    settings = settings_for(
        str(tmp_path / "g.db"), ivr_phone_number="+86 10 6512 3456", sms_phone_number="10655"
    )
    app = build_app(settings, clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    await World(services).basic(date(2026, 7, 11))
    token = new_token()
    await services.handle(
        operators.CreateToken(
            name="t", role="his", hospital_code="H001", token_hash=hash_token(token)
        )
    )
    resp = await client.get("/fhir/R4/Slot?_count=1", headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200
    assert resp.content_type == "application/fhir+json"
    resp = await client.get("/fhir/R4/bulk/H001/Slot.ndjson")
    first = (await resp.text()).splitlines()[0]
    assert '"valueString":"+86 10 6512 3456"' in first
    assert '"valueUrl":"sms:10655?body=GHDH00868%2C07110800%2C"' in first
    text = await (await client.get("/metrics")).text()
    assert 'guahao_request_seconds_count{door="fhir",method="GET",status="2xx"} 2.0' in text
