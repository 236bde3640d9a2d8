"""Blacklist (黑名单) from the back office: view, add by card number, lift, CSV import."""

from __future__ import annotations

import re

import aiohttp
import pytest

from tests.agent_console.office.office_world import hospital, sign_in

FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_add_view_and_lift(browser, services, world):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    card = ha.patients[0].card_no
    status, body = await admin.post(
        "/office/blacklist", {"card_no": card, "until": "2026-08-31", "reason": "倒号"}
    )
    assert status == 201, body
    entry_id = body["entry_id"]
    status, listing = await admin.get("/office/blacklist")
    assert [(e["id"], e["card_no"], e["patient_name"]) for e in listing["entries"]] == [
        (entry_id, card, "张**")
    ]
    assert listing["entries"][0]["reason"] == "倒号"
    async with admin.client.get("/console/office/blacklist") as resp:
        page = await resp.text()
    assert "<td>管理员</td>" in page  # who banned, in words (not "admin")
    status, body = await admin.post(f"/office/blacklist/{entry_id}/lift")
    assert status == 200, body
    assert body["lifted_at"]
    assert (await admin.get("/office/blacklist"))[1]["entries"] == []
    status, everything = await admin.get("/office/blacklist?all=1")
    assert everything["entries"][0]["lifted_at"]


async def test_agents_view_but_do_not_change(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    assert (await agent.get("/office/blacklist"))[0] == 200
    status, body = await agent.post(
        "/office/blacklist",
        {"card_no": ha.patients[0].card_no, "until": "2026-08-31", "reason": "x"},
    )
    assert (status, body["error"]) == (403, "forbidden")
    async with agent.client.get("/console/office/blacklist") as resp:
        assert "/office/blacklist/import" not in await resp.text()


async def test_another_hospitals_patient_and_entry_are_not_found(browser, services, world):
    hb = world["HB"]
    admin_b = await sign_in(browser, services, "hadmin_b", ("hospital_admin",), "HB")
    status, body = await admin_b.post(
        "/office/blacklist",
        {"card_no": hb.patients[0].card_no, "until": "2026-08-31", "reason": "倒号"},
    )
    entry_b = body["entry_id"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, body = await admin.post(
        "/office/blacklist",
        {"card_no": hb.patients[1].card_no, "until": "2026-08-31", "reason": "x"},
    )
    assert (status, body["error"]) == (404, "not_found")  # card numbers are per hospital
    assert (await admin.post(f"/office/blacklist/{entry_b}/lift"))[0] == 404
    assert (await admin.get("/office/blacklist"))[1]["entries"] == []


async def _import(admin, csv_text: str) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", admin.csrf_token)
    form.add_field("file", csv_text.encode("utf-8"), filename="bans.csv", content_type="text/csv")
    async with admin.client.post(
        "/console/office/blacklist/import", data=form, headers={"Accept": "application/json"}
    ) as resp:
        return resp.status, await resp.json()


async def test_csv_import_with_a_bad_line_adds_nothing_and_reports_every_bad_one(
    browser, services, world
):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    good = (
        "card_no,until,reason\n"
        f"{ha.patients[0].card_no},2026-08-31,倒号\n"
        f"{ha.patients[1].card_no},2026-09-30,多次爽约\n"
    )
    csv_text = good + (
        f"000000000,2026-08-31,不存在\n{ha.patients[2].card_no},someday,日期错\ntoo,short\n"
    )
    status, body = await _import(admin, csv_text)
    assert status == 400, body
    assert (body["added"], body["applied"]) == (0, False)  # all or nothing (#10 item 15)
    assert [(e["line"], e["error"]) for e in body["errors"]] == [
        (4, "not_found"),
        (5, "invalid_input"),
        (6, "invalid_input"),
    ]
    assert (await admin.get("/office/blacklist"))[1]["entries"] == []
    status, body = await _import(admin, good)
    assert (status, body["added"], body["skipped"]) == (200, 2, [])
    _status, listing = await admin.get("/office/blacklist")
    cards = sorted(e["card_no"] for e in listing["entries"])
    assert cards == sorted([ha.patients[0].card_no, ha.patients[1].card_no])

    no_token = aiohttp.FormData()
    no_token.add_field("file", csv_text.encode(), filename="bans.csv", content_type="text/csv")
    async with admin.client.post("/console/office/blacklist/import", data=no_token) as resp:
        assert resp.status == 403


async def test_the_html_form_carries_its_token(browser, services, world):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    async with admin.client.get("/console/office/blacklist") as resp:
        page = await resp.text()
    assert page.count('name="csrf_token"') >= 3  # add, import, logout
    token = FIELD.search(page).group(1)
    form = {"card_no": ha.patients[3].card_no, "until": "2026-08-31", "reason": "x"}
    async with admin.client.post(
        "/console/office/blacklist", data={**form, "csrf_token": token}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        assert resp.headers["Location"] == "/console/office/blacklist"
