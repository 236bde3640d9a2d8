"""Doctor stop (停诊) from the back office: preview who is affected, confirm once, and the
patients' notices wait in the outbox."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.agent_console.office.office_world import events, hospital, sign_in

FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def world(services):
    return {code: await hospital(services, code) for code in ("HA", "HB")}


async def test_preview_lists_the_affected_bookings_masked(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.get(f"/office/sessions/{ha.stopped_session}/stop")
    assert status == 200, body
    assert body["affected_count"] == 3
    assert [b["booking_no"] for b in body["affected"]] == ha.bookings[:3]
    assert [b["patient_name"] for b in body["affected"]] == ["张**", "李*", "王*"]
    assert [s["id"] for s in body["substitutes"]] == [ha.substitute]
    async with agent.client.get(f"/console/office/sessions/{ha.stopped_session}/stop") as resp:
        page = await resp.text()
    assert resp.status == 200
    assert "张三丰" not in page
    assert "张**" in page
    assert FIELD.search(page)
    assert 'name="affected_count" value="3"' in page


async def test_a_stop_with_three_bookings_puts_three_notices_in_the_outbox(
    browser, services, world
):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/office/sessions/{ha.stopped_session}/stop"
    before = await events(services, "booking.moved", "booking.cancelled")
    confirm = {"mode": "cancel", "reason": "医生出差", "affected_count": "3"}
    status, body = await agent.post(path, confirm)
    assert status == 200, body
    assert body["stopped"]["cancelled"] == 3
    assert body["next"].endswith(path)
    notices = await events(services, "booking.moved", "booking.cancelled")
    new = notices[len(before) :]
    assert len(new) == 3
    assert sorted(e.key for e in new) == sorted(ha.bookings[:3])
    assert {e.payload["reason"] for e in new} == {"session_stopped"}

    # the double click: the same confirmation again stops nothing, tells nothing more
    status, body = await agent.post(path, confirm)
    assert (status, body["error"]) == (400, "session_unavailable")
    assert len(await events(services, "booking.moved", "booking.cancelled")) == len(notices)
    assert len(await events(services, "session.stopped")) == 1
    status, body = await agent.get(path)
    assert body["session"]["status"] == "stopped"
    assert body["affected_count"] == 0


async def test_move_to_a_substitute_session(browser, services, world):
    ha = world["HA"]
    admin = await sign_in(browser, services, "hadmin", ("hospital_admin",), "HA")
    path = f"/office/sessions/{ha.stopped_session}/stop"
    status, body = await admin.post(
        path, {"mode": "move", "target_session_id": str(ha.substitute), "affected_count": "3"}
    )
    assert status == 200, body
    assert body["stopped"]["moved"] == 3
    moved = await events(services, "booking.moved")
    assert sorted(e.key for e in moved) == sorted(ha.bookings[:3])
    status, preview = await admin.get(f"/office/sessions/{ha.substitute}/stop")
    assert preview["affected_count"] == 3


async def test_a_confirmation_that_no_longer_matches_the_preview_is_refused(
    browser, services, world
):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    status, body = await agent.post(
        f"/office/sessions/{ha.stopped_session}/stop", {"mode": "cancel", "affected_count": "2"}
    )
    assert (status, body["error"]) == (400, "invalid_input")
    assert await events(services, "session.stopped") == []


async def test_stop_needs_csrf_permission_and_the_own_hospital(browser, services, world):
    ha, hb = world["HA"], world["HB"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/office/sessions/{ha.stopped_session}/stop"
    status, body = await agent.post(path, {"mode": "cancel"}, csrf=None)
    assert (status, body["error"]) == (403, "csrf_failed")
    for other in (f"/office/sessions/{hb.stopped_session}/stop",):
        assert (await agent.get(other))[0] == 404
        status, body = await agent.post(other, {"mode": "cancel"})
        assert (status, body["error"]) == (404, "not_found")
    viewer = await sign_in(browser, services, "viewer", ("report_viewer",), "HA")
    assert (await viewer.get(path))[0] == 403
    assert (await viewer.post(path, {"mode": "cancel"}))[0] == 403
    assert await events(services, "session.stopped") == []


async def test_the_html_form_stops_once_like_a_browser(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/console/office/sessions/{ha.stopped_session}/stop"
    async with agent.client.get(path) as resp:
        page = await resp.text()
    form = {
        "csrf_token": FIELD.search(page).group(1),
        "affected_count": re.search(r'name="affected_count" value="(\d+)"', page).group(1),
        "mode": "cancel",
        "reason": "",
    }
    async with agent.client.post(path, data=form) as resp:  # redirects followed
        assert resp.url.path == path
        assert "该出诊已停诊" in await resp.text()
    async with agent.client.post(path, data=form) as resp:  # the double click
        assert resp.status == 400
        assert "该出诊已停诊或不可预约" in await resp.text()
    assert len(await events(services, "booking.cancelled")) == 3


async def test_two_confirmations_at_once_stop_the_session_once(browser, services, world):
    ha = world["HA"]
    agent = await sign_in(browser, services, "agent_a", ("agent",), "HA")
    path = f"/office/sessions/{ha.stopped_session}/stop"
    confirm = {"mode": "cancel", "affected_count": "3"}
    answers = await asyncio.gather(*(agent.post(path, confirm) for _ in range(4)))
    assert sorted(status for status, _ in answers) == [200, 400, 400, 400]
    assert len(await events(services, "booking.cancelled")) == 3
    assert len(await events(services, "session.stopped")) == 1
