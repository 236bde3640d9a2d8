"""The devices screen (设备) of the back office, on SQLite and on PostgreSQL: the hospital's
kiosks with their devices and jobs in local time and in words; registering a kiosk (its
password shown once, only its hash kept), disabling it, a new password, reprinting a
ticket; who may do what, another hospital's kiosk "not found", and bad input answered in
words, never a 500."""

from __future__ import annotations

import logging
import re

import pytest

from booking_core import kiosks
from booking_core.kernel.actor import SYSTEM
from edge.mosquitto import password_matches
from tests.agent_console.helpers import add_operator, console_settings, table
from tests.agent_console.office.devices_world import Hall, hall
from tests.agent_console.office.office_world import SECRET, sign_in
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)

FORM = re.compile(r'<form method="post"')
PASSWORD = re.compile(r'<code class="secret" id="kiosk-password">([^<]+)</code>')


@pytest.fixture
async def world(services, clock) -> dict[str, Hall]:
    return {code: await hall(services, code, clock) for code in ("HA", "HB")}


async def _html(console, path: str) -> tuple[int, str]:
    async with console.client.get("/console" + path) as resp:
        return resp.status, await resp.text()


async def _kiosk_rows(services, code: str) -> list[dict]:
    return await table(
        services,
        "SELECT k.id, k.name, k.location, k.password_hash, k.disabled_at FROM kiosks k "
        "JOIN hospitals h ON h.id = k.hospital_id WHERE h.code = ? ORDER BY k.created_at, k.id",
        code,
    )


# --- the screen ---------------------------------------------------------------------------------


async def test_the_screen_shows_each_kiosk_its_devices_open_jobs_failures_and_money(
    browser, services, world
):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.get("/office/devices")
    assert status == 200, body
    assert [k["name"] for k in body["kiosks"]] == ["二楼2号机", "门诊大厅1号机"]  # HA's only
    upstairs, main = body["kiosks"]
    assert (upstairs["kiosk_id"], upstairs["state"], upstairs["state_text"]) == (
        ha.upstairs,
        "never_seen",
        "从未上线",
    )
    assert (main["kiosk_id"], main["state"], main["state_text"]) == (ha.main, "online", "在线")
    assert main["since"] == "2026-07-10T09:00:00+08:00"  # hospital-local, with its offset
    assert [(d["device"], d["state_text"]) for d in main["devices"]] == [
        ("printer", "缺纸"),
        ("card_reader", "正常"),
        ("terminal", "正常"),
    ]
    assert [d["pending_reversals"] for d in main["devices"]] == [0, 0, 1]
    # sent and not acknowledged: the ticket; queued: the reversal and the patient's message
    opened = {j["job_id"]: j for j in main["open_jobs"]}
    assert set(opened) >= {ha.unacked_ticket, ha.reversal}
    assert main["open_count"] == len(opened) == 3
    assert opened[ha.unacked_ticket]["status_text"] == "已发送，未确认"
    assert (opened[ha.reversal]["kind_text"], opened[ha.reversal]["amount"]) == ("冲正", 5000)
    assert opened[ha.reversal]["money_waiting"] is True
    assert opened[ha.unacked_ticket]["money_waiting"] is False
    assert main["money_waiting"] is True
    assert upstairs["money_waiting"] is False
    assert [(j["job_id"], j["reason"], j["reason_text"]) for j in main["failures"]] == [
        (ha.failed_ticket, "paper_out", "缺纸")
    ]
    reprintable = {j["job_id"] for j in main["last_jobs"] if j["reprint"]}
    assert reprintable == {ha.failed_ticket, ha.printed_ticket}  # printed or failed tickets

    async with agent.client.get("/console/office/devices.json") as resp:  # the JSON twin
        assert resp.content_type == "application/json"
        assert await resp.json() == body

    _status, english = await agent.get("/office/devices?lang=en")
    main_en = english["kiosks"][1]
    assert [d["state_text"] for d in main_en["devices"]] == ["paper out", "ok", "ok"]
    assert main_en["failures"][0]["reason_text"] == "paper out"
    assert english["kiosks"][0]["state_text"] == "never seen"


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_page_renders_in_both_languages_with_its_buttons(browser, services, world, lang):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, page = await _html(admin, f"/office/devices?lang={lang}")
    assert status == 200, page[:500]
    assert page.count('name="csrf_token"') == len(FORM.findall(page))  # every form, logout too
    reprints = re.findall(r'action="/console/office/devices/jobs/(J[0-9a-f]{16})/reprint"', page)
    assert set(reprints) == {ha.failed_ticket, ha.printed_ticket}
    assert f'action="/console/office/devices/{ha.main}/disable"' in page
    assert f'action="/console/office/devices/{ha.upstairs}/password"' in page
    assert 'action="/console/office/devices"' in page  # register
    words = {"zh": ("缺纸", "有款项待处理", "2026-07-10 09:00"), "en": ("paper out", "Money is")}
    for word in words[lang]:
        assert word in page
    assert "+08:00" not in page
    assert world["HB"].main not in page


