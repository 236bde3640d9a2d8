"""Complaints (投诉): list, detail with the IVR recording link, assign, reply; the reply
leaves a ``complaint.replied`` event for the caller's text."""

from __future__ import annotations

import pytest

from booking_core import calls, complaints
from booking_core import events as core_events
from booking_core.bus import bootstrap
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import execute, rows
from booking_core.store import make_store
from tests.agent_console.helpers import add_operator
from tests.agent_console.office.office_world import events, hospital, sign_in
from tests.support.world import phone

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"


async def complaint(services, code: str, call_sid: str, caller: str) -> str:
    await services.handle(
        calls.StartCall(
            call_sid=call_sid,
            hospital_code=code,
            caller=caller,
            state="{}",
            digits="",
            response="<Response/>",
        )
    )
    tracking_no = await services.handle(complaints.OpenComplaint(call_sid=call_sid))
    await services.handle(
        complaints.AttachRecording(
            call_sid=call_sid, recording_sid="RE1", recording_url=RECORDING, duration_seconds=42
        )
    )
    return tracking_no


@pytest.fixture
async def world(services):
    out = {}
    for i, code in enumerate(("HA", "HB")):
        await hospital(services, code)
        out[code] = await complaint(services, code, f"CA{code}", phone(900 + i))
    return out


async def test_list_detail_assign_and_reply(browser, services, world):
    tracking_no = world["HA"]
    await add_operator(services, "agent_b", ("agent",), "HA")
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, listing = await agent.get("/office/complaints")
    assert status == 200
    assert [c["tracking_no"] for c in listing["complaints"]] == [tracking_no]
    assert listing["complaints"][0]["caller"] == phone(900)[:3] + "****" + phone(900)[-4:]

    status, detail = await agent.get(f"/office/complaints/{tracking_no}")
    assert status == 200
    assert detail["complaint"]["recording_url"] == RECORDING
    assert detail["complaint"]["status"] == "received"
    async with agent.client.get(f"/console/office/complaints/{tracking_no}") as resp:
        page = await resp.text()
    assert f'href="{RECORDING}"' in page
    assert phone(900) not in page

    status, body = await agent.post(
        f"/office/complaints/{tracking_no}/assign", {"assignee": "agent_b"}
    )
    assert status == 200, body
    status, detail = await agent.get(f"/office/complaints/{tracking_no}")
    assert (detail["complaint"]["assignee"], detail["complaint"]["status"]) == (
        "agent_b",
        "in_progress",
    )

    status, body = await agent.post(
        f"/office/complaints/{tracking_no}/reply", {"reply": "已联系科室，向您致歉。"}
    )
    assert status == 200, body
    replied = await events(services, "complaint.replied")
    assert [e.key for e in replied] == [tracking_no]
    payload = replied[0].payload
    assert payload["status"] == "resolved"
    assert payload["reply"] == "已联系科室，向您致歉。"
    assert services.cipher.decrypt(payload["caller_enc"], context="phone") == phone(900)
    status, detail = await agent.get(f"/office/complaints/{tracking_no}")
    assert detail["complaint"]["resolution"] == "已联系科室，向您致歉。"
    assert [h["action"] for h in detail["history"]][-2:] == [
        "complaint.assign",
        "complaint.replied",
    ]
    async with agent.client.get(f"/console/office/complaints/{tracking_no}") as resp:
        page = await resp.text()
    assert "指派处理人" in page  # its history in words
    assert "答复并短信告知" in page
    assert "complaint.assign" not in page


async def test_the_assignee_is_the_complaints_own_and_outlives_the_audit_purge(
    services, world, clock
):
    """#11 item 7: the assignee is a column of the complaint, written by the assignment; the
    audit row only records the act, so purging old audit rows leaves the assignee."""
    tracking_no = world["HA"]
    for name in ("agent_b", "agent_c"):
        await add_operator(services, name, ("agent",), "HA")
    await services.handle(complaints.AssignComplaint(tracking_no=tracking_no, assignee="agent_b"))
    await services.handle(complaints.AssignComplaint(tracking_no=tracking_no, assignee="agent_c"))
    clock.advance(days=400)
    await services.handle(core_events.PurgeAudit(older_than_days=365))
    assert await services.read(complaints.complaint_history, tracking_no) == []  # purged
    found = await services.read(complaints.complaint, tracking_no, SYSTEM)
    assert (found.assignee, found.status) == ("agent_c", complaints.ComplaintStatus.IN_PROGRESS)
    listed = await services.read(complaints.complaints, SYSTEM)
    assert {c["tracking_no"]: c["assignee"] for c in listed} == {
        tracking_no: "agent_c",
        world["HB"]: None,
    }


