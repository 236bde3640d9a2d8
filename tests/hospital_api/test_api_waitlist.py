"""The waitlist (候补) and extra places (加号) over ``/api/v1``: join a full session, see the
line, a cancellation's offer confirmed, leave, 加号 within the maximum; refusals as
problem+json; every answer checked against its published schema."""

from __future__ import annotations

from datetime import time

from hospital_api import schemas as s
from tests.hospital_api.helpers import TOMORROW, hospital_with_session
from tests.support.world import World, slot_ids


async def _full(api):
    session = await hospital_with_session(api.services, "H001", places=1, end=time(9, 0))
    world = World(api.services, "H001")
    for i, slot in enumerate(await slot_ids(api.services, session.id)):
        await world.book(slot, (await world.patient(f"占位{i}")).id)
    return session, world


async def test_join_see_the_line_confirm_the_offer_and_leave(api):
    session, world = await _full(api)
    his = await api.token("his", "H001")
    a, b = await world.patient("甲"), await world.patient("乙")
    base = f"/hospitals/H001/sessions/{session.id}"
    status, body = await api.call("POST", base + "/waitlist", his, json={"patient_id": a.id})
    assert status == 201, body
    s.WaitlistEntryOut.model_validate(body)
    assert (body["status"], body["position"], body["day"]) == ("waiting", 1, str(TOMORROW))
    status, body = await api.call("POST", base + "/waitlist", his, json={"patient_id": a.id})
    assert (status, body["code"], body["position"]) == (409, "already_waiting", 1)
    await api.call("POST", base + "/waitlist", his, json={"patient_id": b.id})
    status, line = await api.call("GET", base + "/waitlist", his)
    assert status == 200
    s.WaitlistOut.model_validate(line)
    assert [(e["patient_id"], e["position"]) for e in line["entries"]] == [(a.id, 1), (b.id, 2)]

    status, booked = await api.call("GET", "/bookings", his)
    first = booked["items"][0]["booking_no"]
    status, _ = await api.call("POST", f"/bookings/{first}/cancel", his, json={})
    assert status == 200
    status, line = await api.call("GET", base + "/waitlist", his)
    offer = line["entries"][0]
    assert (offer["status"], offer["position"]) == ("offered", 0)
    assert offer["offer_expires_at"].endswith("+08:00")  # hospital-local
    status, body = await api.call("POST", f"/bookings/{offer['offer_booking_no']}/confirm", his)
    assert (status, body["status"]) == (200, "confirmed")

    status, body = await api.call("POST", base + "/waitlist/leave", his, json={"patient_id": b.id})
    assert (status, body["status"]) == (200, "left")
    status, body = await api.call("POST", base + "/waitlist/leave", his, json={"patient_id": b.id})
    assert (status, body["code"]) == (404, "not_found")


async def test_a_session_with_places_is_not_waited_for(api):
    session = await hospital_with_session(api.services, "H001")
    his = await api.token("his", "H001")
    patient = await World(api.services, "H001").patient("甲")
    status, body = await api.call(
        "POST",
        f"/hospitals/H001/sessions/{session.id}/waitlist",
        his,
        json={"patient_id": patient.id},
    )
    assert (status, body["code"], body["free"]) == (409, "waitlist_not_needed", 16)


async def test_extra_places_for_the_line_then_refused_past_the_maximum(api):
    session, world = await _full(api)
    his = await api.token("his", "H001")
    a = await world.patient("甲")
    base = f"/hospitals/H001/sessions/{session.id}"
    await api.call("POST", base + "/waitlist", his, json={"patient_id": a.id})
    status, body = await api.call("POST", base + "/extra-places", his, json={"places": 2})
    assert status == 201, body
    s.ExtraPlacesOut.model_validate(body)
    assert (body["places"], body["added_total"], body["offered"]) == (2, 2, 1)
    status, body = await api.call("POST", base + "/extra-places", his, json={"places": 4})
    assert (status, body["code"], body["limit"]) == (409, "extra_places_exhausted", 5)
    status, body = await api.call("POST", base + "/extra-places", his, json={"places": 0})
    assert (status, body["code"]) == (422, "invalid_request")
    await World(api.services, "H002").hospital()
    other = await api.token("his", "H002")
    status, body = await api.call("POST", base + "/extra-places", other, json={})
    assert status == 404
