"""A hospital's operator never sees another hospital's back-office data: by URL it is "not
found" (404), in lists it is absent. On SQLite and on PostgreSQL (the office's own SQL)."""

from __future__ import annotations

import asyncio
import io

import pytest
from openpyxl import load_workbook

from tests.agent_console.office.office_world import events, hospital, sign_in
from tests.agent_console.office.test_office_complaints import complaint
from tests.support.fixtures import on_both_stores  # noqa: F401  (db_url)
from tests.support.world import phone


@pytest.fixture
async def world(services):
    out = {}
    for i, code in enumerate(("HA", "HB")):
        h = await hospital(services, code)
        h.complaint = await complaint(services, code, f"CA{code}", phone(950 + i))
        out[code] = h
    return out


async def test_by_url_another_hospital_is_not_found(browser, services, world):
    ha, hb = world["HA"], world["HB"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    not_found = (
        f"/office/sessions/{hb.stopped_session}/stop",
        f"/office/complaints/{hb.complaint}",
        "/office/bookings?hospital=HB",
        "/office/bookings/export.xlsx?hospital=HB",
        "/office/sessions?hospital=HB",
    )
    for path in not_found:
        status, body = await agent.get(path)
        assert (status, body["error"]) == (404, "not_found"), path
        async with agent.client.get("/console" + path) as resp:
            assert resp.status == 404, path
            assert "张三丰" not in await resp.text()
    for path in (
        f"/office/sessions/{hb.stopped_session}/stop",
        f"/office/complaints/{hb.complaint}/reply",
    ):
        status, body = await agent.post(path, {"mode": "cancel", "reply": "x"})
        assert (status, body["error"]) == (404, "not_found"), path
    assert await events(services, "session.stopped", "complaint.replied") == []

    status, own = await agent.get("/office/bookings")
    assert [b["booking_no"] for b in own["bookings"]] == ha.bookings
    status, week = await agent.get("/office/sessions?week=2026-07-11")
    assert {s["hospital"] for s in week["sessions"]} == {"HA"}
    status, listing = await agent.get("/office/complaints")
    assert [c["tracking_no"] for c in listing["complaints"]] == [ha.complaint]
    async with agent.client.get("/console/office/bookings/export.xlsx") as resp:
        sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ha.bookings


async def test_the_back_office_reads_run_on_each_store(browser, services, world):
    ha, hb = world["HA"], world["HB"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    status, body = await admin.get("/office/bookings?patient=李&per_page=1")
    assert (status, body["total"]) == (200, 1)
    status, body = await admin.post(
        f"/office/sessions/{ha.stopped_session}/stop",
        {"mode": "move", "target_session_id": str(ha.substitute), "affected_count": "3"},
    )
    assert status == 200, body
    assert len(await events(services, "booking.moved")) == 3
    status, body = await admin.post(
        "/office/blacklist",
        {"card_no": ha.patients[0].card_no, "until": "2026-08-31", "reason": "x"},
    )
    assert status == 201, body
    assert len((await admin.get("/office/blacklist"))[1]["entries"]) == 1
    status, body = await admin.post(
        "/office/sessions/week", {"from_week": "2026-07-06", "to_week": "2026-07-13"}
    )
    assert (status, body["created"]) == (201, 3)
    status, report = await admin.get("/office/reports?day_from=2026-07-01&day_to=2026-07-31")
    assert status == 200, report
    assert dict(map(tuple, report["data"]["by_doctor"])) == {"医生00869": 3, "医生00870": 1}
    status, audit = await admin.get("/office/audit?action=session")
    assert {e["action"] for e in audit["entries"]} >= {"session.stopped", "session.created"}
    root = await sign_in(browser, services, "root", ("platform_admin",), None)
    status, body = await root.get("/office/bookings")
    assert body["total"] == len(ha.bookings) + len(hb.bookings)
    status, listing = await root.get("/office/complaints")
    assert len(listing["complaints"]) == 2


async def test_a_double_click_stops_once_on_each_store(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/office/sessions/{ha.stopped_session}/stop"
    confirm = {"mode": "cancel", "affected_count": "3"}
    answers = await asyncio.gather(*(agent.post(path, confirm) for _ in range(3)))
    assert sorted(status for status, _ in answers) == [200, 400, 400]
    assert len(await events(services, "booking.cancelled")) == 3
    assert len(await events(services, "session.stopped")) == 1
