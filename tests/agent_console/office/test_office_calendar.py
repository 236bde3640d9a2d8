"""The holiday calendar page (节假日表, #15): a year of the national calendar, the hospital's
own entries added and removed, in words in both languages; kept to the admin's hospital."""

from __future__ import annotations

import pytest

from tests.agent_console.office.office_world import hospital, sign_in


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_view_add_and_remove_a_day(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, year = await admin.get("/office/calendar?year=2026")
    assert status == 200, year
    assert (year["year"], year["mode"], year["covered"], year["entries"]) == (
        2026,
        "none",
        True,
        [],
    )
    assert {"day": "2026-10-10", "kind": "adjusted_workday", "name": "国庆节"} in year["national"]
    status, body = await admin.post(
        "/office/calendar", {"day": "2026-07-15", "open": "0", "note": "院庆"}
    )
    assert (status, body["day"], body["open"]) == (201, "2026-07-15", False)
    entries = (await admin.get("/office/calendar?year=2026"))[1]["entries"]
    assert entries == [{"day": "2026-07-15", "open": False, "note": "院庆"}]
    for lang in ("zh", "en"):
        async with admin.client.get(f"/console/office/calendar?year=2026&lang={lang}") as resp:
            page = await resp.text()
        assert resp.status == 200
        assert "院庆" in page
        assert ("调休上班" if lang == "zh" else "adjusted working day") in page
    status, body = await admin.post("/office/calendar/remove", {"day": "2026-07-15"})
    assert (status, body["removed"]) == (200, True)
    assert (await admin.get("/office/calendar?year=2026"))[1]["entries"] == []


async def test_a_bad_day_is_refused_in_words_and_agents_may_not_edit(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, body = await admin.post("/office/calendar", {"day": "2026-13-01"})
    assert (status, body["error"]) == (400, "invalid_input")
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.post("/office/calendar", {"day": "2026-07-15"})
    assert (status, body["error"]) == (403, "forbidden")


async def test_another_hospitals_calendar_is_not_found(browser, services, world):
    admin_b = await sign_in(browser, services, "hadmin_b", ("hospital_admin",), "HB")
    status, body = await admin_b.get("/office/calendar?hospital=HA")
    assert (status, body["error"]) == (404, "not_found")
