"""The hospital API's words for the #15 refusals: a holiday listed closed and refused as
``day_closed``, a night booking refused as ``closed_hours`` with when it opens, a patient
the department does not take refused as ``not_eligible`` — each a 409 problem+json carrying
what a person needs."""

from __future__ import annotations

from datetime import date

from booking_core.rules import RuleKey
from tests.booking_core.helpers import set_rule
from tests.support.world import first_slot, local, resident_id

NATIONAL_DAY = date(2026, 10, 1)


async def _book(api, his, slot: int, patient) -> tuple[int, dict]:
    return await api.call(
        "POST", "/bookings", his, json={"slot_id": slot, "patient_id": patient.id}
    )


async def test_a_holiday_is_listed_closed_and_refused(api, world, services, clock):
    session = await world.basic(NATIONAL_DAY)
    await set_rule(services, RuleKey.CLOSED_DAYS, "holidays")
    his = await api.token("his", "H001")
    clock.set(local(2026, 9, 30, 9, 0))
    status, body = await api.call("GET", f"/slots?date={NATIONAL_DAY}&all=true", his)
    assert status == 200, body
    assert {item["window"] for item in body["items"]} == {"closed"}
    status, problem = await _book(
        api, his, await first_slot(services, session.id), await world.patient()
    )
    assert (status, problem["code"]) == (409, "day_closed"), problem
    assert (problem["day"], problem["reason"], problem["name"]) == (
        "2026-10-01",
        "holiday",
        "国庆节",
    )


async def test_the_closed_hours_say_when_booking_opens(api, world, services, clock):
    session = await world.basic(date(2026, 7, 12))
    await set_rule(services, RuleKey.CLOSED_HOURS, "00:00-06:30")
    his = await api.token("his", "H001")
    clock.set(local(2026, 7, 11, 6, 29, 59))
    status, problem = await _book(
        api, his, await first_slot(services, session.id), await world.patient()
    )
    assert (status, problem["code"]) == (409, "closed_hours"), problem
    assert problem["opens_at"] == "2026-07-11T06:30:00+08:00"


async def test_a_patient_the_department_does_not_take_is_refused_with_the_reason(
    api, world, services
):
    session = await world.basic(date(2026, 7, 15))
    await set_rule(services, RuleKey.ELIGIBILITY, {"101": {"age_from": 60}})
    his = await api.token("his", "H001")
    young = await world.patient(id_number=resident_id(birth="19900101"))
    status, problem = await _book(api, his, await first_slot(services, session.id), young)
    assert (status, problem["code"]) == (409, "not_eligible"), problem
    assert (problem["reason"], problem["department"], problem["limit"]) == (
        "age_from",
        "心内科",
        60,
    )
