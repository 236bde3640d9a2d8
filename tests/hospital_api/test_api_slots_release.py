"""#9 item 10: GET /slots answers with what can be booked now (the core's search: released
at 放号 07:30, before the cut-off), says when the next day opens, and with ``all=true``
marks every slot with its window and opening time. Clock frozen before and after 07:30."""

from __future__ import annotations

from datetime import date

from hospital_api import schemas_his as fs
from tests.support.world import local

D6, D7 = date(2026, 7, 16), date(2026, 7, 17)


async def _world(world):
    await world.basic(D6)
    await world.session(D7)


def _days(body) -> set[str]:
    return {item["date"] for item in body["items"]}


async def test_before_0730_day_d_plus_7_is_not_listed_as_free(api, world, clock):
    await _world(world)
    his = await api.token("his", "H001")
    clock.set(local(2026, 7, 10, 7, 0))

    status, body = await api.call("GET", f"/slots?date={D6}&date_to={D7}&doctor=00868", his)
    assert status == 200, body
    fs.SlotPage.model_validate(body)
    assert _days(body) == {D6.isoformat()}
    assert all(item["bookable"] and item["window"] == "open" for item in body["items"])
    assert body["window"] == {
        "today": "2026-07-10",
        "days": 7,
        "last_open_day": "2026-07-16",
        "next_day": "2026-07-17",
        "next_opens_at": "2026-07-10T07:30:00+08:00",
    }

    status, body = await api.call("GET", f"/slots?date={D7}&doctor=00868&all=true", his)
    assert status == 200, body
    fs.SlotPage.model_validate(body)
    assert len(body["items"]) == 8
    for item in body["items"]:
        assert item["window"] == "not_yet_open"
        assert item["bookable"] is False
        assert item["opens_at"] == "2026-07-10T07:30:00+08:00"
        assert item["free"] == 2  # its places exist, they are not for booking yet

    # what the list says is what a booking is told
    patient = await world.patient()
    status, problem = await api.call(
        "POST",
        "/bookings",
        his,
        json={"slot_id": body["items"][0]["slot_id"], "patient_id": patient.id},
    )
    assert status == 409, problem
    assert problem["code"] == "outside_window"


async def test_from_0730_day_d_plus_7_is_listed(api, world, clock):
    await _world(world)
    his = await api.token("his", "H001")
    clock.set(local(2026, 7, 10, 7, 30))
    status, body = await api.call("GET", f"/slots?date={D6}&date_to={D7}&doctor=00868", his)
    assert status == 200, body
    fs.SlotPage.model_validate(body)
    assert _days(body) == {D6.isoformat(), D7.isoformat()}
    assert body["window"]["last_open_day"] == "2026-07-17"
    assert body["window"]["next_opens_at"] == "2026-07-11T07:30:00+08:00"
    patient = await world.patient()
    first = next(i for i in body["items"] if i["date"] == D7.isoformat())
    status, booked = await api.call(
        "POST", "/bookings", his, json={"slot_id": first["slot_id"], "patient_id": patient.id}
    )
    assert status == 201, booked


async def test_a_started_session_is_not_listed_but_marked_closed(api, world, clock):
    await world.basic(date(2026, 7, 10))  # 08:00-12:00 today; the clock stands at 09:00
    his = await api.token("his", "H001")
    status, body = await api.call("GET", "/slots?date=2026-07-10", his)
    assert (status, body["items"]) == (200, [])
    status, body = await api.call("GET", "/slots?date=2026-07-10&all=true", his)
    assert status == 200
    assert {item["window"] for item in body["items"]} == {"closed"}
    assert body["items"][0]["closes_at"] == "2026-07-10T08:00:00+08:00"
