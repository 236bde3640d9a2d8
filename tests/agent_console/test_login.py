"""Log-in, the session cookie, logout, disabled operators, temporary passwords."""

from __future__ import annotations

import json

from booking_core import operators
from tests.agent_console.helpers import (
    GOOD_PASSWORD,
    JSON,
    PASSWORDS,
    add_operator,
    console_settings,
    table,
)


async def test_right_password_signs_in_and_wrong_one_does_not(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    status, body = await alice.login("agent1", "wrong password here")
    assert (status, body["error"]) == (401, "login_failed")
    assert (await alice.get("/"))[0] == 401

    status, body = await alice.login("agent1")
    assert (status, body["stage"]) == (200, "ready")
    status, home = await alice.get("/")
    assert status == 200
    assert home["me"]["username"] == "agent1"
    assert home["me"]["hospital"] == "H001"


async def test_unknown_user_is_answered_like_a_wrong_password(browser, hospitals):
    alice = await browser()
    status, body = await alice.login("nobody", GOOD_PASSWORD)
    assert (status, body["error"]) == (401, "login_failed")


async def test_only_an_argon2_hash_is_stored(services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    [row] = await table(services, "SELECT password_hash FROM operators WHERE username = 'agent1'")
    assert row["password_hash"].startswith("$argon2id$")
    assert GOOD_PASSWORD not in row["password_hash"]


async def test_session_cookie_is_httponly_samesite_and_scoped(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    await alice.open_login()
    async with alice.client.post(
        "/console/login",
        data={"username": "agent1", "password": GOOD_PASSWORD, "csrf_token": alice.csrf_token},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/console/"
        cookie = resp.cookies["guahao_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/console/"
    assert not cookie["secure"]  # plain http, no trusted proxy
    [row] = await table(services, "SELECT token_hash FROM console_sessions")
    assert row["token_hash"] != cookie.value  # only its hash is kept


async def _cookie_after_login(browser, settings, headers) -> bool:
    alice = await browser(settings)
    await alice.open_login()
    async with alice.client.post(
        "/console/login",
        data={"username": "agent1", "password": GOOD_PASSWORD, "csrf_token": alice.csrf_token},
        headers=headers,
        allow_redirects=False,
    ) as resp:
        return bool(resp.cookies["guahao_session"]["secure"])


async def test_cookie_is_secure_over_https_only_when_the_proxy_is_trusted(
    browser, services, hospitals
):
    await add_operator(services, "agent1", ("agent",), "H001")
    https = {"X-Forwarded-Proto": "https"}
    assert await _cookie_after_login(browser, console_settings(), https) is False
    assert await _cookie_after_login(browser, console_settings(trust_proxy=True), https) is True
    always = await browser(console_settings(secure_cookies=True))  # public URL is https
    async with always.client.get("/console/login") as resp:
        assert resp.cookies["guahao_csrf"]["secure"]


async def test_logout_ends_the_session_in_the_store(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    await alice.sign_in("agent1")
    status, body = await alice.post("/logout")
    assert (status, body["next"]) == (200, "/console/login")
    assert await table(services, "SELECT * FROM console_sessions") == []
    assert (await alice.get("/"))[0] == 401


async def test_disabled_operator_cannot_log_in_and_loses_open_sessions(
    browser, services, hospitals
):
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    await alice.sign_in("agent1")
    await services.handle(operators.SetOperatorDisabled(operator_id=agent_id, disabled=True))
    assert (await alice.get("/"))[0] == 401
    again = await browser()
    status, body = await again.login("agent1")
    assert (status, body["error"]) == (403, "login_disabled")


async def test_temporary_password_must_be_changed_before_anything_else(
    browser, services, hospitals
):
    await add_operator(services, "agent1", ("agent",), "H001", must_change=True)
    alice = await browser()
    status, body = await alice.login("agent1")
    assert (status, body["stage"]) == (200, "change_password")
    status, body = await alice.get("/")
    assert (status, body["error"]) == (401, "login_incomplete")

    weak = {"current_password": GOOD_PASSWORD, "new_password": "short", "repeat_password": "short"}
    status, body = await alice.post("/password", weak)
    assert (status, body["error"]) == (400, "password_too_short")
    same = {**weak, "new_password": GOOD_PASSWORD, "repeat_password": GOOD_PASSWORD}
    assert (await alice.post("/password", same))[1]["error"] == "password_same"
    new = "a much longer secret 42"
    fine = {"current_password": GOOD_PASSWORD, "new_password": new, "repeat_password": new}
    status, body = await alice.post("/password", fine)
    assert (status, body["stage"]) == (200, "ready")
    assert (await alice.get("/"))[0] == 200

    [row] = await table(services, "SELECT * FROM operators WHERE username = 'agent1'")
    assert row["must_change_password"] == 0
    assert PASSWORDS.verify(row["password_hash"], new)


async def test_html_pages_render_in_chinese_by_default_and_english_on_request(
    browser, services, hospitals
):
    alice = await browser()
    async with alice.client.get("/console/login") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
        assert "登录" in page
        assert 'name="csrf_token"' in page
        assert resp.headers["X-Frame-Options"] == "DENY"
    async with alice.client.get("/console/login?lang=en") as resp:
        assert "Log in" in await resp.text()
    async with alice.client.get("/console/login.json") as resp:
        assert "csrf_token" in json.loads(await resp.text())
    async with alice.client.get("/console/", headers=JSON, allow_redirects=False) as resp:
        assert resp.status == 401
    async with alice.client.get("/console/", allow_redirects=False) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/console/login"
