"""Reports with server-rendered SVG charts, and the audit log viewer."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from booking_core import bookings, calls
from booking_core.kernel.actor import Actor, Channel
from tests.agent_console.office.office_world import book, hospital, sign_in

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_report_counts_and_charts(browser, services, clock, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    as_agent = Actor("operator", "agent_a", None, Channel.AGENT)  # as the console books
    await book(services, ha.substitute, ha.patients[3].id, actor=as_agent)
    for sid, hospital_code in (("CA1", "HA"), ("CA2", "HA"), ("CA3", "HB")):
        await services.handle(
            calls.StartCall(
                call_sid=sid, hospital_code=hospital_code, caller="", state="{}", digits="",
                response="",
            )
        )  # fmt: skip
    await services.handle(calls.EndCall(call_sid="CA1", status="completed"))
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    status, body = await viewer.get("/office/reports?day_from=2026-07-01&day_to=2026-07-31")
    assert status == 200, body
    data = body["data"]
    assert dict(map(tuple, data["by_channel"])) == {"agent": 2, "ivr": 1, "sms": 1, "kiosk": 1}
    assert dict(map(tuple, data["by_department"])) == {"心内科": 4, "呼吸科": 1}
    assert dict(map(tuple, data["by_day"])) == {"2026-07-11": 4, "2026-07-12": 1}
    assert dict(map(tuple, data["agent_workload"]))["operator:agent_a"] == 1
    assert dict(map(tuple, data["call_outcomes"])) == {"abandoned": 1, "ongoing": 1}
    assert body["no_show_rate"] == 0.0
    assert [row[0] for row in data["slot_use"]] == ["2026-07-11", "2026-07-12"]
    svg = ET.fromstring(body["charts"]["by_channel"])
    assert svg.tag == SVG + "svg"
    assert len(svg.findall(f"{SVG}g/{SVG}rect")) == 4
    async with viewer.client.get("/console/office/reports") as resp:
        page = await resp.text()
    assert resp.status == 200
    assert page.count("<svg") == 8  # with calls by the agents' dispositions (#14)
    assert "<script" not in page
    assert "http://" not in page.replace(SVG[1:-1], "")
    assert (await agent.get("/office/reports"))[0] == 403
    assert (await viewer.get("/office/reports?hospital=HB"))[0] == 404

    clock.advance(days=3)  # every session is over: nobody came
    await services.handle(bookings.SweepNoShows())
    viewer = await sign_in(browser, services, "viewer2", ("report_viewer",), "HA")
    _status, body = await viewer.get("/office/reports?day_from=2026-07-01&day_to=2026-07-31")
    assert body["no_show_rate"] == 1.0
    assert dict(map(tuple, body["data"]["by_status"])) == {"no_show": 5}


async def test_audit_log_shows_the_own_hospital(browser, services, world):
    hb = world["HB"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    await admin.post("/office/departments", {"code": "109", "name": "眼科"})
    status, body = await admin.get("/office/audit?action=department")
    assert status == 200
    assert body["entries"][0]["action"] == "department.upsert"
    assert body["entries"][0]["actor"] == "operator:hadmin"
    status, body = await admin.get("/office/audit?action=patient.registered")
    registered = [e["after"] for e in body["entries"]]
    assert registered
    assert all("张三丰" not in a for a in registered)
    assert any('"name": "张**"' in a for a in registered)
    status, body = await admin.get("/office/audit")
    assert all(e["entity_id"] != f"HB/{hb.code}" for e in body["entries"])
    assert not any("HB/" in e["entity_id"] for e in body["entries"])
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    assert (await agent.get("/office/audit"))[0] == 403
