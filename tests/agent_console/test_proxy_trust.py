"""Whose address a log-in attempt counts against (#10 item 3): forwarded headers believed
only from configured proxies, and a warning when a proxy's headers are being ignored."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from agent_console import sessions
from agent_console.keys import ConsoleSettings
from agent_console.web import make_app
from booking_core.kernel.pii import Cipher
from engine.app import build_app
from engine.config import ConfigError, load_settings
from tests.agent_console.helpers import console_settings, table

WRONG = "not the password at all"  # the test client connects from 127.0.0.1


async def sources(services) -> list[str]:
    found = await table(services, "SELECT source FROM login_attempts ORDER BY id")
    return [r["source"] for r in found]


async def test_a_direct_client_cannot_rotate_forwarded_for(browser, services, hospitals):
    """Trust on, but 127.0.0.1 is not one of the proxies: its X-Forwarded-For is ignored."""
    settings = console_settings(trust_proxy=True, trusted_proxies=("10.0.0.1",))
    sprayer = await browser(settings)
    for n in range(6):
        forged = {"X-Forwarded-For": f"203.0.113.{n}"}
        await sprayer.login(f"ghost{n}", WRONG, headers=forged)
    assert await sources(services) == ["127.0.0.1"] * 6


async def test_the_client_behind_a_trusted_proxy_is_counted(browser, services, hospitals):
    """Read from the right, skipping our proxies; what the client wrote itself (left of the
    address our proxy saw) is never used."""
    settings = console_settings(trust_proxy=True, trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    office = await browser(settings)
    chain = {"X-Forwarded-For": "198.51.100.9, 203.0.113.5, 10.1.2.3"}
    await office.login("ghost", WRONG, headers=chain)
    only_proxies = {"X-Forwarded-For": "10.9.9.9"}
    await office.login("ghost", WRONG, headers=only_proxies)
    assert await sources(services) == ["203.0.113.5", "10.9.9.9"]


async def test_forwarded_headers_ignored_while_trust_is_off_are_warned_once(
    browser, services, hospitals, caplog
):
    console = await browser(console_settings())
    caplog.set_level(logging.WARNING, logger="agent_console.sessions")
    for n in range(3):
        await console.login("ghost", WRONG, headers={"X-Forwarded-For": f"203.0.113.{n}"})
    warned = [r for r in caplog.records if "X-Forwarded-For" in r.getMessage()]
    assert len(warned) == 1
    assert "console_trust_proxy is off" in warned[0].getMessage()
    assert await sources(services) == ["127.0.0.1"] * 3


def test_a_malformed_proxy_address_is_refused_at_start(services):
    with pytest.raises(ValueError, match="console_trusted_proxies"):
        make_app(services, ConsoleSettings(trust_proxy=True, trusted_proxies=("proxy.lan",)))
    with pytest.raises(ConfigError, match="console_trusted_proxies"):
        load_settings(
            env={
                "GUAHAO_PII_KEY": Cipher.generate_key(),
                "GUAHAO_CONSOLE_TRUSTED_PROXIES": "10.0.0.1, proxy.lan",
            }
        )


def test_networks_are_parsed_once():
    nets = sessions.proxy_networks(("10.0.0.0/8", " ::1 "))
    assert [str(n) for n in nets] == ["10.0.0.0/8", "::1/128"]


async def test_healthz_lists_the_proxy_warning(aiohttp_client, tmp_path, clock):
    base = load_settings(
        env={"GUAHAO_PII_KEY": Cipher.generate_key()}, overrides={"db": str(tmp_path / "g.db")}
    )
    client = await aiohttp_client(build_app(dataclasses.replace(base), clock=clock))
    assert "warnings" not in await (await client.get("/healthz")).json()

    async with client.get("/console/login", headers={"X-Forwarded-For": "203.0.113.7"}) as resp:
        assert resp.status == 200
    # a GET of the form does not look at the address; a log-in attempt does
    async with client.get("/console/login.json") as resp:
        csrf = (await resp.json())["csrf_token"]
    async with client.post(
        "/console/login",
        data={"username": "ghost", "password": WRONG, "csrf_token": csrf},
        headers={"X-Forwarded-For": "203.0.113.7", "Accept": "application/json"},
    ) as resp:
        assert resp.status == 401
    body = await (await client.get("/healthz")).json()
    assert body["status"] == "ok"
    [warning] = body["warnings"]
    assert "console_trust_proxy is off" in warning
