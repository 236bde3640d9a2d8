"""The desk's words for a patient a department does not take (就诊资格, #15): the flash
names the department and the limit by its reason, in both languages."""

from __future__ import annotations

from booking_core import catalogue, rules
from booking_core.rules import Rule, RuleKey


async def test_a_booking_refused_by_eligibility_is_worded_by_its_reason(
    agent, services, desk_world
):
    hospital = await services.read(catalogue.hospital, "HA")
    rule = Rule(RuleKey.ELIGIBILITY, {"102": {"age_under": 14}}, hospital_id=hospital.id)
    await services.handle(rules.SetRule(rule=rule))
    patient = desk_world["li"]
    status, body = await agent.get(
        f"/desk/patients/{patient}/slots", params={"day": "2026-07-12", "time": "14:00"}
    )
    [slot] = body["slots"]
    for lang, words in (
        ("zh", "骨科只接待 14 岁以下的患者"),
        ("en", "骨科 sees patients under 14"),
    ):
        status, body = await agent.post(
            f"/desk/patients/{patient}/book?lang={lang}", {"slot_id": slot["slot_id"]}
        )
        assert (status, body["error"]) == (409, "not_eligible"), body
        assert words in body["message"]