async def test_an_agent_sees_the_screen_and_reprints_but_registers_nothing(
    browser, services, world
):
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    _status, page = await _html(agent, "/office/devices")
    ha = world["HA"]
    assert "/reprint" in page
    assert f"/office/devices/{ha.main}/disable" not in page
    assert f"/office/devices/{ha.main}/password" not in page
    assert 'action="/console/office/devices"' not in page
    for path in ("/office/devices", f"/office/devices/{ha.main}/disable",
                 f"/office/devices/{ha.main}/password"):  # fmt: skip
        status, body = await agent.post(path, {"name": "3号机"})
        assert (status, body["error"]) == (403, "forbidden"), path
    assert len(await _kiosk_rows(services, "HA")) == 2
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    status, body = await viewer.get("/office/devices")
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await viewer.post(f"/office/devices/jobs/{ha.failed_ticket}/reprint")
    assert (status, body["error"]) == (403, "forbidden")
    anonymous = await browser()
    assert (await anonymous.get("/office/devices"))[0] == 401


async def test_a_platform_admin_sees_every_hospital_in_the_zone_of_the_page(
    browser, services, world
):
    await add_operator(services, "root", ("platform_admin",), None, totp_secret=SECRET)
    console = await browser(console_settings(timezone="Asia/Tokyo"))
    await console.sign_in("root", secret=SECRET)
    _status, body = await console.get("/office/devices")
    assert sorted(k["hospital"] for k in body["kiosks"]) == ["HA", "HA", "HB", "HB"]
    # the engine's zone when no hospital is named; HB's hall came online 15 minutes later
    assert {k["since"] for k in body["kiosks"] if k["since"]} == {
        "2026-07-10T10:00:00+09:00",
        "2026-07-10T10:15:03+09:00",
    }
    _status, body = await console.get("/office/devices?hospital=HB")
    assert {k["hospital"] for k in body["kiosks"]} == {"HB"}
    assert {k["since"] for k in body["kiosks"] if k["since"]} == {"2026-07-10T09:15:03+08:00"}


# --- register, password, disable ---------------------------------------------------------------


