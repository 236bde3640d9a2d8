"""Schedules (排班) and rules from the back office: departments, doctors, a week grid, one
session, a week from a template week; rules with platform defaults and hospital overrides."""

from __future__ import annotations

import pytest
from markupsafe import escape

from agent_console.i18n_office import MESSAGES
from booking_core.rules import RuleKey
from tests.agent_console.office.office_world import hospital, sign_in


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_departments_and_doctors(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, body = await admin.post("/office/departments", {"code": "103", "name": "儿科"})
    assert status == 200, body
    status, body = await admin.post(
        "/office/doctors",
        {
            "work_no": "00901",
            "name": "孙医生",
            "department_code": "103",
            "title": "副主任医师",
            "specialty": "哮喘",
            "fee": "25.50",
        },
    )
    assert status == 200, body
    status, listing = await admin.get("/office/schedules")
    assert "103" in [d["code"] for d in listing["departments"]]
    doctor = next(d for d in listing["doctors"] if d["work_no"] == "00901")
    assert (doctor["title"], doctor["specialty"], doctor["fee"]) == ("副主任医师", "哮喘", 2550)
    assert {d["hospital"] for d in listing["departments"]} == {"HA"}
    status, body = await admin.post("/office/doctors", {"work_no": "00902", "fee": "abc"})
    assert (status, body["error"]) == (400, "invalid_input")
    assert (await admin.get("/office/schedules?hospital=HB"))[0] == 404
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    assert (await agent.post("/office/departments", {"code": "104", "name": "x"}))[0] == 403


async def test_week_grid_add_a_session_and_copy_the_week(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, week = await admin.get("/office/sessions?week=2026-07-10")
    assert status == 200
    assert week["week"] == "2026-07-06"  # the Monday
    assert len(week["sessions"]) == 3
    assert week["grid"]["医生00868 (00868)"]["2026-07-11"][0]["booked"] == 3
    status, body = await admin.post(
        "/office/sessions",
        {
            "doctor_work_no": "00868",
            "day": "2026-07-13",
            "period": "afternoon",
            "start": "13:30",
            "end": "17:00",
            "slot_minutes": "30",
            "places_per_slot": "4",
            "room": "205",
        },
    )
    assert status == 201, body
    status, body = await admin.post(
        "/office/sessions/week", {"from_week": "2026-07-08", "to_week": "2026-07-20"}
    )
    assert status == 201, body
    assert body["created"] == 3
    status, copied = await admin.get("/office/sessions?week=2026-07-20")
    got = sorted(
        (s["day"], s["doctor_work_no"], s["period"], s["capacity"]) for s in copied["sessions"]
    )
    assert got == [
        ("2026-07-25", "00868", "morning", 16),
        ("2026-07-25", "00869", "morning", 16),
        ("2026-07-26", "00870", "afternoon", 16),
    ]
    assert all(s["booked"] == 0 for s in copied["sessions"])
    # a second copy clashes with the first: nothing of it is kept
    status, body = await admin.post(
        "/office/sessions/week", {"from_week": "2026-07-06", "to_week": "2026-07-20"}
    )
    assert (status, body["error"]) == (400, "invalid_input")
    assert len((await admin.get("/office/sessions?week=2026-07-20"))[1]["sessions"]) == 3


async def test_agents_see_the_grid_only_of_their_hospital(browser, services, world):
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    _status, week = await agent.get("/office/sessions?week=2026-07-10")
    assert {s["hospital"] for s in week["sessions"]} == {"HA"}
    assert week["may_manage"] is False
    assert (await agent.post("/office/sessions/week", {"from_week": "2026-07-06"}))[0] == 403
    assert (await agent.get("/office/rules"))[0] == 403


async def test_rules_defaults_overrides_and_priority(browser, services, world):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, rules = await admin.get("/office/rules")
    assert status == 200
    window = next(r for r in rules["effective"] if r["key"] == "booking_window_days")
    assert (window["value"], window["source"]) == (7, "platform")
    status, body = await admin.post(
        "/office/rules", {"key": "booking_window_days", "value": "14", "priority": "1"}
    )
    assert status == 200, body
    window = next(r for r in (await admin.get("/office/rules"))[1]["effective"]
                  if r["key"] == "booking_window_days")  # fmt: skip
    assert (window["value"], window["source"], window["priority"]) == (14, "hospital", 1)
    status, body = await admin.post("/office/rules", {"key": "release_time", "value": "08:00"})
    assert status == 200, body
    status, body = await admin.post("/office/rules", {"key": "hold_minutes", "value": "-1"})
    assert (status, body["error"]) == (400, "invalid_input")
    status, body = await admin.post(
        "/office/rules", {"key": "hold_minutes", "value": "5", "scope": "platform"}
    )
    assert (status, body["error"]) == (403, "forbidden")  # a hospital sets its own only

    root = await sign_in(browser, services, "root", ("platform_admin",), None)
    status, body = await root.post(
        "/office/rules", {"key": "hold_minutes", "value": "20", "priority": "2"}
    )
    assert status == 200, body
    hold = next(r for r in (await admin.get("/office/rules"))[1]["effective"]
                if r["key"] == "hold_minutes")  # fmt: skip
    assert (hold["value"], hold["source"]) == (20, "platform")
    hb_window = next(r for r in (await root.get("/office/rules?hospital=HB"))[1]["effective"]
                     if r["key"] == "booking_window_days")  # fmt: skip
    assert hb_window["value"] == 7


async def test_the_rules_screen_names_and_explains_every_rule_in_both_languages(
    browser, services, world
):
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    for lang in ("zh", "en"):
        words = MESSAGES[lang]
        async with admin.client.get(f"/console/office/rules?lang={lang}") as resp:
            assert resp.status == 200
            page = await resp.text()
        for key in RuleKey:
            assert escape(words[f"rule_{key}"]) in page, key
            assert escape(words[f"rule_{key}_help"]) in page, key
