"""Every unsafe request needs the CSRF token: without it, 403 and nothing changes."""

from __future__ import annotations

import pytest

from tests.agent_console.helpers import GOOD_PASSWORD, JSON, add_operator, table

PLATFORM_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
async def admin(browser, services, hospitals):
    await add_operator(services, "root", ("platform_admin",), totp_secret=PLATFORM_SECRET)
    console = await browser()
    await console.sign_in("root", secret=PLATFORM_SECRET)
    return console


@pytest.mark.parametrize("token", [None, "", "forged-token"])
async def test_adding_an_operator_without_the_token_is_refused(admin, services, token):
    before = await table(services, "SELECT count(*) AS n FROM operators")
    form = {"username": "mallory", "display_name": "x", "roles": "agent", "hospital": "H001"}
    status, body = await admin.post("/operators", form, csrf=token)
    assert (status, body["error"]) == (403, "csrf_failed")
    assert await table(services, "SELECT count(*) AS n FROM operators") == before


async def test_the_token_in_a_header_is_accepted(admin, services):
    form = {"username": "agent9", "display_name": "值班", "roles": "agent", "hospital": "H001"}
    status, body = await admin.post(
        "/operators", form, csrf=None, headers={"X-CSRF-Token": admin.csrf_token}
    )
    assert status == 201, body


async def test_logout_without_the_token_keeps_the_session(admin, services):
    assert (await admin.post("/logout", csrf=None))[0] == 403
    assert len(await table(services, "SELECT * FROM console_sessions")) == 1
    assert (await admin.get("/"))[0] == 200


async def test_login_form_needs_its_token_too(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    status, body = await alice.post(
        "/login", {"username": "agent1", "password": GOOD_PASSWORD}, csrf=None
    )
    assert (status, body["error"]) == (403, "csrf_failed")
    assert await table(services, "SELECT * FROM login_attempts") == []
    # another browser's token is no good either: it must match this browser's cookie
    other = await browser()
    foreign = await other.open_login()
    status, _ = await alice.post(
        "/login", {"username": "agent1", "password": GOOD_PASSWORD}, csrf=foreign
    )
    assert status == 403


async def test_a_token_from_before_login_is_useless_after(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    anonymous = await alice.open_login()
    await alice.sign_in("agent1")
    assert alice.csrf_token != anonymous
    async with alice.client.post(
        "/console/logout", data={"csrf_token": anonymous}, headers=JSON
    ) as resp:
        assert resp.status == 403