async def test_registering_shows_the_password_once_and_keeps_only_the_brokers_hash(
    browser, services, world, caplog
):
    caplog.set_level(logging.DEBUG)
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, body = await admin.post(
        "/office/devices", {"name": " 三楼 3号机 ", "location": "门诊楼三层"}
    )
    assert status == 201, body
    password = body["password"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", password)
    kiosk_id = body["kiosk"]["kiosk_id"]
    assert re.fullmatch(r"k[0-9a-f]{8}", kiosk_id)
    assert (body["kiosk"]["name"], body["kiosk"]["location"]) == ("三楼 3号机", "门诊楼三层")
    assert kiosk_id in body["note"]

    [row] = [r for r in await _kiosk_rows(services, "HA") if r["id"] == kiosk_id]
    assert row["password_hash"].startswith("$7$")
    assert password_matches(password, row["password_hash"])
    accounts = await services.read(kiosks.broker_accounts, SYSTEM)
    assert (kiosk_id, row["password_hash"]) in [(a.kiosk_id, a.password_hash) for a in accounts]

    # never again: not on the screen, not in its JSON, not in the audit log, not in a log line
    _status, listing = await admin.get("/office/devices")
    assert kiosk_id in [k["kiosk_id"] for k in listing["kiosks"]]
    assert password not in str(listing)
    _status, page = await _html(admin, "/office/devices")
    assert kiosk_id in page
    assert password not in page
    audit = await table(services, "SELECT * FROM audit")
    assert "kiosk.registered" in {a["action"] for a in audit}
    assert password not in str(audit)
    assert password not in caplog.text
    assert row["password_hash"] not in caplog.text


async def test_the_html_form_registers_and_the_answer_page_shows_the_password(
    browser, services, world
):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    form = {"name": "4号机", "csrf_token": admin.csrf_token}
    async with admin.client.post("/console/office/devices", data=form) as resp:
        assert resp.status == 201
        page = await resp.text()
    password = PASSWORD.search(page).group(1)
    [row] = [r for r in await _kiosk_rows(services, "HA") if r["name"] == "4号机"]
    assert password_matches(password, row["password_hash"])
    assert "只显示这一次" in page
    assert resp.headers["Cache-Control"] == "no-store"


async def test_a_new_password_replaces_the_old_and_is_shown_once(browser, services, world):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    [before] = [r for r in await _kiosk_rows(services, "HA") if r["id"] == ha.main]
    status, body = await admin.post(f"/office/devices/{ha.main}/password")
    assert status == 200, body
    password = body["password"]
    [after] = [r for r in await _kiosk_rows(services, "HA") if r["id"] == ha.main]
    assert after["password_hash"] != before["password_hash"]
    assert password_matches(password, after["password_hash"])
    assert body["kiosk"]["kiosk_id"] == ha.main
    _status, page = await _html(admin, "/office/devices")
    assert password not in page
    audit = await table(services, "SELECT * FROM audit")
    assert "kiosk.password_reset" in {a["action"] for a in audit}
    assert password not in str(audit)


async def test_disabling_a_kiosk_takes_it_off_the_broker_and_its_buttons_away(
    browser, services, world
):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    async with admin.client.post(
        f"/console/office/devices/{ha.upstairs}/disable",
        data={"csrf_token": admin.csrf_token},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/console/office/devices?done=disabled"
    status, body = await admin.post(f"/office/devices/{ha.main}/disable")
    assert (status, body["disabled"], body["next"]) == (
        200,
        True,
        "/console/office/devices?done=disabled",
    )
    _status, listing = await admin.get("/office/devices")
    assert {k["state"] for k in listing["kiosks"]} == {"disabled"}
    main = listing["kiosks"][1]
    assert not any(j["reprint"] for j in main["last_jobs"])
    # the reversal never sent is failed now: money the desk must give back, marked so
    failed = {j["job_id"]: j for j in main["failures"]}
    assert (failed[ha.reversal]["reason_text"], failed[ha.reversal]["money_waiting"]) == (
        "自助机已停用",
        True,
    )
    assert main["money_waiting"] is True
    accounts = await services.read(kiosks.broker_accounts, SYSTEM)
    assert {ha.main, ha.upstairs}.isdisjoint(a.kiosk_id for a in accounts)
    _status, page = await _html(admin, "/office/devices?done=disabled")
    assert "已停用该自助机" in page
    assert "/reprint" not in page
    assert "/disable" not in page
    stored = await _kiosk_rows(services, "HA")
    jobs = await table(services, "SELECT count(*) AS n FROM kiosk_jobs")
    for path in (
        f"/office/devices/{ha.main}/password",  # a disabled kiosk: no password,
        f"/office/devices/jobs/{ha.failed_ticket}/reprint",
    ):  # … nothing printed
        status, body = await admin.post(path)
        assert (status, body["error"]) == (400, "kiosk_is_disabled"), path
        assert body["message"] == "该自助机已停用，不能再执行此操作。"
    async with admin.client.post(
        f"/console/office/devices/{ha.main}/password", data={"csrf_token": admin.csrf_token}
    ) as resp:
        assert resp.status == 400
        assert "该自助机已停用" in await resp.text()
    assert await _kiosk_rows(services, "HA") == stored
    assert await table(services, "SELECT count(*) AS n FROM kiosk_jobs") == jobs


# --- reprint ---------------------------------------------------------------------------------


async def test_a_failed_ticket_is_reprinted_at_its_kiosk_once(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.post(f"/office/devices/jobs/{ha.failed_ticket}/reprint")
    assert status == 200, body
    job = body["job"]
    assert (job["kind"], job["status"], job["booking_no"]) == (
        "print_ticket",
        "queued",
        ha.failed_booking,
    )
    assert job["job_id"] != ha.failed_ticket
    assert body["next"] == "/console/office/devices?done=reprinted"
    again = await agent.post(f"/office/devices/jobs/{ha.failed_ticket}/reprint")
    assert again[1]["job"]["job_id"] == job["job_id"]  # still unacknowledged: the same job
    stored = await services.read(kiosks.kiosk_job, job["job_id"], SYSTEM)
    assert (stored.kiosk_id, stored.booking_no) == (ha.main, ha.failed_booking)
    _status, listing = await agent.get("/office/devices")
    assert job["job_id"] in [j["job_id"] for j in listing["kiosks"][1]["open_jobs"]]
    _status, page = await _html(agent, "/office/devices?done=reprinted")
    assert "已发送补打任务" in page


async def test_only_a_tickets_job_is_reprinted(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.post(f"/office/devices/jobs/{ha.charge}/reprint")
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "job")


# --- CSRF, other hospitals, bad input ----------------------------------------------------------


async def test_every_post_without_its_csrf_token_is_refused_and_changes_nothing(
    browser, services, world
):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    before = await _kiosk_rows(services, "HA")
    jobs_before = await table(services, "SELECT count(*) AS n FROM kiosk_jobs")
    for path, form in (
        ("/office/devices", {"name": "5号机"}),
        (f"/office/devices/{ha.main}/disable", {}),
        (f"/office/devices/{ha.main}/password", {}),
        (f"/office/devices/jobs/{ha.failed_ticket}/reprint", {}),
    ):
        for token in (None, "forged"):
            status, body = await admin.post(path, form, csrf=token)
            assert (status, body["error"]) == (403, "csrf_failed"), (path, token)
    assert await _kiosk_rows(services, "HA") == before
    assert await table(services, "SELECT count(*) AS n FROM kiosk_jobs") == jobs_before


async def test_another_hospitals_kiosk_and_job_are_not_found(browser, services, world):
    ha, hb = world["HA"], world["HB"]
    admin_b = await sign_in(browser, services, "hadmin_b", ("hospital_admin",), "HB")
    _status, body = await admin_b.get("/office/devices")
    assert {k["kiosk_id"] for k in body["kiosks"]} == {hb.main, hb.upstairs}
    for path in (
        f"/office/devices/{ha.main}/disable",
        f"/office/devices/{ha.main}/password",
        f"/office/devices/jobs/{ha.failed_ticket}/reprint",
    ):
        status, body = await admin_b.post(path)
        assert (status, body["error"]) == (404, "not_found"), path
    status, body = await admin_b.post("/office/devices", {"name": "偷装", "hospital": "HA"})
    assert (status, body["error"]) == (404, "not_found")
    assert (await admin_b.get("/office/devices?hospital=HA"))[0] == 404
    rows = await _kiosk_rows(services, "HA")
    assert [r["disabled_at"] for r in rows] == [None, None]
    assert len(rows) == 2


async def test_bad_input_is_answered_in_words_never_500(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    not_found = (
        "/office/devices/k00000000/disable",  # well formed, no such kiosk
        "/office/devices/k00000000/password",
        "/office/devices/99999999999999999999999999999999/disable",  # a huge number
        "/office/devices/" + "k" * 5000 + "/password",
        "/office/devices/K63F0B56A/disable",  # ids are lower case
        "/office/devices/jobs/J0000000000000000/reprint",
        "/office/devices/jobs/18446744073709551616/reprint",
        "/office/devices/jobs/%27%20OR%201%3D1/reprint",
    )
    for path in not_found:
        status, body = await admin.post(path)
        assert (status, body["error"]) == (404, "not_found"), path
        assert len(str(body)) < 1000  # a long id is not echoed back whole
    refused = (
        ({}, "name"),  # missing
        ({"name": "   "}, "name"),
        ({"name": "长" * 41}, "name"),
        ({"name": "6号机", "location": "长" * 81}, "location"),
        ({"name": "门诊大厅1号机"}, "name"),  # taken by an enabled kiosk of the hospital
    )
    for form, field in refused:
        status, body = await admin.post("/office/devices", form)
        assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", field)
    async with admin.client.post(
        "/console/office/devices",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRF-Token": admin.csrf_token},
    ) as resp:  # fmt: skip
        assert (resp.status, (await resp.json())["error"]) == (400, "invalid_input")
    assert len(await _kiosk_rows(services, "HA")) == 2


async def test_a_platform_admin_names_the_hospital_of_a_new_kiosk(browser, services, world):
    await add_operator(services, "root", ("platform_admin",), None, totp_secret=SECRET)
    console = await browser()
    await console.sign_in("root", secret=SECRET)
    status, body = await console.post("/office/devices", {"name": "7号机"})
    assert (status, body["error"], body["params"]["field"]) == (400, "invalid_input", "hospital")
    status, body = await console.post("/office/devices", {"name": "7号机", "hospital": "HB"})
    assert (status, body["kiosk"]["hospital"]) == (201, "HB")
    status, body = await console.post("/office/devices", {"name": "8号机", "hospital": "HZ"})
    assert (status, body["error"]) == (404, "not_found")
