"""The HTML side: a browser-like walk through log-in, enrolment and every page (no JS),
and how long a session lives."""

from __future__ import annotations

import re

from booking_core import operators
from tests.agent_console.helpers import (
    GOOD_PASSWORD,
    add_operator,
    code_at,
    console_settings,
    hospital_with_booking,
    table,
)
from tests.support.world import World

FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_an_admin_walks_through_the_html_pages(browser, services, clock):
    info = await hospital_with_booking(services, "HA")
    await add_operator(services, "hadmin", ("hospital_admin",), "HA")
    admin = await browser()
    http = admin.client

    async with http.get("/console/login") as resp:
        token = FIELD.search(await resp.text()).group(1)
    async with http.post(
        "/console/login", data={"username": "hadmin", "password": "wrong one", "csrf_token": token}
    ) as resp:
        assert resp.status == 401
        assert "用户名或密码错误" in await resp.text()
    async with http.post(
        "/console/login",
        data={"username": "hadmin", "password": GOOD_PASSWORD, "csrf_token": token},
    ) as resp:  # redirects followed, like a browser
        assert resp.url.path == "/console/login/totp"
        page = await resp.text()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    token = FIELD.search(page).group(1)
    async with http.post(
        "/console/login/totp", data={"code": code_at(secret, clock), "csrf_token": token}
    ) as resp:
        assert resp.url.path == "/console/"
        assert "医院管理员" in await resp.text()

    for path in (
        "/console/",
        "/console/operators",
        "/console/operators/1",
        "/console/password",
        f"/console/patients/{info['patient']}",
        f"/console/bookings/{info['booking']}",
        "/console/static/console.css",
    ):
        async with http.get(path) as resp:
            assert resp.status == 200, path
    async with http.get("/console/operators?lang=en") as resp:
        assert "Operators and roles" in await resp.text()

    async with http.get("/console/operators") as resp:
        token = FIELD.search(await resp.text()).group(1)
    form = {"username": "agent7", "display_name": "值班七", "roles": "agent", "csrf_token": token}
    async with http.post("/console/operators", data=form) as resp:
        assert resp.status == 201
        assert "临时密码" in await resp.text()
    async with http.post("/console/logout", data={"csrf_token": token}) as resp:
        assert resp.url.path == "/console/login"
    async with http.get("/console/", allow_redirects=False) as resp:
        assert resp.status == 303


async def test_a_session_ends_after_the_idle_time_and_the_lifetime(browser, services, clock):
    await World(services).hospital(name="协和")
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser(console_settings(idle_minutes=30, session_hours=1))
    await alice.sign_in("agent1")
    for _ in range(2):  # busy: a request every 25 minutes keeps it going …
        clock.advance(minutes=25)
        assert (await alice.get("/"))[0] == 200
    clock.advance(minutes=10)  # … but not past its hour
    assert (await alice.get("/"))[0] == 401

    bob = await browser(console_settings(idle_minutes=30))
    await bob.sign_in("agent1")
    clock.advance(minutes=31)
    assert (await bob.get("/"))[0] == 401
    assert await table(services, "SELECT * FROM console_sessions") == []


async def test_becoming_an_admin_means_logging_in_again(browser, services, hospitals):
    agent_id = await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    await alice.sign_in("agent1")
    await services.handle(
        operators.AssignRoles(operator_id=agent_id, roles=("agent", "report_viewer"))
    )
    assert (await alice.get("/"))[0] == 200
    await services.handle(operators.AssignRoles(operator_id=agent_id, roles=("hospital_admin",)))
    assert (await alice.get("/"))[0] == 401
    await alice.open_login()
    assert (await alice.login("agent1"))[1]["stage"] == "totp_enrol"


async def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(
    browser, services, hospitals
):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser(console_settings(trust_proxy=True))
    await alice.login("agent1", "wrong", headers={"X-Forwarded-For": "1.2.3.4, 10.9.8.7"})
    await alice.login("agent1", "wrong")
    rows = await table(services, "SELECT source FROM login_attempts ORDER BY id")
    assert [r["source"] for r in rows] == ["10.9.8.7", "127.0.0.1"]
