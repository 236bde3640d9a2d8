"""Every back-office page renders as HTML in both languages, its forms carry the CSRF
token, and the back office's front page links only the screens one may use."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
import pytest

from agent_console.web import make_app
from tests.agent_console.helpers import console_settings
from tests.agent_console.office.office_world import hospital, sign_in
from tests.agent_console.office.test_office_complaints import complaint
from tests.support.world import phone


@pytest.fixture
async def world(services):
    ha = await hospital(services, "HA")
    ha.complaint = await complaint(services, "HA", "CA1", phone(901))
    return ha


async def test_every_page_renders_in_both_languages(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    await admin.post(
        "/office/blacklist",
        {"card_no": world.patients[0].card_no, "until": "2026-08-31", "reason": "倒号"},
    )
    pages = (
        "/office",
        "/office/bookings",
        "/office/bookings?page=2&per_page=1&channel=agent",
        "/office/bookings/print",
        "/office/sessions",
        "/office/sessions?week=2026-07-11",
        f"/office/sessions/{world.stopped_session}/stop",
        "/office/schedules",
        "/office/rules",
        "/office/blacklist",
        "/office/blacklist?all=1",
        "/office/complaints",
        f"/office/complaints/{world.complaint}",
        "/office/reports",
        "/office/audit",
        "/office/devices",
    )
    for lang in ("zh", "en"):
        for path in pages:
            sep = "&" if "?" in path else "?"
            async with admin.client.get(f"/console{path}{sep}lang={lang}") as resp:
                text = await resp.text()
                assert resp.status == 200, (path, text[:500])
                assert resp.content_type == "text/html", path
            forms = text.count('<form method="post"')
            assert text.count('name="csrf_token"') == forms, path
            assert "张三丰" not in text, path
    await admin.post(f"/office/sessions/{world.stopped_session}/stop", {"mode": "cancel"})
    async with admin.client.get(f"/console/office/sessions/{world.stopped_session}/stop") as resp:
        assert "该出诊已停诊" in await resp.text()


async def test_the_front_page_links_what_one_may_use(browser, services, world):
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    _status, body = await viewer.get("/office")
    assert [s["path"] for s in body["screens"]] == ["reports", "wallboard"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    _status, body = await agent.get("/office")
    assert [s["path"] for s in body["screens"]] == [
        "bookings",
        "sessions",
        "blacklist",
        "complaints",
        "devices",
    ]
    async with agent.client.get("/console/office/bookings.json") as resp:  # the JSON twin
        assert resp.content_type == "application/json"
        assert (await resp.json())["total"] == 4
    anonymous = await browser()
    assert (await anonymous.get("/office"))[0] == 401
    assert (await anonymous.get("/office/bookings"))[0] == 401


async def test_the_home_page_link_renders_without_the_office_words(services):
    app = make_app(services, console_settings())
    env: jinja2.Environment = aiohttp_jinja2.get_env(app)
    template = env.get_template("office/home_links.html")
    assert template.render(base="/console/", lang="zh") == (
        '\n<a class="office-link" href="/console/office">后台管理</a>'
    )
    assert "Back office" in template.render(base="/console/", lang="en")


async def test_the_console_home_page_links_to_the_back_office(browser, services, world):
    admin = await sign_in(browser, services, "hadmin2", ("hospital_admin",), "HA")
    async with admin.client.get("/console/") as resp:
        assert resp.status == 200
        assert 'href="/console/office"' in await resp.text()