async def test_the_migration_fills_the_assignee_from_the_audit(db_url, clock, cipher):
    """Complaints assigned before schema version 12 get their latest assignee from the
    ``complaint.assign`` audit rows; an unassigned one stays unassigned."""
    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:
        services = bootstrap(store, cipher)
        await hospital(services, "HA")
        first = await complaint(services, "HA", "CA1", phone(901))
        second = await complaint(services, "HA", "CA2", phone(902))
        for name in ("agent_b", "agent_c"):
            await add_operator(services, name, ("agent",), "HA")
            await services.handle(complaints.AssignComplaint(tracking_no=first, assignee=name))

        def before_version_12(tx):
            yield execute("ALTER TABLE complaints DROP COLUMN assignee")
            yield execute("DELETE FROM schema_migrations WHERE version = 12")

        await store.write(before_version_12)
    finally:
        await store.close()
    store = make_store(db_url, clock, outbox_consumers=["test"])
    await store.open()
    try:
        found = await store.read(
            lambda tx: (yield rows("SELECT tracking_no, assignee FROM complaints"))
        )
    finally:
        await store.close()
    assert {r["tracking_no"]: r["assignee"] for r in found} == {first: "agent_c", second: None}


async def test_bad_replies_and_assignees_are_refused(browser, services, world):
    tracking_no = world["HA"]
    await add_operator(services, "agent_hb", ("agent",), "HB")
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/office/complaints/{tracking_no}"
    assert (await agent.post(path + "/reply", {"reply": "  "}))[1]["error"] == "invalid_input"
    assert (await agent.post(path + "/reply", {"reply": "x" * 301}))[0] == 400
    assert (await agent.post(path + "/assign", {"assignee": "agent_hb"}))[0] == 404
    assert (await agent.post(path + "/reply", {"reply": "ok"}, csrf=None))[0] == 403
    assert await events(services, "complaint.replied") == []


async def test_another_hospitals_complaint_is_not_found(browser, services, world):
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    other = world["HB"]
    status, body = await agent.get(f"/office/complaints/{other}")
    assert (status, body["error"]) == (404, "not_found")
    async with agent.client.get(f"/console/office/complaints/{other}") as resp:
        assert resp.status == 404
    assert (await agent.post(f"/office/complaints/{other}/reply", {"reply": "x"}))[0] == 404
    assert (await agent.post(f"/office/complaints/{other}/assign", {"assignee": "agent_a"}))[
        0
    ] == 404
    listing = (await agent.get("/office/complaints"))[1]["complaints"]
    assert [c["tracking_no"] for c in listing] == [world["HA"]]
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    assert (await viewer.get("/office/complaints"))[0] == 403


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "http://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://api.twilio.com.evil.example/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://user@api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://api.twilio.com:8443/2010-04-01/Accounts/AC1/Recordings/RE1",
        "https://api.twilio.com/redirect?to=https://evil.example",
        "//evil.example/RE1",
    ],
)
async def test_only_a_twilio_recording_is_linked(browser, services, url):
    """#10 item 18: a recording URL that is not Twilio's is neither linked nor sent."""
    await hospital(services, "HA")
    await services.handle(
        calls.StartCall(
            call_sid="CAX", hospital_code="HA", caller=phone(950), state="{}", digits="",
            response="<Response/>",
        )
    )  # fmt: skip
    tracking_no = await services.handle(complaints.OpenComplaint(call_sid="CAX"))
    await services.handle(
        complaints.AttachRecording(
            call_sid="CAX", recording_sid="RE9", recording_url=url, duration_seconds=5
        )
    )
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.get(f"/office/complaints/{tracking_no}")
    assert status == 200, body
    assert body["complaint"]["recording_url"] is None
    async with agent.client.get(f"/console/office/complaints/{tracking_no}") as resp:
        page = await resp.text()
    assert "evil" not in page
    assert "javascript:" not in page.lower()
    assert "data:text" not in page


async def test_a_twilio_recording_is_linked(browser, services, world):
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    async with agent.client.get(f"/console/office/complaints/{world['HA']}") as resp:
        page = await resp.text()
    assert f'href="{RECORDING}"' in page
