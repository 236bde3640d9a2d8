"""The waitlist (候补) at the desk and 加号 in the office, over HTTP: the agent sees the
chosen day's full sessions, puts the caller in a line, the record shows where they stand,
leaving is one click; a hospital admin adds places on the session's waitlist page and the
first in line is offered one. A refusal is a flash in the console's words."""

from __future__ import annotations

from datetime import date, time

from tests.agent_console.desk.desk_world import ADMIN_SECRET
from tests.support.world import World, slot_ids

DAY = date(2026, 7, 13)


async def _full_session(services) -> int:
    """Doctor 00901's morning on DAY: two places, both taken."""
    ha = World(services, "HA")
    session = await ha.session(DAY, "00901", end=time(9, 0), places=1, room="B201")
    for i, slot in enumerate(await slot_ids(services, session.id)):
        await ha.book(slot, (await ha.patient(f"占位{i}", f"1370000000{i}")).id)
    return session.id


async def test_the_agent_puts_the_caller_in_a_full_sessions_line_and_takes_them_out(
    agent, services, desk_world
):
    session_id = await _full_session(services)
    li = desk_world["li"]
    status, body = await agent.get(
        f"/desk/patients/{li}/slots", params={"doctor": "00901", "day": DAY.isoformat()}
    )
    assert status == 200, body
    assert [f["session_id"] for f in body["full_sessions"]] == [session_id]
    status, body = await agent.post(f"/desk/patients/{li}/waitlist", {"session_id": session_id})
    assert status == 201, body
    assert body["next"] == f"/console/desk/patients/{li}?done=waiting"
    assert (body["entry"]["position"], body["entry"]["channel"]) == (1, "agent")
    status, record = await agent.get(f"/desk/patients/{li}")
    assert [(w["session_id"], w["position"]) for w in record["waiting"]] == [(session_id, 1)]

    status, body = await agent.post(f"/desk/patients/{li}/waitlist", {"session_id": session_id})
    assert (status, body["error"]) == (409, "already_waiting")
    assert "第 1 位" in body["message"]

    status, body = await agent.post(
        f"/desk/patients/{li}/waitlist/leave", {"session_id": session_id}
    )
    assert (status, body["next"]) == (200, f"/console/desk/patients/{li}?done=left_waitlist")
    status, record = await agent.get(f"/desk/patients/{li}")
    assert record["waiting"] == []


async def test_a_session_with_places_is_refused_in_words(agent, services, desk_world):
    ha = World(services, "HA")
    open_one = await ha.session(DAY, "00901", end=time(9, 0), places=2, room="B201")
    status, body = await agent.post(
        f"/desk/patients/{desk_world['li']}/waitlist", {"session_id": open_one.id}
    )
    assert (status, body["error"]) == (409, "waitlist_not_needed")
    assert "4" in body["message"]  # 4 free places: book one instead


async def test_the_admin_adds_places_and_the_line_is_offered_them(
    browser, agent, services, desk_world
):
    session_id = await _full_session(services)
    li = desk_world["li"]
    await agent.post(f"/desk/patients/{li}/waitlist", {"session_id": session_id})
    status, body = await agent.post(f"/office/sessions/{session_id}/extra-places", {"places": 1})
    assert status == 403  # an agent does not add places
    admin = await browser()
    await admin.sign_in("hadmin", secret=ADMIN_SECRET)
    status, page = await admin.get(f"/office/sessions/{session_id}/waitlist")
    assert status == 200, page
    assert [(w["patient_id"], w["position"]) for w in page["line"]] == [(li, 1)]
    status, body = await admin.post(f"/office/sessions/{session_id}/extra-places", {"places": 1})
    assert status == 200, body
    assert body["added"] == {"places": 1, "added_total": 1, "offered": 1, "booking_no": None}
    status, page = await admin.get(f"/office/sessions/{session_id}/waitlist")
    [offered] = page["line"]
    assert (offered["status"], offered["position"]) == ("offered", 0)
    assert offered["offer_booking_no"]
    card = (await World(services, "HA").patient("王五", "13700000099")).card_no
    status, body = await admin.post(
        f"/office/sessions/{session_id}/extra-places", {"places": 1, "card_no": card}
    )
    assert body["added"]["booking_no"], body
