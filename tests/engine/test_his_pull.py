"""The HIS blacklist pull against a real HIS stand-in (an aiohttp server on a free port):
a good answer replaces the HIS bans as the PUT does; a bad one (not 200, not JSON, a bad
entry, the HIS gone) changes nothing and is logged once, not at every pull; the engine
mounts the pull only when configured, and the settings are checked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from booking_core import blacklist
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import rows
from engine import his_pull
from engine.config import ConfigError, load_settings
from engine.his_pull import HisBlacklistPull, his_blacklist_ctx, mount
from engine.keys import SERVICES, SETTINGS
from tests.hospital_api.helpers import count_rows
from tests.support.world import World

TOKEN = "his-secret-token"
TOMORROW = date(2026, 7, 11)


@dataclass
class FakeHis:
    """What the HIS answers next (status and body), and the requests it saw."""

    status: int = 200
    body: bytes = b'{"entries": []}'
    seen: list[dict[str, str]] = field(default_factory=list)

    trickle: bool = False  # send the body in small pieces, a moment apart (a slow HIS)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        if not self.trickle:
            return web.Response(status=self.status, body=self.body, content_type="application/json")
        response = web.StreamResponse(status=self.status)
        response.content_type = "application/json"
        await response.prepare(request)
        for start in range(0, len(self.body), 16384):
            await response.write(self.body[start : start + 16384])
            await asyncio.sleep(0.002)
        await response.write_eof()
        return response


@pytest.fixture
async def his() -> AsyncIterator[tuple[FakeHis, str]]:
    fake = FakeHis()
    app = web.Application()
    app.router.add_get("/blacklist.json", fake.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield fake, str(server.make_url("/blacklist.json"))
    finally:
        await server.close()


def entries(*cards: str, until: str = "2026-08-31") -> bytes:
    rows = ",".join(f'{{"card_no": "{c}", "until": "{until}", "reason": "欠费"}}' for c in cards)
    return f'{{"entries": [{rows}]}}'.encode()


async def his_bans(services) -> list[int]:
    found = await services.read(blacklist.list_blacklist, SYSTEM)
    return [e.patient_id for e in found if e.source == "his"]


async def test_a_good_answer_replaces_and_a_bad_one_changes_nothing_said_once(
    his, services, caplog
):
    fake, url = his
    world = World(services)
    await world.basic(TOMORROW)
    a, b = await world.patient("甲"), await world.patient("乙")
    caplog.set_level(logging.INFO, logger="engine.his_pull")
    async with aiohttp.ClientSession() as http:
        pull = HisBlacklistPull(services, http, url, "H001", TOKEN)
        fake.body = entries(a.card_no)
        result = await pull.step()
        assert result is not None
        assert len(result.added) == 1
        assert await his_bans(services) == [a.id]
        assert fake.seen[-1]["Authorization"] == f"Bearer {TOKEN}"

        before = await count_rows(services, "blacklist", "outbox", "audit")
        bad_answers = [
            (503, entries(b.card_no), "503"),
            (200, b"<html>oops</html>", "not JSON"),
            (200, b'{"entries": {}}', "shape"),
            (200, entries(b.card_no, "0000"), "1 entries refused (entry 1: not_found"),
            (200, entries(b.card_no, until="2026-07-01"), "invalid_input"),
        ]
        for status, body, said in bad_answers:
            fake.status, fake.body = status, body
            caplog.clear()
            for _ in range(3):  # three pulls, one warning
                assert await pull.step() is None
            warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
            assert said in warnings[0].getMessage()
            assert await count_rows(services, "blacklist", "outbox", "audit") == before
            assert await his_bans(services) == [a.id]

        fake.status, fake.body = 200, entries(b.card_no)
        caplog.clear()
        result = await pull.step()
        assert result is not None
        assert len(result.lifted) == 1
        assert [r.levelno for r in caplog.records] == [logging.INFO]  # works again, once
        assert await his_bans(services) == [b.id]
        caplog.clear()
        assert await pull.step() is not None  # the same list: nothing changes, nothing said
        assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


async def test_a_long_list_is_read_whole_and_a_too_long_one_changes_nothing(
    his, services, caplog, monkeypatch
):
    fake, url = his
    world = World(services)
    await world.basic(TOMORROW)
    await world.patients(1500)

    def all_cards(tx):
        found = yield rows("SELECT card_no FROM patients ORDER BY id")
        return [r["card_no"] for r in found]

    cards = await services.store.read(all_cards)
    fake.body, fake.trickle = entries(*cards), True
    assert len(fake.body) > 100_000  # many pieces on the wire
    async with aiohttp.ClientSession() as http:
        pull = HisBlacklistPull(services, http, url, "H001")
        result = await pull.step()
        assert result is not None
        assert len(result.added) == 1500
        monkeypatch.setattr(his_pull, "MAX_ANSWER_BYTES", 50_000)
        fake.body = entries(*cards[:10])[:-2] + b" " * 60_000 + b"]}"
        before = await count_rows(services, "blacklist", "outbox")
        assert await pull.step() is None
    assert await count_rows(services, "blacklist", "outbox") == before
    assert "larger than 50000 bytes" in caplog.text


async def test_an_unreachable_his_is_said_once(services, caplog, unused_tcp_port):
    caplog.set_level(logging.INFO, logger="engine.his_pull")
    url = f"http://127.0.0.1:{unused_tcp_port}/blacklist.json"
    async with aiohttp.ClientSession() as http:
        pull = HisBlacklistPull(services, http, url, "H001")
        for _ in range(3):
            assert await pull.step() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "cannot reach the HIS" in warnings[0]


async def test_the_engine_pulls_at_start_when_configured(his, services, tmp_path):
    fake, url = his
    world = World(services)
    await world.basic(TOMORROW)
    a = await world.patient("甲")
    fake.body = entries(a.card_no)
    settings = load_settings(
        env={},
        overrides={
            "db": str(tmp_path / "x.db"),
            "his_blacklist_url": url,
            "his_blacklist_hospital": "H001",
            "his_blacklist_interval_seconds": 3600,
        },
    )
    app = web.Application()
    app[SETTINGS] = settings
    app[SERVICES] = services
    mount(app)
    assert his_blacklist_ctx in app.cleanup_ctx
    ctx = his_blacklist_ctx(app)
    await anext(ctx)
    try:
        for _ in range(200):
            if await his_bans(services):
                break
            await asyncio.sleep(0.01)
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(ctx)
    assert await his_bans(services) == [a.id]
    assert fake.seen[0].get("Authorization") is None  # no token configured: none sent

    quiet = web.Application()
    quiet[SETTINGS] = load_settings(env={}, overrides={"db": str(tmp_path / "y.db")})
    mount(quiet)
    assert his_blacklist_ctx not in quiet.cleanup_ctx


def test_the_pull_settings_are_checked():
    with pytest.raises(ConfigError, match="his_blacklist_hospital is not"):
        load_settings(env={}, overrides={"his_blacklist_url": "https://his.example/bl"})
    with pytest.raises(ConfigError, match="his_blacklist_url"):
        load_settings(
            env={}, overrides={"his_blacklist_url": "ftp://his", "his_blacklist_hospital": "H"}
        )
    with pytest.raises(ConfigError, match="at least 10"):
        load_settings(env={}, overrides={"his_blacklist_interval_seconds": 1})
    with pytest.raises(ConfigError, match="GUAHAO_HIS_BLACKLIST_TOKEN_FILE"):
        load_settings(env={}, overrides={"his_blacklist_token": "x"})
    token = load_settings(env={"GUAHAO_HIS_BLACKLIST_TOKEN": "t0k"}).his_blacklist_token
    assert token == "t0k"
