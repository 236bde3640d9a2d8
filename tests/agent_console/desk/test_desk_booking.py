"""Booking for the caller: free places by department, doctor, date and time; book, change
and cancel with the core's rules, each the agent's (channel agent); a refusal is a flash
in the console's words; another hospital's booking is not found."""

from __future__ import annotations

from datetime import date, time

import pytest

from booking_core import blacklist
from tests.agent_console.helpers import table
from tests.support.world import World


async def _slots(agent, patient: int, **filters) -> list[dict]:
    status, body = await agent.get(f"/desk/patients/{patient}/slots", params=filters)
    assert status == 200, body
    return body["slots"]


async def test_free_places_filtered_by_department_doctor_day_and_time(agent, desk_world):
    li = desk_world["li"]
    every = await _slots(agent, li)
    assert {s["department_code"] for s in every} == {"101", "102"}
    bone = await _slots(agent, li, department="102")
    assert [s["start"] for s in bone] == ["14:00", "14:30", "15:00", "15:30"]
    assert all(s["free"] == 3 for s in bone)
    assert await _slots(agent, li, doctor="00901", day="2026-07-11") == []
    [one] = await _slots(agent, li, day="2026-07-12", time="15:10")
    assert (one["start"], one["doctor"], one["room"]) == ("15:00", "赵医生", "B201")
    first = (await _slots(agent, li, department="101"))[0]
    assert first["free"] == 1  # 张三丰 holds one of the two places at 08:00
    status, body = await agent.get(f"/desk/patients/{li}/slots", params={"day": "7/12"})
    assert (status, body["error"]) == (400, "invalid_input")


async def test_only_places_bookable_now_are_offered(agent, services, desk_world):
    """A day beyond the booking window (not yet released, 放号) is not offered to the agent:
    the desk lists what the core would book."""
    await World(services, "HA").session(
        date(2026, 7, 25), "00901", end=time(9, 0), places=3, room="B201"
    )
    assert await _slots(agent, desk_world["li"], day="2026-07-25") == []
    assert await _slots(agent, desk_world["li"], day="2026-07-12")  # released days still listed


async def test_book_change_and_cancel_are_the_agents(agent, services, desk_world):
    li = desk_world["li"]
    [slot] = await _slots(agent, li, day="2026-07-12", time="14:00")
    status, body = await agent.post(f"/desk/patients/{li}/book", {"slot_id": slot["slot_id"]})
    assert status == 201, body
    number = body["booking"]["booking_no"]
    assert body["next"] == f"/console/desk/bookings/{number}?done=booked"
    status, page = await agent.get(f"/desk/bookings/{number}")
    assert page["booking"]["status"] == "confirmed"
    assert page["booking"]["active"] is True

    status, body = await agent.get(f"/desk/bookings/{number}/slots")
    moves = body["slots"]  # by default the same doctor's other free places
    assert {s["doctor_work_no"] for s in moves} == {"00901"}
    assert slot["slot_id"] not in {s["slot_id"] for s in moves}
    target = next(s for s in moves if s["start"] == "15:30")
    status, body = await agent.post(
        f"/desk/bookings/{number}/reschedule", {"slot_id": target["slot_id"]}
    )
    assert status == 200, body
    assert body["booking"]["start"] == "15:30"
    assert body["done"] == "rescheduled"

    status, body = await agent.post(f"/desk/bookings/{number}/cancel", {"why": "patient_asked"})
    assert status == 200, body
    assert body["booking"]["status"] == "cancelled"
    [row] = await table(
        services, "SELECT channel, actor, status FROM bookings WHERE booking_no = ?", number
    )
    assert row == {"channel": "agent", "actor": "operator:agent_a", "status": "cancelled"}
    audit = await table(
        services,
        "SELECT action, actor FROM audit WHERE entity = 'booking' AND entity_id = ?",
        number,
    )
    assert {(a["action"], a["actor"]) for a in audit} == {
        ("booking.created", "operator:agent_a"),
        ("booking.moved", "operator:agent_a"),
        ("booking.cancelled", "operator:agent_a"),
    }
    status, body = await agent.post(f"/desk/bookings/{number}/cancel", {"why": "patient_asked"})
    assert (status, body["error"]) == (409, "invalid_state")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", "该患者在黑名单中，至 2026-10-09 00:00 解除"),
        ("en", "blacklisted until 2026-10-09 00:00"),
    ],
)
async def test_a_refusal_is_a_flash_in_the_consoles_words(agent, services, desk_world, lang, words):
    li = desk_world["li"]
    await services.handle(
        blacklist.AddToBlacklist(patient_id=li, until=date(2026, 10, 8), reason="x")
    )
    [slot] = await _slots(agent, li, day="2026-07-12", time="14:00")
    status, body = await agent.post(
        f"/desk/patients/{li}/book?lang={lang}", {"slot_id": slot["slot_id"]}
    )
    assert (status, body["error"]) == (409, "blacklisted")
    assert words in body["message"]
    assert body["slots"]  # the agent stays on the free places
    async with agent.client.post(
        f"/console/desk/patients/{li}/book?lang={lang}",
        data={"slot_id": slot["slot_id"], "csrf_token": agent.csrf_token},
    ) as resp:
        assert resp.status == 409
        assert words in await resp.text()


async def test_a_full_slot_is_refused_kindly(agent, services, desk_world):
    patient = desk_world["HA"]["patient"]
    [slot] = await _slots(agent, desk_world["li"], day="2026-07-11", time="08:00")
    status, body = await agent.post(
        f"/desk/patients/{desk_world['li']}/book", {"slot_id": slot["slot_id"]}
    )
    assert status == 201
    status, body = await agent.post(f"/desk/patients/{patient}/book", {"slot_id": slot["slot_id"]})
    assert (status, body["error"]) == (409, "already_booked")
    other = (await table(services, "SELECT id FROM patients WHERE name = '李大同'"))[0]["id"]
    status, body = await agent.post(f"/desk/patients/{other}/book", {"slot_id": slot["slot_id"]})
    assert (status, body["error"], body["message"]) == (409, "slot_full", "该时段号源已满。")


async def test_another_hospitals_booking_and_slot_are_not_found(agent, services, desk_world):
    theirs = desk_world["HB"]["booking"]
    for path in (f"/desk/bookings/{theirs}", f"/desk/bookings/{theirs}/slots"):
        assert (await agent.get(path))[0] == 404, path
    assert (await agent.post(f"/desk/bookings/{theirs}/cancel", {"why": "other"}))[0] == 404
    assert (await agent.post(f"/desk/bookings/{theirs}/reschedule", {"slot_id": "1"}))[0] == 404
    hb_slot = desk_world["HB"]["slot"]
    status, _body = await agent.post(
        f"/desk/patients/{desk_world['li']}/book", {"slot_id": hb_slot}
    )
    assert status == 404
    [row] = await table(services, "SELECT status FROM bookings WHERE booking_no = ?", theirs)
    assert row["status"] == "confirmed"


async def test_every_form_carries_the_csrf_token(agent, desk_world):
    li = desk_world["li"]
    async with agent.client.get(f"/console/desk/patients/{li}/slots?department=102") as resp:
        page = await resp.text()
    assert page.count('name="csrf_token"') == page.count('method="post"') > 4
    status, body = await agent.post(f"/desk/patients/{li}/book", {"slot_id": "1"}, csrf=None)
    assert (status, body["error"]) == (403, "csrf_failed")
